"""The top line: the repository's name and the four views, clickable, with their keys."""

from __future__ import annotations

from textual.markup import escape
from textual.widgets import Static

VIEWS = (("ask", "Ask", "F2"), ("code", "Code", "F3"), ("context", "Context", "F4"),
         ("runs", "Runs", "F5"))


class NavBar(Static):
    """Shows which view is current; a click on another switches to it."""

    def __init__(self, repo: str, current: str) -> None:
        """`repo` is the repository's name, `current` the mode of the screen showing it."""
        self.repo = repo
        self.current = current
        super().__init__(self._markup())

    def _markup(self) -> str:
        """The bar as Textual markup with click actions."""
        items = []
        for mode, label, key in VIEWS:
            if mode == self.current:
                items.append(f"[reverse] {label} [/] [dim]{key}[/]")
            else:
                items.append(f"[@click=app.switch_mode('{mode}')] {label} [/] [dim]{key}[/]")
        return (f"[b]◆ Fathom[/] [dim]{escape(self.repo)}[/]   " + "  ".join(items)
                + "   [@click=app.help]help[/] [dim]F1[/]")
