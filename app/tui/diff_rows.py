"""A hunk's lines paired for the side-by-side diff: the old file left, the new file right.

Context lines appear on both sides. A run of removed lines and the run of added lines
after it are paired row by row, the shorter side left blank. Each side carries its line
number, counted from the hunk's `@@ -a,b +c,d @@` header; a note such as `\\ No newline
at end of file` has none and stays on the side of the line it is about.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_HEADER = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


@dataclass(frozen=True, slots=True)
class Cell:
    """One side of a row: line number (None for a note), text without its mark, and the
    mark (` `, `-`, `+`, or `\\` for a note)."""

    number: int | None
    text: str
    mark: str


@dataclass(frozen=True, slots=True)
class Row:
    """A line of the old file beside the line of the new file it became (None: none)."""

    old: Cell | None
    new: Cell | None


def pair_lines(header: str, lines: Sequence[str]) -> list[Row]:
    """The rows of a hunk whose `@@` line is `header` and whose marked lines are `lines`."""
    match = _HEADER.match(header)
    old_no, new_no = (int(match.group(1)), int(match.group(2))) if match else (1, 1)
    rows: list[Row] = []
    removed: list[Cell] = []
    added: list[Cell] = []
    last = " "

    def flush() -> None:
        """Pair the pending removed and added lines."""
        for i in range(max(len(removed), len(added))):
            rows.append(Row(removed[i] if i < len(removed) else None,
                            added[i] if i < len(added) else None))
        removed.clear()
        added.clear()

    for line in lines:
        mark, text = line[:1], line[1:]
        if mark == "-":
            removed.append(Cell(old_no, text, mark))
            old_no += 1
        elif mark == "+":
            added.append(Cell(new_no, text, mark))
            new_no += 1
        elif mark == "\\":
            note = Cell(None, text.strip(), mark)
            if last == "-":
                removed.append(note)
            elif last == "+":
                added.append(note)
            else:
                flush()
                rows.append(Row(note, note))
            continue
        else:
            flush()
            rows.append(Row(Cell(old_no, text, " "), Cell(new_no, text, " ")))
            old_no += 1
            new_no += 1
        last = mark if mark in ("-", "+") else " "
    flush()
    return rows
