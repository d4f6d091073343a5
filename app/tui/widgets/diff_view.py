"""A unified diff, hunk by hunk, each accepted or rejected (space, a click, or a whole file)."""

from __future__ import annotations

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

from app.tui.runstate import FileDiff, Hunk, HunkKey

LINE_STYLES = {"+": "green", "-": "red", "\\": "dim"}


class HunkView(Widget, can_focus=True):
    """One hunk: a check mark, its `@@` header, its lines coloured by kind."""

    accepted: reactive[bool] = reactive(True)

    class Toggled(Message):
        """The hunk was accepted or rejected."""

    def __init__(self, path: str, hunk: Hunk, selectable: bool) -> None:
        """Show `hunk` of `path`; only a `selectable` hunk can be toggled."""
        super().__init__(classes="hunk")
        self.key: HunkKey = (path, hunk.index)
        self.hunk = hunk
        self.selectable = selectable

    def render(self) -> Text:
        """Mark, header and lines."""
        mark = ("[x] " if self.accepted else "[ ] ") if self.selectable else ""
        text = Text(mark + self.hunk.header + "\n", style="bold cyan")
        for line in self.hunk.lines:
            text.append(line + "\n", LINE_STYLES.get(line[:1], ""))
        text.rstrip()
        return text

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """Header plus lines."""
        return 1 + len(self.hunk.lines)

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


class DiffView(VerticalScroll):
    """Every file of a change and its hunks; all accepted until the user says otherwise."""

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
            widgets += [HunkView(file.path, hunk, selectable) for hunk in file.hunks]
        if not widgets:
            widgets.append(Static("The run changed nothing.", classes="diff-empty"))
        await self.mount_all(widgets)

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
