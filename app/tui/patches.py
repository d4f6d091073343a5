"""A run's change as the TUI shows it: the files and hunks of a diff, as view data.

`tools.git.hunks` reads the diff and commits the hunks the user accepts; this module
only turns its files and hunks into `app.tui.runstate`'s plain data.
"""

from __future__ import annotations

from app.tui.runstate import FileDiff, Hunk
from tools.git import parse_hunks


def parse_diff(diff: str) -> tuple[FileDiff, ...]:
    """Files and hunks of a unified diff (`GitError` if it cannot be read)."""
    return tuple(FileDiff(file.path, file.change,
                          tuple(Hunk(h.index, h.header, h.lines) for h in file.hunks))
                 for file in parse_hunks(diff))
