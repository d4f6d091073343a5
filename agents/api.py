"""The agents' front door: typed requests in, typed results and events out.

Everything above `agents/` — the CLI, the TUI, the CI bot — calls only this module (and
reads `agents.events`, the typed events it streams): it never builds a graph's input or
reads a graph's state by key. Behind the door: routing a question to the Fast or Slow
Path, reading the model settings (`FATHOM_*` and the repository's `fathom.toml`), the
wording of a repair's task, running the graphs as durable runs (`agents.graphs.runner`),
and turning their state into results built beside each graph.

    ask(AskRequest)           one grounded answer with its sources    → AskResult
    fix(FixRequest)           a tested change on a new branch         → PatchResult
    repair(RepairRequest)     failing tests made to pass              → PatchResult
    review(ReviewRequest)     findings on base..head, with evidence   → ReviewResult
    describe(DescribeRequest) a pull request's title and description  → DescribeResult
    resume(repo, run_id)      a run continued after a crash or a stop → any of them
    decide(repo, run_id, Decision)  the answer to a run's approval, by hunks → PatchResult
    model_for(repo)           the model the settings name (None: no model)

Every call takes `events`, a sink for the run's typed events as they happen. A `fix` or
`repair` stops before it touches the user's branch and waits — durably — for approval:
`yes=True` approves, an `approve` callback answers with a `Decision`, and without
either the run returns `awaiting_approval` until `decide` or `resume` continues it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agents.citations import CITATION, CheckedCitation, Citation, citation_of
from agents.events import EventSink, Routed, ignore
from agents.graphs.ask.context import Source
from agents.graphs.ask.graph import AskResult
from agents.graphs.base import Budgets, never
from agents.graphs.describe.graph import DescribeResult
from agents.graphs.fix.approval import ApprovalDecision, ApprovalRequest
from agents.graphs.fix.graph import REPAIR_TASK, PatchResult
from agents.graphs.review.graph import DroppedFinding, ReviewResult
from agents.graphs.runner import RunOutcome, resume_run, start_run
from agents.llm import DEFAULT_CONTEXT_WINDOW, ChatModel, ChatModelError, chat_model_from_config
from agents.router import PathName, Route, route
from agents.runs import RunNotFoundError, RunRecord, RunStore, RunUsage, new_run_id
from agents.settings import ModelSettings
from tools.git import HunkId

__all__ = [
    "CITATION", "DEFAULT_CONTEXT_WINDOW", "ApprovalRequest", "AskRequest", "AskResult",
    "Budgets", "ChatModel", "ChatModelError", "CheckedCitation", "Citation", "Decision",
    "DescribeRequest", "DescribeResult", "DroppedFinding", "FixRequest", "ModelSettings",
    "PatchResult", "RepairRequest", "ReviewRequest", "ReviewResult", "Route",
    "RunNotFoundError", "RunResult", "RunSummary", "RunUsage", "Source", "Turn", "ask",
    "citation_of", "decide", "describe", "fix", "model_for", "model_settings", "new_run_id",
    "past_runs", "repair", "resume", "review",
]

RunResult = AskResult | PatchResult | ReviewResult | DescribeResult
Cancelled = Callable[[], bool]


@dataclass(frozen=True)
class Turn:
    """An earlier question of the conversation and its answer."""

    question: str
    answer: str


@dataclass(frozen=True)
class AskRequest:
    """A question about the repository at `repo`. `path` forces the Fast or Slow Path
    (None: routed); `context_tokens` caps the model window to fill (None: the model's
    own); `history` is the conversation so far, oldest first."""

    repo: Path
    question: str
    path: PathName | None = None
    context_tokens: int | None = None
    history: tuple[Turn, ...] = ()


@dataclass(frozen=True)
class FixRequest:
    """A change to make, in words, on a new branch; `test_command` runs the tests."""

    repo: Path
    task: str
    test_command: str | None = None
    budgets: Budgets = Budgets()


@dataclass(frozen=True)
class RepairRequest:
    """Failing tests to make pass: `test_command` runs them."""

    repo: Path
    test_command: str
    budgets: Budgets = Budgets()


@dataclass(frozen=True)
class ReviewRequest:
    """The change `base..head` to review; `test_command` runs the tests at `head`."""

    repo: Path
    base: str
    head: str = "HEAD"
    test_command: str | None = None


@dataclass(frozen=True)
class DescribeRequest:
    """The change `base..head` (a pull request) to describe."""

    repo: Path
    base: str
    head: str = "HEAD"


@dataclass(frozen=True)
class Decision:
    """The answer to a run's approval request: apply the change to the user's branch or
    not, keeping the hunks `keep` (ids `(path, index)` of `ApprovalRequest.hunks`;
    None: all of them)."""

    apply: bool
    keep: frozenset[HunkId] | None = None


@dataclass(frozen=True)
class RunSummary:
    """A run as a list of runs shows it: id, kind, what it was asked, when, how it stands."""

    run_id: str
    kind: str
    title: str
    created: float
    status: str
    summary: str


Approver = Callable[[ApprovalRequest], "bool | Decision"]


def model_settings(repo: Path) -> ModelSettings:
    """The model settings for `repo`: `FATHOM_*` variables over the repository's
    `fathom.toml` (unless `FATHOM_CONFIG_FILE` names another file). ValueError names a
    bad value and where it came from."""
    own = Path(repo) / "fathom.toml"
    try:
        if "FATHOM_CONFIG_FILE" not in os.environ and own.is_file():
            return ModelSettings(config_file=own)
        return ModelSettings()
    except ValidationError as err:
        raise ChatModelError(f"model settings: {err}") from err


def model_for(repo: Path, *, no_model: bool = False,
              settings: ModelSettings | None = None) -> ChatModel | None:
    """The model `settings` (default: `model_settings(repo)`) describe; None with
    `no_model` or backend "none". Weights load on first use, not here."""
    if no_model:
        return None
    settings = settings or model_settings(repo)
    if settings.backend == "none":
        return None
    return chat_model_from_config(settings)


def ask(request: AskRequest, *, model: ChatModel | None, events: EventSink = ignore,
        cancelled: Cancelled = never, run_id: str | None = None) -> AskResult:
    """Answer a question (routed to the Fast or Slow Path, said first as a `Routed`
    event). Without a model the answer is the ranked code; a run cancelled between two
    streamed pieces comes back with status "interrupted"."""
    routed = route(request.question, request.path)
    run_id = run_id or new_run_id("ask")
    events(Routed(run_id=run_id, path=routed.path, graph=routed.graph, reason=routed.reason))
    inputs = {"question": request.question, "repo": str(request.repo), "path": routed.path,
              "context_tokens": request.context_tokens,
              "history": [{"question": t.question, "answer": t.answer}
                          for t in request.history]}
    outcome = start_run("ask", request.repo, inputs, model=model, emit=events,
                        run_id=run_id, cancelled=cancelled)
    return replace(_result(request.repo, outcome), route=routed)  # type: ignore[arg-type]


def fix(request: FixRequest, *, model: ChatModel, events: EventSink = ignore,
        yes: bool = False, approve: Approver | None = None,
        run_id: str | None = None) -> PatchResult:
    """Make the change `request.task` asks for on a new branch, checked and tested, and
    stop for approval before touching the user's branch (see the module's docstring)."""
    if not request.task.strip():
        raise ValueError("say what the fix should change")
    return _patch("fix", request.repo, request.task, request.test_command, request.budgets,
                  model, events, yes, approve, run_id)


def repair(request: RepairRequest, *, model: ChatModel, events: EventSink = ignore,
           yes: bool = False, approve: Approver | None = None,
           run_id: str | None = None) -> PatchResult:
    """Make the failing tests of `request.test_command` pass on a new branch, or report
    what still fails."""
    if not request.test_command.strip():
        raise ValueError("a repair needs the command that runs the tests")
    task = REPAIR_TASK.format(command=request.test_command)
    return _patch("repair", request.repo, task, request.test_command, request.budgets,
                  model, events, yes, approve, run_id)


def review(request: ReviewRequest, *, model: ChatModel | None,
           events: EventSink = ignore) -> ReviewResult:
    """Review `base..head`: findings with evidence, self-checked (lint hits without a
    model)."""
    inputs = {"repo": str(request.repo), "base": request.base, "head": request.head,
              "test_command": request.test_command}
    outcome = start_run("review", request.repo, inputs, model=model, emit=events)
    return _result(request.repo, outcome)  # type: ignore[return-value]


def describe(request: DescribeRequest, *, model: ChatModel | None,
             events: EventSink = ignore) -> DescribeResult:
    """A title and description for the change `base..head` (built from its commits and
    files when there is no model)."""
    inputs = {"repo": str(request.repo), "base": request.base, "head": request.head}
    outcome = start_run("describe", request.repo, inputs, model=model, emit=events)
    return _result(request.repo, outcome)  # type: ignore[return-value]


def resume(repo: Path, run_id: str, *, model: ChatModel | None, events: EventSink = ignore,
           yes: bool = False, approve: Approver | None = None) -> RunResult:
    """Continue run `run_id` from its last checkpoint, or past its approval point when
    `yes` or `approve` answers (else it stops there again). A finished run comes back as
    it is; `RunNotFoundError` for an unknown id."""
    outcome = resume_run(repo, run_id, model=model, emit=events, auto_approve=yes,
                         approver=_approver(repo, approve) if approve else None)
    return _result(repo, outcome)


def decide(repo: Path, run_id: str, decision: Decision, *, model: ChatModel | None,
           events: EventSink = ignore) -> PatchResult:
    """Answer the approval run `run_id` waits for: apply or not, keeping the hunks the
    decision keeps (the run commits them itself and checks them). ValueError when the
    run is not waiting for approval."""
    with RunStore(repo) as store:
        status = store.get(run_id).status
    if status != "awaiting_approval":
        raise ValueError(f"run {run_id} is not waiting for approval (it is {status})")
    result = resume(repo, run_id, model=model, events=events,
                    approve=lambda request: decision)
    assert isinstance(result, PatchResult)  # only fix and repair runs ask for approval
    return result


def past_runs(repo: Path, limit: int = 20) -> list[RunSummary]:
    """The repository's most recent runs, newest first."""
    with RunStore(repo) as store:
        records = store.recent(limit)
    return [_summary(record) for record in records]


