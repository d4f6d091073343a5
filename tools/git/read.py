"""Reading a repository: its status, revisions, diffs, files at a commit, recent work.

Paths in and out are POSIX, relative to the repository root. Nothing here writes: every
command runs with ``GIT_OPTIONAL_LOCKS=0`` (``tools.git.runner``), so reading never
rewrites the user's index.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tools.git.runner import (
    GitError,
    UnknownRevisionError,
    decode,
    exit_code,
    repo_root,
    run_git,
    split_nul,
)

_DIFF_FLAGS = ("--no-color", "--no-ext-diff", "--no-textconv", "-M", "--no-relative",
              "--src-prefix=a/", "--dst-prefix=b/")


@dataclass(frozen=True)
class RepoStatus:
    """The state of a working tree. ``branch`` is None when HEAD is detached, ``head`` None
    before the first commit. ``is_dirty`` counts untracked files too: they are work to keep."""

    root: str
    branch: str | None
    head: str | None
    staged: list[str]
    unstaged: list[str]
    untracked: list[str]
    conflicted: list[str]
    is_dirty: bool

    @property
    def pending(self) -> set[str]:
        """Every file with uncommitted work: staged, unstaged, untracked or conflicted."""
        return {*self.staged, *self.unstaged, *self.untracked, *self.conflicted}


def resolve_commit(repo: str | Path, rev: str) -> str:
    """The full sha of the commit ``rev`` names in the repository at ``repo``;
    UnknownRevisionError naming the revision and the repository otherwise."""
    if not rev or rev.startswith("-") or "\0" in rev:
        raise UnknownRevisionError(f"invalid revision {rev!r} in {repo}")
    out = run_git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", ok=(0, 1, 128))
    sha = out.decode().strip()
    if not sha:
        raise UnknownRevisionError(f"unknown revision {rev!r} in {repo}")
    return sha


def head_commit(repo: str | Path) -> str | None:
    """The sha HEAD points to, or None before the first commit."""
    out = run_git(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", ok=(0, 1, 128))
    return out.decode().strip() or None


def is_ancestor(repo: str | Path, ancestor: str, descendant: str) -> bool:
    """Whether commit ``ancestor`` is ``descendant`` or one of its ancestors."""
    return exit_code(repo, "merge-base", "--is-ancestor", ancestor, descendant) == 0


def status(path: str | Path) -> RepoStatus:
    """Branch, head and changed files of the working tree, from one ``git status`` call."""
    root = repo_root(path)
    raw = run_git(root, "status", "--porcelain=v2", "-z", "--branch", "--untracked-files=all")
    branch: str | None = None
    head: str | None = None
    lists: dict[str, list[str]] = {"staged": [], "unstaged": [], "untracked": [], "conflicted": []}
    tokens = iter(split_nul(raw))
    for entry in tokens:
        kind, value = entry[:1], entry.rsplit(" ", 1)[-1]
        if entry.startswith("# branch.oid "):
            head = None if value == "(initial)" else value
        elif entry.startswith("# branch.head "):
            branch = None if value == "(detached)" else value
        elif kind in ("1", "2"):  # changed; "2" is a rename followed by its old path
            file = entry.split(" ", 8 if kind == "1" else 9)[-1]
            if kind == "2":
                next(tokens)
            if entry[2] != ".":
                lists["staged"].append(file)
            if entry[3] != ".":
                lists["unstaged"].append(file)
        elif kind == "u":
            lists["conflicted"].append(entry.split(" ", 10)[-1])
        elif kind == "?":
            lists["untracked"].append(entry[2:])
    return RepoStatus(str(root), branch, head, **lists, is_dirty=any(lists.values()))


def _range(root: Path, base: str | None, head: str | None) -> list[str]:
    """The commits a diff compares: ``base head``, ``base`` (against the working tree), or
    HEAD (the empty tree before the first commit) when both are None."""
    if base is None and head is not None:
        raise GitError(f"diff head {head!r} given without a base in {root}")
    if base is None:
        return [head_commit(root) or
                run_git(root, "hash-object", "-t", "tree", os.devnull).decode().strip()]
    revs = [resolve_commit(root, base)]
    return revs if head is None else [*revs, resolve_commit(root, head)]


def diff_text(path: str | Path, base: str | None = None, head: str | None = None) -> str:
    """The unified diff as git prints it (renames detected, ``a/`` and ``b/`` prefixes):
    of ``base..head``; of ``base`` against the working tree when ``head`` is None; of HEAD
    against the working tree (staged and unstaged) when both are None. Untracked files
    are not part of a diff."""
    root = repo_root(path)
    out = run_git(root, "diff", *_DIFF_FLAGS, *_range(root, base, head), "--")
    return out.decode("utf-8", "replace")


def changed_files(path: str | Path, base: str, head: str) -> list[str]:
    """The paths ``base..head`` changes (a renamed file under its new name), in git's order."""
    root = repo_root(path)
    return split_nul(run_git(root, "diff", *_DIFF_FLAGS, "--name-only", "-z",
                             *_range(root, base, head), "--"))


