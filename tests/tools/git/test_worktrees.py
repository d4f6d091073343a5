"""tools.git.worktrees: agents' branches in their own directories, the user's tree untouched."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

import git
import pytest

from tests.tools.git.conftest import Repo, snapshot
from tools.git import worktrees
from tools.git.read import status
from tools.git.runner import GitError, UnknownRevisionError


def test_worktree_lifecycle_leaves_the_users_changes_byte_identical(hist: Repo) -> None:
    hist.write("src/app.py", "user's unsaved work\n")
    hist.write("staged.txt", "staged by the user\n")
    hist.git("add", "staged.txt")
    hist.write("scratch/ideas.md", "untracked notes\n")
    before, status_before = snapshot(hist.root), status(hist.root)

    wt = worktrees.create_worktree(hist.root, "fathom/fix-1", base=hist.second)
    wt_path = Path(wt.path)
    assert wt.branch == "fathom/fix-1" and wt.head == hist.second
    assert wt_path == (hist.root / ".git" / "fathom-worktrees" / "fathom" / "fix-1").resolve()
    assert (wt_path / "src/util.py").exists() and not (wt_path / "new.txt").exists()
    assert snapshot(hist.root) == before and status(hist.root) == status_before

    (wt_path / "src/app.py").write_text("agent's fix\n")
    g_repo = git.Repo(wt_path)
    g_repo.git.commit("-qam", "agent fix")
    assert not status(wt_path).is_dirty and status(wt_path).branch == "fathom/fix-1"
    listed = worktrees.list_worktrees(hist.root)
    assert [(w.branch, w.is_main) for w in listed] == [("main", True), ("fathom/fix-1", False)]
    assert listed[1].head == g_repo.head.commit.hexsha and listed[1].path == str(wt_path)
    assert worktrees.list_worktrees(wt_path) == listed  # from inside the worktree too
    g_repo.close()

    worktrees.remove_worktree(hist.root, wt_path, delete_branch=True)
    assert not wt_path.exists() and len(worktrees.list_worktrees(hist.root)) == 1
    assert not (hist.root / ".git" / "fathom-worktrees").exists()  # no empty folders left
    assert "fathom/fix-1" not in hist.git("branch", "--list")
    assert snapshot(hist.root) == before and status(hist.root) == status_before
    json.dumps(asdict(wt))


def test_worktree_refusals(hist: Repo, tmp_path: Path) -> None:
    with pytest.raises(GitError, match="'main' already exists"):
        worktrees.create_worktree(hist.root, "main")
    with pytest.raises(GitError, match="invalid branch name"):
        worktrees.create_worktree(hist.root, "bad..name")
    with pytest.raises(GitError, match="invalid branch name"):
        worktrees.create_worktree(hist.root, "-f")
    with pytest.raises(UnknownRevisionError):
        worktrees.create_worktree(hist.root, "b1", base="nope")
    with pytest.raises(GitError, match="inside the working tree"):
        worktrees.create_worktree(hist.root, "b2", dest=hist.root / "wt")
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("x")
    with pytest.raises(GitError, match="not empty"):
        worktrees.create_worktree(hist.root, "b3", dest=full)
    empty = Repo(tmp_path / "empty")
    empty.write("a.txt", "a\n")
    with pytest.raises(GitError, match="no commits"):
        worktrees.create_worktree(empty.root, "b4")
    with pytest.raises(GitError, match="main working tree"):
        worktrees.remove_worktree(hist.root, hist.root)
    with pytest.raises(GitError, match="is not a worktree"):
        worktrees.remove_worktree(hist.root, tmp_path)
    assert [w.branch for w in worktrees.list_worktrees(hist.root)] == ["main"]
    assert "b1" not in hist.git("branch", "--list")


def test_remove_worktree_keeps_dirty_work_unless_forced(hist: Repo, tmp_path: Path) -> None:
    wt = worktrees.create_worktree(hist.root, "agent", dest=tmp_path / "agent wt")
    (Path(wt.path) / "wip.txt").write_text("uncommitted\n")
    with pytest.raises(GitError, match="untracked"):
        worktrees.remove_worktree(hist.root, wt.path)
    assert (Path(wt.path) / "wip.txt").exists()
    worktrees.remove_worktree(hist.root, wt.path, force=True)
    assert "agent" in hist.git("branch", "--list")  # the branch stays unless asked
    gone = worktrees.create_worktree(hist.root, "gone", dest=tmp_path / "gone")
    shutil.rmtree(gone.path)  # deleted by hand: removal prunes it
    worktrees.remove_worktree(hist.root, gone.path, delete_branch=True)
    assert [w.branch for w in worktrees.list_worktrees(hist.root)] == ["main"]


def test_open_worktree_reuses_the_branchs_worktree_and_close_removes_it(hist: Repo) -> None:
    path, base = worktrees.open_worktree(hist.root / "src", "fathom/run-1")
    assert base == hist.third and Path(path).is_dir()
    (Path(path) / "wip.txt").write_text("left by a crashed step\n")
    assert worktrees.open_worktree(hist.root, "fathom/run-1") == (path, base)  # a re-run reuses it
    worktrees.close_worktree(hist.root, path, delete_branch=False)
    assert not Path(path).exists() and "fathom/run-1" in hist.git("branch", "--list")
    worktrees.close_worktree(hist.root, path, delete_branch=True)  # already gone: nothing to do
    assert [w.branch for w in worktrees.list_worktrees(hist.root)] == ["main"]
