"""What the model saw: the manifest of the last request, and the budget it filled."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.markup import escape
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from app.tui.messages import OpenLocation
from app.tui.screens.base import FathomScreen
from app.tui.state import ContextManifest, ManifestFile
from app.tui.widgets.budget import BudgetBar

EMPTY = ("Nothing sent yet. Ask a question (F2): this view then shows every file of the "
         "repository and what the model saw of it — whole, by signatures, or left out, "
         "and why.")
MODE_STYLE = {"full": "bold", "signatures": "", "omitted": "dim"}


def summary(manifest: ContextManifest) -> str:
    """Two lines: the budget used, and the files by mode (markup)."""
    m = manifest
    share = m.used / m.model.context if m.model.context else 0.0
    secrets = sum(f.is_secret for f in m.files)
    focus = (" · [$warning]the repository does not fit: the question chose what went "
             "in[/]" if m.focused else "")
    return (f"[b]{m.used:,}[/] of {m.model.context:,} tokens ({share:.1%}) for "
            f"“{escape(m.query)}” · budget {m.budget:,} · {escape(m.model.name)}\n"
            f"{m.count('full')} whole · {m.count('signatures')} by signatures · "
            f"{m.count('omitted')} left out ([$error]{secrets} secret[/]) · "
            f"{len(m.spans)} spans, {m.spans_tokens:,} tokens{focus}")


def reason_text(file: ManifestFile) -> Text:
    """Why a file was not shown whole; secrets stand out."""
    reason = file.reason or ""
    return Text(reason, style="bold red") if file.is_secret else Text(reason)


class ContextScreen(FathomScreen):
    """Summary, budget bar, and the files (all of them, or only those left out) and the
    spans sent with the question."""

    MODE = "context"

    def compose_body(self) -> ComposeResult:
        """Summary and bar above two tables."""
        with Vertical(id="context-body"):
            yield Static(EMPTY, id="context-summary")
            yield BudgetBar(id="budget")
            yield Static("", id="budget-legend")
            with TabbedContent(id="context-tabs"):
                with TabPane("Files", id="files-tab"):
                    yield DataTable(id="files-table", cursor_type="row", zebra_stripes=True)
                with TabPane("Left out", id="left-out-tab"):
                    yield DataTable(id="left-out-table", cursor_type="row")
                with TabPane("Spans", id="spans-tab"):
                    yield DataTable(id="spans-table", cursor_type="row")

    def on_mount(self) -> None:
        """Columns, then follow the app's last manifest."""
        files = self.query_one("#files-table", DataTable)
        files.add_columns("file", "mode", "tokens", "section", "why not whole")
        left = self.query_one("#left-out-table", DataTable)
        left.add_columns("file", "mode", "why")
        self.query_one("#spans-table", DataTable).add_columns("#", "span", "definition",
                                                              "tokens")
        self.watch(self.fathom, "manifest", self._show, init=True)

    def _show(self) -> None:
        """Fill everything from the manifest (or say there is none yet)."""
        manifest = self.fathom.manifest
        bar = self.query_one(BudgetBar)
        bar.display = manifest is not None
        if manifest is None:
            return
        self.query_one("#context-summary", Static).update(summary(manifest))
        bar.show(manifest)
        self.query_one("#budget-legend", Static).update(bar.legend())
        files = self.query_one("#files-table", DataTable)
        files.clear()
        for f in manifest.files:
            files.add_row(Text(f.path, style=MODE_STYLE[f.mode]), f.mode,
                          Text(f"{f.tokens:,}", justify="right"), f.section, reason_text(f),
                          key=f.path)
        left = self.query_one("#left-out-table", DataTable)
        left.clear()
        for f in manifest.left_out:
            left.add_row(f.path, f.mode, reason_text(f), key=f.path)
        spans = self.query_one("#spans-table", DataTable)
        spans.clear()
        for s in manifest.spans:
            spans.add_row(f"[{s.number}]", f"{s.path}:{s.line}-{s.end_line}", s.name or "",
                          Text(f"{s.tokens:,}", justify="right"), key=f"{s.path}:{s.line}")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a file opens it in the code viewer; on a span, at its first line."""
        key = event.row_key.value
        if not key:
            return
        if event.data_table.id == "spans-table":
            path, _, line = key.rpartition(":")
            self.post_message(OpenLocation(path, int(line)))
        else:
            self.post_message(OpenLocation(key, 1))
