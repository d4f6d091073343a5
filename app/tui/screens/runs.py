"""Runs: start fix and repair, follow any run's timeline live, review and decide its diff."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.widgets import Button, DataTable, Static

from app.tui.errors import ServiceError
from app.tui.runstate import Decision, Run, RunProgress, RunResult
from app.tui.screens.base import FathomScreen
from app.tui.screens.new_run import NewRun, NewRunScreen
from app.tui.widgets.diff_view import DiffView

HELP = ("Diff: [b]space[/] accepts/rejects a hunk, [b]f[/] a file, [b]s[/] shows it side by "
        "side; then [b]y[/] applies the accepted hunks, [b]k[/] keeps them on the run's "
        "branch only.")
STATUS = {"awaiting_approval": "awaiting"}
RESUMABLE = ("awaiting_approval", "interrupted", "running")
Reporter = Callable[[RunProgress], None]


class RunsScreen(FathomScreen):
    """Runs and the timeline on the left; the selected run's change on the right."""

    MODE = "runs"
    BINDINGS = [
        Binding("n", "new_run('fix')", "New fix", tooltip="Start a fix: a change, tested"),
        Binding("r", "new_run('repair')", "New repair",
                tooltip="Start a repair: make failing tests pass"),
        Binding("ctrl+r", "resume", "Resume",
                tooltip="Resume the selected run (or show its pending approval)"),
        Binding("y", "decide(True)", "Apply", tooltip="Apply the accepted hunks to your branch"),
        Binding("k", "decide(False)", "Keep on branch",
                tooltip="Keep the accepted hunks on the run's branch, apply nothing"),
        Binding("s", "toggle_side_by_side", "Side by side",
                tooltip="Show the diff side by side (old | new) or unified"),
    ]

    def __init__(self) -> None:
        """The newest run is shown until another is picked."""
        super().__init__()
        self._selected: str | None = None
        self._busy = False

    def compose_body(self) -> ComposeResult:
        """Help line, then the two columns."""
        yield Static(HELP, id="runs-help")
        with Horizontal(id="runs-body"):
            with Vertical(id="runs-left"):
                yield DataTable(id="runs-table", cursor_type="row")
                yield DataTable(id="timeline", cursor_type="row")
            with Vertical(id="runs-right"):
                with Vertical(id="approval"):
                    yield Static(id="approval-text")
                    with Horizontal(id="approval-buttons"):
                        yield Button("Apply (y)", id="apply", variant="success", compact=True)
                        yield Button("Keep on branch (k)", id="keep", compact=True)
                yield DiffView(id="diff")

    def on_mount(self) -> None:
        """Columns, past runs, then follow the app's run log."""
        self.query_one("#runs-table", DataTable).add_columns("run", "status", "request")
        self.query_one("#timeline", DataTable).add_columns("at", "step", "detail")
        self.query_one("#approval").display = False
        self.watch(self.fathom, "runs_version", self._refresh, init=True)
        self._load_past()

    @property
    def selected(self) -> Run | None:
        """The run picked in the table, or the newest."""
        runs = self.fathom.runs.runs
        return self.fathom.runs.get(self._selected or "") or (runs[-1] if runs else None)

    @work(thread=True, group="runs-past", exit_on_error=False)
    def _load_past(self) -> None:
        """Runs of earlier sessions, from the repository's run database."""
        try:
            runs = self.fathom.service.past_runs()
        except ServiceError as error:
            self.app.call_from_thread(self.notify, str(error), title="Runs", severity="error")
            return
        self.app.call_from_thread(self._add_past, runs)

    def _add_past(self, runs: list[Run]) -> None:
        for run in runs:
            self.fathom.runs.add(run)
        self.fathom.runs_version = self.fathom.runs.version

    def _refresh(self) -> None:
        """Redraw the runs table and the selected run's timeline."""
        runs = self.fathom.runs.runs
        table = self.query_one("#runs-table", DataTable)
        table.clear()
        for run in runs:
            table.add_row(run.id, STATUS.get(run.status, run.status), run.title, key=run.id)
        chosen = self.selected
        if chosen is not None:
            table.move_cursor(row=runs.index(chosen), animate=False)
        self._timeline(chosen)

    def _timeline(self, run: Run | None) -> None:
        """Show the steps (or, for a past run, the summary) of `run`."""
        timeline = self.query_one("#timeline", DataTable)
        timeline.clear()
        for entry in run.timeline if run else []:
            timeline.add_row(f"{entry.at:6.1f}s", entry.label, entry.detail)
        if run is not None and not run.timeline and run.summary:
            timeline.add_row("", run.status, run.summary)
        timeline.scroll_end(animate=False)

    async def _show_change(self, run: Run | None) -> None:
        """The run's diff, selectable while it awaits a decision, and the approval bar."""
        pending = run is not None and run.approval is not None
        await self.query_one(DiffView).show(run.diff if run else (), selectable=pending)
        bar = self.query_one("#approval")
        bar.display = pending
        if run is not None and run.approval is not None:
            self._approval_text()

    def _approval_text(self) -> None:
        """The question, and how many hunks are accepted."""
        run = self.selected
        if run is None or run.approval is None:
            return
        kept, total = len(self.query_one(DiffView).accepted()), len(run.approval.hunks)
        self.query_one("#approval-text", Static).update(
            f"{escape(run.approval.question)} [b]{kept} of {total}[/] hunks accepted")

    def on_diff_view_changed(self) -> None:
        """Keep the count of accepted hunks up to date."""
        self._approval_text()

    async def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Picking a run shows its timeline and its change."""
        if event.data_table.id != "runs-table" or event.row_key.value is None:
            return
        if event.row_key.value != self._selected:
            self._selected = event.row_key.value
            self._timeline(self.selected)
            await self._show_change(self.selected)

    def action_new_run(self, kind: str) -> None:
        """Ask what to run, then start it."""
        if self._busy:
            self.notify("A run is in progress; wait for it to stop.", severity="warning")
            return
        self.app.push_screen(NewRunScreen(kind), self._start)

    def _start(self, request: NewRun | None) -> None:
        if request is not None:
            self._busy = True
            self._agent(request.kind, request.task, request.test_command)

    def action_resume(self) -> None:
        """Resume the selected run up to its end or its approval point."""
        run = self.selected
        if run is None or run.status not in RESUMABLE or run.kind == "ask" or self._busy:
            self.notify("Pick a fix or repair run that is waiting or was interrupted.",
                        severity="warning")
            return
        self._busy = True
        self._continue(run.id, None)

    def action_decide(self, apply: bool) -> None:
        """Answer the selected run's approval with the accepted hunks."""
        run = self.selected
        if run is None or run.approval is None or self._busy:
            return
        self._busy = True
        self._continue(run.id, Decision(apply, self.query_one(DiffView).accepted()))

    def action_toggle_side_by_side(self) -> None:
        """Switch the diff between unified and side by side."""
        diff = self.query_one(DiffView)
        diff.side_by_side = not diff.side_by_side

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """The approval bar's buttons."""
        self.action_decide(event.button.id == "apply")

    @work(thread=True, group="agent", exit_on_error=False)
    def _agent(self, kind: str, task: str, command: str | None) -> None:
        """Run a fix or repair; its steps arrive on the timeline as they happen."""
        title = task if kind == "fix" else f"repair: {command}"
        self._run_off_thread(lambda report: self.fathom.service.start_run(
            kind, task, command, report), kind, title)

    @work(thread=True, group="agent", exit_on_error=False)
    def _continue(self, run_id: str, decision: Decision | None) -> None:
        """Resume a run, with a decision or to reach its approval point."""
        run = self.fathom.runs.get(run_id)
        kind, title = (run.kind, run.title) if run else ("fix", run_id)
        self._run_off_thread(lambda report: self.fathom.service.resume_run(
            run_id, report, decision), kind, title)

    def _run_off_thread(self, call: Callable[[Reporter], RunResult], kind: str,
                        title: str) -> None:
        """Call `call(report)` in this worker thread, reporting to the UI thread."""
        def report(progress: RunProgress) -> None:
            """Hand a step to the UI thread."""
            self.app.call_from_thread(self._progress, progress, kind, title)

        try:
            result = call(report)
        except ServiceError as error:
            self.app.call_from_thread(self._failed, str(error))
            return
        self.app.call_from_thread(self._settled, result)

    async def _progress(self, progress: RunProgress, kind: str, title: str) -> None:
        """A step of an agent run (the first one creates its row)."""
        runs = self.fathom.runs
        run = runs.get(progress.run_id) or runs.start(kind, title, time.time(), progress.run_id)
        self._selected = run.id
        runs.progress(run, progress)
        self.fathom.runs_version = runs.version
        if progress.diff is not None:
            await self._show_change(run)

    async def _settled(self, result: RunResult) -> None:
        """The run ended or awaits a decision: show where it stands."""
        self._busy = False
        runs = self.fathom.runs
        run = runs.get(result.run_id)
        if run is not None:
            runs.settle(run, result)
            self._selected = run.id
            self.fathom.runs_version = runs.version
            await self._show_change(run)
        severity = "error" if result.status == "failed" else "information"
        self.notify(result.summary or result.status, title=f"Run {result.status}",
                    severity=severity, timeout=8)

    def _failed(self, message: str) -> None:
        """The run could not go on: say why."""
        self._busy = False
        self.notify(message, title="Run failed", severity="error", timeout=10)
