"""What every view shares: the navigation line on top, the status bar and keys below."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from app.tui.widgets.nav import NavBar
from app.tui.widgets.status import StatusBar

if TYPE_CHECKING:
    from app.tui.app import FathomApp


class FathomScreen(Screen[None]):
    """A view of the app; subclasses set `MODE` and compose their body."""

    MODE: ClassVar[str] = ""

    @property
    def fathom(self) -> FathomApp:
        """The app, typed."""
        return cast("FathomApp", self.app)

    def compose(self) -> ComposeResult:
        """Navigation, the view's body, status, keys."""
        yield NavBar(self.fathom.service.root.name, self.MODE)
        yield from self.compose_body()
        yield StatusBar()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        """The view's own widgets."""
        raise NotImplementedError(f"{type(self).__name__} must compose its body")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker of this view failed unexpectedly: say so in the UI."""
        if event.state is WorkerState.ERROR:
            self.fathom.report(event.worker.error or RuntimeError("unknown"),
                               "Unexpected error")
