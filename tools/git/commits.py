"""Commits on an agent's branch: reset to a snapshot, snapshot, squash, and landing the
result on the user's branch.

The agent works in a worktree (``tools.git.worktrees``) on a branch of its own; the
user's working tree is never written. After every step that edits, the edited files
are committed on the branch as a snapshot, and a step that edits starts by resetting
the worktree to the last snapshot — so a step re-run after a crash starts from exactly
what its checkpoint saw. At the end the snapshots are squashed into one commit.
Applying it to the user's branch is a fast-forward, done only when the branch has not
moved and no uncommitted file of the user's is touched; otherwise the user is told how
to merge. Commits are made as Fathom (``tools.git.runner.IDENTITY``).
"""

from __future__ import annotations

from pathlib import Path

from tools.git.read import changed_files, is_ancestor, resolve_commit, status
from tools.git.runner import exit_code, repo_root, run_git


def restore(worktree: str | Path, head: str) -> None:
    """Reset the worktree to commit ``head``, dropping every change and untracked file.

    Ignored files stay (the worktree's own ``.fathom/`` index among them).
    """
    run_git(worktree, "reset", "--quiet", "--hard", head, as_fathom=True)
    run_git(worktree, "clean", "--quiet", "-fd", as_fathom=True)


def _commit_staged(worktree: str | Path, message: str) -> bool:
    """Commit the index if it differs from HEAD; whether there was anything to commit."""
    if exit_code(worktree, "diff", "--cached", "--quiet") == 0:
        return False
    run_git(worktree, "commit", "--quiet", "--no-verify", "-m", message, as_fathom=True)
    return True


def snapshot(worktree: str | Path, paths: list[str], message: str) -> str:
    """Commit the current state of ``paths`` on the worktree's branch; the new HEAD."""
    if paths:
        run_git(worktree, "add", "--all", "--", *paths, as_fathom=True)
    _commit_staged(worktree, message)
    return resolve_commit(worktree, "HEAD")


def squash(worktree: str | Path, base: str, message: str) -> str | None:
    """Squash the branch's snapshots since ``base`` into one commit; None if nothing changed."""
    run_git(worktree, "reset", "--quiet", "--soft", base, as_fathom=True)
    return resolve_commit(worktree, "HEAD") if _commit_staged(worktree, message) else None


def apply_to_branch(repo: str | Path, commit: str) -> tuple[bool, str]:
    """Fast-forward the user's current branch to ``commit``, if that is safe.

    Safe means: HEAD is a branch, ``commit`` descends from it, and none of the files the
    commit changes has uncommitted changes or is untracked in the user's tree. Returns
    whether it was applied, and what happened or what to do instead.
    """
    top = repo_root(repo)
    state = status(top)
    if state.branch is None or state.head is None:
        return False, "HEAD is detached: check out a branch, then merge the run's branch"
    if not is_ancestor(top, state.head, commit):
        return False, (f"{state.branch} has moved since the run started: merge the run's "
                       "branch yourself")
    dirty = set(changed_files(top, state.head, commit)) & state.pending
    if dirty:
        return False, (f"you have uncommitted changes to {', '.join(sorted(dirty))}: commit "
                       "or stash them, then merge the run's branch")
    run_git(top, "merge", "--quiet", "--ff-only", commit, as_fathom=True)
    return True, f"fast-forwarded {state.branch} to {commit[:12]}"
