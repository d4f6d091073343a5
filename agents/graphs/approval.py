"""The answer to a `fix`/`repair` run's approval request, and the part of the change it keeps.

A run stops before it touches the user's branch and asks (a LangGraph interrupt). The
answer is an `ApprovalDecision`: whether to apply, and optionally a commit that holds
only part of the run's change — the hunks a reviewer accepted. The run checks such a
commit before it takes it: it must descend from the run's base and change nothing the
run did not change, line for line. Lines are compared as zero-context hunks, whose
positions in the base file do not move when other hunks are left out; a file changed
as a whole (a binary file, a mode change) must end exactly as the run left it. The
run's branch then moves to the accepted commit, and that commit is what is applied.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict
from unidiff import PatchSet, UnidiffParseError

from agents.events import DiffReady
from agents.graphs import workspace
from agents.graphs.base import RunContext, State
from agents.graphs.workspace import run_git
from tools.git import GitError, repo_root

_DIFF = ("diff", "--no-renames", "--no-ext-diff", "--no-color", "--src-prefix=a/",
         "--dst-prefix=b/")
HunkKey = tuple[int, int, tuple[str, ...]]   # old start, old length, the +/- lines


class ApprovalDecision(BaseModel):
    """Apply the run's change to the user's branch, or not.

    `commit`, when set, is the accepted part of the change (None: all of it); the run's
    branch moves to it whether or not it is applied.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    approved: bool
    commit: str | None = None

    @classmethod
    def of(cls, value: object) -> ApprovalDecision:
        """The decision an approver's answer means: yes/no, a decision, or its JSON."""
        if isinstance(value, cls):
            return value
        if isinstance(value, bool):
            return cls(approved=value)
        if isinstance(value, Mapping):
            return cls.model_validate(dict(value))
        raise ValueError(f"an approval is yes/no or {{approved, commit}}, not {value!r}")


class SelectionError(ValueError):
    """A commit offered as the accepted part of a run's change is not one."""


@dataclass(frozen=True)
class Selection:
    """A checked part of a run's change: its commit, files and diff, and how many changed
    lines it keeps of the `total` the run changed."""

    commit: str
    files: list[str]
    diff: str
    lines: int
    total: int


@dataclass(frozen=True)
class _FileChange:
    """How one file changed: its mode before, its mode and blob after, its hunks."""

    old_mode: str
    new: tuple[str, str]
    hunks: frozenset[HunkKey]


def _changes(top: Path, base: str, head: str) -> dict[str, _FileChange]:
    """Every file `base..head` changes, with its zero-context hunks."""
    states = {}
    for line in run_git(top, *_DIFF, "--raw", base, head).splitlines():
        meta, _, path = line.partition("\t")
        old_mode, new_mode, _, new_blob, _ = meta.lstrip(":").split()
        states[path] = (old_mode, (new_mode, new_blob))
    try:
        patch = PatchSet(run_git(top, *_DIFF, "-U0", base, head))
    except UnidiffParseError as err:
        raise SelectionError(f"unreadable diff {base[:12]}..{head[:12]}: {err}") from err
    hunks: dict[str, frozenset[HunkKey]] = {
        changed.path: frozenset((h.source_start, h.source_length,
                                 tuple(str(line) for line in h)) for h in changed)
        for changed in patch}
    return {path: _FileChange(old, new, hunks.get(path, frozenset()))
            for path, (old, new) in states.items()}


def _size(changes: Mapping[str, _FileChange]) -> int:
    """Changed lines (added plus removed) of a change."""
    return sum(sum(1 for line in hunk[2] if line[:1] in "+-")
               for change in changes.values() for hunk in change.hunks)


def check_selection(repo: str | Path, base: str, proposed: str, commit: str) -> Selection:
    """Check that `commit` holds only part of the change `base..proposed`.

    Raises `SelectionError` saying what is wrong: not a commit, not descending from
    `base`, or changing a file or a line the run did not change.
    """
    top = Path(repo)
    if not re.fullmatch(r"[0-9a-fA-F]{7,64}", commit):
        raise SelectionError(f"{commit!r} is not a commit id")
    try:
        sha = run_git(top, "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}").strip()
    except GitError as err:
        raise SelectionError(f"{commit}: not a commit of this repository") from err
    try:
        run_git(top, "merge-base", "--is-ancestor", base, sha)
    except GitError as err:
        raise SelectionError(f"{sha[:12]} does not descend from the run's base "
                             f"{base[:12]}") from err
    run, kept = _changes(top, base, proposed), _changes(top, base, sha)
    for path, change in kept.items():
        mine = run.get(path)
        if mine is None:
            raise SelectionError(f"{sha[:12]} changes {path}, which the run did not change")
        whole = change.new == mine.new
        partial = bool(change.hunks) and change.hunks <= mine.hunks and (
            change.new[0] in (mine.new[0], change.old_mode))
        if not (whole or partial):
            raise SelectionError(f"{sha[:12]} changes {path} in ways the run did not")
    diff = run_git(top, *_DIFF, base, sha) if kept else ""
    return Selection(sha, sorted(kept), diff, _size(kept), _size(run))


def decide(ctx: RunContext, state: State, answer: object) -> State:
    """The `approve` step's update for an approver's `answer` to the run's request.

    An answer that keeps part of the change moves the run's branch to that part (a
    `DiffReady` event shows it) and says so in `selection`; one that keeps nothing leaves
    nothing to apply. An answer that cannot be taken (malformed, or a commit that is not
    part of the change) is reported as an error and nothing is applied.
    """
    try:
        decision = ApprovalDecision.of(answer)
        if decision.commit is None:
            return {"approved": decision.approved}
        chosen = check_selection(repo_root(state["repo"]), state["base"], state["commit"],
                                 decision.commit)
        if chosen.commit == state["commit"]:
            return {"approved": decision.approved}
        if chosen.files:
            workspace.restore(state["worktree"], chosen.commit)
    except (ValueError, GitError) as err:
        ctx.error("approve", f"the approval was refused: {err}")
        return {"approved": False, "selection": f"nothing applied: the approval was "
                                                f"refused ({err})"}
    part = f"{chosen.lines} of {chosen.total} changed lines of {state['commit'][:12]}"
    if not chosen.files:
        return {"approved": False, "commit": None, "diff": "", "files": [],
                "selection": f"nothing accepted (0 of {chosen.total} changed lines): "
                             "the run's branch is removed"}
    ctx.emit(DiffReady(run_id=ctx.run_id, step="approve", diff=chosen.diff,
                       files=chosen.files))
    return {"approved": decision.approved, "commit": chosen.commit, "head": chosen.commit,
            "diff": chosen.diff, "files": chosen.files,
            "selection": f"kept the accepted part of the change: {part}"}
