"""A run's change as the TUI shows it: the files and hunks of a diff, as view data.

`tools.git.hunks` reads a diff as files and hunks (the run commits the hunks the user
accepts); this module only turns them into `app.tui.runstate`'s plain data.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.tui.runstate import FileDiff, Hunk
from tools.git import FileHunks, parse_hunks


def file_diffs(files: Iterable[FileHunks]) -> tuple[FileDiff, ...]:
    """The files and hunks of a change, as the diff view shows them."""
    return tuple(FileDiff(file.path, file.change,
                          tuple(Hunk(h.index, h.header, h.lines) for h in file.hunks))
                 for file in files)


def parse_diff(diff: str) -> tuple[FileDiff, ...]:
    """Files and hunks of a unified diff (`GitError` if it cannot be read)."""
    return file_diffs(parse_hunks(diff))
