"""Pairing a hunk's lines for the side-by-side diff."""

from __future__ import annotations

from app.tui.diff_rows import Cell, Row, pair_lines


def test_changes_pair_row_by_row_between_shared_context() -> None:
    lines = (" def mean(values):", "-    a = 1", "-    b = 2", "+    a = 10", " return a",
             "+# added at the end", "\\ No newline at end of file")
    rows = pair_lines("@@ -7,4 +7,4 @@ def mean", lines)
    assert rows == [
        Row(Cell(7, "def mean(values):", " "), Cell(7, "def mean(values):", " ")),
        Row(Cell(8, "    a = 1", "-"), Cell(8, "    a = 10", "+")),
        Row(Cell(9, "    b = 2", "-"), None),
        Row(Cell(10, "return a", " "), Cell(9, "return a", " ")),
        Row(None, Cell(10, "# added at the end", "+")),
        Row(None, Cell(None, "No newline at end of file", "\\")),
    ]


def test_a_new_file_has_only_a_right_side() -> None:
    rows = pair_lines("@@ -0,0 +1,2 @@", ("+first", "+second"))
    assert rows == [Row(None, Cell(1, "first", "+")), Row(None, Cell(2, "second", "+"))]
    assert pair_lines("@@ -1 +1 @@", ("-x", "+y")) == [Row(Cell(1, "x", "-"), Cell(1, "y", "+"))]
