"""Fix and repair runs behind `FathomService`: start, resume, decide, list.

Runs go through the agents' front door (`agents.api`) without an approver, so a run
that wants to touch the user's branch stops, durably, as `awaiting_approval`; the TUI
shows its change hunk by hunk, the user accepts or rejects hunks, and `decide` answers
the run with that decision: apply or not, and the accepted hunks. The run commits them,
checks them, moves its branch there, applies it if asked and records what it did.
Nothing blocks a thread on the user, and a run left waiting can be decided in a later
session.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import cast

from agents import api
from agents.api import ChatModel, FixRequest, PatchResult, RepairRequest
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
from app.tui.patches import file_diffs, parse_diff
from app.tui.runstate import (
    Approval,
    Decision,
    Run,
    RunProgress,
    RunResult,
    RunStatus,
    TimelineEntry,
)

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


def _result(result: PatchResult) -> RunResult:
    """What the TUI needs of a run's result: status, summary, and the approval it waits
    for (the change file by file, hunk by hunk)."""
    approval = None
    summary = result.summary
    if result.status == "awaiting_approval" and result.approval:
        request = result.approval
        approval = Approval(result.run_id, request.question, file_diffs(request.hunks))
        summary = request.instructions or summary
    return RunResult(result.run_id, cast(RunStatus, result.status), summary, approval)


def start(repo: Path, model: ChatModel, kind: str, task: str, test_command: str | None,
          progress: Progress, now: float) -> RunResult:
    """Run a `fix` (task in words) or `repair` (make `test_command` pass) to its end or
    its approval point."""
    sink = _sink(progress, now)
    if kind == "repair":
        result = api.repair(RepairRequest(repo, test_command or ""), model=model, events=sink,
                            run_id=api.new_run_id(kind))
    else:
        result = api.fix(FixRequest(repo, task, test_command or None), model=model,
                         events=sink, run_id=api.new_run_id(kind))
    return _result(result)


def resume(repo: Path, model: ChatModel | None, run_id: str, decision: Decision | None,
           progress: Progress, now: float) -> RunResult:
    """Continue run `run_id`; at its approval point, answer with `decision` (None: stop
    there again, to show the change)."""
    sink = _sink(progress, now)
    if decision is not None:
        return _result(api.decide(repo, run_id, api.Decision(decision.apply, decision.keep),
                                  model=model, events=sink))
    result = api.resume(repo, run_id, model=model, events=sink)
    if not isinstance(result, PatchResult):
        raise ValueError(f"run {run_id} is not a fix or repair run")
    return _result(result)


def past(repo: Path) -> list[Run]:
    """The repository's recent runs from its run database (no timelines), oldest first."""
    return [Run(r.run_id, r.kind, r.title, r.created, cast(RunStatus, r.status),
                summary=r.summary) for r in reversed(api.past_runs(repo, PAST_RUNS))]
