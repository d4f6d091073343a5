"""Git worktrees for agents: a new branch checked out in its own directory.

Agents never touch the user's working tree: ``fix`` and ``repair`` edit, test and commit in
a worktree on a fresh branch, and the user applies or merges it. Creating or removing one
runs ``git worktree`` only, which never reads or writes the main working tree or its index.
By default worktrees live under ``<git-common-dir>/fathom-worktrees/<branch>``: inside
``.git``, so they never show up as untracked files in the user's tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import git

from tools.git import ZERO_SHA, GitError, _commit, _git, _head, _opened, _root, _text


@dataclass(frozen=True)
class Worktree:
    """A working tree of a repository: ``branch`` is None when detached, ``head`` None
    before the first commit; ``is_main`` marks the repository's own working tree."""

    path: str
    branch: str | None
    head: str | None
    is_main: bool = False


def _common_dir(repo: git.Repo) -> Path:
    """The .git directory shared by all worktrees (git prints it relative to the tree)."""
    return (_root(repo) / _text(_git(repo, "rev-parse", "--git-common-dir")).strip()).resolve()


def _list(repo: git.Repo) -> list[Worktree]:
    raw = _git(repo, "worktree", "list", "--porcelain", "-z")
    trees: list[Worktree] = []
    fields: dict[str, str] = {}
    for token in raw.split(b"\0"):
        if token:
            key, _, value = _text(token).partition(" ")
            fields[key] = value
            continue
        if "worktree" in fields:
            branch = fields.get("branch")
            head = fields.get("HEAD")
            trees.append(Worktree(
                fields["worktree"], branch.removeprefix("refs/heads/") if branch else None,
                None if head in (None, ZERO_SHA) else head, is_main=not trees))
        fields = {}
    return trees


def list_worktrees(path: str | Path) -> list[Worktree]:
    """All working trees of the repository containing ``path``; the main one comes first."""
    with _opened(path) as repo:
        return _list(repo)


def create_worktree(path: str | Path, branch: str, base: str = "HEAD",
                    dest: str | Path | None = None) -> Worktree:
    """Create ``branch`` at ``base`` and check it out in a new worktree at ``dest``.

    Refuses an invalid or existing branch name, an unknown base, a repository without
    commits, and a destination that is a non-empty directory or lies inside a working tree.
    """
    with _opened(path) as repo:
        root = _root(repo)
        if not branch or branch.startswith("-") or not _git(
            repo, "check-ref-format", "--branch", branch, ok=(0, 1, 128)
        ).strip():
            raise GitError(f"invalid branch name {branch!r} in {root}")
        if _git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", ok=(0, 1)):
            raise GitError(f"branch {branch!r} already exists in {root}")
        if _head(repo) is None:
            raise GitError(f"cannot create a worktree: {root} has no commits yet")
        sha = _commit(repo, base)
        common = _common_dir(repo)
        default = common / "fathom-worktrees" / branch
        target = Path(dest).expanduser().absolute() if dest else default
        resolved = target.resolve()
        for tree in (Path(t.path).resolve() for t in _list(repo)):
            if resolved.is_relative_to(tree) and not resolved.is_relative_to(common):
                raise GitError(f"worktree destination {target} is inside the working tree {tree}")
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise GitError(f"worktree destination {target} exists and is not empty")
        target.parent.mkdir(parents=True, exist_ok=True)
        _git(repo, "worktree", "add", "--quiet", "--no-track", "-b", branch, str(target), sha)
        return Worktree(str(resolved), branch, sha)


def remove_worktree(path: str | Path, worktree_path: str | Path, delete_branch: bool = False,
                    force: bool = False) -> None:
    """Remove a worktree made by :func:`create_worktree` (never the main working tree).

    Without ``force`` git refuses when the worktree has uncommitted or untracked files;
    ``delete_branch`` then deletes its branch too, even if unmerged. A worktree whose
    directory is already gone is pruned.
    """
    with _opened(path) as repo:
        trees = _list(repo)
    target = Path(worktree_path).expanduser().absolute().resolve()
    match = next((w for w in trees if Path(w.path).resolve() == target), None)
    if match is None:
        raise GitError(f"{target} is not a worktree of the repository at {trees[0].path}")
    if match.is_main:
        raise GitError(f"refusing to remove the main working tree {match.path}")
    with _opened(trees[0].path) as main:  # run from the main tree, not the one being removed
        if Path(match.path).exists():
            _git(main, "worktree", "remove", *(["--force", "--force"] if force else []),
                 match.path)
        else:
            _git(main, "worktree", "prune")
        if delete_branch and match.branch:
            _git(main, "branch", "-D", match.branch)
        home = _common_dir(main) / "fathom-worktrees"
    _prune_empty(Path(match.path).parent, home)


def _prune_empty(folder: Path, top: Path) -> None:
    """Remove empty folders left by a branch name with slashes, up to and including ``top``."""
    while folder.is_relative_to(top) and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
