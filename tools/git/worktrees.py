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

from tools.git.read import head_commit, resolve_commit
from tools.git.runner import GitError, decode, repo_root, run_git

_ZERO_SHA = "0" * 40


@dataclass(frozen=True)
class Worktree:
    """A working tree of a repository: ``branch`` is None when detached, ``head`` None
    before the first commit; ``is_main`` marks the repository's own working tree."""

    path: str
    branch: str | None
    head: str | None
    is_main: bool = False


def _common_dir(root: Path) -> Path:
    """The .git directory shared by all worktrees (git prints it relative to the tree)."""
    return (root / decode(run_git(root, "rev-parse", "--git-common-dir")).strip()).resolve()


def list_worktrees(path: str | Path) -> list[Worktree]:
    """All working trees of the repository containing ``path``; the main one comes first."""
    raw = run_git(repo_root(path), "worktree", "list", "--porcelain", "-z")
    trees: list[Worktree] = []
    fields: dict[str, str] = {}
    for token in raw.split(b"\0"):
        if token:
            key, _, value = decode(token).partition(" ")
            fields[key] = value
            continue
        if "worktree" in fields:
            branch = fields.get("branch")
            head = fields.get("HEAD")
            trees.append(Worktree(
                fields["worktree"], branch.removeprefix("refs/heads/") if branch else None,
                None if head in (None, _ZERO_SHA) else head, is_main=not trees))
        fields = {}
    return trees


def create_worktree(path: str | Path, branch: str, base: str = "HEAD",
                    dest: str | Path | None = None) -> Worktree:
    """Create ``branch`` at ``base`` and check it out in a new worktree at ``dest``.

    Refuses an invalid or existing branch name, an unknown base, a repository without
    commits, and a destination that is a non-empty directory or lies inside a working tree.
    """
    root = repo_root(path)
    if not branch or branch.startswith("-") or not run_git(
        root, "check-ref-format", "--branch", branch, ok=(0, 1, 128)
    ).strip():
        raise GitError(f"invalid branch name {branch!r} in {root}")
    if run_git(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", ok=(0, 1)):
        raise GitError(f"branch {branch!r} already exists in {root}")
    if head_commit(root) is None:
        raise GitError(f"cannot create a worktree: {root} has no commits yet")
    sha = resolve_commit(root, base)
    common = _common_dir(root)
    default = common / "fathom-worktrees" / branch
    target = Path(dest).expanduser().absolute() if dest else default
    resolved = target.resolve()
    for tree in (Path(t.path).resolve() for t in list_worktrees(root)):
        if resolved.is_relative_to(tree) and not resolved.is_relative_to(common):
            raise GitError(f"worktree destination {target} is inside the working tree {tree}")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise GitError(f"worktree destination {target} exists and is not empty")
    target.parent.mkdir(parents=True, exist_ok=True)
    run_git(root, "worktree", "add", "--quiet", "--no-track", "-b", branch, str(target), sha)
    return Worktree(str(resolved), branch, sha)


def remove_worktree(path: str | Path, worktree_path: str | Path, delete_branch: bool = False,
                    force: bool = False) -> None:
    """Remove a worktree made by :func:`create_worktree` (never the main working tree).

    Without ``force`` git refuses when the worktree has uncommitted or untracked files;
    ``delete_branch`` then deletes its branch too, even if unmerged. A worktree whose
    directory is already gone is pruned.
    """
    trees = list_worktrees(path)
    target = Path(worktree_path).expanduser().absolute().resolve()
    match = next((w for w in trees if Path(w.path).resolve() == target), None)
    if match is None:
        raise GitError(f"{target} is not a worktree of the repository at {trees[0].path}")
    if match.is_main:
        raise GitError(f"refusing to remove the main working tree {match.path}")
    main = Path(trees[0].path)  # run from the main tree, not the one being removed
    if Path(match.path).exists():
        run_git(main, "worktree", "remove", *(["--force", "--force"] if force else []),
                match.path)
    else:
        run_git(main, "worktree", "prune")
    if delete_branch and match.branch:
        run_git(main, "branch", "-D", match.branch)
    _prune_empty(Path(match.path).parent, _common_dir(main) / "fathom-worktrees")


def _prune_empty(folder: Path, top: Path) -> None:
    """Remove empty folders left by a branch name with slashes, up to and including ``top``."""
    while folder.is_relative_to(top) and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def open_worktree(repo: str | Path, branch: str) -> tuple[str, str]:
    """A worktree on the new ``branch`` at the user's HEAD: ``(path, base commit)``.

    If the branch already has a worktree (a run re-executing this step after a crash),
    that one is reused.
    """
    top = repo_root(repo)
    for tree in list_worktrees(top):
        if tree.branch == branch and tree.head:
            return tree.path, tree.head
    tree = create_worktree(top, branch)
    assert tree.head is not None  # create_worktree refuses a repository without commits
    return tree.path, tree.head


def close_worktree(repo: str | Path, worktree: str | Path, delete_branch: bool) -> None:
    """Remove a worktree if it is still there, discarding its uncommitted files (its
    branch stays unless ``delete_branch``)."""
    top = repo_root(repo)
    target = Path(worktree).resolve()
    if any(Path(tree.path).resolve() == target for tree in list_worktrees(top)):
        remove_worktree(top, target, delete_branch=delete_branch, force=True)
