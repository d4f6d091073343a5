"""A read-only code viewer: Pygments highlighting, line numbers, a cursor line.

Textual's TextArea highlights with tree-sitter queries that must match the grammar
build; the grammars Fathom ships (tree-sitter-language-pack) are newer than the queries
Textual bundles, so the viewer highlights with Pygments (through rich) instead, once per
file, and draws only the visible lines (Textual's line API), so large files scroll fast.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.syntax import Syntax
from rich.text import Text
from textual.binding import Binding
from textual.events import Click
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

DARK_STYLE = "one-dark"
LIGHT_STYLE = "default"


class CodeView(ScrollView, can_focus=True):
    """Shows one file; `cursor_line` (1-based) is highlighted and kept in view."""

    COMPONENT_CLASSES = {"code-view--gutter", "code-view--cursor", "code-view--cursor-gutter"}
    BINDINGS = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown,space", "page(1)", "Page down", show=False),
        Binding("home,g", "go(1)", "First line", show=False),
        Binding("end,G", "go(0)", "Last line", show=False),
    ]

    cursor_line: reactive[int] = reactive(1)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        """An empty viewer; `show` loads a file."""
        super().__init__(id=id, classes=classes)
        self.path = ""
        self._source = ""
        self._lines: list[Text] = []
        self._digits = 1

    @property
    def line_count(self) -> int:
        """Lines of the file shown."""
        return len(self._lines)

    def show(self, path: str, text: str, line: int = 1) -> None:
        """Show `text` (the file at `path`) with `line` as the cursor line, in view."""
        self.path = path
        self._source = text
        self._highlight()
        self.cursor_line = max(1, min(line, self.line_count))
        self.call_after_refresh(self._centre)

    def _highlight(self) -> None:
        """Highlight the source for the app's current (dark or light) theme."""
        style = DARK_STYLE if self.app.current_theme.dark else LIGHT_STYLE
        lexer = Syntax.guess_lexer(self.path, self._source)
        text = Syntax(self._source, lexer, theme=style, tab_size=4).highlight(self._source)
        text.expand_tabs(4)
        self._lines = text.split("\n", allow_blank=True) if self._source else []
        if self._lines and not self._lines[-1].plain and self._source.endswith("\n"):
            self._lines.pop()
        self._digits = len(str(max(self.line_count, 1)))
        widest = max((line.cell_len for line in self._lines), default=0)
        self.virtual_size = Size(widest + self._digits + 3, self.line_count)
        self.refresh()

    def on_mount(self) -> None:
        """Re-highlight when the theme switches between dark and light."""
        self.watch(self.app, "theme", lambda: self._highlight() if self._source else None,
                   init=False)

    def render_line(self, y: int) -> Strip:
        """Row `y` of the view: the line number, then the highlighted code."""
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if index >= self.line_count:
            return Strip.blank(width, base)
        cursor = index + 1 == self.cursor_line
        gutter_style = self.get_component_rich_style(
            "code-view--cursor-gutter" if cursor else "code-view--gutter")
        line_style = self.get_component_rich_style("code-view--cursor") if cursor else base
        gutter = Segment(f" {index + 1:>{self._digits}} ", gutter_style)
        code_width = max(width - gutter.cell_length, 0)
        code = Strip(self._lines[index].render(self.app.console, end=""))
        code = code.apply_style(line_style).crop_extend(scroll_x, scroll_x + code_width,
                                                        line_style)
        return Strip.join([Strip([gutter, Segment(" ", line_style)]), code]).crop(0, width)

    def watch_cursor_line(self) -> None:
        """Keep the cursor line in view."""
        top = self.scroll_offset.y
        height = self.scrollable_content_region.height
        row = self.cursor_line - 1
        if row < top:
            self.scroll_to(y=row, animate=False)
        elif height and row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False)
        self.refresh()

    def _centre(self) -> None:
        """Scroll so the cursor line sits a third of the way down."""
        height = self.scrollable_content_region.height
        self.scroll_to(y=max(self.cursor_line - 1 - height // 3, 0), animate=False)

    def action_move(self, delta: int) -> None:
        """Move the cursor by `delta` lines."""
        self.cursor_line = max(1, min(self.cursor_line + delta, max(self.line_count, 1)))

    def action_page(self, direction: int) -> None:
        """Move the cursor a page up (-1) or down (1)."""
        self.action_move(direction * max(self.scrollable_content_region.height - 1, 1))

    def action_go(self, line: int) -> None:
        """Move the cursor to `line` (0: the last line)."""
        self.cursor_line = line or max(self.line_count, 1)

    def on_click(self, event: Click) -> None:
        """Put the cursor on the clicked line."""
        row = self.scroll_offset.y + event.y
        if row < self.line_count:
            self.cursor_line = row + 1
