"""Ask: a conversation about the repository; answers stream in with linked citations."""

from __future__ import annotations

import time

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState, get_current_worker

from app.tui.runstate import Run, RunStatus
from app.tui.screens.base import FathomScreen
from app.tui.services import ServiceError
from app.tui.state import (
    Answer,
    AnswerReady,
    AnswerText,
    AskEvent,
    ContextReady,
    IndexSummary,
    ReasoningText,
    RouteChosen,
    Stage,
)
from app.tui.widgets.answer import AnswerView

WELCOME = """\
[b]Ask anything about this repository.[/]
Answers cite the code as [b]path:line[/] and list their sources, the code the model read;
click a citation or pick one below the answer and press Enter to open the code there.
[b]F4[/] shows everything the model saw.
[dim]Esc cancels an answer · Ctrl+N starts a new conversation · F1 lists every key[/]"""


class AskScreen(FathomScreen):
    """The chat pane and the question box."""

    MODE = "ask"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", tooltip="Stop the answer being written"),
        Binding("ctrl+n", "new_conversation", "New chat",
                tooltip="Forget the conversation and start a new one"),
    ]

    def __init__(self) -> None:
        """No conversation yet."""
        super().__init__()
        self.answers: list[Answer] = []
        self._current: tuple[AnswerView, Run] | None = None

    def compose_body(self) -> ComposeResult:
        """The transcript above, the question below."""
        with VerticalScroll(id="transcript"):
            yield Static(WELCOME, id="welcome")
        yield Input(placeholder="Ask about the repository…  (Enter sends)", id="question")

    def on_mount(self) -> None:
        """Start in the question box."""
        self.query_one("#question", Input).focus()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        """Ask the question typed."""
        question = event.value.strip()
        if not question:
            return
        if self._current is not None:
            self.notify("Still answering: Esc cancels.", severity="warning")
            return
        event.input.clear()
        await self.ask(question)

    async def ask(self, question: str) -> None:
        """Add an exchange for `question` and answer it in a worker."""
        transcript = self.query_one("#transcript", VerticalScroll)
        view = AnswerView(question)
        await transcript.mount(view)
        transcript.anchor()
        run = self.fathom.runs.start("ask", question, time.monotonic(),
                                     self.fathom.service.new_run_id("ask"))
        self.fathom.runs_version = self.fathom.runs.version
        self._current = (view, run)
        self._answer(question, tuple(self.answers), view, run)

    @work(thread=True, exclusive=True, group="ask", exit_on_error=False)
    def _answer(self, question: str, earlier: tuple[Answer, ...], view: AnswerView,
                run: Run) -> None:
        """Run the `ask` graph, handing each event to the UI thread in order."""
        worker = get_current_worker()
        try:
            for event in self.fathom.service.ask(question, earlier,
                                                 cancelled=lambda: worker.is_cancelled,
                                                 run_id=run.id):
                self.app.call_from_thread(self._apply, view, run, event)
        except ServiceError as error:
            self.app.call_from_thread(self._fail, view, run, str(error))

    async def _apply(self, view: AnswerView, run: Run, event: AskEvent) -> None:
        """Show one event of the run `run` (ignored once the run is over)."""
        app = self.fathom
        if run.status != "running":
            return
        app.runs.record(run, event, time.monotonic())
        app.runs_version = app.runs.version
        if isinstance(event, Stage):
            app.stage = event
        elif isinstance(event, IndexSummary):
            app.index_updated(event)
        elif isinstance(event, RouteChosen):
            view.show_route(event.path, app.model_info.name if app.model_info else "")
        elif isinstance(event, ContextReady):
            app.manifest = event.manifest
        elif isinstance(event, AnswerText):
            if app.stage is None or app.stage.name != "streaming":
                app.stage = Stage("streaming")
            await view.append(event.text)
        elif isinstance(event, ReasoningText):
            view.add_reasoning(event.text)
        elif isinstance(event, AnswerReady):
            await self._done(view, run, event.answer)

    async def _done(self, view: AnswerView, run: Run, answer: Answer) -> None:
        """Show the finished answer and keep it for follow-up questions; a model that
        failed is reported (the answer is then the ranked code)."""
        app = self.fathom
        await view.finish(answer)
        self.answers.append(answer)
        app.speed = answer.tokens_per_second
        app.prompt_tokens = answer.prompt_tokens
        app.cached_prompt_tokens = answer.cached_prompt_tokens
        for warning in answer.warnings:
            self.notify(warning, title="Answer", severity="warning")
        if answer.error:
            self.notify(answer.error, title="Ask failed", severity="error", timeout=8)
            self._end(run, "failed", answer.error)
        else:
            self._end(run, "done")

    async def _fail(self, view: AnswerView, run: Run, message: str) -> None:
        """Show why the run failed."""
        if run.status != "running":
            return
        await view.fail(message)
        self.notify(message, title="Ask failed", severity="error", timeout=8)
        self._end(run, "failed", message)

    def _end(self, run: Run, status: RunStatus, detail: str = "") -> None:
        """Close the run and free the question box."""
        app = self.fathom
        app.runs.finish(run, status, time.monotonic(), detail)
        app.runs_version = app.runs.version
        app.stage = None
        self._current = None

    async def action_cancel(self) -> None:
        """Stop the answer being written."""
        if self._current is None:
            return
        view, run = self._current
        self.workers.cancel_group(self, "ask")
        await view.fail("Cancelled.", cancelled=True)
        self._end(run, "cancelled")

    async def action_new_conversation(self) -> None:
        """Forget the conversation (follow-ups start afresh)."""
        await self.action_cancel()
        self.answers.clear()
        await self.query("#transcript AnswerView").remove()
        self.query_one("#question", Input).focus()

    async def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """An error nobody expected still ends up on the screen, not the terminal."""
        if event.state is WorkerState.ERROR and self._current is not None:
            view, run = self._current
            await self._fail(view, run, f"unexpected error: {event.worker.error!r}")
        else:
            super().on_worker_state_changed(event)
