"""A diff, hunk by hunk, unified or side by side, each hunk accepted or rejected (space, a
click, or a whole file at once)."""

from __future__ import annotations

from rich.cells import cell_len, chop_cells
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from app.tui.diff_rows import Cell, Row, pair_lines
from app.tui.runstate import FileDiff, Hunk, HunkKey

LINE_STYLES = {"+": "green", "-": "red", "\\": "dim"}
GUTTER = " │ "     # between the old and the new side
MIN_SIDE = 12      # cells per side, at the least
TAB = 4            # cells per tab


class HunkView(Widget, can_focus=True):
    """One hunk: a check mark, its `@@` header, its lines coloured by kind — in one column
    (unified) or the old lines beside the new (`side_by_side`)."""

    accepted: reactive[bool] = reactive(True)
    side_by_side: reactive[bool] = reactive(False, layout=True)

    class Toggled(Message):
        """The hunk was accepted or rejected."""

    def __init__(self, path: str, hunk: Hunk, selectable: bool,
                 side_by_side: bool = False) -> None:
        """Show `hunk` of `path`; only a `selectable` hunk can be toggled."""
        super().__init__(classes="hunk")
        self.key: HunkKey = (path, hunk.index)
        self.hunk = hunk
        self.selectable = selectable
        self.rows: list[Row] = pair_lines(hunk.header, hunk.lines)
        self.set_reactive(HunkView.side_by_side, side_by_side)

    def render(self) -> Text:
        """Mark, header and lines, wrapped to the widget's width."""
        text = Text("\n").join(self._lines(self.content_size.width))
        text.no_wrap = True
        return text

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """Header plus lines, long ones wrapped (side by side, within their side)."""
        return len(self._lines(width))

    def _lines(self, width: int) -> list[Text]:
        """The hunk as screen lines at most `width` cells wide: the mark and `@@` header,
        then its lines, unified or side by side (wrapped here, so the height is known)."""
        width = max(1, width)
        mark = ("[x] " if self.accepted else "[ ] ") if self.selectable else ""
        lines = [Text(piece, "bold cyan") for piece in _chop(mark + self.hunk.header, width)]
        if self.side_by_side:
            return lines + self._side_lines(width)
        for line in self.hunk.lines:
            style = LINE_STYLES.get(line[:1], "")
            lines += [Text(piece, style) for piece in _chop(line, width)]
        return lines

    def _side_lines(self, width: int) -> list[Text]:
        """The rows as screen lines `width` cells wide: old side, gutter, new side."""
        side = max(MIN_SIDE, (width - cell_len(GUTTER)) // 2)
        numbers = [c.number for r in self.rows for c in (r.old, r.new)
                   if c is not None and c.number is not None]
        digits = len(str(max(numbers, default=1)))
        lines: list[Text] = []
        for row in self.rows:
            old = _cell_lines(row.old, side, digits)
            new = _cell_lines(row.new, side, digits)
            for i in range(max(len(old), len(new))):
                line = old[i] if i < len(old) else Text(" " * side)
                line.append(GUTTER, "dim")
                line.append_text(new[i] if i < len(new) else Text(""))
                lines.append(line)
        return lines

    def watch_accepted(self, accepted: bool) -> None:
        """Rejected hunks are dimmed."""
        self.set_class(not accepted, "-rejected")

    def toggle(self) -> None:
        """Accept a rejected hunk, reject an accepted one."""
        if self.selectable:
            self.accepted = not self.accepted
            self.post_message(self.Toggled())

    def on_click(self, event: Click) -> None:
        """A click toggles."""
        self.focus()
        self.toggle()


def _cell_lines(cell: Cell | None, width: int, digits: int) -> list[Text]:
    """One side of a row as lines of exactly `width` cells: its number and mark, then its
    text, wrapped (a missing side is one blank line)."""
    if cell is None:
        return [Text(" " * width)]
    shown = "" if cell.number is None else cell.number
    number = f"{shown:>{digits}} {cell.mark}"  # the mark too: colour is not all there is
    body = max(1, width - len(number))
    pieces = _chop(cell.text, body)
    style = LINE_STYLES.get(cell.mark, "")
    lines = []
    for i, piece in enumerate(pieces):
        line = Text(number if i == 0 else " " * len(number), "dim")
        line.append(piece + " " * (body - cell_len(piece)), style)
        lines.append(line)
    return lines


def _chop(line: str, width: int) -> list[str]:
    """`line` (tabs expanded) in pieces of at most `width` cells; an empty line is one."""
    return chop_cells(line.expandtabs(TAB), width) or [""]


class DiffView(VerticalScroll):
    """Every file of a change and its hunks; all accepted until the user says otherwise.

    `side_by_side` shows every hunk's old lines beside its new ones; switching keeps what
    was accepted and rejected.
    """

    side_by_side: reactive[bool] = reactive(False)

    BINDINGS = [
        Binding("space", "toggle_hunk", "Accept/reject hunk",
                tooltip="Accept or reject the hunk under focus"),
        Binding("f", "toggle_file", "Accept/reject file",
                tooltip="Accept or reject every hunk of the focused hunk's file"),
        Binding("down", "hunk(1)", "Next hunk", show=False, tooltip="Next hunk"),
        Binding("up", "hunk(-1)", "Previous hunk", show=False, tooltip="Previous hunk"),
    ]

    class Changed(Message):
        """The selection of hunks changed."""

    def __init__(self, *, id: str | None = None) -> None:
        """Empty until `show`."""
        super().__init__(id=id)
        self.files: tuple[FileDiff, ...] = ()

    def compose(self) -> ComposeResult:
        """A hint until a diff arrives."""
        yield Static("No change to show: pick a fix or repair run.", classes="diff-empty")

    async def show(self, files: tuple[FileDiff, ...], selectable: bool) -> None:
        """Show `files`; `selectable` when the run awaits a decision on them."""
        self.files = files
        await self.remove_children()
        widgets: list[Widget] = []
        for file in files:
            widgets.append(Static(f"{file.change} {file.path}", classes="diff-file"))
            widgets += [HunkView(file.path, hunk, selectable, self.side_by_side)
                        for hunk in file.hunks]
        if not widgets:
            widgets.append(Static("The run changed nothing.", classes="diff-empty"))
        await self.mount_all(widgets)

    def watch_side_by_side(self, side_by_side: bool) -> None:
        """Lay every hunk out again, unified or side by side."""
        for hunk in self.query(HunkView):
            hunk.side_by_side = side_by_side

    def accepted(self) -> frozenset[HunkKey]:
        """The hunks accepted now."""
        return frozenset(h.key for h in self.query(HunkView) if h.accepted)

    def _focused_hunk(self) -> HunkView | None:
        focused = self.app.focused
        return focused if isinstance(focused, HunkView) and focused.parent is self else None

    def action_toggle_hunk(self) -> None:
        """Toggle the focused hunk."""
        hunk = self._focused_hunk()
        if hunk is not None:
            hunk.toggle()

    def action_toggle_file(self) -> None:
        """Set every hunk of the focused hunk's file to the opposite of that hunk."""
        hunk = self._focused_hunk()
        if hunk is None or not hunk.selectable:
            return
        accept = not hunk.accepted
        for other in self.query(HunkView):
            if other.key[0] == hunk.key[0]:
                other.accepted = accept
        self.post_message(self.Changed())

    def action_hunk(self, step: int) -> None:
        """Focus the next (1) or previous (-1) hunk."""
        hunks = list(self.query(HunkView))
        if not hunks:
            return
        current = self._focused_hunk()
        index = hunks.index(current) + step if current in hunks else 0
        target = hunks[max(0, min(index, len(hunks) - 1))]
        target.focus()
        self.scroll_to_widget(target, animate=False)

    def on_hunk_view_toggled(self, event: HunkView.Toggled) -> None:
        """Pass one hunk's toggle on as a change of the selection."""
        event.stop()
        self.post_message(self.Changed())
