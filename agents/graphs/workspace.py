"""The git side of `fix` and `repair`: a worktree on a new branch, snapshots, the commit.

The agent works in a worktree (`tools.git_worktree`) on a branch of its own; the user's
working tree is never written. After every step that edits, the edited files are
committed on the branch as a snapshot, and a step that edits starts by resetting the
worktree to the last snapshot — so a step re-run after a crash starts from exactly what
its checkpoint saw. At the end the snapshots are squashed into one commit. Applying it
to the user's branch is a fast-forward, done only when the branch has not moved and no
uncommitted file of the user's is touched; otherwise the user is told how to merge.
"""

from __future__ import annotations

from pathlib import Path

import git

from tools.edit import EditPathError, resolve_repo_path
from tools.git import GitError, repo_root, status
from tools.git_worktree import create_worktree, list_worktrees, remove_worktree
from tools.repo.languages import language_for_path
from tools.repo.parse import parse_source

AGENT_IDENTITY = {"GIT_AUTHOR_NAME": "Fathom", "GIT_AUTHOR_EMAIL": "fathom@localhost",
                  "GIT_COMMITTER_NAME": "Fathom", "GIT_COMMITTER_EMAIL": "fathom@localhost"}
_NO_SIGNING = ("-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null")


def run_git(cwd: str | Path, *args: str) -> str:
    """Run `git args` in `cwd` as the agent's identity; `GitError` with git's message."""
    try:
        with git.Repo(cwd) as repo:
            return repo.git.execute(["git", *_NO_SIGNING, *args], env=AGENT_IDENTITY,
                                    strip_newline_in_stdout=False)
    except git.GitCommandError as err:
        raise GitError(f"git {' '.join(args)} in {cwd}: {str(err.stderr).strip()}") from err
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as err:
        raise GitError(f"{cwd}: not a git working tree ({err})") from err


def open_worktree(repo: str | Path, branch: str) -> tuple[str, str]:
    """A worktree on the new `branch` at the user's HEAD: `(path, base commit)`.

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


def restore(worktree: str | Path, head: str) -> None:
    """Reset the worktree to commit `head`, dropping every change and untracked file.

    Ignored files stay (the worktree's own `.fathom/` index among them).
    """
    run_git(worktree, "reset", "--quiet", "--hard", head)
    run_git(worktree, "clean", "--quiet", "-fd")


def snapshot(worktree: str | Path, paths: list[str], message: str) -> str:
    """Commit the current state of `paths` on the worktree's branch; the new HEAD."""
    if paths:
        run_git(worktree, "add", "--all", "--", *paths)
    if run_git(worktree, "diff", "--cached", "--name-only").strip():
        run_git(worktree, "commit", "--quiet", "--no-verify", "-m", message)
    return run_git(worktree, "rev-parse", "HEAD").strip()


def squash(worktree: str | Path, base: str, message: str) -> str | None:
    """Squash the branch's snapshots since `base` into one commit; None if nothing changed."""
    run_git(worktree, "reset", "--quiet", "--soft", base)
    if not run_git(worktree, "diff", "--cached", "--name-only").strip():
        return None
    run_git(worktree, "commit", "--quiet", "--no-verify", "-m", message)
    return run_git(worktree, "rev-parse", "HEAD").strip()


def changed_files(cwd: str | Path, base: str, head: str) -> list[str]:
    """Paths that differ between two commits."""
    return run_git(cwd, "diff", "--name-only", base, head).split()


def diff_between(cwd: str | Path, base: str, head: str) -> str:
    """The unified diff `base..head`."""
    return run_git(cwd, "diff", base, head)


def source_errors(rel: str, source: bytes) -> list[str]:
    """Parse errors of one file's content: Python is compiled (what `py_compile` does,
    without writing bytecode), other languages are parsed with tree-sitter."""
    if rel.endswith((".py", ".pyi")):
        try:
            compile(source, rel, "exec", dont_inherit=True)
        except SyntaxError as err:
            return [f"{rel}:{err.lineno}: {err.msg}"]
        except ValueError as err:  # NUL bytes
            return [f"{rel}: {err}"]
        return []
    language = language_for_path(rel)
    if language is not None and parse_source(source, language).has_errors:
        return [f"{rel}: tree-sitter ({language}) found syntax errors"]
    return []


def syntax_errors(root: str | Path, paths: list[str]) -> list[str]:
    """Parse errors in the given files of the tree at `root` (missing files are skipped)."""
    errors = []
    for rel in paths:
        try:
            path, rel = resolve_repo_path(root, rel)
        except EditPathError as err:
            errors.append(str(err))
            continue
        if path.is_file():
            errors += source_errors(rel, path.read_bytes())
    return errors


def apply_to_branch(repo: str | Path, commit: str) -> tuple[bool, str]:
    """Fast-forward the user's current branch to `commit`, if that is safe.

    Safe means: HEAD is a branch, `commit` descends from it, and none of the files the
    commit changes has uncommitted changes or is untracked in the user's tree. Returns
    whether it was applied, and what happened or what to do instead.
    """
    top = repo_root(repo)
    state = status(top)
    if state.branch is None or state.head is None:
        return False, "HEAD is detached: check out a branch, then merge the run's branch"
    try:
        run_git(top, "merge-base", "--is-ancestor", state.head, commit)
    except GitError:
        return False, (f"{state.branch} has moved since the run started: merge the run's "
                       "branch yourself")
    touched = set(changed_files(top, state.head, commit))
    dirty = touched & {*state.staged, *state.unstaged, *state.untracked, *state.conflicted}
    if dirty:
        return False, (f"you have uncommitted changes to {', '.join(sorted(dirty))}: commit "
                       "or stash them, then merge the run's branch")
    run_git(top, "merge", "--quiet", "--ff-only", commit)
    return True, f"fast-forwarded {state.branch} to {commit[:12]}"


def close_worktree(repo: str | Path, worktree: str | Path, delete_branch: bool) -> None:
    """Remove the run's worktree (its branch stays unless `delete_branch`)."""
    top = repo_root(repo)
    target = Path(worktree).resolve()
    if any(Path(tree.path).resolve() == target for tree in list_worktrees(top)):
        remove_worktree(top, target, delete_branch=delete_branch, force=True)
