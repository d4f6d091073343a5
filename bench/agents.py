"""Agents on seeded bugs: fault localisation accuracy and `fix` success.

Every task of `bench.tasks` (a small real project, a failing test, the known fix) is
copied into a fresh git repository and run up to three ways (`--mode`, default all that
can run):

- `locate`: `tools.locate` alone — is the buggy function ranked first (top-1), in the
  top 3?
- `oracle`: `fix` with the scripted oracle, a transcript that plans, then applies the
  task's own fix through the `apply_edit` tool — the whole graph (worktree, checks,
  tests, commit) runs for real, only the model's words are known in advance;
- `endpoint`: `fix` with any OpenAI-compatible endpoint, when `FATHOM_BENCH_ENDPOINT` is
  set (`FATHOM_BENCH_MODEL`, default `deepseek-flash`; `FATHOM_BENCH_API_KEY`).

Prints per task whether each run succeeded, its steps, tokens and seconds, then the
totals. Results go to bench/results/agents.json (`--out` for elsewhere). `--limit N`
runs the first N tasks only, `--task ID` (repeatable) the named ones.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.backends.openai_api import OpenAIBackend  # noqa: E402
from agents.backends.scripted import ScriptedBackend, Transcript  # noqa: E402
from agents.graphs.runner import start_run  # noqa: E402
from agents.llm import BaseChatModel  # noqa: E402
from bench.tasks import Task, load_tasks, materialise  # noqa: E402
from tools.locate import LocateError, locate  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "agents.json"
MODES = ("locate", "oracle", "endpoint")
DEFAULT_ENDPOINT_MODEL = "deepseek-flash"


@dataclass
class FixRun:
    """One `fix` run on one task."""

    success: bool
    outcome: str
    steps: int
    tokens: int
    seconds: float

    def describe(self) -> str:
        """One line: ok (or the outcome), steps, tokens, seconds."""
        return (f"{'ok' if self.success else self.outcome} {self.steps} steps "
                f"{self.tokens} tokens {self.seconds}s")


@dataclass
class TaskResult:
    """Everything measured on one task (None where a mode did not run)."""

    id: str
    locate_rank: int | None      # 1-based rank of the buggy function; None if not ranked
    locate_seconds: float | None
    oracle: FixRun | None
    endpoint: FixRun | None

    def describe(self) -> str:
        """The task's line of the report."""
        parts = [f"{self.id:24}"]
        if self.locate_seconds is not None:
            parts.append(f"locate #{self.locate_rank or '-'} ({self.locate_seconds}s)")
        parts += [f"{label} {run.describe()}" for label, run in
                  (("oracle", self.oracle), ("endpoint", self.endpoint)) if run is not None]
        return "  ".join(parts)


def oracle(task: Task) -> ScriptedBackend:
    """A model that plans in one line, applies the known fix, then says it is done."""
    turns = [
        {"reply": {"content": f"The bug is in {task.bug.name} ({task.bug.path})."}},
        {"reply": {"tool_calls": [{"name": "apply_edit",
                                   "arguments": {"format": "udiff", "text": task.fix}}]}},
        {"reply": {"content": f"Fixed {task.bug.name}."}},
    ]
    return ScriptedBackend(Transcript.model_validate({"model": "oracle", "turns": turns}))


def endpoint_model(url: str, name: str = DEFAULT_ENDPOINT_MODEL,
                   api_key: str | None = None) -> OpenAIBackend:
    """The model `name` at the OpenAI-compatible endpoint `url` (e.g. `http://host/v1`)."""
    return OpenAIBackend(name, base_url=url, api_key=api_key)


def endpoint_from_env() -> OpenAIBackend | None:
    """The model at FATHOM_BENCH_ENDPOINT, or None when it is not set."""
    url = os.environ.get("FATHOM_BENCH_ENDPOINT")
    if not url:
        return None
    return endpoint_model(url, os.environ.get("FATHOM_BENCH_MODEL", DEFAULT_ENDPOINT_MODEL),
                          os.environ.get("FATHOM_BENCH_API_KEY"))


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


