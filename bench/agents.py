"""Agents on seeded bugs: fault localisation accuracy and `fix` success.

Every task of `bench.tasks` (a small real project, a failing test, the known fix) is
copied into a fresh git repository and run three ways:

- `tools.locate` alone: is the buggy function ranked first (top-1), in the top 3?
- `fix` with the scripted oracle: a transcript that plans, then applies the task's own
  fix through the `apply_edit` tool — the whole graph (worktree, checks, tests, commit)
  runs for real, only the model's words are known in advance;
- `fix` with any OpenAI-compatible endpoint, when `FATHOM_BENCH_ENDPOINT` is set
  (`FATHOM_BENCH_MODEL`, default `deepseek-chat`; `FATHOM_BENCH_API_KEY`).

Prints per task whether it succeeded, steps, tokens and seconds, then the totals.
Results go to bench/results/agents.json. `--limit N` runs the first N tasks only.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.backends.openai_api import OpenAIBackend  # noqa: E402
from agents.backends.scripted import ScriptedBackend, Transcript  # noqa: E402
from agents.graphs.runner import start_run  # noqa: E402
from agents.llm import BaseChatModel  # noqa: E402
from bench.tasks import Task, load_tasks, materialise  # noqa: E402
from tools.locate import LocateError, locate  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "agents.json"


@dataclass
class FixRun:
    """One `fix` run on one task."""

    success: bool
    outcome: str
    steps: int
    tokens: int
    seconds: float


@dataclass
class TaskResult:
    """Everything measured on one task."""

    id: str
    locate_rank: int | None      # 1-based rank of the buggy function; None if not ranked
    locate_seconds: float
    oracle: FixRun
    endpoint: FixRun | None


def oracle(task: Task) -> ScriptedBackend:
    """A model that plans in one line, applies the known fix, then says it is done."""
    turns = [
        {"reply": {"content": f"The bug is in {task.bug.name} ({task.bug.path})."}},
        {"reply": {"tool_calls": [{"name": "apply_edit",
                                   "arguments": {"format": "udiff", "text": task.fix}}]}},
        {"reply": {"content": f"Fixed {task.bug.name}."}},
    ]
    return ScriptedBackend(Transcript.model_validate({"model": "oracle", "turns": turns}))


def endpoint_model() -> BaseChatModel | None:
    """The model at FATHOM_BENCH_ENDPOINT, or None when it is not set."""
    url = os.environ.get("FATHOM_BENCH_ENDPOINT")
    if not url:
        return None
    return OpenAIBackend(os.environ.get("FATHOM_BENCH_MODEL", "deepseek-chat"), base_url=url,
                         api_key=os.environ.get("FATHOM_BENCH_API_KEY"))


def rank_of(task: Task, root: Path) -> int | None:
    """Where `tools.locate` ranks the task's buggy function (1-based), if at all."""
    try:
        suspects = locate(root, task.command())
    except LocateError as err:
        print(f"  locate: {err}", file=sys.stderr)
        return None
    names = [(s.path, s.name) for s in suspects]
    wanted = (task.bug.path, task.bug.name)
    return names.index(wanted) + 1 if wanted in names else None


def run_fix(task: Task, root: Path, model: BaseChatModel) -> FixRun:
    """`fix` on the task's symptom, applied without asking; success means green."""
    started = time.perf_counter()
    inputs = {"kind": "fix", "task": task.description, "repo": str(root),
              "test_command": shlex.join(task.command())}
    outcome = start_run("fix", root, inputs, model=model, auto_approve=True)
    state = outcome.state
    return FixRun(state.get("outcome") == "green", state.get("outcome", ""),
                  state.get("steps", 0), outcome.record.total_tokens,
                  round(time.perf_counter() - started, 2))


def bench_task(task: Task, scratch: Path, model: BaseChatModel | None) -> TaskResult:
    """Localise and fix one task, each in its own fresh copy."""
    root = materialise(task, scratch / f"{task.id}-locate")
    started = time.perf_counter()
    rank = rank_of(task, root)
    locate_seconds = round(time.perf_counter() - started, 2)
    scripted = run_fix(task, materialise(task, scratch / f"{task.id}-oracle"), oracle(task))
    live = run_fix(task, materialise(task, scratch / f"{task.id}-live"), model) if model else None
    return TaskResult(task.id, rank, locate_seconds, scripted, live)


def main() -> None:
    """Run the benchmark and write bench/results/agents.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="Only the first N tasks.")
    args = parser.parse_args()
    tasks = load_tasks()[: args.limit]
    model = endpoint_model()
    results = []
    with tempfile.TemporaryDirectory(prefix="fathom-bench-agents-") as scratch:
        for task in tasks:
            result = bench_task(task, Path(scratch), model)
            results.append(result)
            live = (f" endpoint {'ok' if result.endpoint.success else result.endpoint.outcome}"
                    if result.endpoint else "")
            print(f"{task.id:24} locate #{result.locate_rank or '-'} "
                  f"({result.locate_seconds}s)  oracle "
                  f"{'ok' if result.oracle.success else result.oracle.outcome} "
                  f"{result.oracle.steps} steps {result.oracle.tokens} tokens "
                  f"{result.oracle.seconds}s{live}")
    count = len(results)
    summary = {
        "tasks": count,
        "locate_top1": sum(r.locate_rank == 1 for r in results) / count,
        "locate_top3": sum(r.locate_rank is not None and r.locate_rank <= 3
                           for r in results) / count,
        "oracle_success": sum(r.oracle.success for r in results) / count,
        "endpoint_success": (sum(bool(r.endpoint and r.endpoint.success) for r in results)
                             / count if model else None),
        "endpoint_model": model.name if model else None,
    }
    print(json.dumps(summary, indent=1))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"summary": summary, "tasks": [asdict(r) for r in results]},
                                  indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
