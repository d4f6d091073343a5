"""tools.git on real repositories built in tmp dirs with gitpython."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import git
import pytest

from tools import git as g

UNI = "docs/naïve café.md"  # a space and non-ASCII in one path


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the user's global git config (hooks, signing, default branch) out of the tests."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-global-config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


class Repo:
    """A test repository with a clock: each commit is one day after the previous one."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.repo = git.Repo.init(root, initial_branch="main")
        with self.repo.config_writer() as cw:
            cw.set_value("user", "name", "Ada Lovelace")
            cw.set_value("user", "email", "ada@example.com")
        self.clock = 1_700_000_000
        self.first = self.second = self.third = ""  # shas set by the ``hist`` fixture

    def write(self, rel: str, data: str | bytes) -> Path:
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data.encode() if isinstance(data, str) else data)
        return p

    def commit(self, message: str, author: str = "Ada Lovelace <ada@example.com>") -> str:
        self.clock += 86_400
        date = f"{self.clock} +0100"
        self.repo.git.add("-A")
        self.repo.git.commit("-q", "--allow-empty", "-m", message, f"--author={author}",
                             env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
        return self.repo.head.commit.hexsha

    def git(self, *args: str) -> str:
        return self.repo.git.execute(["git", *args])


@pytest.fixture
def r(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "repo")


@pytest.fixture
def hist(r: Repo) -> Repo:
    """Three commits: a small project, an edit by another author, a rename + binary change."""
    r.write("src/app.py", "def main():\n    return 1\n")
    r.write("src/util.py", "".join(f"x{i} = {i}\n" for i in range(30)))
    r.write("logo.png", b"\x89PNG\x00\x01\x02")
    r.write(UNI, "# café\n")
    r.write("old.txt", "gone soon\n")
    r.first = r.commit("initial")
    r.write("src/app.py", "def main():\n    return 2\n\n\ndef extra():\n    pass\n")
    r.second = r.commit("edit app", "Grace Hopper <grace@example.com>")
    r.git("mv", "src/util.py", "src/helpers.py")
    r.write("logo.png", b"\x89PNG\x00\x03\x04\x05")
    r.write(UNI, "# café\n\nmore\n")
    (r.root / "old.txt").unlink()
    r.write("new.txt", "brand new\n")
    r.third = r.commit("rename, binary, unicode")
    return r


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of a working tree (not .git) by content, the index file and the staged diff."""
    files = {p.relative_to(root).as_posix(): p.read_bytes()
             for p in root.rglob("*") if p.is_file() and ".git" not in p.relative_to(root).parts}
    files["<index>"] = (root / ".git" / "index").read_bytes()
    files["<staged>"] = subprocess.run(
        ["git", "diff", "--cached", "--binary"], cwd=root, capture_output=True, check=True,
        env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"}).stdout
    return files


# --- opening --------------------------------------------------------------------------------


def test_open_repo_searches_parents_and_reports_missing_repos(hist: Repo, tmp_path: Path) -> None:
    sub = hist.root / "src"
    assert g.repo_root(sub) == hist.root.resolve()
    assert g.repo_root(sub / "app.py") == hist.root.resolve()  # a file path works too
    g.open_repo(sub).close()
    outside = tmp_path / "plain"
    outside.mkdir()
    with pytest.raises(g.NotARepositoryError, match="not a git repository.*plain"):
        g.status(outside)
    with pytest.raises(g.NotARepositoryError, match="does not exist"):
        g.repo_root(tmp_path / "missing")
    bare = git.Repo.init(tmp_path / "bare.git", bare=True)
    bare.close()
    with pytest.raises(g.GitError, match="bare repository"):
        g.status(tmp_path / "bare.git")


# --- status ---------------------------------------------------------------------------------


def test_status_of_an_empty_repository(r: Repo) -> None:
    clean = g.status(r.root)
    assert (clean.branch, clean.head, clean.is_dirty) == ("main", None, False)
    r.write("a.txt", "a\n")
    r.write(UNI, "x\n")
    r.git("add", "a.txt")
    st = g.status(r.root)
    assert st.head is None and st.staged == ["a.txt"] and st.untracked == [UNI]
    assert st.is_dirty and st.root == str(r.root.resolve())


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
    st = g.status(hist.root)
    assert st.branch == "main" and st.head == hist.third
    assert st.staged == [UNI, "src/renamed helpers.py", "staged.txt"]
    assert st.unstaged == [UNI, "new.txt", "src/app.py"]
    assert st.untracked == ["deep/dir/ünïcode.txt"]
    assert st.conflicted == [] and st.is_dirty
    json.dumps(asdict(st))
    hist.git("checkout", "-qf", "--detach", hist.second)
    detached = g.status(hist.root)
    assert detached.branch is None and detached.head == hist.second


# --- diff -----------------------------------------------------------------------------------


def test_diff_of_a_range_with_rename_binary_unicode_add_and_delete(hist: Repo) -> None:
    files = {d.path: d for d in g.diff(hist.root, hist.second, hist.third)}
    assert set(files) == {"logo.png", "new.txt", "old.txt", "src/helpers.py", UNI}
    ren = files["src/helpers.py"]
    assert (ren.change, ren.old_path, ren.added, ren.removed) == ("renamed", "src/util.py", 0, 0)
    logo = files["logo.png"]
    assert logo.is_binary and logo.change == "modified" and (logo.added, logo.removed) == (0, 0)
    assert "Binary files" in logo.patch
    uni = files[UNI]
    assert (uni.change, uni.added, uni.removed) == ("modified", 2, 0)
    assert uni.patch.startswith(f"diff --git a/{UNI} b/{UNI}") and "+more" in uni.patch
    assert files["new.txt"].change == "added" and files["new.txt"].old_path is None
    gone = files["old.txt"]
    assert gone.change == "deleted" and gone.new_path is None and gone.removed == 1
    text = g.diff_text(hist.root, hist.second, hist.third)
    assert text == "".join(d.patch for d in g.diff(hist.root, hist.second, hist.third))
    for d in files.values():
        json.dumps(asdict(d))
    first = g.diff(hist.root, hist.first, hist.second)
    assert [(d.path, d.added, d.removed) for d in first] == [("src/app.py", 5, 1)]


def test_diff_against_the_working_tree_and_path_filters(hist: Repo) -> None:
    assert g.diff(hist.root) == [] and g.diff_text(hist.root) == ""
    hist.write("src/app.py", "def main():\n    return 3\n\n\ndef extra():\n    pass\n")
    hist.write("staged.txt", "staged\n")
    hist.git("add", "staged.txt")
    hist.write("untracked.txt", "not in any diff\n")
    now = {d.path: d.change for d in g.diff(hist.root)}
    assert now == {"src/app.py": "modified", "staged.txt": "added"}
    since_first = {d.path for d in g.diff(hist.root, hist.first)}
    assert {"src/app.py", "staged.txt", "src/helpers.py", "new.txt"} <= since_first
    only_src = g.diff(hist.root, hist.first, paths=["src"])
    assert {d.path for d in only_src} == {"src/app.py", "src/helpers.py"}
    absolute = g.diff(hist.root, paths=[str(hist.root / "staged.txt")])
    assert [d.path for d in absolute] == ["staged.txt"]
    assert g.diff(hist.root, paths=["src/[a]pp.py"]) == []  # pathspecs are literal, no globs


def test_diff_in_an_empty_repository_and_type_changes(r: Repo) -> None:
    r.write("first.txt", "one\ntwo\n")
    r.git("add", "first.txt")
    assert [(d.path, d.change, d.added) for d in g.diff(r.root)] == [("first.txt", "added", 2)]
    r.write("z.txt", "z\n")
    r.commit("c1")
    (r.root / "first.txt").unlink()
    os.symlink("z.txt", r.root / "first.txt")  # a type change prints two patch headers
    r.write("z.txt", "zz\n")
    diffs = g.diff(r.root)
    assert [(d.path, d.change) for d in diffs] == [("first.txt", "modified"), ("z.txt", "modified")]
    assert diffs[0].patch.count("diff --git") == 2 and "+zz" in diffs[1].patch


def test_diff_errors_say_what_and_where(hist: Repo, tmp_path: Path) -> None:
    with pytest.raises(g.UnknownRevisionError, match=r"unknown revision 'nope' in .*repo"):
        g.diff(hist.root, "nope")
    with pytest.raises(g.UnknownRevisionError):
        g.diff(hist.root, "HEAD", "--output=/tmp/x")
    with pytest.raises(g.PathOutsideRepoError, match="outside the repository"):
        g.diff(hist.root, paths=["../elsewhere.txt"])
    with pytest.raises(g.PathOutsideRepoError):
        g.diff(hist.root, paths=[str(tmp_path)])
    with pytest.raises(g.GitError, match="without a base"):
        g.diff(hist.root, None, "HEAD")


def test_parse_patch_reads_external_diffs_like_git_diff(hist: Repo) -> None:
    hist.write('say "hi".txt', "quoted name\n")  # git C-quotes this path in headers
    hist.commit("quote")
    text = g.diff_text(hist.root, hist.first)
    ours = [(d.old_path, d.new_path, d.change, d.added, d.removed, d.is_binary)
            for d in g.diff(hist.root, hist.first)]
    parsed = [(d.old_path, d.new_path, d.change, d.added, d.removed, d.is_binary)
              for d in g.parse_patch(text)]
    assert parsed == ours
    assert ('say "hi".txt' in {d.new_path for d in g.parse_patch(text)})
    with pytest.raises(g.GitError, match="malformed patch"):
        g.parse_patch("--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-only one line\n")


# --- blame ----------------------------------------------------------------------------------


def test_blame_attributes_lines_to_commits_and_authors(hist: Repo) -> None:
    lines = g.blame(hist.root, "src/app.py")
    assert [b.line for b in lines] == [1, 2, 3, 4, 5, 6]
    assert lines[0].commit == hist.first and lines[0].author == "Ada Lovelace"
    assert lines[1].commit == hist.second and lines[1].author == "Grace Hopper"
    assert lines[1].text == "    return 2" and lines[1].summary == "edit app"
    assert lines[0].date.endswith("+01:00") and lines[0].date.startswith("2023-11-1")
    part = g.blame(hist.root, "src/app.py", 5, 6)
    assert [(b.line, b.text) for b in part] == [(5, "def extra():"), (6, "    pass")]
    assert [b.line for b in g.blame(hist.root, "src/app.py", start=6)] == [6]
    assert [b.line for b in g.blame(hist.root, "src/app.py", end=1)] == [1]
    assert g.blame(hist.root, UNI)[0].text == "# café"
    hist.write("src/app.py", "def main():\n    return 9\n")
    dirty = g.blame(hist.root, "src/app.py")
    assert dirty[1].commit == g.ZERO_SHA and dirty[0].commit == hist.first
    committed = g.blame(hist.root, "src/app.py", rev="HEAD")
    assert committed[1].commit == hist.second and len(committed) == 6
    json.dumps(asdict(dirty[0]))


def test_blame_errors(hist: Repo) -> None:
    with pytest.raises(g.GitError, match="no such path"):
        g.blame(hist.root, "missing.py")
    with pytest.raises(g.GitError, match="has only 6 lines"):
        g.blame(hist.root, "src/app.py", 7, 9)
    with pytest.raises(g.GitError, match="invalid line range"):
        g.blame(hist.root, "src/app.py", 3, 2)
    with pytest.raises(g.PathOutsideRepoError):
        g.blame(hist.root, "../../etc/passwd")


def test_blame_in_an_empty_repository(r: Repo) -> None:
    r.write("a.txt", "a\n")
    with pytest.raises(g.GitError, match="no commits"):
        g.blame(r.root, "a.txt")


# --- history --------------------------------------------------------------------------------


def test_churn_counts_commits_lines_and_last_change(hist: Repo) -> None:
    c = g.churn(hist.root)
    app = c["src/app.py"]
    assert (app.commits, app.added, app.removed) == (2, 7, 1)
    assert app.last_changed == 1_700_000_000 + 2 * 86_400
    assert c[UNI].commits == 2 and c[UNI].last_changed == 1_700_000_000 + 3 * 86_400
    assert c["logo.png"].commits == 2 and c["logo.png"].added == 0  # binary: no line counts
    assert c["src/helpers.py"].added == 30 and c["src/util.py"].removed == 30  # rename = del+add
    assert set(g.churn(hist.root, max_commits=1)) == {
        "logo.png", "new.txt", "old.txt", "src/helpers.py", "src/util.py", UNI}
    recent = g.churn(hist.root, since=str(1_700_000_000 + 2 * 86_400))
    assert recent["src/app.py"].commits == 1 and "src/util.py" in recent
    json.dumps({k: asdict(v) for k, v in c.items()})


def test_churn_of_an_empty_repository_is_empty(r: Repo) -> None:
    assert g.churn(r.root) == {} and g.recently_changed(r.root) == []


def test_churn_is_one_fast_pass_over_thousands_of_commits(r: Repo) -> None:
    """3,000 commits over 300 files, written with fast-import, read in one log pass."""
    n_commits, n_files = 3000, 300
    chunks = []
    for i in range(n_commits):
        body = f"line {i}\n".encode()
        chunks.append(b"commit refs/heads/main\n"
                      + f"committer Ada <ada@example.com> {1_600_000_000 + i} +0000\n".encode()
                      + f"data {len(str(i))}\n{i}\n".encode()
                      + f"M 100644 inline f{i % n_files:03d}.txt\ndata {len(body)}\n".encode()
                      + body + b"\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=r.root, input=b"".join(chunks),
                   check=True)
    r.git("reset", "-q", "--hard", "main")
    start = time.perf_counter()
    c = g.churn(r.root, max_commits=5000)
    elapsed = time.perf_counter() - start
    assert len(c) == n_files and sum(f.commits for f in c.values()) == n_commits
    assert c["f000.txt"].commits == 10 and c["f299.txt"].last_changed == 1_600_000_000 + 2999
    assert elapsed < 10, f"churn took {elapsed:.2f}s"
    assert sum(f.commits for f in g.churn(r.root).values()) == 1000  # the default cap


def test_recently_changed_puts_uncommitted_first_then_by_commit(hist: Repo) -> None:
    assert g.recently_changed(hist.root, commits=1) == sorted(
        ["logo.png", "new.txt", "src/helpers.py", UNI])  # old.txt/src/util.py no longer exist
    hist.write("later.txt", "new\n")
    hist.write("src/app.py", "edited\n")
    os.utime(hist.root / "src/app.py", (2e9, 2e9))  # the newest edit
    order = g.recently_changed(hist.root, commits=5)
    assert order[:2] == ["src/app.py", "later.txt"]
    assert order[2:] == [UNI, "logo.png", "new.txt", "src/helpers.py"]  # git's order in a commit
    assert len(order) == len(set(order))
    assert g.recently_changed(hist.root, commits=0) == ["src/app.py", "later.txt"]


def test_merge_base(hist: Repo) -> None:
    hist.git("checkout", "-q", "-b", "feature", hist.second)
    hist.write("feature.txt", "f\n")
    hist.commit("feature")
    assert g.merge_base(hist.root, "main", "feature") == hist.second
    with pytest.raises(g.UnknownRevisionError):
        g.merge_base(hist.root, "main", "nope")


# --- file lists -----------------------------------------------------------------------------


def test_is_ignored_and_ls_files(hist: Repo) -> None:
    hist.write(".gitignore", "*.log\nbuild/\n")
    hist.write("forced.log", "tracked although ignored\n")
    hist.git("add", "-f", "forced.log")
    hist.commit("ignore rules")
    hist.write("debug.log", "x\n")
    hist.write("build/out.bin", b"\x00")
    hist.write("notes/ünï code.txt", "untracked\n")
    (hist.root / "new.txt").unlink()  # tracked, deleted in the working tree
    hist.git("add", "notes")  # staged and on disk: listed once
    nested = Repo(hist.root / "vendor" / "nested")  # an untracked nested repository
    nested.write("inner.txt", "i\n")
    ignored = g.is_ignored(hist.root, ["debug.log", "build/out.bin", "forced.log", "src/app.py",
                                       str(hist.root / "other.log"), "notes/ünï code.txt"])
    assert ignored == {"debug.log", "build/out.bin", str(hist.root / "other.log")}
    assert g.is_ignored(hist.root, []) == set()
    with pytest.raises(g.PathOutsideRepoError):
        g.is_ignored(hist.root, ["../x.log"])
    assert g.ls_files(hist.root) == [
        ".gitignore", UNI, "forced.log", "logo.png", "notes/ünï code.txt", "src/app.py",
        "src/helpers.py"]


@pytest.mark.skipif(sys.platform != "linux", reason="needs a filesystem that allows any bytes")
def test_non_utf8_file_names_survive_every_call(r: Repo) -> None:
    name = os.fsdecode(b"lat\xe9n.txt")  # Latin-1 bytes: a surrogate escape in Python
    r.write(name, "one\n")
    r.commit("latin-1 name")
    r.write(name, "one\ntwo\n")
    assert g.ls_files(r.root) == [name] and g.status(r.root).unstaged == [name]
    [d] = g.diff(r.root)
    assert (d.path, d.added) == (name, 1) and "+two" in d.patch
    assert g.churn(r.root)[name].commits == 1 and g.recently_changed(r.root) == [name]
    assert [b.text for b in g.blame(r.root, name)] == ["one", "two"]
    json.dumps(asdict(d))


def test_ls_files_lists_a_conflicted_file_once(r: Repo) -> None:
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
    assert g.ls_files(r.root) == ["c.txt"]
    st = g.status(r.root)
    assert st.conflicted == ["c.txt"] and st.is_dirty


# --- worktrees ------------------------------------------------------------------------------


def test_worktree_lifecycle_leaves_the_users_changes_byte_identical(hist: Repo) -> None:
    hist.write("src/app.py", "user's unsaved work\n")
    hist.write("staged.txt", "staged by the user\n")
    hist.git("add", "staged.txt")
    hist.write("scratch/ideas.md", "untracked notes\n")
    before, status_before = snapshot(hist.root), g.status(hist.root)

    wt = g.create_worktree(hist.root, "fathom/fix-1", base=hist.second)
    wt_path = Path(wt.path)
    assert wt.branch == "fathom/fix-1" and wt.head == hist.second
    assert wt_path == (hist.root / ".git" / "fathom-worktrees" / "fathom" / "fix-1").resolve()
    assert (wt_path / "src/util.py").exists() and not (wt_path / "new.txt").exists()
    assert snapshot(hist.root) == before and g.status(hist.root) == status_before

    (wt_path / "src/app.py").write_text("agent's fix\n")
    g_repo = git.Repo(wt_path)
    g_repo.git.commit("-qam", "agent fix")
    assert not g.status(wt_path).is_dirty and g.status(wt_path).branch == "fathom/fix-1"
    listed = g.list_worktrees(hist.root)
    assert [(w.branch, w.is_main) for w in listed] == [("main", True), ("fathom/fix-1", False)]
    assert listed[1].head == g_repo.head.commit.hexsha and listed[1].path == str(wt_path)
    assert g.list_worktrees(wt_path) == listed  # from inside the worktree too
    g_repo.close()

    g.remove_worktree(hist.root, wt_path, delete_branch=True)
    assert not wt_path.exists() and len(g.list_worktrees(hist.root)) == 1
    assert not (hist.root / ".git" / "fathom-worktrees").exists()  # no empty folders left
    assert "fathom/fix-1" not in hist.git("branch", "--list")
    assert snapshot(hist.root) == before and g.status(hist.root) == status_before
    json.dumps(asdict(wt))


def test_worktree_refusals(hist: Repo, tmp_path: Path) -> None:
    with pytest.raises(g.GitError, match="'main' already exists"):
        g.create_worktree(hist.root, "main")
    with pytest.raises(g.GitError, match="invalid branch name"):
        g.create_worktree(hist.root, "bad..name")
    with pytest.raises(g.GitError, match="invalid branch name"):
        g.create_worktree(hist.root, "-f")
    with pytest.raises(g.UnknownRevisionError):
        g.create_worktree(hist.root, "b1", base="nope")
    with pytest.raises(g.GitError, match="inside the working tree"):
        g.create_worktree(hist.root, "b2", dest=hist.root / "wt")
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("x")
    with pytest.raises(g.GitError, match="not empty"):
        g.create_worktree(hist.root, "b3", dest=full)
    empty = Repo(tmp_path / "empty")
    empty.write("a.txt", "a\n")
    with pytest.raises(g.GitError, match="no commits"):
        g.create_worktree(empty.root, "b4")
    with pytest.raises(g.GitError, match="main working tree"):
        g.remove_worktree(hist.root, hist.root)
    with pytest.raises(g.GitError, match="is not a worktree"):
        g.remove_worktree(hist.root, tmp_path)
    assert [w.branch for w in g.list_worktrees(hist.root)] == ["main"]
    assert "b1" not in hist.git("branch", "--list")


def test_remove_worktree_keeps_dirty_work_unless_forced(hist: Repo, tmp_path: Path) -> None:
    wt = g.create_worktree(hist.root, "agent", dest=tmp_path / "agent wt")
    (Path(wt.path) / "wip.txt").write_text("uncommitted\n")
    with pytest.raises(g.GitError, match="untracked"):
        g.remove_worktree(hist.root, wt.path)
    assert (Path(wt.path) / "wip.txt").exists()
    g.remove_worktree(hist.root, wt.path, force=True)
    assert "agent" in hist.git("branch", "--list")  # the branch stays unless asked
    gone = g.create_worktree(hist.root, "gone", dest=tmp_path / "gone")
    shutil.rmtree(gone.path)  # deleted by hand: removal prunes it
    g.remove_worktree(hist.root, gone.path, delete_branch=True)
    assert [w.branch for w in g.list_worktrees(hist.root)] == ["main"]
