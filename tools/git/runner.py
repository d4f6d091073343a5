"""The one place that starts a git process, and what its failures mean.

Every git command of the product runs through :func:`run_git` (or :func:`exit_code`):
bytes in and out, NUL-separated output (``-z``) where paths come back, a fixed
environment — ``GIT_OPTIONAL_LOCKS=0`` (reading never rewrites the user's index), literal
pathspecs, no terminal prompts, no colour, paths printed unquoted — and failures turned
into :class:`GitError` subclasses that name the command and the repository.

gitpython's ``Git.execute`` is a subprocess wrapper too; calling git directly keeps one
code path for stdin, environment and exit codes, and spares commands that only list
files (``fathom index``) gitpython's ~60 ms import. Commits Fathom makes are authored by
:data:`IDENTITY`, unsigned and without the user's hooks (``as_fathom=True``).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Collection, Mapping
from pathlib import Path

IDENTITY = {"GIT_AUTHOR_NAME": "Fathom", "GIT_AUTHOR_EMAIL": "fathom@localhost",
            "GIT_COMMITTER_NAME": "Fathom", "GIT_COMMITTER_EMAIL": "fathom@localhost"}
_ENV = {"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "GIT_LITERAL_PATHSPECS": "1"}
_CONFIG = ("-c", "core.quotepath=false", "-c", "color.ui=never")
_AS_FATHOM = ("-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null")
_UNKNOWN_REVISION = re.compile(r"unknown revision|bad revision|bad object|invalid object name|"
                               r"Not a valid object name|Needed a single revision|"
                               r"ambiguous argument")


class GitError(Exception):
    """A git operation failed; the message says what and in which repository."""


class NotARepositoryError(GitError):
    """The path is not inside a git working tree."""


class UnknownRevisionError(GitError):
    """A revision (branch, tag, sha, expression) does not name a commit."""


def _run(cwd: str | Path, args: tuple[str, ...], ok: Collection[int], stdin: bytes | None,
         env: Mapping[str, str] | None, as_fathom: bool) -> tuple[int, bytes]:
    """Run ``git args`` in the directory ``cwd``: (exit code, stdout), or a GitError."""
    where = Path(cwd)
    if not where.is_dir():
        raise NotARepositoryError(f"not a git repository: {where} does not exist")
    config = (*_CONFIG, *_AS_FATHOM) if as_fathom else _CONFIG
    environ = {**os.environ, **_ENV, **(IDENTITY if as_fathom else {}), **(env or {})}
    try:
        done = subprocess.run(["git", *config, *args], cwd=where, input=stdin,
                              stdin=None if stdin is not None else subprocess.DEVNULL,
                              capture_output=True, env=environ, check=False)
    except FileNotFoundError as e:
        raise GitError("the git executable was not found on PATH") from e
    if done.returncode not in ok:
        raise _error(where, args[0], done.stderr.decode("utf-8", "replace").strip())
    return done.returncode, done.stdout


def _error(cwd: Path, command: str, stderr: str) -> GitError:
    """The GitError git's message means, naming the command and the repository."""
    if "not a git repository" in stderr:
        return NotARepositoryError(f"not a git repository (or any parent): {cwd}")
    if "must be run in a work tree" in stderr:
        return GitError(f"bare repository has no working tree: {cwd}")
    message = f"git {command} failed in {cwd}: {stderr or 'no message'}"
    if _UNKNOWN_REVISION.search(stderr):
        return UnknownRevisionError(message)
    return GitError(message)


def run_git(cwd: str | Path, *args: str, ok: Collection[int] = (0,), stdin: bytes | None = None,
            env: Mapping[str, str] | None = None, as_fathom: bool = False) -> bytes:
    """Run ``git args`` in the directory ``cwd`` and return its raw stdout.

    An exit code outside ``ok`` raises a GitError (NotARepositoryError,
    UnknownRevisionError) with git's message; ``env`` adds to the environment;
    ``as_fathom`` commits as :data:`IDENTITY`, unsigned, without hooks.
    """
    return _run(cwd, args, ok, stdin, env, as_fathom)[1]


def exit_code(cwd: str | Path, *args: str, ok: Collection[int] = (0, 1)) -> int:
    """Run ``git args`` in ``cwd`` for its answer: the exit code, one of ``ok``."""
    return _run(cwd, args, ok, None, None, False)[0]


def decode(raw: bytes) -> str:
    """git output as text; bytes that are not UTF-8 (file names) survive as surrogates."""
    return raw.decode("utf-8", "surrogateescape")


def split_nul(raw: bytes) -> list[str]:
    """The NUL-separated fields of ``-z`` output, decoded."""
    return [decode(field) for field in raw.split(b"\0") if field]


def repo_root(path: str | Path) -> Path:
    """The absolute, resolved root of the working tree containing ``path`` (a directory
    or a file); NotARepositoryError when there is none, GitError for a bare repository."""
    start = Path(path).expanduser().absolute()
    if not start.exists():
        raise NotARepositoryError(f"not a git repository: {start} does not exist")
    start = start if start.is_dir() else start.parent
    inside = decode(run_git(start, "rev-parse", "--is-inside-work-tree",
                            "--is-bare-repository", "--show-toplevel")).splitlines()
    if inside[:2] != ["true", "false"] or len(inside) < 3:
        raise GitError(f"no working tree at {start} (a bare repository or inside .git)")
    return Path(inside[2]).resolve()