def bench_task(task: Task, scratch: Path, endpoint: BaseChatModel | None,
               modes: Collection[str] = MODES) -> TaskResult:
    """Run `task` in each of `modes` (endpoint only with an `endpoint` model), each in its
    own fresh copy under `scratch`."""
    rank, locate_seconds = None, None
    if "locate" in modes:
        root = materialise(task, scratch / f"{task.id}-locate")
        started = time.perf_counter()
        rank = rank_of(task, root)
        locate_seconds = round(time.perf_counter() - started, 2)
    scripted = (run_fix(task, materialise(task, scratch / f"{task.id}-oracle"), oracle(task))
                if "oracle" in modes else None)
    live = (run_fix(task, materialise(task, scratch / f"{task.id}-live"), endpoint)
            if "endpoint" in modes and endpoint is not None else None)
    return TaskResult(task.id, rank, locate_seconds, scripted, live)


def run_bench(tasks: Sequence[Task], endpoint: BaseChatModel | None = None,
              modes: Collection[str] = MODES,
              report: Callable[[str], None] = print) -> list[TaskResult]:
    """Benchmark `tasks` in `modes`, reporting each task's line as it finishes."""
    results = []
    with tempfile.TemporaryDirectory(prefix="fathom-bench-agents-") as scratch:
        for task in tasks:
            result = bench_task(task, Path(scratch), endpoint, modes)
            report(result.describe())
            results.append(result)
    return results


def _rate(results: Sequence[TaskResult], ran: bool, hit: Callable[[TaskResult], bool]
          ) -> float | None:
    """The share of `results` for which `hit` holds, or None when the mode did not run."""
    return sum(hit(r) for r in results) / len(results) if ran and results else None


def summarise(results: Sequence[TaskResult], endpoint: BaseChatModel | None,
              modes: Collection[str] = MODES) -> dict[str, Any]:
    """Accuracy and success rates over `results` (None for modes that did not run)."""
    live = "endpoint" in modes and endpoint is not None
    return {
        "tasks": len(results),
        "locate_top1": _rate(results, "locate" in modes, lambda r: r.locate_rank == 1),
        "locate_top3": _rate(results, "locate" in modes,
                             lambda r: r.locate_rank is not None and r.locate_rank <= 3),
        "oracle_success": _rate(results, "oracle" in modes,
                                lambda r: bool(r.oracle and r.oracle.success)),
        "endpoint_success": _rate(results, live,
                                  lambda r: bool(r.endpoint and r.endpoint.success)),
        "endpoint_model": endpoint.name if live and endpoint is not None else None,
    }


def _select(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[Task]:
    """The tasks the arguments name (`--task`, `--limit`), in corpus order."""
    tasks = load_tasks()
    if args.task:
        known = {t.id for t in tasks}
        unknown = [name for name in args.task if name not in known]
        if unknown:
            parser.error(f"unknown task {', '.join(unknown)}; tasks: {', '.join(sorted(known))}")
        tasks = [t for t in tasks if t.id in args.task]
    return tasks[: args.limit]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and write its results (bench/results/agents.json by default)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="Only the first N tasks.")
    parser.add_argument("--task", action="append", metavar="ID",
                        help="Only this task (repeatable).")
    parser.add_argument("--mode", action="append", choices=MODES,
                        help="Only this mode (repeatable; default: all that can run).")
    parser.add_argument("--out", type=Path, default=RESULTS, help="Where the results go.")
    args = parser.parse_args(argv)
    endpoint = endpoint_from_env()
    modes = args.mode or MODES
    if "endpoint" in (args.mode or ()) and endpoint is None:
        parser.error("--mode endpoint needs FATHOM_BENCH_ENDPOINT")
    results = run_bench(_select(parser, args), endpoint, modes)
    summary = summarise(results, endpoint, modes)
    print(json.dumps(summary, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_name(args.out.name + ".partial")
    partial.write_text(json.dumps({"summary": summary, "tasks": [asdict(r) for r in results]},
                                  indent=1) + "\n", encoding="utf-8")
    partial.replace(args.out)


if __name__ == "__main__":
    main()
