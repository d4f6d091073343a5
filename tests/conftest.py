"""Shared fixtures: real git repositories made in temporary directories."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import git
import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def init_repo(root: Path, message: str = "initial") -> git.Repo:
    """Make ``root`` a git repository with everything in it committed."""
    repo = git.Repo.init(root, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", "Fathom Tests")
        config.set_value("user", "email", "tests@fathom.invalid")
    repo.git.add(all=True)
    repo.index.commit(message)
    return repo


def committed_copy(name: str, tmp_path: Path) -> Path:
    """A copy of the fixture project `name` in `<tmp_path>/<name>`, committed to git."""
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root)
    init_repo(root)
    return root


@pytest.fixture
def shop_repo(tmp_path: Path) -> Path:
    """A copy of the small multi-language shop project, committed to git."""
    return committed_copy("shop", tmp_path)


@pytest.fixture
def calc(tmp_path: Path) -> Path:
    """The calc project (mean is off by one), committed to git."""
    return committed_copy("calc", tmp_path)


@pytest.fixture
def make_tree(tmp_path: Path) -> Callable[[dict[str, str | bytes]], Path]:
    """Write a directory tree from {relative path: text or bytes} (no git)."""

    def make(files: dict[str, str | bytes], name: str = "tree") -> Path:
        root = tmp_path / name
        for rel, content in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        root.mkdir(exist_ok=True)
        return root

    return make
