"""Fix and repair runs behind `FathomService`: start, resume, decide, list.

Runs go through `agents.graphs.runner` without an approver, so a run that wants to
touch the user's branch stops, durably, as `awaiting_approval`; the TUI shows its diff,
the user accepts or rejects hunks, and the run is resumed with that decision: apply or
not, and a commit holding the accepted hunks when they are not all of them. The run
checks that commit, moves its branch there, applies it if asked and records what it
did. Nothing blocks a thread on the user, and a run left waiting can be decided in a
later session.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from agents.events import (
    ApprovalRequested,
    DiffReady,
    Event,
    Notice,
    RunError,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
    TestResult,
    TokensUsed,
    ToolCalled,
)
from agents.graphs.approval import ApprovalDecision
from agents.graphs.runner import RunOutcome, resume_run, start_run
from agents.llm import ChatModel
from agents.runs import RunKind, RunStore, new_run_id
from app.tui.patches import parse_diff
from app.tui.runstate import (
    Approval,
    Decision,
    Run,
    RunProgress,
    RunResult,
    RunStatus,
    TimelineEntry,
)
from tools.git import commit_diff, commit_hunks

Progress = Callable[[RunProgress], None]
PAST_RUNS = 20
SLOW_STEP = 0.5  # seconds: a step's end is on the timeline only when it took this long


def describe(event: Event) -> tuple[str, str] | None:
    """The (label, detail) of an agent event on the timeline; None for none."""
    if isinstance(event, RunStarted):
        return "started", f"{event.graph}: {event.request}"
    if isinstance(event, StepStarted):
        return event.step, "…"
    if isinstance(event, StepFinished):
        return (event.step, f"done in {event.seconds:.1f}s") \
            if event.seconds >= SLOW_STEP else None
    if isinstance(event, ToolCalled):
        return f"tool {event.name}", "ok" if event.ok else f"failed: {event.result[:80]}"
    if isinstance(event, TokensUsed):
        cached = (f" ({event.cached_prompt_tokens:,} from cache)"
                  if event.cached_prompt_tokens else "")
        return "model", (f"{event.prompt_tokens:,} in{cached}, {event.completion_tokens:,} "
                         f"out ({event.run_tokens:,} this run)")
    if isinstance(event, TestResult):
        counts = f"{event.passed} passed, {event.failed} failed" if event.passed is not None \
            else ("passing" if event.ok else "failing")
        return "tests", counts + (f"; first: {event.failures[0]}" if event.failures else "")
    if isinstance(event, DiffReady):
        return "diff", f"{len(event.files)} files: {', '.join(event.files)}"
    if isinstance(event, ApprovalRequested):
        return "approval", event.question
    if isinstance(event, Notice | RunError):
        return ("error" if isinstance(event, RunError) else "notice"), event.message
    if isinstance(event, RunFinished):
        return event.status, event.summary
    return None


def _sink(progress: Progress, started: float) -> Callable[[Event], None]:
    """An agent event sink reporting to `progress` (times relative to `started`)."""
    def emit(event: Event) -> None:
        """Translate one event."""
        line = describe(event)
        entry = TimelineEntry(round(event.at - started, 2), *line) if line else None
        diff = parse_diff(event.diff) if isinstance(event, DiffReady) else None
        status = cast(RunStatus, event.status) if isinstance(event, RunFinished) else None
        summary = event.summary if isinstance(event, RunFinished) else ""
        progress(RunProgress(event.run_id, entry, diff, status, summary))
    return emit


def _result(repo: Path, outcome: RunOutcome) -> RunResult:
    """What the TUI needs of an outcome: status, summary, and the approval it waits for."""
    state = outcome.state
    summary = state.get("summary") or outcome.record.summary
    approval = None
    if outcome.status == "awaiting_approval" and outcome.approval:
        request = outcome.approval
        approval = Approval(outcome.run_id, request.get("question", "Apply?"),
                            parse_diff(commit_diff(repo, request["commit"])))
        summary = request.get("instructions", summary)
    return RunResult(outcome.run_id, outcome.status, summary, approval)


def start(repo: Path, model: ChatModel, kind: str, task: str, test_command: str | None,
          progress: Progress, now: float) -> RunResult:
    """Run a `fix` (task in words) or `repair` (make `test_command` pass) to its end or
    its approval point."""
    if kind == "repair":
        if not test_command:
            raise ValueError("a repair needs the command that runs the tests")
        task = f"make the failing tests pass ({test_command})"
    elif not task.strip():
        raise ValueError("say what the fix should change")
    inputs: dict[str, Any] = {"kind": kind, "task": task, "repo": str(repo),
                              "test_command": test_command or None}
    outcome = start_run(cast(RunKind, kind), repo, inputs, model=model,
                        emit=_sink(progress, now), run_id=new_run_id(kind))
    return _result(repo, outcome)


def resume(repo: Path, model: ChatModel | None, run_id: str, decision: Decision | None,
           progress: Progress, now: float) -> RunResult:
    """Continue run `run_id`; at its approval point, answer with `decision` (None: stop
    there again, to show the change)."""
    approver = _approver(repo, decision) if decision else None
    outcome = resume_run(repo, run_id, model=model, emit=_sink(progress, now),
                         approver=approver)
    return _result(repo, outcome)


def _approver(repo: Path, decision: Decision) -> Callable[[dict[str, Any]], ApprovalDecision]:
    """The answer to a run's approval request that carries out `decision`."""
    def approve(request: dict[str, Any]) -> ApprovalDecision:
        """Apply or not; with the accepted hunks as a commit unless they are all of them."""
        commit = request["commit"]
        everything = frozenset((f.path, h.index)
                               for f in parse_diff(commit_diff(repo, commit)) for h in f.hunks)
        if decision.keep == everything:
            return ApprovalDecision(approved=decision.apply)
        return ApprovalDecision(approved=decision.apply,
                                commit=commit_hunks(repo, commit, decision.keep))

    return approve


def past(repo: Path) -> list[Run]:
    """The repository's recent runs from its run database (no timelines), oldest first."""
    with RunStore(repo) as store:
        records = store.recent(PAST_RUNS)
    runs = []
    for record in reversed(records):
        inputs = record.request.get("inputs", {})
        title = str(inputs.get("question") or inputs.get("task") or "")
        runs.append(Run(record.run_id, record.kind, title, record.created, record.status,
                        summary=record.summary))
    return runs
