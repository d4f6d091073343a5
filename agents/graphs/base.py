"""What every graph's nodes share: the run context, budgets, metered model calls, steps.

Graph state is plain JSON data (strings, numbers, lists, dicts) so that every checkpoint
serialises without custom types and a run resumes in a new process. What cannot be
checkpointed — the model, the event sink, the run store — lives in `RunContext`, which
is rebuilt when a run resumes. `RunContext.node` wraps a node function: it reports the
step's start and end, and counts steps, seconds and tokens into the state, where the
budgets are checked. A run can be cancelled from outside (`RunContext.cancelled`): the
check comes before every step and between the pieces of a streamed reply, and ends the
run as interrupted (`RunCancelled`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypedDict

from agents.events import (
    AnswerDelta,
    EventSink,
    Notice,
    Progress,
    ProgressTask,
    ReasoningDelta,
    RunError,
    StepFinished,
    StepStarted,
    TokensUsed,
    ignore,
)
from agents.llm import (
    ChatMessage,
    ChatModel,
    ChatModelError,
    ChatResult,
    ContentDelta,
    PrefillProgress,
    StreamEvent,
    ToolSpec,
)
from agents.llm import ReasoningDelta as ModelReasoning
from agents.runs import RunStore

State = dict[str, Any]


class RunState(TypedDict, total=False):
    """What every graph's state holds besides its own keys: how the run ended (`status`,
    `summary`) and what it used (`steps`, `elapsed` seconds, `tokens`), kept by
    `RunContext.node`."""

    status: str
    summary: str
    steps: int
    elapsed: float
    tokens: int
NodeFn = Callable[[State], State]


class RunCancelled(Exception):
    """The run was cancelled from outside; it stops as interrupted and can be resumed."""


def never() -> bool:
    """A cancel flag that is never raised."""
    return False


@dataclass(frozen=True)
class Budgets:
    """Limits on one Slow Path run; the run stops with a report when one is reached.

    Attributes:
        max_steps: graph steps (every node execution counts one).
        max_tokens: prompt plus completion tokens over all model calls.
        max_seconds: seconds spent inside steps (time paused at approval does not count).
        max_rounds: times the model is sent back to work after a failed check or test run.
        max_bad_calls: model turns in a row whose tool calls all failed (malformed
            arguments, unknown tools, refused edits) before the run gives up.
        max_calls_per_turn: tool calls run per model turn; more are answered with an error.
        stall_rounds: test rounds in a row without fewer failing tests before stopping.
    """

    max_steps: int = 60
    max_tokens: int = 400_000
    max_seconds: float = 1_800.0
    max_rounds: int = 4
    max_bad_calls: int = 3
    max_calls_per_turn: int = 8
    stall_rounds: int = 2

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (stored with the run, so a resumed run keeps its budgets)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Budgets:
        """Budgets from `to_json` output (missing fields keep their defaults)."""
        return cls(**dict(data or {}))


def over_budget(state: Mapping[str, Any], budgets: Budgets) -> str | None:
    """Which budget the state has used up, in words, or None."""
    if state.get("steps", 0) >= budgets.max_steps:
        return f"step budget reached ({budgets.max_steps} steps)"
    if state.get("tokens", 0) >= budgets.max_tokens:
        return f"token budget reached ({state.get('tokens')} of {budgets.max_tokens})"
    if state.get("elapsed", 0.0) >= budgets.max_seconds:
        return f"time budget reached ({budgets.max_seconds:g}s)"
    return None


@dataclass
class RunContext:
    """The live, non-checkpointed side of a run.

    Attributes:
        run_id: the run's id (also its LangGraph thread id).
        model: the chat model, or None to run without one.
        emit: where events go.
        store: the run database, for token and cost accounting (None: not recorded).
        budgets: the run's limits.
        auto_approve: apply to the user's branch without asking (`--yes`).
        test_timeout: seconds one test run may take.
        cancelled: polled before every step and between streamed pieces of a reply; once
            it returns true the run stops (`RunCancelled`).
    """

    run_id: str
    model: ChatModel | None
    emit: EventSink = ignore
    store: RunStore | None = None
    budgets: Budgets = field(default_factory=Budgets)
    auto_approve: bool = False
    test_timeout: float = 600.0
    cancelled: Callable[[], bool] = never
    tokens: int = 0
    cost: float = 0.0
    _percent: dict[tuple[str, str], int] = field(default_factory=dict, init=False, repr=False)

    @property
    def model_name(self) -> str:
        """The model's name, or "none"."""
        return self.model.name if self.model is not None else "none"

    def chat(self, step: str, messages: Sequence[ChatMessage],
             tools: Sequence[ToolSpec] | None = None, thinking: bool = False,
             stream: bool = False) -> ChatResult:
        """One model call, counted towards the run and reported as a `TokensUsed` event.

        With `stream`, the reply is streamed: each piece is emitted as an `AnswerDelta`
        or `ReasoningDelta` as it comes (the model reading the prompt as `Progress`), and
        the cancel flag is checked between pieces.
        """
        if self.model is None:
            raise ChatModelError("no model is configured for this run")
        result = (self._streamed(step, self.model.chat(messages, tools, thinking, stream=True))
                  if stream else self.model.chat(messages, tools, thinking))
        usage = result.usage
        self.tokens += usage.total_tokens
        self.cost += usage.cost
        run_tokens, run_cost = self.tokens, self.cost
        if self.store is not None:
            record = self.store.add_usage(self.run_id, usage, result.model)
            run_tokens, run_cost = record.total_tokens, record.cost
        self.emit(TokensUsed(run_id=self.run_id, step=step, model=result.model,
                             prompt_tokens=usage.prompt_tokens,
                             completion_tokens=usage.completion_tokens, cost=usage.cost,
                             cached_prompt_tokens=usage.cached_prompt_tokens,
                             run_tokens=run_tokens, run_cost=run_cost))
        for warning in result.warnings:
            self.notice(step, f"model output: {warning}")
        return result

    def _streamed(self, step: str, pieces: Iterator[StreamEvent]) -> ChatResult:
        """Emit the pieces of a streamed reply until its result; stop early if cancelled
        (the model's stream is closed, so a backend frees what the reply held)."""
        result: ChatResult | None = None
        try:
            for piece in pieces:
                self.check_cancelled()
                if isinstance(piece, ContentDelta):
                    self.emit(AnswerDelta(run_id=self.run_id, step=step, text=piece.text))
                elif isinstance(piece, ModelReasoning):
                    self.emit(ReasoningDelta(run_id=self.run_id, step=step, text=piece.text))
                elif isinstance(piece, PrefillProgress):
                    self.progress(step, "prefill", piece.done, piece.total)
                elif isinstance(piece, ChatResult):
                    result = piece
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()
        if result is None:
            raise ChatModelError(f"{self.model_name}: the reply ended without a result")
        return result

    def check_cancelled(self) -> None:
        """Raise `RunCancelled` once the run has been cancelled."""
        if self.cancelled():
            raise RunCancelled(f"run {self.run_id} was cancelled")

    def progress(self, step: str, task: ProgressTask, done: int, total: int) -> None:
        """Emit `Progress` at the start and end of a task and whenever its whole percent
        grows, so a task of any length makes at most about a hundred events."""
        percent = done * 100 // total if total > 0 else 100
        key = (step, task)
        if 0 < done < total and self._percent.get(key) == percent:
            return
        self._percent[key] = percent
        self.emit(Progress(run_id=self.run_id, step=step, task=task, done=done, total=total))

    def notice(self, step: str, message: str) -> None:
        """Emit a `Notice`."""
        self.emit(Notice(run_id=self.run_id, step=step, message=message))

    def error(self, step: str, message: str) -> None:
        """Emit a `RunError`."""
        self.emit(RunError(run_id=self.run_id, step=step, message=message))

    def node(self, name: str, fn: NodeFn) -> NodeFn:
        """`fn` as a graph node that reports its step and counts steps, seconds and tokens."""
        def run(state: State) -> State:
            """Run the node between its start and finish events; count what it used."""
            self.check_cancelled()
            self.emit(StepStarted(run_id=self.run_id, step=name))
            started, tokens = time.monotonic(), self.tokens
            update = fn(state)
            seconds = time.monotonic() - started
            self.emit(StepFinished(run_id=self.run_id, step=name, seconds=round(seconds, 3)))
            return {**update, "steps": state.get("steps", 0) + 1,
                    "elapsed": state.get("elapsed", 0.0) + seconds,
                    "tokens": state.get("tokens", 0) + self.tokens - tokens}

        run.__name__ = name
        return run


def message_dicts(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """Messages as JSON data, for the graph state."""
    return [m.model_dump(mode="json") for m in messages]


def messages_of(data: Sequence[Mapping[str, Any]]) -> list[ChatMessage]:
    """Messages back from the graph state."""
    return [ChatMessage.model_validate(d) for d in data]