@dataclass(frozen=True)
class FileStat:
    """How much one file changed: lines added and removed (None for a binary file)."""

    path: str
    added: int | None
    removed: int | None


def diff_stat(path: str | Path, base: str, head: str) -> list[FileStat]:
    """The files ``base..head`` changes, with the lines each adds and removes."""
    root = repo_root(path)
    fields = split_nul(run_git(root, "diff", *_DIFF_FLAGS, "--numstat", "-z",
                               *_range(root, base, head), "--"))
    stats, at = [], 0
    while at < len(fields):
        added, removed, name = fields[at].split("\t", 2)
        at += 1
        if not name:  # a rename: the old and the new path follow as their own fields
            name, at = fields[at + 1], at + 2
        stats.append(FileStat(name, None if added == "-" else int(added),
                              None if removed == "-" else int(removed)))
    return stats


def commit_subjects(path: str | Path, base: str, head: str) -> list[str]:
    """The subject lines of the commits in ``base..head``, oldest first."""
    root = repo_root(path)
    return decode(run_git(root, "log", "--reverse", "--format=%s",
                          f"{resolve_commit(root, base)}..{resolve_commit(root, head)}")
                  ).splitlines()


def show_file(repo: str | Path, rev: str, path: str) -> str | None:
    """The text of file ``path`` (relative to the root) at commit ``rev``; None when it
    does not exist there or the revision is unknown."""
    try:
        return run_git(repo, "show", f"{rev}:{path}").decode("utf-8", "replace")
    except GitError:
        return None


def _log(root: Path, *args: str) -> Iterator[tuple[str, list[str]]]:
    """Run ``git log -z --format=%x01<fmt>`` and yield (header, file records) per commit."""
    raw = run_git(root, "log", "-z", "--no-renames", "--no-merges", "--no-show-signature",
                  *args, "HEAD", "--")
    header: str | None = None
    files: list[str] = []
    after_header = False
    for token in raw.split(b"\0"):
        if token.startswith(b"\x01"):
            if header is not None:
                yield header, files
            header, files, after_header = decode(token[1:]), [], True
            continue
        if after_header and token.startswith(b"\n"):
            token = token[1:]  # git puts a newline between a header and its files
        after_header = False
        if token:
            files.append(decode(token))
    if header is not None:
        yield header, files


def recently_changed(
    path: str | Path, commits: int = 20, max_files_per_commit: int | None = None
) -> list[str]:
    """Files with uncommitted changes (newest modification first), then files touched by the
    last ``commits`` commits (newest commit first); each once, only files that still exist.
    Commits touching more than ``max_files_per_commit`` files (an initial import, a mass
    reformat) are passed over: they are not recent work on those files."""
    state = status(path)
    root = Path(state.root)
    existing = [p for p in state.pending if os.path.lexists(root / p)]
    order = sorted(existing, key=lambda p: (-(root / p).lstat().st_mtime, p))
    if state.head is not None and commits > 0:
        for _, files in _log(root, "--name-only", "--format=%x01", f"--max-count={commits}"):
            if max_files_per_commit is None or len(files) <= max_files_per_commit:
                order += [f for f in files if os.path.lexists(root / f)]
    return list(dict.fromkeys(order))


def listed_paths(path: str | Path) -> list[str]:
    """What ``git ls-files`` lists under the directory ``path``, relative to it, as it
    comes: unsorted, possibly with files deleted from the working tree, duplicates of
    conflicted files, and nested repositories or submodules (paths of directories).

    One git process and no stat: for a caller that stats every path anyway.
    """
    listed = run_git(path, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return [p.rstrip("/") for p in split_nul(listed)]
