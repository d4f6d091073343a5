"""FathomApp: the Textual app, its shared state, and `run_tui`, the entry point."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from pathlib import Path

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import CommandPalette
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from agents.api import ModelSettings
from app.tui.commands import SymbolProvider
from app.tui.messages import OpenLocation
from app.tui.runstate import RunLog
from app.tui.screens.ask import AskScreen
from app.tui.screens.code import CodeScreen
from app.tui.screens.context import ContextScreen
from app.tui.screens.help import HelpScreen
from app.tui.screens.runs import RunsScreen
from app.tui.services import FathomService, ServiceError
from app.tui.state import Catalog, ContextManifest, IndexSummary, ModelInfo, Stage
from app.tui.themes import FATHOM_DARK, FATHOM_LIGHT, THEMES


class FathomApp(App[None]):
    """Ask, Code, Context (what the model saw) and Runs, over one repository."""

    TITLE = "Fathom"
    CSS_PATH = "fathom.tcss"
    MODES = {"ask": AskScreen, "code": CodeScreen, "context": ContextScreen,
             "runs": RunsScreen}
    DEFAULT_MODE = "ask"
    COMMANDS = App.COMMANDS | {SymbolProvider}
    BINDINGS = [
        Binding("f1", "help", "Help", tooltip="This list of keys"),
        Binding("f2", "switch_mode('ask')", "Ask", tooltip="Ask about the repository"),
        Binding("f3", "switch_mode('code')", "Code", tooltip="Files and the code viewer"),
        Binding("f4", "switch_mode('context')", "Context",
                tooltip="What the model saw for the last question"),
        Binding("f5", "switch_mode('runs')", "Runs", tooltip="Requests and their timelines"),
        Binding("ctrl+f", "jump_to_symbol", "Symbol", tooltip="Jump to a symbol (fuzzy)"),
        Binding("ctrl+t", "toggle_theme", "Theme", show=False,
                tooltip="Switch between the dark and the light theme"),
        Binding("ctrl+q", "quit", "Quit", show=False, tooltip="Quit Fathom"),
    ]

    model_info: reactive[ModelInfo | None] = reactive(None)
    catalog: reactive[Catalog | None] = reactive(None)
    index_summary: reactive[IndexSummary | None] = reactive(None)
    indexing: reactive[bool] = reactive(False)
    stage: reactive[Stage | None] = reactive(None)
    speed: reactive[float | None] = reactive(None)
    prompt_tokens: reactive[int | None] = reactive(None)
    cached_prompt_tokens: reactive[int] = reactive(0)
    manifest: reactive[ContextManifest | None] = reactive(None)
    runs_version: reactive[int] = reactive(0)

    def __init__(self, service: FathomService) -> None:
        """An app over the repository and model `service` gives access to."""
        super().__init__()
        self.service = service
        self.runs = RunLog()
        self.indexed_at = time.monotonic()

    def on_mount(self) -> None:
        """Themes, then read the index and the model in the background."""
        for theme in THEMES:
            self.register_theme(theme)
        self.theme = FATHOM_DARK.name
        self.sub_title = self.service.root.name
        self._start()

    @work(thread=True, group="startup", exit_on_error=False)
    def _start(self) -> None:
        """Update the index, list files and symbols, then get the model ready."""
        self.call_from_thread(setattr, self, "indexing", True)
        shown = -1

        def progress(done: int, total: int) -> None:
            """Show indexing progress, once per percent."""
            nonlocal shown
            percent = done * 100 // max(total, 1)
            if percent != shown:
                shown = percent
                self.call_from_thread(setattr, self, "stage", Stage("indexing", done, total))

        try:
            summary = self.service.update_index(progress)
            self.call_from_thread(self._indexed, summary, self._catalog())
        except ServiceError as error:
            self.call_from_thread(self.report, error, "Index")
        self.call_from_thread(self._started)
        self.call_from_thread(setattr, self, "stage", Stage("loading model"))
        try:
            self.call_from_thread(setattr, self, "model_info", self.service.model_info())
        except ServiceError as error:
            self.call_from_thread(self.report, error, "Model")
        finally:
            self.call_from_thread(setattr, self, "stage", None)

    def _catalog(self) -> Catalog:
        """Files and symbols as the index lists them now (blocking)."""
        return Catalog(tuple(self.service.tree()), tuple(self.service.symbols()))

    def _indexed(self, summary: IndexSummary, catalog: Catalog) -> None:
        """The index is read: show its files and symbols."""
        self.indexed_at = time.monotonic()
        self.index_summary = summary
        self.catalog = catalog
        for warning in summary.warnings:
            self.notify(warning, title="Index", severity="warning")

    def index_updated(self, summary: IndexSummary) -> None:
        """A request updated the index: re-read files and symbols if anything changed."""
        before = self.index_summary
        self.indexed_at = time.monotonic()
        self.index_summary = summary
        if summary.parsed or before is None or before.files != summary.files:
            self._reload_catalog(summary)

    @work(thread=True, exclusive=True, group="catalog", exit_on_error=False)
    def _reload_catalog(self, summary: IndexSummary) -> None:
        """Re-read files and symbols off the UI thread."""
        try:
            self.call_from_thread(self._indexed, summary, self._catalog())
        except ServiceError as error:
            self.call_from_thread(self.report, error, "Index")

    def _started(self) -> None:
        """The start-up index update is over, however it went."""
        self.indexing = False
        self.stage = None

    def report(self, error: BaseException, title: str) -> None:
        """Show an error as a notification (never as a traceback on the terminal)."""
        self.notify(str(error), title=title, severity="error", timeout=10)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Errors nobody expected go to a notification, never to the terminal."""
        if event.state is WorkerState.ERROR:
            self.report(event.worker.error or RuntimeError("unknown"), "Unexpected error")

    async def on_open_location(self, message: OpenLocation) -> None:
        """A citation, symbol or file was picked: show it."""
        await self.open_location(message.path, message.line)

    async def open_location(self, path: str, line: int = 1) -> None:
        """Switch to Code and show `path` at `line`."""
        await self.switch_mode("code")
        screen = self.screen
        if isinstance(screen, CodeScreen):
            screen.open(path, line)

    def action_help(self) -> None:
        """Show every key."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_jump_to_symbol(self) -> None:
        """The command palette, searching symbols only."""
        if not CommandPalette.is_open(self):
            self.push_screen(CommandPalette(providers=[SymbolProvider],
                                            placeholder="Jump to symbol…"))

    def action_toggle_theme(self) -> None:
        """Switch between the dark and the light theme."""
        dark = self.theme == FATHOM_DARK.name
        self.theme = FATHOM_LIGHT.name if dark else FATHOM_DARK.name

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Textual's commands plus Fathom's views and actions."""
        yield from super().get_system_commands(screen)
        for mode, title, help_text in (
            ("ask", "Ask", "Ask a question about the repository"),
            ("code", "Code", "Browse the files and read the code"),
            ("context", "What the model saw", "The context manifest of the last request"),
            ("runs", "Runs", "Requests and their timelines"),
        ):
            yield SystemCommand(title, help_text, lambda mode=mode: self.switch_mode(mode))
        yield SystemCommand("Jump to symbol", "Find a definition by name",
                            self.action_jump_to_symbol)
        yield SystemCommand("Toggle dark/light", "Switch Fathom's theme",
                            self.action_toggle_theme)
        yield SystemCommand("Help", "Every key binding", self.action_help)


def run_tui(path: Path, settings: ModelSettings | None = None) -> None:
    """Open the TUI on the repository at `path` (`fathom tui [PATH]`, `make run`).

    With no settings, the model is the one `fathom.toml` and `FATHOM_*` describe: the
    bundled SmolLM2 unless configured otherwise.
    """
    try:
        service = FathomService(path, settings)
    except ServiceError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from error
    FathomApp(service).run()
