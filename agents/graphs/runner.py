"""Start, drive and resume runs of the graphs, with checkpoints and approvals.

A run is a LangGraph thread whose id is the run id; every step is checkpointed to the
repository's run database before the next starts (`durability="sync"`), so a run killed
at any point resumes from its last finished step. When a graph asks for approval (a
LangGraph `interrupt`), the `approver` decides — yes, no, or an `ApprovalDecision` that
keeps only part of the change; without one — no terminal to ask, no `--yes` — the run
stops there as `awaiting_approval`, its branch kept, until `fathom resume RUN_ID`
continues it. Nothing ever waits for input that cannot come. A run cancelled from
outside (`cancelled`) stops as `interrupted`, and resumes like a killed one.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from agents.events import ApprovalRequested, EventSink, RunFinished, RunStarted, ignore
from agents.graphs.base import Budgets, RunCancelled, RunContext, State, never
from agents.graphs.fix.approval import ApprovalDecision
from agents.llm import ChatModel
from agents.runs import RunKind, RunRecord, RunStatus, RunStore, new_run_id

GRAPH_MODULES: dict[str, str] = {
    "ask": "agents.graphs.ask.graph",
    "fix": "agents.graphs.fix.graph",
    "repair": "agents.graphs.fix.graph",
    "review": "agents.graphs.review.graph",
    "describe": "agents.graphs.describe.graph",
}
Approver = Callable[[dict[str, Any]], bool | ApprovalDecision]
STEP_MARGIN = 25   # graph steps allowed past the step budget, to stop and report cleanly


@dataclass(frozen=True)
class RunOutcome:
    """Where a run stands after `start_run` or `resume_run` returned.

    `approval` is the pending approval request when `status == "awaiting_approval"`.
    """

    run_id: str
    kind: str
    status: RunStatus
    state: State
    record: RunRecord
    approval: dict[str, Any] | None = None


def compile_graph(kind: str, ctx: RunContext, store: RunStore) -> CompiledStateGraph:
    """The graph of `kind` for `ctx`, checkpointed to `store`."""
    if kind not in GRAPH_MODULES:
        raise ValueError(f"unknown graph {kind!r}; graphs: {', '.join(GRAPH_MODULES)}")
    module = importlib.import_module(GRAPH_MODULES[kind])
    return module.build(ctx).compile(checkpointer=store.checkpointer)


def _config(ctx: RunContext) -> dict[str, Any]:
    return {"configurable": {"thread_id": ctx.run_id},
            "recursion_limit": ctx.budgets.max_steps + STEP_MARGIN}


def _answer(ctx: RunContext, approver: Approver | None, request: dict[str, Any]) -> Command:
    """Resume the graph with the approval (`--yes`, else the approver's), as JSON data."""
    answer = True if ctx.auto_approve or approver is None else approver(request)
    return Command(resume=ApprovalDecision.of(answer).model_dump())


def _stopped(ctx: RunContext, store: RunStore, summary: str) -> None:
    """Record and report a run stopped from outside (a kill, a cancel) as interrupted."""
    store.update(ctx.run_id, status="interrupted", summary=summary)
    ctx.emit(RunFinished(run_id=ctx.run_id, status="interrupted", summary=summary))


def _awaiting(ctx: RunContext, store: RunStore, kind: str, state: State,
              request: dict[str, Any]) -> RunOutcome:
    """Stop at the approval point: record it and say how to apply or resume."""
    summary = request.get("instructions", "")
    record = store.update(ctx.run_id, status="awaiting_approval", summary=summary)
    ctx.emit(RunFinished(run_id=ctx.run_id, status="awaiting_approval", summary=summary))
    return RunOutcome(ctx.run_id, kind, "awaiting_approval", state, record, request)


def _drive(graph: CompiledStateGraph, payload: Any, ctx: RunContext, store: RunStore,
           kind: str, approver: Approver | None) -> RunOutcome:
    """Invoke the graph until it ends or stops at an approval nobody can give now."""
    config = _config(ctx)
    try:
        while True:
            graph.invoke(payload, config, durability="sync")
            snapshot = graph.get_state(config)
            if not snapshot.interrupts:
                break
            request = dict(snapshot.interrupts[0].value)
            ctx.emit(ApprovalRequested(run_id=ctx.run_id, branch=request.get("branch", ""),
                                       commit=request.get("commit", ""),
                                       question=request.get("question", "")))
            if not ctx.auto_approve and approver is None:
                return _awaiting(ctx, store, kind, dict(snapshot.values), request)
            payload = _answer(ctx, approver, request)
    except RunCancelled:
        _stopped(ctx, store, f"cancelled; continue with `fathom resume {ctx.run_id}`")
        state = dict(graph.get_state(config).values)
        return RunOutcome(ctx.run_id, kind, "interrupted", state, store.get(ctx.run_id))
    except KeyboardInterrupt:
        _stopped(ctx, store, f"interrupted; continue with `fathom resume {ctx.run_id}`")
        raise
    except Exception as err:  # recorded, then handed to the caller unchanged
        store.update(ctx.run_id, status="failed", summary=f"{type(err).__name__}: {err}")
        ctx.emit(RunFinished(run_id=ctx.run_id, status="failed", summary=str(err)))
        raise
    state = dict(snapshot.values)
    status: RunStatus = "failed" if state.get("status") == "failed" else "done"
    record = store.update(ctx.run_id, status=status, summary=state.get("summary", ""),
                          branch=state.get("branch"))
    ctx.emit(RunFinished(run_id=ctx.run_id, status=status, summary=state.get("summary", "")))
    return RunOutcome(ctx.run_id, kind, status, state, record)


def start_run(kind: RunKind, repo: str | Path, inputs: State, *, model: ChatModel | None,
              emit: EventSink = ignore, budgets: Budgets | None = None,
              auto_approve: bool = False, approver: Approver | None = None,
              test_timeout: float = 600.0, run_id: str | None = None,
              cancelled: Callable[[], bool] = never) -> RunOutcome:
    """Run the `kind` graph on `inputs` (its initial state) in the repository `repo`.

    `cancelled` is polled before every step and between the pieces of a streamed reply;
    once it returns true the run stops as `interrupted`.
    """
    budgets = budgets or Budgets()
    run_id = run_id or new_run_id(kind)
    request = {"inputs": inputs, "budgets": budgets.to_json(), "test_timeout": test_timeout}
    with RunStore(repo) as store:
        store.create(run_id, kind, Path(repo).resolve(), request)
        ctx = RunContext(run_id, model, emit, store, budgets, auto_approve, test_timeout,
                         cancelled)
        emit(RunStarted(run_id=run_id, graph=kind,
                        request=str(inputs.get("question") or inputs.get("task") or "")))
        return _drive(compile_graph(kind, ctx, store), inputs, ctx, store, kind, approver)


def resume_run(repo: str | Path, run_id: str, *, model: ChatModel | None,
               emit: EventSink = ignore, auto_approve: bool = False,
               approver: Approver | None = None) -> RunOutcome:
    """Continue run `run_id` of `repo` from its last checkpoint (or its approval point).

    A run that already finished is returned as it is; `RunNotFoundError` for unknown ids.
    """
    with RunStore(repo) as store:
        record = store.get(run_id)
        request = record.request
        ctx = RunContext(run_id, model, emit, store, Budgets.from_json(request.get("budgets")),
                         auto_approve, float(request.get("test_timeout", 600.0)))
        graph = compile_graph(record.kind, ctx, store)
        snapshot = graph.get_state(_config(ctx))
        if not snapshot.next and not snapshot.interrupts and snapshot.values:
            return RunOutcome(run_id, record.kind, record.status, dict(snapshot.values), record)
        store.update(run_id, status="running")
        emit(RunStarted(run_id=run_id, graph=record.kind, request=f"resume {run_id}"))
        if snapshot.interrupts:
            request = dict(snapshot.interrupts[0].value)
            if not auto_approve and approver is None:
                return _awaiting(ctx, store, record.kind, dict(snapshot.values), request)
            payload: Any = _answer(ctx, approver, request)
        else:
            payload = None if snapshot.values else request["inputs"]
        return _drive(graph, payload, ctx, store, record.kind, approver)
