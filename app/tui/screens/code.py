"""Code: the repository's file tree and a highlighted viewer with line numbers."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.widgets import Static

from app.tui.screens.base import FathomScreen
from app.tui.services import ServiceError
from app.tui.state import FileText
from app.tui.widgets.code_view import CodeView
from app.tui.widgets.file_tree import FileTree

HINT = "Pick a file on the left, or jump to a symbol with [b]Ctrl+F[/]."


class CodeScreen(FathomScreen):
    """File tree on the left, the open file on the right."""

    MODE = "code"
    BINDINGS = [
        Binding("ctrl+b", "toggle_tree", "Tree", tooltip="Hide or show the file tree"),
        Binding("ctrl+e", "focus_code", "Code", show=False, tooltip="Focus the code viewer"),
    ]

    def compose_body(self) -> ComposeResult:
        """Tree and viewer side by side."""
        with Horizontal(id="code-body"):
            yield FileTree(id="tree")
            with Vertical(id="code-pane"):
                yield Static(HINT, id="code-title")
                yield CodeView(id="code")

    def on_mount(self) -> None:
        """Fill the tree when the index is read; keep the title in step with the cursor."""
        self.watch(self.fathom, "catalog", self._show_catalog, init=True)
        self.watch(self.query_one(CodeView), "cursor_line", self._title, init=False)
        self.query_one(FileTree).focus()

    def _show_catalog(self) -> None:
        """Show the files the index lists."""
        catalog = self.fathom.catalog
        if catalog is not None:
            self.query_one(FileTree).show(catalog.files)

    def open(self, path: str, line: int = 1) -> None:
        """Show `path` with `line` highlighted and in view."""
        self._load(path, line)

    @work(thread=True, exclusive=True, group="open", exit_on_error=False)
    def _load(self, path: str, line: int) -> None:
        """Read the file off the UI thread."""
        try:
            file = self.fathom.service.read_file(path)
        except ServiceError as error:
            self.app.call_from_thread(self.notify, str(error), title="Open",
                                      severity="error")
            return
        self.app.call_from_thread(self._show, file, line)

    def _show(self, file: FileText, line: int) -> None:
        """Put the file in the viewer."""
        view = self.query_one(CodeView)
        view.show(file.path, file.text, line)
        if file.note:
            self.query_one("#code-title", Static).update(
                f"[b]{escape(file.path)}[/]  [$warning]{escape(file.note)}[/]")
        else:
            self._title()
        self.query_one(FileTree).select_path(file.path)
        view.focus()

    def _title(self) -> None:
        """`path · line N of M`."""
        view = self.query_one(CodeView)
        if view.path:
            self.query_one("#code-title", Static).update(
                f"[b]{escape(view.path)}[/]  [dim]line {view.cursor_line} of "
                f"{view.line_count}[/]")

    def action_toggle_tree(self) -> None:
        """Hide or show the file tree."""
        tree = self.query_one(FileTree)
        tree.display = not tree.display

    def action_focus_code(self) -> None:
        """Focus the viewer."""
        self.query_one(CodeView).focus()