def _summary(record: RunRecord) -> RunSummary:
    inputs = record.request.get("inputs", {})
    title = str(inputs.get("question") or inputs.get("task") or
                " ".join(str(inputs[k]) for k in ("base", "head") if inputs.get(k)))
    return RunSummary(record.run_id, record.kind, title, record.created, record.status,
                      record.summary)


def _patch(kind: str, repo: Path, task: str, test_command: str | None, budgets: Budgets,
           model: ChatModel, events: EventSink, yes: bool, approve: Approver | None,
           run_id: str | None) -> PatchResult:
    """Run a `fix` or `repair` to its end or its approval point."""
    inputs: dict[str, Any] = {"kind": kind, "task": task, "repo": str(repo),
                              "test_command": test_command or None}
    outcome = start_run(kind, repo, inputs, model=model,  # type: ignore[arg-type]
                        emit=events, budgets=budgets, auto_approve=yes,
                        approver=_approver(repo, approve) if approve else None,
                        run_id=run_id)
    return _result(repo, outcome)  # type: ignore[return-value]


def _approver(repo: Path, approve: Approver) -> Callable[[dict[str, Any]], ApprovalDecision]:
    """The runner's approver for a typed one: the request read, the answer translated."""
    def answer(raw: dict[str, Any]) -> ApprovalDecision:
        decision = approve(ApprovalRequest.of(repo, raw))
        if isinstance(decision, bool):
            return ApprovalDecision(approved=decision)
        hunks = None if decision.keep is None else sorted(decision.keep)
        return ApprovalDecision(approved=decision.apply, hunks=hunks)

    return answer


def _result(repo: Path, outcome: RunOutcome) -> RunResult:
    """The typed result of a run, whichever graph it ran."""
    state, kind = outcome.state, outcome.kind
    if kind == "ask":
        return replace(AskResult.from_state(state), run_id=outcome.run_id,
                       status=outcome.status)
    if kind == "review":
        return ReviewResult.from_state(outcome.run_id, state)
    if kind == "describe":
        return DescribeResult.from_state(outcome.run_id, state)
    pending = (ApprovalRequest.of(repo, outcome.approval)
               if outcome.status == "awaiting_approval" and outcome.approval else None)
    return PatchResult.of(outcome.run_id, kind, outcome.status, state, outcome.record, pending)
