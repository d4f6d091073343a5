"""A change hunk by hunk: read a commit's diff as files and hunks, commit only some of
them, and check that a commit holds only part of a change.

A hunk's id is ``(path, index)``: its file and its place among that file's hunks in the
commit's diff (``commit_diff``), so the same commit always numbers its hunks the same
way. ``commit_hunks`` builds a commit from the chosen hunks in a private index (git
plumbing: read-tree, apply --cached, write-tree, commit-tree): no branch moves and no
working tree is touched. ``check_selection`` is how the run that made a change checks
such a commit before it takes it: it must descend from the run's base and change
nothing the run did not change, line for line. Lines are compared as zero-context
hunks, whose positions in the base file do not move when other hunks are left out; a
file changed as a whole (a binary file, a mode change) must end exactly as the run
left it. unidiff parses the diffs.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from tools.git.read import diff_text, is_ancestor, resolve_commit
from tools.git.runner import GitError, decode, repo_root, run_git, split_nul

if TYPE_CHECKING:
    from unidiff import PatchSet

HunkId = tuple[str, int]  # (path, index of the hunk in its file)
_LineKey = tuple[int, int, tuple[str, ...]]  # old start, old length, the +/- lines
_SELECTION_DIFF = ("diff", "--no-renames", "--no-ext-diff", "--no-textconv", "--no-color",
                   "--no-relative", "--src-prefix=a/", "--dst-prefix=b/")


@dataclass(frozen=True)
class Hunk:
    """One hunk of a file's diff: its place in the file's diff, its ``@@`` header and its
    lines (with +/-/space marks)."""

    index: int
    header: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class FileHunks:
    """The change to one file and its hunks (none for a binary file or a mode change)."""

    path: str
    change: Literal["added", "removed", "modified"]
    hunks: tuple[Hunk, ...]


class SelectionError(GitError):
    """A commit offered as the accepted part of a change is not one."""


@dataclass(frozen=True)
class Selection:
    """A checked part of a change: its commit, files and diff, and how many changed lines
    it keeps of the ``total`` the whole change has."""

    commit: str
    files: list[str]
    diff: str
    lines: int
    total: int


def _patch_set(diff: str) -> PatchSet:
    """``diff`` parsed by unidiff; GitError when it cannot be read.

    unidiff is imported here, not with the module: everything that imports
    ``tools.git`` (each ``fathom index``) would pay its ~20 ms, and only hunks need it.
    """
    from unidiff import PatchSet, UnidiffParseError

    try:
        return PatchSet(diff)
    except UnidiffParseError as err:
        raise GitError(f"unreadable diff: {err}") from err


def commit_diff(repo: str | Path, commit: str) -> str:
    """The unified diff of ``commit`` against its (first) parent."""
    return diff_text(repo, f"{commit}^", commit)


def parse_hunks(diff: str) -> tuple[FileHunks, ...]:
    """The files and hunks of a unified diff (GitError if it cannot be read)."""
    files = []
    for changed in _patch_set(diff):
        change: Literal["added", "removed", "modified"] = (
            "added" if changed.is_added_file else
            "removed" if changed.is_removed_file else "modified")
        hunks = []
        for index, hunk in enumerate(changed):
            header, *lines = str(hunk).splitlines()
            hunks.append(Hunk(index, header, tuple(lines)))
        files.append(FileHunks(changed.path, change, tuple(hunks)))
    return tuple(files)


def select_hunks(diff: str, keep: Collection[HunkId]) -> str:
    """The part of ``diff`` made of the hunks in ``keep`` (files without any are left out)."""
    parts = []
    for changed in _patch_set(diff):
        hunks = [str(h) for i, h in enumerate(changed) if (changed.path, i) in keep]
        if hunks:
            parts.append(f"{changed.patch_info}--- {changed.source_file}\n"
                         f"+++ {changed.target_file}\n" + "".join(hunks))
    return "".join(parts)


def commit_hunks(repo: str | Path, commit: str, keep: Collection[HunkId]) -> str:
    """A commit on ``commit``'s parent holding only the ``keep`` hunks of it (the parent
    itself when nothing is kept); no branch moves and no working tree is touched."""
    top = repo_root(repo)
    base = resolve_commit(top, f"{commit}^")
    patch = select_hunks(commit_diff(top, commit), keep)
    if not patch:
        return base
    with tempfile.TemporaryDirectory(prefix="fathom-hunks-") as tmp:
        index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        run_git(top, "read-tree", base, env=index)
        run_git(top, "apply", "--cached", stdin=patch.encode("utf-8"), env=index)
        tree = run_git(top, "write-tree", env=index).decode().strip()
    message = decode(run_git(top, "log", "-1", "--format=%B", commit)).strip()
    return run_git(top, "commit-tree", tree, "-p", base, "-m",
                   f"{message}\n\nKept {len(keep)} accepted hunks in Fathom's review.",
                   as_fathom=True).decode().strip()


@dataclass(frozen=True)
class _FileChange:
    """How one file changed: its mode before, its mode and blob after, its hunks."""

    old_mode: str
    new: tuple[str, str]
    hunks: frozenset[_LineKey]


def _changes(top: Path, base: str, head: str) -> dict[str, _FileChange]:
    """Every file ``base..head`` changes, with its zero-context hunks."""
    states = {}
    fields = split_nul(run_git(top, *_SELECTION_DIFF, "--raw", "-z", base, head))
    for meta, path in zip(fields[::2], fields[1::2], strict=True):
        old_mode, new_mode, _, new_blob, _ = meta.lstrip(":").split()
        states[path] = (old_mode, (new_mode, new_blob))
    try:
        patch = _patch_set(decode(run_git(top, *_SELECTION_DIFF, "-U0", base, head)))
    except GitError as err:
        raise SelectionError(f"unreadable diff {base[:12]}..{head[:12]}: {err}") from err
    hunks: dict[str, frozenset[_LineKey]] = {
        changed.path: frozenset((h.source_start, h.source_length,
                                 tuple(str(line) for line in h)) for h in changed)
        for changed in patch}
    return {path: _FileChange(old, new, hunks.get(path, frozenset()))
            for path, (old, new) in states.items()}


def _size(changes: Mapping[str, _FileChange]) -> int:
    """Changed lines (added plus removed) of a change."""
    return sum(sum(1 for line in hunk[2] if line[:1] in "+-")
               for change in changes.values() for hunk in change.hunks)


def check_selection(repo: str | Path, base: str, proposed: str, commit: str) -> Selection:
    """Check that ``commit`` holds only part of the change ``base..proposed``.

    Raises SelectionError saying what is wrong: not a commit, not descending from
    ``base``, or changing a file or a line that ``base..proposed`` does not change.
    """
    top = repo_root(repo)
    if not re.fullmatch(r"[0-9a-fA-F]{7,64}", commit):
        raise SelectionError(f"{commit!r} is not a commit id")
    try:
        sha = resolve_commit(top, commit)
    except GitError as err:
        raise SelectionError(f"{commit}: not a commit of this repository") from err
    if not is_ancestor(top, base, sha):
        raise SelectionError(f"{sha[:12]} does not descend from the run's base {base[:12]}")
    run, kept = _changes(top, base, proposed), _changes(top, base, sha)
    for path, change in kept.items():
        mine = run.get(path)
        if mine is None:
            raise SelectionError(f"{sha[:12]} changes {path}, which the run did not change")
        whole = change.new == mine.new
        partial = bool(change.hunks) and change.hunks <= mine.hunks and (
            change.new[0] in (mine.new[0], change.old_mode))
        if not (whole or partial):
            raise SelectionError(f"{sha[:12]} changes {path} in ways the run did not")
    diff = decode(run_git(top, *_SELECTION_DIFF, base, sha)) if kept else ""
    return Selection(sha, sorted(kept), diff, _size(kept), _size(run))
