"""The git layer: every git process of the product starts here.

    runner     the one place that runs git; errors; finding the repository root
    read       status, revisions, diffs, files at a commit, recent work, file lists
    worktrees  a new branch checked out in its own directory (where agents work)
    commits    snapshots and squashes on an agent's branch; landing it on the user's
    hunks      a commit's diff as files and hunks; committing and checking a part of it

The public names of those modules are re-exported here.
"""

from tools.git.commits import apply_to_branch, restore, snapshot, squash
from tools.git.hunks import (
    FileHunks,
    Hunk,
    HunkId,
    Selection,
    SelectionError,
    check_selection,
    commit_diff,
    commit_hunks,
    parse_hunks,
    select_hunks,
)
from tools.git.read import (
    FileStat,
    RepoStatus,
    changed_files,
    commit_subjects,
    diff_stat,
    diff_text,
    head_commit,
    is_ancestor,
    listed_paths,
    recently_changed,
    resolve_commit,
    show_file,
    status,
)
from tools.git.runner import (
    GitError,
    NotARepositoryError,
    UnknownRevisionError,
    repo_root,
)
from tools.git.worktrees import (
    Worktree,
    close_worktree,
    create_worktree,
    list_worktrees,
    open_worktree,
    remove_worktree,
)

__all__ = [
    "FileHunks", "FileStat", "GitError", "Hunk", "HunkId", "NotARepositoryError", "RepoStatus",
    "Selection", "SelectionError", "UnknownRevisionError", "Worktree", "apply_to_branch",
    "changed_files", "check_selection", "close_worktree", "commit_diff", "commit_hunks",
    "commit_subjects", "create_worktree", "diff_stat", "diff_text", "head_commit",
    "is_ancestor", "list_worktrees", "listed_paths", "open_worktree", "parse_hunks",
    "recently_changed", "remove_worktree", "repo_root", "resolve_commit", "restore",
    "select_hunks", "show_file", "snapshot", "squash", "status",
]
