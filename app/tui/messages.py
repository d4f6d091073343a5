"""Messages widgets send up to the app."""

from __future__ import annotations

from textual.message import Message


class OpenLocation(Message):
    """Show `path` at `line` in the code viewer (from a citation, a symbol, the tree)."""

    def __init__(self, path: str, line: int = 1) -> None:
        """`line` is 1-based."""
        super().__init__()
        self.path = path
        self.line = line
