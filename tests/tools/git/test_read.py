"""tools.git.read on real repositories: status, revisions, diffs, files at a commit,
recent work and file lists."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict

import git
import pytest

from tests.tools.git.conftest import UNI, Repo
from tools.git import read
from tools.git.runner import GitError, UnknownRevisionError

# --- read.status ---------------------------------------------------------------------------------


def test_status_of_an_empty_repository(r: Repo) -> None:
    clean = read.status(r.root)
    assert (clean.branch, clean.head, clean.is_dirty) == ("main", None, False)
    r.write("a.txt", "a\n")
    r.write(UNI, "x\n")
    r.git("add", "a.txt")
    st = read.status(r.root)
    assert st.head is None and st.staged == ["a.txt"] and st.untracked == [UNI]
    assert st.is_dirty and st.root == str(r.root.resolve())
    assert st.pending == {"a.txt", UNI}


def test_status_lists_staged_unstaged_untracked_and_detached_head(hist: Repo) -> None:
    hist.write("src/app.py", "changed\n")  # unstaged modification
    (hist.root / "new.txt").unlink()  # unstaged deletion
    hist.git("mv", "src/helpers.py", "src/renamed helpers.py")  # staged rename, space in name
    hist.write("staged.txt", "s\n")
    hist.git("add", "staged.txt")
    hist.write(UNI, "both\n")
    hist.git("add", UNI)
    hist.write(UNI, "both, then more\n")  # staged and unstaged
    hist.write("deep/dir/ünïcode.txt", "u\n")  # untracked in a new directory: listed by file
    st = read.status(hist.root)
    assert st.branch == "main" and st.head == hist.third
    assert st.staged == [UNI, "src/renamed helpers.py", "staged.txt"]
    assert st.unstaged == [UNI, "new.txt", "src/app.py"]
    assert st.untracked == ["deep/dir/ünïcode.txt"]
    assert st.conflicted == [] and st.is_dirty
    json.dumps(asdict(st))
    hist.git("checkout", "-qf", "--detach", hist.second)
    detached = read.status(hist.root)
    assert detached.branch is None and detached.head == hist.second


# --- revisions ------------------------------------------------------------------------------


def test_revisions_resolve_to_commits(hist: Repo) -> None:
    assert read.resolve_commit(hist.root, "HEAD~1") == hist.second
    assert read.resolve_commit(hist.root / "src", "main") == hist.third
    assert read.head_commit(hist.root) == hist.third
    with pytest.raises(UnknownRevisionError, match=r"unknown revision 'nope' in .*repo"):
        read.resolve_commit(hist.root, "nope")
    with pytest.raises(UnknownRevisionError, match="invalid revision"):
        read.resolve_commit(hist.root, "--output=/tmp/x")
    tree = hist.git("rev-parse", "HEAD^{tree}")
    with pytest.raises(UnknownRevisionError):
        read.resolve_commit(hist.root, tree)  # a tree is not a commit
    assert read.is_ancestor(hist.root, hist.first, hist.third)
    assert read.is_ancestor(hist.root, hist.third, hist.third)
    assert not read.is_ancestor(hist.root, hist.third, hist.first)


def test_head_commit_of_an_empty_repository_is_none(r: Repo) -> None:
    assert read.head_commit(r.root) is None


def test_show_file_reads_a_file_at_a_commit(hist: Repo) -> None:
    assert read.show_file(hist.root, hist.first, "src/app.py") == "def main():\n    return 1\n"
    assert read.show_file(hist.root, hist.third, UNI) == "# café\n\nmore\n"
    assert read.show_file(hist.root, hist.third, "old.txt") is None  # deleted there
    assert read.show_file(hist.root, "nope", "src/app.py") is None


# --- diffs ----------------------------------------------------------------------------------


def test_diff_text_of_a_range_with_rename_binary_unicode_add_and_delete(hist: Repo) -> None:
    text = read.diff_text(hist.root, hist.second, hist.third)
    assert "rename from src/util.py\nrename to src/helpers.py" in text
    assert "Binary files a/logo.png and b/logo.png differ" in text
    assert f"diff --git a/{UNI} b/{UNI}" in text and "+more" in text
    assert "new file mode" in text and "deleted file mode" in text and "-gone soon" in text
    assert read.diff_text(hist.root, hist.first, hist.second).count("diff --git") == 1
    assert read.changed_files(hist.root, hist.second, hist.third) == [
        UNI, "logo.png", "new.txt", "old.txt", "src/helpers.py"]
    assert read.changed_files(hist.root / "src", hist.first, hist.second) == ["src/app.py"]


def test_diff_stat_counts_lines_per_file_through_renames_and_binaries(hist: Repo) -> None:
    stats = {s.path: (s.added, s.removed) for s in read.diff_stat(hist.root, hist.second,
                                                                   hist.third)}
    assert stats == {UNI: (2, 0), "logo.png": (None, None), "new.txt": (1, 0),
                     "old.txt": (0, 1), "src/helpers.py": (0, 0)}
    assert [s.path for s in read.diff_stat(hist.root, hist.first, hist.second)] == [
        "src/app.py"]


def test_commit_subjects_of_a_range_oldest_first(hist: Repo) -> None:
    assert read.commit_subjects(hist.root, hist.first, hist.third) == [
        "edit app", "rename, binary, unicode"]
    assert read.commit_subjects(hist.root, hist.third, hist.third) == []
    with pytest.raises(UnknownRevisionError):
        read.commit_subjects(hist.root, "no-such-branch", hist.third)


def test_diff_text_against_the_working_tree(hist: Repo) -> None:
    assert read.diff_text(hist.root) == ""
    hist.write("src/app.py", "def main():\n    return 3\n\n\ndef extra():\n    pass\n")
    hist.write("staged.txt", "staged\n")
    hist.git("add", "staged.txt")
    hist.write("untracked.txt", "not in any diff\n")
    now = read.diff_text(hist.root)
    assert "+    return 3" in now and "+staged" in now and "untracked" not in now
    since_first = read.diff_text(hist.root, hist.first)
    assert "+    return 3" in since_first and "rename to src/helpers.py" in since_first


def test_diff_text_in_an_empty_repository(r: Repo) -> None:
    r.write("first.txt", "one\ntwo\n")
    r.git("add", "first.txt")
    assert "+one\n+two" in read.diff_text(r.root)


def test_diff_errors_say_what_and_where(hist: Repo) -> None:
    with pytest.raises(UnknownRevisionError, match=r"unknown revision 'nope' in .*repo"):
        read.diff_text(hist.root, "nope")
    with pytest.raises(UnknownRevisionError):
        read.diff_text(hist.root, "HEAD", "--output=/tmp/x")
    with pytest.raises(GitError, match="without a base"):
        read.diff_text(hist.root, None, "HEAD")


# --- history --------------------------------------------------------------------------------


def test_recently_changed_of_an_empty_repository_is_empty(r: Repo) -> None:
    assert read.recently_changed(r.root) == []


def test_recently_changed_puts_uncommitted_first_then_by_commit(hist: Repo) -> None:
    assert read.recently_changed(hist.root, commits=1) == sorted(
        ["logo.png", "new.txt", "src/helpers.py", UNI])  # old.txt/src/util.py no longer exist
    assert read.recently_changed(hist.root, commits=2, max_files_per_commit=4) == ["src/app.py"]
    hist.write("later.txt", "new\n")
    hist.write("src/app.py", "edited\n")
    os.utime(hist.root / "src/app.py", (2e9, 2e9))  # the newest edit
    order = read.recently_changed(hist.root, commits=5)
    assert order[:2] == ["src/app.py", "later.txt"]
    assert order[2:] == [UNI, "logo.png", "new.txt", "src/helpers.py"]  # git's order in a commit
    assert len(order) == len(set(order))
    assert read.recently_changed(hist.root, commits=0) == ["src/app.py", "later.txt"]


# --- file lists -----------------------------------------------------------------------------


def test_listed_paths_lists_tracked_and_untracked_but_not_ignored(hist: Repo) -> None:
    hist.write(".gitignore", "*.log\nbuild/\n")
    hist.write("forced.log", "tracked although ignored\n")
    hist.git("add", "-f", "forced.log")
    hist.commit("ignore rules")
    hist.write("debug.log", "x\n")
    hist.write("build/out.bin", b"\x00")
    hist.write("notes/ünï code.txt", "untracked\n")
    (hist.root / "new.txt").unlink()  # tracked, deleted in the working tree: still listed
    hist.git("add", "notes")  # staged and on disk: listed once
    nested = Repo(hist.root / "vendor" / "nested")  # an untracked nested repository
    nested.write("inner.txt", "i\n")
    assert sorted(read.listed_paths(hist.root)) == [
        ".gitignore", UNI, "forced.log", "logo.png", "new.txt", "notes/ünï code.txt",
        "src/app.py", "src/helpers.py", "vendor/nested"]
    assert sorted(read.listed_paths(hist.root / "src")) == ["app.py", "helpers.py"]


@pytest.mark.skipif(sys.platform != "linux", reason="needs a filesystem that allows any bytes")
def test_non_utf8_file_names_survive_every_call(r: Repo) -> None:
    name = os.fsdecode(b"lat\xe9n.txt")  # Latin-1 bytes: a surrogate escape in Python
    r.write(name, "one\n")
    first = r.commit("latin-1 name")
    r.write(name, "one\ntwo\n")
    assert read.listed_paths(r.root) == [name] and read.status(r.root).unstaged == [name]
    assert "+two" in read.diff_text(r.root) and read.recently_changed(r.root) == [name]
    second = r.commit("two")
    assert read.changed_files(r.root, first, second) == [name]
    json.dumps(asdict(read.status(r.root)))


def test_a_conflicted_file_is_listed_and_reported(r: Repo) -> None:
    r.write("c.txt", "base\n")
    r.commit("base")
    r.git("checkout", "-q", "-b", "side")
    r.write("c.txt", "side\n")
    r.commit("side")
    r.git("checkout", "-q", "main")
    r.write("c.txt", "main\n")
    r.commit("main")
    with pytest.raises(git.GitCommandError):
        r.git("merge", "-q", "side")
    assert set(read.listed_paths(r.root)) == {"c.txt"}
    st = read.status(r.root)
    assert st.conflicted == ["c.txt"] and st.is_dirty
