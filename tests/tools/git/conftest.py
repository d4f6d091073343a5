"""Real repositories for the git layer's tests, built in tmp dirs with gitpython."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import git
import pytest

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
