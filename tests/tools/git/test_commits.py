"""tools.git.commits: snapshots and squashes on an agent's branch, and landing the result
on the user's branch only when that is safe."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tools.git.conftest import Repo
from tools.git.commits import apply_to_branch, restore, snapshot, squash
from tools.git.read import changed_files, status
from tools.git.worktrees import open_worktree


@pytest.fixture
def work(hist: Repo) -> Path:
    """A worktree on branch `fathom/run` at the user's HEAD."""
    return Path(open_worktree(hist.root, "fathom/run")[0])


def _log(repo: Repo, rev: str) -> list[str]:
    return repo.git("log", "--format=%an|%s", rev).splitlines()


def test_snapshots_squash_into_one_commit_by_fathom(hist: Repo, work: Path) -> None:
    (work / "src/app.py").write_text("def main():\n    return 42\n")
    first = snapshot(work, ["src/app.py"], "fathom: step 1")
    assert first != hist.third and _log(hist, first)[0] == "Fathom|fathom: step 1"
    assert snapshot(work, [], "fathom: step 2") == first  # nothing new: no commit
    (work / "added file.txt").write_text("new\n")
    (work / "new.txt").unlink()
    second = snapshot(work, ["added file.txt", "new.txt"], "fathom: step 3")
    assert changed_files(work, first, second) == ["added file.txt", "new.txt"]
    (work / "stray.txt").write_text("not snapshotted\n")
    (work / "src/app.py").write_text("unsaved\n")
    restore(work, second)
    assert not status(work).is_dirty and not (work / "stray.txt").exists()
    commit = squash(work, hist.third, "fathom fix: the answer\n")
    assert commit is not None and _log(hist, commit)[:2] == [
        "Fathom|fathom fix: the answer", "Ada Lovelace|rename, binary, unicode"]
    assert changed_files(work, hist.third, commit) == ["added file.txt", "new.txt", "src/app.py"]
    restore(work, hist.third)
    assert squash(work, hist.third, "nothing") is None


def test_apply_fast_forwards_only_when_safe(hist: Repo, work: Path) -> None:
    (work / "src/app.py").write_text("fixed\n")
    commit = snapshot(work, ["src/app.py"], "fix")
    hist.write("src/app.py", "the user's unsaved work\n")
    applied, message = apply_to_branch(hist.root, commit)
    assert not applied and "uncommitted changes to src/app.py" in message
    hist.git("checkout", "--", "src/app.py")
    hist.write("notes.txt", "an untracked file the commit does not touch\n")
    assert apply_to_branch(hist.root, commit) == (True, f"fast-forwarded main to {commit[:12]}")
    assert hist.git("rev-parse", "HEAD") == commit and (hist.root / "notes.txt").exists()
    assert (hist.root / "src/app.py").read_text() == "fixed\n"


def test_apply_refuses_a_moved_branch_and_a_detached_head(hist: Repo, work: Path) -> None:
    (work / "src/app.py").write_text("fixed\n")
    commit = snapshot(work, ["src/app.py"], "fix")
    hist.write("other.txt", "meanwhile\n")
    moved = hist.commit("the user moved on")
    applied, message = apply_to_branch(hist.root, commit)
    assert not applied and "main has moved since the run started" in message
    hist.git("checkout", "-q", "--detach", moved)
    assert apply_to_branch(hist.root, commit)[1].startswith("HEAD is detached")
    assert hist.git("rev-parse", "HEAD") == moved
