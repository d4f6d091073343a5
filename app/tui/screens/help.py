"""The help overlay: every key binding, by where it works, and the mouse."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from app.tui.widgets.code_view import CodeView
from app.tui.widgets.diff_view import DiffView

MOUSE = ("[b]Mouse[/]: click the views on the top line, a citation to open the code, a file "
         "in the tree, a line in the viewer; scroll anywhere. [dim]Esc closes.[/]")


# Keys that work through Textual's own widgets rather than a BINDINGS entry of ours.
GENERAL = (
    ("everywhere", "tab, shift+tab", "Next / previous pane"),
    ("everywhere", "ctrl+p", "Command palette: views, symbols, theme, quit"),
    ("ask", "enter", "Send the question (follow-ups keep the conversation)"),
    ("lists and tables", "enter", "Open the source, file or run under the cursor"),
)


def _bindings(bindings: Iterable[BindingType]) -> list[Binding]:
    """Binding objects from a BINDINGS list (tuples allowed)."""
    return [b if isinstance(b, Binding) else Binding(*b) for b in bindings]


def _own(cls: type) -> list[Binding]:
    """The bindings a class declares itself (not those it inherits)."""
    return _bindings(vars(cls).get("BINDINGS", []))


class HelpScreen(ModalScreen[None]):
    """Keys for the whole app and for each view, read from their BINDINGS."""

    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        """A title, the table of keys, a note on the mouse."""
        with Vertical(id="help-box"):
            yield Static("[b]Fathom — keys[/]", id="help-title")
            yield DataTable(id="help-table", cursor_type="row", zebra_stripes=True)
            yield Static(MOUSE, id="help-mouse")

    def on_mount(self) -> None:
        """List the bindings of the app, of each view, and of the code viewer."""
        table = self.query_one(DataTable)
        table.add_columns("where", "key", "does")
        sections: list[tuple[str, list[Binding]]] = [("everywhere", _own(type(self.app)))]
        for mode, screen in self.app.MODES.items():
            if isinstance(screen, type):
                sections.append((mode, _own(screen)))
        sections.append(("code viewer", _own(CodeView)))
        sections.append(("diff", _own(DiffView)))
        for where, bindings in sections:
            for binding in bindings:
                keys = ", ".join(self.app.get_key_display(Binding(key, binding.action))
                                 for key in binding.key.split(","))
                table.add_row(where, keys, binding.tooltip or binding.description)
        for where, keys, does in GENERAL:
            table.add_row(where, keys, does)
        table.focus()
