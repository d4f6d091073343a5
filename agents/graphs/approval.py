"""The answer to a `fix`/`repair` run's approval request, and the part of the change it keeps.

A run stops before it touches the user's branch and asks (a LangGraph interrupt). The
answer is an `ApprovalDecision`: whether to apply, and optionally a commit that holds
only part of the run's change — the hunks a reviewer accepted (`tools.git.commit_hunks`
makes one). The run checks such a commit before it takes it (`tools.git.check_selection`:
it must descend from the run's base and change nothing the run did not change, line for
line). The run's branch then moves to the accepted commit, and that commit is what is
applied.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from agents.events import DiffReady
from agents.graphs.base import RunContext, State
from tools.git import GitError, check_selection, restore


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
        chosen = check_selection(state["repo"], state["base"], state["commit"],
                                 decision.commit)
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
