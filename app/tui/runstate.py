"""Runs as the TUI shows them: timelines, diffs and hunks, approvals, the session's log.

Plain data like `app.tui.state`; `app.tui.agent_runs` fills it from the agents' runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from app.tui.state import (
    AnswerReady,
    AskEvent,
    ContextReady,
    IndexSummary,
    RouteChosen,
    Stage,
)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One step on a run's timeline, `at` seconds after the run began."""

    at: float
    label: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Hunk:
    """One hunk of a file's diff: its `@@` header and its lines (with +/-/space marks)."""

    index: int
    header: str
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FileDiff:
    """The change to one file: `change` is modified, added or removed."""

    path: str
    change: str
    hunks: tuple[Hunk, ...]


HunkKey = tuple[str, int]  # (path, hunk index)


@dataclass(frozen=True, slots=True)
class Approval:
    """A run waits for a decision: apply its change to the user's branch, or not."""

    run_id: str
    question: str
    files: tuple[FileDiff, ...]

    @property
    def hunks(self) -> frozenset[HunkKey]:
        """Every hunk of the change."""
        return frozenset((f.path, h.index) for f in self.files for h in f.hunks)


@dataclass(frozen=True, slots=True)
class Decision:
    """The user's answer: the hunks to keep on the run's branch, and whether to apply
    them to the user's branch."""

    apply: bool
    keep: frozenset[HunkKey]


RunStatus = Literal["running", "awaiting_approval", "interrupted", "done", "failed",
                    "cancelled"]


@dataclass(frozen=True, slots=True)
class RunProgress:
    """Something happened in run `run_id`: a timeline step, a diff, a new status."""

    run_id: str
    entry: TimelineEntry | None = None
    diff: tuple[FileDiff, ...] | None = None
    status: RunStatus | None = None
    summary: str = ""


@dataclass(frozen=True, slots=True)
class RunResult:
    """Where a fix or repair run stopped; `approval` is set while it awaits one."""

    run_id: str
    status: RunStatus
    summary: str
    approval: Approval | None = None


@dataclass(slots=True)
class Run:
    """A request the TUI ran or found (ask, fix, repair, review) and its timeline."""

    id: str
    kind: str
    title: str
    started: float
    status: RunStatus = "running"
    timeline: list[TimelineEntry] = field(default_factory=list)
    summary: str = ""
    diff: tuple[FileDiff, ...] = ()
    approval: Approval | None = None


class RunLog:
    """The runs of this session, newest last; `version` grows with every change."""

    def __init__(self) -> None:
        """No runs yet."""
        self.runs: list[Run] = []
        self.version = 0

    def start(self, kind: str, title: str, now: float, run_id: str) -> Run:
        """Begin run `run_id` (the id the agents' run database knows it by)."""
        run = Run(run_id, kind, title, now)
        self.runs.append(run)
        self.version += 1
        return run

    def get(self, run_id: str) -> Run | None:
        """The run with that id, if this log holds it."""
        return next((r for r in self.runs if r.id == run_id), None)

    def add(self, run: Run) -> None:
        """Add a run found on disk, unless the log already holds it."""
        if self.get(run.id) is None:
            self.runs.append(run)
            self.version += 1

    def progress(self, run: Run, update: RunProgress) -> None:
        """Apply an agent run's progress: a step, a diff, a status."""
        if update.entry is not None:
            run.timeline.append(update.entry)
        if update.diff is not None:
            run.diff = update.diff
        if update.status is not None:
            run.status = update.status
            run.summary = update.summary or run.summary
        self.version += 1

    def settle(self, run: Run, result: RunResult) -> None:
        """Record where an agent run stopped."""
        run.status = result.status
        run.summary = result.summary
        run.approval = result.approval
        if result.approval is not None:
            run.diff = result.approval.files
        self.version += 1

    def record(self, run: Run, event: AskEvent, now: float) -> None:
        """Add the event's step to the run's timeline (if it makes one)."""
        entry = ask_entry(event)
        if entry is not None:
            run.timeline.append(replace(entry, at=round(now - run.started, 2)))
            self.version += 1

    def finish(self, run: Run, status: RunStatus, now: float, detail: str = "") -> None:
        """End a run as done, failed or cancelled."""
        run.status = status
        if status != "done":
            run.timeline.append(TimelineEntry(round(now - run.started, 2), status, detail))
        self.version += 1


def ask_entry(event: AskEvent) -> TimelineEntry | None:
    """The timeline entry an event makes (None for streamed text), `at` left at 0."""
    if isinstance(event, Stage):
        if event.total is not None:
            return None  # progress ticks would flood the timeline; the status bar shows them
        return TimelineEntry(0.0, event.name)
    if isinstance(event, IndexSummary):
        return TimelineEntry(0.0, "index updated", f"{event.files} files, "
                             f"{event.definitions} definitions, {event.parsed} parsed")
    if isinstance(event, RouteChosen):
        return TimelineEntry(0.0, f"{event.path} Path", event.reason)
    if isinstance(event, ContextReady):
        m = event.manifest
        detail = (f"{m.used:,} tokens: {m.count('full')} whole, {m.count('signatures')} "
                  f"by signatures, {m.count('omitted')} left out")
        return TimelineEntry(0.0, "context packed", detail)
    if isinstance(event, AnswerReady):
        a = event.answer
        valid = sum(c.valid for c in a.citations)
        detail = (f"{a.completion_tokens} tokens, {a.tokens_per_second:.1f} tok/s; "
                  f"{valid} of {len(a.citations)} citations check out")
        return TimelineEntry(0.0, "answered", detail)
    return None
