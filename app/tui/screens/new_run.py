"""The form that starts a fix (a change, in words) or a repair (make the tests pass)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

TITLES = {"fix": "New fix — a change on a new branch, checked and tested",
          "repair": "New repair — make the failing tests pass on a new branch"}


@dataclass(frozen=True, slots=True)
class NewRun:
    """What to run: `fix` or `repair`, the task (fix only), the test command."""

    kind: str
    task: str
    test_command: str | None


class NewRunScreen(ModalScreen[NewRun | None]):
    """Asks for the task and the test command; Enter in the last box starts the run."""

    BINDINGS = [Binding("escape", "dismiss", "Cancel", tooltip="Close without starting")]

    def __init__(self, kind: str) -> None:
        """A form for a run of `kind` (fix or repair)."""
        super().__init__()
        self.kind = kind

    def compose(self) -> ComposeResult:
        """Title, boxes, buttons."""
        with Vertical(id="new-run-box"):
            yield Static(f"[b]{TITLES[self.kind]}[/]", id="new-run-title")
            if self.kind == "fix":
                yield Input(placeholder="What should change? e.g. mean() divides by n+1",
                            id="task")
            yield Input(placeholder="Test command, e.g. python -m pytest -q"
                        + (" (optional)" if self.kind == "fix" else ""), id="test-command")
            with Horizontal(id="new-run-buttons"):
                yield Button("Start", id="start", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter moves on to the next box, and starts the run from the last one."""
        if event.input.id == "task":
            self.query_one("#test-command", Input).focus()
        else:
            self._start()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Start or cancel."""
        if event.button.id == "start":
            self._start()
        else:
            self.dismiss(None)

    def _start(self) -> None:
        """Check the form and hand it back."""
        task = self.query_one("#task", Input).value.strip() if self.kind == "fix" else ""
        command = self.query_one("#test-command", Input).value.strip() or None
        if self.kind == "fix" and not task:
            self.notify("Say what should change.", severity="warning")
            return
        if self.kind == "repair" and command is None:
            self.notify("A repair needs the command that runs the tests.", severity="warning")
            return
        self.dismiss(NewRun(self.kind, task, command))
