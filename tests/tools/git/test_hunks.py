"""tools.git.hunks: a commit's change hunk by hunk, a commit of some of its hunks, and the
check that a commit holds only part of a change."""

from __future__ import annotations

import pytest

from tests.tools.git.conftest import Repo
from tools.git import hunks
from tools.git.runner import GitError

LINES = "".join(f"line {n}\n" for n in range(1, 21))


@pytest.fixture
def change(r: Repo) -> tuple[Repo, str, str]:
    """A base commit and a change on it: two hunks in a.txt, one in b.txt, a new c.txt."""
    r.write("a.txt", LINES)
    r.write("b.txt", "b1\nb2\n")
    base = r.commit("base")
    r.write("a.txt", LINES.replace("line 2\n", "LINE 2\n").replace("line 18\n", "LINE 18\n"))
    r.write("b.txt", "b1\nb2\nb3\n")
    r.write("c.txt", "c1\nc2\n")
    return r, base, r.commit("the change")


def test_a_commits_diff_reads_as_files_and_numbered_hunks(change: tuple[Repo, str, str]
                                                          ) -> None:
    r, _, commit = change
    files = hunks.parse_hunks(hunks.commit_diff(r.root, commit))
    assert [(f.path, f.change, len(f.hunks)) for f in files] == [
        ("a.txt", "modified", 2), ("b.txt", "modified", 1), ("c.txt", "added", 1)]
    assert files[0].hunks[0] == hunks.Hunk(0, "@@ -1,5 +1,5 @@", (
        " line 1", "-line 2", "+LINE 2", " line 3", " line 4", " line 5"))
    assert files[0].hunks[1].index == 1 and "+LINE 18" in files[0].hunks[1].lines
    added = hunks.Hunk(0, "@@ -0,0 +1,2 @@", ("+c1", "+c2"))
    assert files[2] == hunks.FileHunks("c.txt", "added", (added,))
    assert hunks.parse_hunks(hunks.commit_diff(r.root, commit)) == files  # the same ids every time
    with pytest.raises(GitError, match="unreadable diff"):
        hunks.parse_hunks("--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-only one line\n")


def test_select_hunks_keeps_only_the_chosen_ones(change: tuple[Repo, str, str]) -> None:
    r, _, commit = change
    diff = hunks.commit_diff(r.root, commit)
    part = hunks.select_hunks(diff, {("a.txt", 1), ("c.txt", 0)})
    assert [(f.path, [h.header for h in f.hunks]) for f in hunks.parse_hunks(part)] == [
        ("a.txt", ["@@ -15,6 +15,6 @@ line 14"]), ("c.txt", ["@@ -0,0 +1,2 @@"])]
    assert hunks.select_hunks(diff, set()) == ""


def test_commit_hunks_commits_the_kept_hunks_on_the_parent(change: tuple[Repo, str, str]
                                                           ) -> None:
    r, base, commit = change
    head_before = r.git("rev-parse", "HEAD")
    kept = hunks.commit_hunks(r.root, commit, {("a.txt", 1), ("c.txt", 0)})
    assert r.git("rev-parse", f"{kept}^") == base and r.git("rev-parse", "HEAD") == head_before
    assert r.git("show", f"{kept}:a.txt") == LINES.replace("line 18\n", "LINE 18\n").strip()
    assert r.git("show", f"{kept}:b.txt") == "b1\nb2"
    assert r.git("show", f"{kept}:c.txt") == "c1\nc2"
    assert r.git("log", "-1", "--format=%an|%B", kept).splitlines() == [
        "Fathom|the change", "", "Kept 2 accepted hunks in Fathom's review."]
    assert not r.git("status", "--porcelain")  # no working tree or index touched
    everything = {(f.path, h.index) for f in hunks.parse_hunks(hunks.commit_diff(r.root, commit))
                  for h in f.hunks}
    whole = hunks.commit_hunks(r.root, commit, everything)
    assert r.git("rev-parse", f"{whole}^{{tree}}") == r.git("rev-parse", f"{commit}^{{tree}}")
    assert hunks.commit_hunks(r.root, commit, set()) == base

    chosen = hunks.check_selection(r.root, base, commit, kept)
    assert (chosen.commit, chosen.files, chosen.lines, chosen.total) == (
        kept, ["a.txt", "c.txt"], 4, 7)
    assert "+LINE 18" in chosen.diff and "LINE 2" not in chosen.diff
    nothing = hunks.check_selection(r.root, base, commit, base[:12])
    assert (nothing.commit, nothing.files, nothing.diff, nothing.lines) == (base, [], "", 0)


def test_check_selection_refuses_what_is_not_part_of_the_change(
        change: tuple[Repo, str, str]) -> None:
    r, base, commit = change
    r.git("checkout", "-q", "-b", "other", base)
    r.write("a.txt", LINES.replace("line 5\n", "LINE 5\n"))
    other_line = r.commit("a line the run did not change")
    r.write("a.txt", LINES)
    r.write("d.txt", "d\n")
    other_file = r.commit("a file the run did not change")
    with pytest.raises(hunks.SelectionError, match="changes a.txt in ways the run did not"):
        hunks.check_selection(r.root, base, commit, other_line)
    with pytest.raises(hunks.SelectionError, match="changes d.txt, which the run did not change"):
        hunks.check_selection(r.root, base, commit, other_file)
    orphan = r.git("commit-tree", f"{commit}^{{tree}}", "-m", "no parent")
    with pytest.raises(hunks.SelectionError, match="does not descend from the run's base"):
        hunks.check_selection(r.root, base, commit, orphan)
    with pytest.raises(hunks.SelectionError, match="not a commit id"):
        hunks.check_selection(r.root, base, commit, "--output=/tmp/x")
    with pytest.raises(hunks.SelectionError, match="not a commit of this repository"):
        hunks.check_selection(r.root, base, commit, "deadbeef")
