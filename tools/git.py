"""The git layer of the repository engine: status, diffs, blame, churn and file lists.

gitpython finds the repository and runs git; the work goes through git plumbing with
NUL-separated output (``-z``) instead of gitpython's object model: one process per question
rather than one object per file, and paths with spaces or non-ASCII bytes arrive intact.
Every command runs with ``GIT_OPTIONAL_LOCKS=0`` (reading never rewrites the user's index)
and literal pathspecs. Paths in and out are POSIX, relative to the repository root.
Worktrees live in ``tools.git_worktree`` and are re-exported here.
"""

from __future__ import annotations

import codecs
import importlib.util
import os
import re
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import IO, Literal


def _lazy(name: str) -> ModuleType:
    """``name`` imported on first attribute access (stdlib ``importlib.util.LazyLoader``).

    gitpython and unidiff cost ~60 ms of import; ``fathom index``, whose whole run after a
    one-file edit is ~0.1 s, lists files with plain git (``listed_paths``) and never needs
    them.
    """
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"no module named {name!r}")
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


git = _lazy("git")
unidiff = _lazy("unidiff")

_ENV = {"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "GIT_LITERAL_PATHSPECS": "1"}
_CONFIG = ("-c", "core.quotepath=false", "-c", "color.ui=never")
_DIFF_FLAGS = ("--no-color", "--no-ext-diff", "--no-textconv", "-M", "--no-relative",
               "--src-prefix=a/", "--dst-prefix=b/")
ZERO_SHA = "0" * 40

Change = Literal["added", "modified", "deleted", "renamed"]


class GitError(Exception):
    """A git operation failed; the message says what and in which repository."""


class NotARepositoryError(GitError):
    """The path is not inside a git working tree."""


class UnknownRevisionError(GitError):
    """A revision (branch, tag, sha, expression) does not name a commit."""


class PathOutsideRepoError(GitError):
    """A path given to a git function resolves outside the repository."""


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


@dataclass(frozen=True)
class FileDiff:
    """One file of a diff. ``old_path`` is None for an added file, ``new_path`` for a deleted
    one; line counts are 0 for binary files; ``patch`` is git's unified text for the file."""

    old_path: str | None
    new_path: str | None
    change: Change
    added: int
    removed: int
    is_binary: bool
    patch: str

    @property
    def path(self) -> str:
        """The path the file has after the change (before it, for a deletion)."""
        return self.new_path or self.old_path or ""


@dataclass(frozen=True)
class BlameLine:
    """Who last changed one line. Uncommitted lines have commit ``0``*40."""

    line: int
    commit: str
    author: str
    date: str
    summary: str
    text: str


@dataclass(frozen=True)
class FileChurn:
    """How often and how much a file changed in the log; ``last_changed`` is unix seconds."""

    path: str
    commits: int
    added: int
    removed: int
    last_changed: int


def _start_dir(path: str | Path) -> Path:
    """The directory to look for a repository from: ``path``, or its parent for a file."""
    start = Path(path).expanduser().absolute()
    if not start.exists():
        raise NotARepositoryError(f"not a git repository: {start} does not exist")
    return start if start.is_dir() else start.parent


def open_repo(path: str | Path) -> git.Repo:
    """Open the git repository containing ``path`` (a directory or file), searching parents.

    Raises NotARepositoryError when there is none and GitError for a bare repository.
    """
    start = _start_dir(path)
    try:
        repo = git.Repo(start, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as e:
        raise NotARepositoryError(f"not a git repository (or any parent): {start}") from e
    if repo.bare or repo.working_tree_dir is None:
        repo.close()
        raise GitError(f"bare repository has no working tree: {repo.git_dir}")
    return repo


@contextmanager
def _opened(path: str | Path) -> Iterator[git.Repo]:
    repo = open_repo(path)
    try:
        yield repo
    finally:
        repo.close()


def _root(repo: git.Repo) -> Path:
    return Path(str(repo.working_tree_dir)).resolve()


def repo_root(path: str | Path) -> Path:
    """The absolute, resolved root of the working tree containing ``path``.

    Asked of git directly (``rev-parse``), not through gitpython: see ``_plumbing``.
    """
    start = _start_dir(path)
    inside = _plumbing(start, "rev-parse", "--is-inside-work-tree", "--is-bare-repository",
                       "--show-toplevel").decode("utf-8", "surrogateescape").splitlines()
    if inside[:2] != ["true", "false"] or len(inside) < 3:
        raise GitError(f"no working tree at {start} (a bare repository or inside .git)")
    return Path(inside[2]).resolve()


def _plumbing(cwd: Path, *args: str) -> bytes:
    """Run ``git args`` in ``cwd`` with a plain subprocess; return raw stdout.

    The file listing of every index update goes this way so that a command that only
    updates the index starts without importing gitpython.
    """
    try:
        done = subprocess.run(["git", *_CONFIG, *args], cwd=cwd, capture_output=True,
                              env={**os.environ, **_ENV}, check=False)
    except FileNotFoundError as e:
        raise GitError("the git executable was not found on PATH") from e
    if done.returncode == 0:
        return done.stdout
    stderr = done.stderr.decode("utf-8", "replace").strip()
    if "not a git repository" in stderr:
        raise NotARepositoryError(f"not a git repository (or any parent): {cwd}")
    if "must be run in a work tree" in stderr:
        raise GitError(f"bare repository has no working tree: {cwd}")
    raise GitError(f"git {args[0]} failed in {cwd}: {stderr or 'no message'}")


def _git(repo: git.Repo, *args: str, ok: Sequence[int] = (0,), env: dict[str, str] = _ENV,
         stdin: IO[bytes] | None = None) -> bytes:
    """Run ``git args`` in the working tree and return raw stdout; failures become GitError."""
    try:
        status, out, err = repo.git.execute(
            ["git", *_CONFIG, *args], istream=stdin, with_extended_output=True,
            with_exceptions=False, stdout_as_string=False, strip_newline_in_stdout=False,
            env=env)
    except git.GitCommandNotFound as e:
        raise GitError("the git executable was not found on PATH") from e
    if status not in ok:
        raise _error(repo, args[0], err.strip())
    return out or b""


def _error(repo: git.Repo, cmd: str, stderr: str) -> GitError:
    where = repo.working_tree_dir
    msg = f"git {cmd} failed in {where}: {stderr or 'no message'}"
    if re.search(r"unknown revision|bad revision|bad object|invalid object name|"
                 r"Needed a single revision|ambiguous argument", stderr):
        return UnknownRevisionError(msg)
    if "outside repository" in stderr:
        return PathOutsideRepoError(msg)
    return GitError(msg)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _rel(root: Path, path: str | Path) -> str:
    """``path`` (relative to the root, or absolute) as a POSIX path relative to the root."""
    given = Path(path)
    candidates = [Path(os.path.normpath(root / given))]
    if given.is_absolute():
        candidates.append(given.resolve())
    for candidate in candidates:
        try:
            return candidate.relative_to(root).as_posix()
        except ValueError:
            continue
    raise PathOutsideRepoError(f"path {str(path)!r} is outside the repository {root}")


def _commit(repo: git.Repo, rev: str) -> str:
    """The full sha of the commit ``rev`` names, or UnknownRevisionError."""
    if not rev or rev.startswith("-") or "\0" in rev:
        raise UnknownRevisionError(f"invalid revision {rev!r} in {repo.working_tree_dir}")
    out = _git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", ok=(0, 1, 128))
    sha = out.decode().strip()
    if not sha:
        raise UnknownRevisionError(f"unknown revision {rev!r} in {repo.working_tree_dir}")
    return sha


def _head(repo: git.Repo) -> str | None:
    out = _git(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", ok=(0, 1, 128))
    return out.decode().strip() or None


def _split_z(raw: bytes) -> list[str]:
    return [_text(t) for t in raw.split(b"\0") if t]


def status(path: str | Path) -> RepoStatus:
    """Branch, head and changed files of the working tree, from one ``git status`` call."""
    with _opened(path) as repo:
        raw = _git(repo, "status", "--porcelain=v2", "-z", "--branch", "--untracked-files=all")
        root = str(_root(repo))
    branch: str | None = None
    head: str | None = None
    lists: dict[str, list[str]] = {"staged": [], "unstaged": [], "untracked": [], "conflicted": []}
    tokens = iter(_split_z(raw))
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
    return RepoStatus(root, branch, head, **lists, is_dirty=any(lists.values()))


def _diff_args(repo: git.Repo, base: str | None, head: str | None,
               paths: Sequence[str] | None) -> list[str]:
    if base is None and head is not None:
        raise GitError(f"diff head {head!r} given without a base in {repo.working_tree_dir}")
    if base is None:
        revs = [_head(repo) or _empty_tree(repo)]
    else:
        revs = [_commit(repo, base)] + ([_commit(repo, head)] if head is not None else [])
    root = _root(repo)
    return [*revs, "--", *(_rel(root, p) for p in paths or [])]


def _empty_tree(repo: git.Repo) -> str:
    return _git(repo, "hash-object", "-t", "tree", os.devnull).decode().strip()


def diff_text(path: str | Path, base: str | None = None, head: str | None = None,
              paths: list[str] | None = None) -> str:
    """The unified diff as git prints it; the range is chosen as in :func:`diff`."""
    with _opened(path) as repo:
        out = _git(repo, "diff", *_DIFF_FLAGS, *_diff_args(repo, base, head, paths))
        return out.decode("utf-8", "replace")


def diff(path: str | Path, base: str | None = None, head: str | None = None,
         paths: list[str] | None = None) -> list[FileDiff]:
    """Per-file changes of ``base..head``; of ``base`` against the working tree when ``head``
    is None; of HEAD against the working tree (staged and unstaged) when both are None.

    Untracked files are not part of a diff. ``paths`` limits the diff to those files or
    directories (relative to the root). Renames are detected.
    """
    with _opened(path) as repo:
        args = _diff_args(repo, base, head, paths)
        raw = _git(repo, "diff", *_DIFF_FLAGS, "-z", "--raw", "--numstat", "-p", *args)
    return _parse_diff(raw)


_CHANGE: dict[str, Change] = {"A": "added", "D": "deleted", "R": "renamed", "C": "added"}


def _parse_diff(raw: bytes) -> list[FileDiff]:
    """Parse ``git diff -z --raw --numstat -p``: raw records, numstat records, then the patch.

    Paths come from the NUL-separated records; the patch is cut per ``diff --git`` header in
    the same order (a type change prints two headers).
    """
    pos = 0

    def take() -> str:
        nonlocal pos
        end = raw.index(b"\0", pos)
        token, pos = _text(raw[pos:end]), end + 1
        return token

    records: list[tuple[str, str | None, str | None]] = []
    while raw.startswith(b":", pos):
        status_letter = take().split(" ")[4][0]
        if status_letter in "RC":
            old, new = take(), take()
        else:
            old = new = take()
        records.append((status_letter, None if status_letter == "A" else old,
                        None if status_letter == "D" else new))
    counts: list[tuple[int, int, bool]] = []
    for _ in records:
        added, removed, file = take().split("\t", 2)
        if not file:
            take(), take()
        binary = added == "-"
        counts.append((0 if binary else int(added), 0 if binary else int(removed), binary))
    if raw.startswith(b"\0", pos):
        pos += 1
    text = raw[pos:].decode("utf-8", "replace")
    blocks = [b for b in re.split(r"(?m)^(?=diff --git )", text) if b]
    result: list[FileDiff] = []
    for (letter, old, new), (added, removed, binary) in zip(records, counts, strict=True):
        take_n = 2 if letter == "T" else 1
        patch, blocks = "".join(blocks[:take_n]), blocks[take_n:]
        result.append(FileDiff(old, new, _CHANGE.get(letter, "modified"), added, removed,
                               binary, patch))
    return result


def _unquote(name: str) -> str:
    """Undo git's C-style quoting of a path in patch headers ("a/\\303\\251.txt")."""
    if len(name) >= 2 and name[0] == name[-1] == '"':
        body = codecs.escape_decode(name[1:-1].encode("utf-8", "surrogateescape"))[0]
        return body.decode("utf-8", "surrogateescape")
    return name


def parse_patch(text: str) -> list[FileDiff]:
    """Parse unified diff text from elsewhere (a pull request, a model) with ``unidiff``.

    unidiff does the hunk parsing; we only undo git's path quoting and drop the a/ b/
    prefixes. Malformed text raises GitError.
    """
    try:
        patch_set = unidiff.PatchSet(text)
    except unidiff.UnidiffParseError as e:
        raise GitError(f"malformed patch: {e}") from e
    result: list[FileDiff] = []
    for pf in patch_set:
        old = None if pf.is_added_file else _unquote(pf.source_file).removeprefix("a/")
        new = None if pf.is_removed_file else _unquote(pf.target_file).removeprefix("b/")
        change: Change = ("added" if pf.is_added_file else "deleted" if pf.is_removed_file
                          else "renamed" if pf.is_rename else "modified")
        result.append(FileDiff(old, new, change, pf.added, pf.removed, pf.is_binary_file,
                               str(pf)))
    return result


def blame(path: str | Path, file: str, start: int | None = None, end: int | None = None,
          rev: str | None = None) -> list[BlameLine]:
    """Who last changed each line of ``file`` (1-based, ``start``..``end`` inclusive).

    Blames the working-tree copy by default (uncommitted lines get commit ``0``*40 and
    author "Not Committed Yet"); ``rev`` blames the file as of that commit instead.
    """
    if start is not None and start < 1 or end is not None and end < (start or 1):
        raise GitError(f"invalid line range {start}..{end} for {file}")
    with _opened(path) as repo:
        rel = _rel(_root(repo), file)
        if _head(repo) is None:
            raise GitError(f"cannot blame {rel}: repository {_root(repo)} has no commits")
        args = ["blame", "--line-porcelain"]
        if start is not None or end is not None:
            args += ["-L", f"{start or 1},{end or ''}"]
        if rev is not None:
            args.append(_commit(repo, rev))
        raw = _git(repo, *args, "--", rel)
    return _parse_blame(raw)


def _parse_blame(raw: bytes) -> list[BlameLine]:
    """Parse ``--line-porcelain``: a header line, key-value lines, then the tab-led text."""
    lines: list[BlameLine] = []
    info: dict[str, str] = {}
    sha, final, in_header = "", 0, True
    for line in raw.split(b"\n"):
        if line.startswith(b"\t"):
            text = line[1:].decode("utf-8", "replace").removesuffix("\r")
            lines.append(BlameLine(final, sha, info.get("author", ""), _iso(info),
                                   info.get("summary", ""), text))
            in_header = True
        elif in_header and line:
            parts = line.decode().split(" ")
            sha, final, info, in_header = parts[0], int(parts[2]), {}, False
        elif line:
            key, _, value = line.decode("utf-8", "replace").partition(" ")
            info[key] = value
    return lines


def _iso(info: dict[str, str]) -> str:
    seconds, tz = int(info.get("author-time", "0")), info.get("author-tz", "+0000")
    offset = timedelta(hours=int(tz[1:3]), minutes=int(tz[3:5])) * (-1 if tz[0] == "-" else 1)
    return datetime.fromtimestamp(seconds, timezone(offset)).isoformat()


def _log(repo: git.Repo, *args: str) -> Iterator[tuple[str, list[str]]]:
    """Run ``git log -z --format=%x01<fmt>`` and yield (header, file records) per commit."""
    raw = _git(repo, "log", "-z", "--no-renames", "--no-merges", "--no-show-signature",
               *args, "HEAD", "--")
    header: str | None = None
    files: list[str] = []
    after_header = False
    for token in raw.split(b"\0"):
        if token.startswith(b"\x01"):
            if header is not None:
                yield header, files
            header, files, after_header = _text(token[1:]), [], True
            continue
        if after_header and token.startswith(b"\n"):
            token = token[1:]  # git puts a newline between a header and its files
        after_header = False
        if token:
            files.append(_text(token))
    if header is not None:
        yield header, files


def churn(path: str | Path, since: str | None = None,
          max_commits: int = 1000) -> dict[str, FileChurn]:
    """Per-file change statistics from one ``git log --numstat`` pass over HEAD's history.

    ``since`` is a date git understands ("2 weeks ago", "2024-01-31"); merges are skipped
    and renames count as a delete plus an add (rename detection per commit is slow).
    """
    stats: dict[str, list[int]] = {}
    with _opened(path) as repo:
        if _head(repo) is None or max_commits <= 0:
            return {}
        args = ["--numstat", "--format=%x01%ct", f"--max-count={max_commits}"]
        if since:
            args.append(f"--since={since}")
        for stamp, records in _log(repo, *args):
            for record in records:
                added, removed, name = record.split("\t", 2)
                entry = stats.setdefault(name, [0, 0, 0, 0])
                entry[0] += 1
                entry[1] += 0 if added == "-" else int(added)
                entry[2] += 0 if removed == "-" else int(removed)
                entry[3] = max(entry[3], int(stamp))
    return {p: FileChurn(p, *v) for p, v in stats.items()}


def recently_changed(
    path: str | Path, commits: int = 20, max_files_per_commit: int | None = None
) -> list[str]:
    """Files with uncommitted changes (newest modification first), then files touched by the
    last ``commits`` commits (newest commit first); each once, only files that still exist.
    Commits touching more than ``max_files_per_commit`` files (an initial import, a mass
    reformat) are passed over: they are not recent work on those files."""
    with _opened(path) as repo:
        root = _root(repo)
        st = status(root)
        pending = {*st.staged, *st.unstaged, *st.untracked, *st.conflicted}
        existing = [p for p in pending if os.path.lexists(root / p)]
        order = sorted(existing, key=lambda p: (-(root / p).lstat().st_mtime, p))
        if _head(repo) is not None and commits > 0:
            for _, files in _log(repo, "--name-only", "--format=%x01", f"--max-count={commits}"):
                if max_files_per_commit is None or len(files) <= max_files_per_commit:
                    order += [f for f in files if os.path.lexists(root / f)]
    return list(dict.fromkeys(order))


def merge_base(path: str | Path, a: str, b: str) -> str:
    """The best common ancestor of two revisions (for a pull request's ``base...head``)."""
    with _opened(path) as repo:
        sha_a, sha_b = _commit(repo, a), _commit(repo, b)
        out = _git(repo, "merge-base", sha_a, sha_b, ok=(0, 1)).decode().strip()
        if not out:
            raise GitError(f"{a!r} and {b!r} have no common ancestor in {_root(repo)}")
        return out


def is_ignored(path: str | Path, files: list[str]) -> set[str]:
    """The subset of ``files`` (as given) that .gitignore rules exclude; tracked files never
    count as ignored."""
    if not files:
        return set()
    with _opened(path) as repo:
        root = _root(repo)
        by_rel: dict[str, list[str]] = {}
        for f in files:
            by_rel.setdefault(_rel(root, f), []).append(f)
        query = [r for r in by_rel if r != "."]
        env = {**_ENV, "GIT_LITERAL_PATHSPECS": "0"}  # check-ignore takes paths, not pathspecs
        with tempfile.TemporaryFile() as stdin:  # gitpython streams stdin from a real file
            stdin.write(b"".join(r.encode("utf-8", "surrogateescape") + b"\0" for r in query))
            stdin.seek(0)
            raw = _git(repo, "check-ignore", "-z", "--stdin", ok=(0, 1), env=env, stdin=stdin)
    return {orig for rel in _split_z(raw) for orig in by_rel.get(rel, [])}


def ls_files(path: str | Path) -> list[str]:
    """Tracked plus untracked-but-not-ignored files, sorted, without files deleted from the
    working tree; conflicted files appear once; nested repositories and submodules (which
    git lists as directories) are left out."""
    root = repo_root(path)
    top = str(root)
    return sorted(p for p in set(listed_paths(root)) if _is_entry(os.path.join(top, p)))


def listed_paths(path: str | Path) -> list[str]:
    """What ``git ls-files`` lists under the directory ``path``, relative to it, as it
    comes: unsorted, possibly with files deleted from the working tree, duplicates of
    conflicted files, and nested repositories or submodules (paths of directories).

    One git process and no stat: for a caller that stats every path anyway.
    """
    listed = _plumbing(Path(path), "ls-files", "-z", "--cached", "--others",
                       "--exclude-standard")
    return [p.rstrip("/") for p in _split_z(listed)]


def _is_entry(path: str) -> bool:
    """Whether ``path`` exists in the working tree as something other than a directory
    (an lstat per file is cheaper than asking git for ``--deleted`` in another process)."""
    try:
        return not stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def __getattr__(name: str) -> object:
    """Re-export the worktree API lazily (tools.git_worktree imports this module)."""
    if name in ("Worktree", "create_worktree", "list_worktrees", "remove_worktree"):
        from tools import git_worktree

        return getattr(git_worktree, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
