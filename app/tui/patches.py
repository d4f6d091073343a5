"""A run's change, hunk by hunk: read it from git, commit only the hunks the user accepts.

The run's branch holds one commit on top of the base (the `fix` graph squashes its
work). A selection is committed on the base from the accepted hunks in a private index
(git plumbing: read-tree, apply --cached, write-tree, commit-tree); no branch moves and
no working tree is touched. The commit goes to the run with its approval, and the run
checks it and moves its branch there (`agents.graphs.approval`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Collection
from pathlib import Path

import git
from unidiff import PatchSet, UnidiffParseError

from agents.graphs.workspace import AGENT_IDENTITY
from app.tui.runstate import FileDiff, Hunk, HunkKey
from tools.git import GitError


def _git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run git in `repo` as the agent; `GitError` with git's message."""
    try:
        with git.Repo(repo, search_parent_directories=True) as handle:
            return str(handle.git.execute(["git", *args],
                                          env={**AGENT_IDENTITY, **(env or {})},
                                          strip_newline_in_stdout=False))
    except git.GitCommandError as err:
        raise GitError(f"git {' '.join(args)}: {str(err.stderr).strip()}") from err


def commit_diff(repo: Path, commit: str) -> str:
    """The unified diff of `commit` against its parent."""
    return _git(repo, "diff", f"{commit}^", commit)


def parse_diff(diff: str) -> tuple[FileDiff, ...]:
    """Files and hunks of a unified diff (`GitError` if it cannot be read)."""
    try:
        patch = PatchSet(diff)
    except UnidiffParseError as err:
        raise GitError(f"unreadable diff: {err}") from err
    files = []
    for changed in patch:
        kind = "added" if changed.is_added_file else (
            "removed" if changed.is_removed_file else "modified")
        hunks = tuple(Hunk(i, str(h).splitlines()[0], tuple(str(h).splitlines()[1:]))
                      for i, h in enumerate(changed))
        files.append(FileDiff(changed.path, kind, hunks))
    return tuple(files)


def select_hunks(diff: str, keep: Collection[HunkKey]) -> str:
    """The part of `diff` made of the hunks in `keep` (files without any are left out)."""
    parts = []
    for changed in PatchSet(diff):
        hunks = [str(h) for i, h in enumerate(changed) if (changed.path, i) in keep]
        if hunks:
            parts.append(f"{changed.patch_info}--- {changed.source_file}\n"
                         f"+++ {changed.target_file}\n" + "".join(hunks))
    return "".join(parts)


def commit_hunks(repo: Path, commit: str, keep: Collection[HunkKey]) -> str:
    """A commit on `commit`'s parent holding only the `keep` hunks of it (the parent
    itself when nothing is kept); no branch moves."""
    base = _git(repo, "rev-parse", f"{commit}^").strip()
    patch = select_hunks(commit_diff(repo, commit), keep)
    if not patch:
        return base
    with tempfile.TemporaryDirectory(prefix="fathom-hunks-") as tmp:
        index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        (Path(tmp) / "kept.diff").write_text(patch, encoding="utf-8")
        _git(repo, "read-tree", base, env=index)
        _git(repo, "apply", "--cached", str(Path(tmp) / "kept.diff"), env=index)
        tree = _git(repo, "write-tree", env=index).strip()
    message = _git(repo, "log", "-1", "--format=%B", commit).strip()
    return _git(repo, "commit-tree", tree, "-p", base, "-m",
                f"{message}\n\nKept {len(keep)} accepted hunks in Fathom's review.").strip()
