"""tools.git.runner: finding the repository, running git, and what its failures say."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from tests.tools.git.conftest import Repo
from tools.git.read import status
from tools.git.runner import (
    IDENTITY,
    GitError,
    NotARepositoryError,
    UnknownRevisionError,
    exit_code,
    repo_root,
    run_git,
    split_nul,
)


def test_repo_root_searches_parents_and_reports_missing_repos(hist: Repo, tmp_path: Path
                                                              ) -> None:
    sub = hist.root / "src"
    assert repo_root(sub) == hist.root.resolve()
    assert repo_root(sub / "app.py") == hist.root.resolve()  # a file path works too
    outside = tmp_path / "plain"
    outside.mkdir()
    with pytest.raises(NotARepositoryError, match="not a git repository.*plain"):
        status(outside)
    with pytest.raises(NotARepositoryError, match="does not exist"):
        repo_root(tmp_path / "missing")
    bare = git.Repo.init(tmp_path / "bare.git", bare=True)
    bare.close()
    with pytest.raises(GitError, match="bare repository"):
        status(tmp_path / "bare.git")


def test_failures_name_the_command_and_the_repository(hist: Repo, tmp_path: Path) -> None:
    with pytest.raises(GitError, match=r"git frobnicate failed in .*repo: .*not a git command"):
        run_git(hist.root, "frobnicate")
    with pytest.raises(UnknownRevisionError, match=r"git log failed in .*repo: .*nope"):
        run_git(hist.root, "log", "nope", "--")
    with pytest.raises(NotARepositoryError, match="does not exist"):
        run_git(tmp_path / "missing", "status")
    assert exit_code(hist.root, "merge-base", "--is-ancestor", hist.first, hist.third) == 0
    assert exit_code(hist.root, "merge-base", "--is-ancestor", hist.third, hist.first) == 1
    with pytest.raises(UnknownRevisionError):
        exit_code(hist.root, "merge-base", "--is-ancestor", "nope", hist.first)


def test_output_is_bytes_with_stdin_and_identity(hist: Repo) -> None:
    blob = run_git(hist.root, "hash-object", "-w", "--stdin", stdin=b"bytes \xff in\n")
    assert run_git(hist.root, "cat-file", "blob", blob.decode().strip()) == b"bytes \xff in\n"
    assert split_nul(b"a b\0\0lat\xe9n\0") == ["a b", "lat\udce9n"]  # no bytes lost
    tree = run_git(hist.root, "write-tree").decode().strip()
    commit = run_git(hist.root, "commit-tree", tree, "-m", "as fathom", as_fathom=True)
    author = run_git(hist.root, "log", "-1", "--format=%an <%ae>|%cn", commit.decode().strip())
    assert author.decode().strip() == (f"{IDENTITY['GIT_AUTHOR_NAME']} "
                                       f"<{IDENTITY['GIT_AUTHOR_EMAIL']}>|Fathom")
