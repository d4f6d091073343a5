"""A `fix`/`repair` run's approval request, the answer to it, and the part of the change
that answer keeps.

A run stops before it touches the user's branch and asks (a LangGraph interrupt):
`ApprovalRequest` is that question with the change, file by file and hunk by hunk. The
answer is an `ApprovalDecision`: whether to apply, and optionally which hunks of the
change to keep (the run commits them itself, `tools.git.commit_hunks`) — or, as runs
answered before hunks were carried, a commit holding the kept part. The run checks the
kept part before it takes it (`tools.git.check_selection`: it must descend from the
run's base and change nothing the run did not change, line for line). The run's branch
then moves to it, and that is what is applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from agents.events import DiffReady
from agents.graphs.base import RunContext, State
from tools.git import (
    FileHunks,
    GitError,
    HunkId,
    check_selection,
    commit_diff,
    commit_hunks,
    parse_hunks,
    restore,
)


@dataclass(frozen=True)
class ApprovalRequest:
    """What a run waiting for approval asks: apply `branch` (at `commit`, changing
    `files`) to the user's branch? With the change's diff and its files' hunks, and how
    to apply or resume it by hand (`instructions`)."""

    branch: str
    commit: str
    files: list[str]
    question: str
    instructions: str
    diff: str
    hunks: tuple[FileHunks, ...]

    @classmethod
    def of(cls, repo: str | Path, request: Mapping[str, Any]) -> ApprovalRequest:
        """The request a run's interrupt carries, with its change read from `repo`."""
        diff = commit_diff(repo, request["commit"])
        return cls(request.get("branch", ""), request["commit"], list(request.get("files", [])),
                   request.get("question", "Apply?"), request.get("instructions", ""), diff,
                   parse_hunks(diff))

    def everything(self) -> frozenset[HunkId]:
        """The ids of every hunk of the change."""
        return frozenset((f.path, h.index) for f in self.hunks for h in f.hunks)

    def to_json(self) -> dict[str, Any]:
        """`{"branch", "commit", "files", "question", "instructions"}` (the `--json`
        contract: the diff is on the branch)."""
        return {"branch": self.branch, "commit": self.commit, "files": self.files,
                "question": self.question, "instructions": self.instructions}


class ApprovalDecision(BaseModel):
    """Apply the run's change to the user's branch, or not.

    `hunks`, when set, are the `(path, index)` ids of the hunks to keep (the rest of the
    change is dropped); `commit`, when set, is a commit holding the kept part. With
    neither, all of it is kept. The run's branch moves to the kept part whether or not
    it is applied.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    approved: bool
    commit: str | None = None
    hunks: list[tuple[str, int]] | None = None

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


def decide(ctx: RunContext, state: State, answer: object) -> State:
    """The `approve` step's update for an approver's `answer` to the run's request.

    An answer that keeps part of the change moves the run's branch to that part (a
    `DiffReady` event shows it) and says so in `selection`; one that keeps nothing leaves
    nothing to apply. An answer that cannot be taken (malformed, or a commit that is not
    part of the change) is reported as an error and nothing is applied.
    """
    try:
        decision = ApprovalDecision.of(answer)
        kept = decision.commit
        if decision.hunks is not None:
            keep = set(decision.hunks)
            whole = ApprovalRequest.of(state["repo"], state).everything()
            kept = None if keep == whole else commit_hunks(state["repo"], state["commit"],
                                                           keep)
        if kept is None:
            return {"approved": decision.approved}
        chosen = check_selection(state["repo"], state["base"], state["commit"], kept)
        if chosen.commit == state["commit"]:
            return {"approved": decision.approved}
        if chosen.files:
            restore(state["worktree"], chosen.commit)
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
