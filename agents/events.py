"""The typed event stream of a run, for the TUI, the CI bot and `--json` logs.

Every graph step reports what it does as a pydantic event: a step starting and finishing,
a tool call, tokens used, a streamed piece of a reply, the progress of a long task
(indexing, packing, prefill), the context a model was given, a test result, a diff, an
approval request, a notice, an error, and the run finishing.
Events are frozen, carry the run id and a timestamp, and serialise to JSON
(`event.model_dump_json()`; `EVENT_ADAPTER` reads them back). They are delivered to an
`EventSink` — any callable taking an event; `EventLog` keeps them and fans them out,
`EventQueue` turns a run in another thread into an iterator.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

RESULT_PREVIEW_CHARS = 2_000   # a tool result is shown in events up to this many characters


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: str
    at: float = Field(default_factory=time.time, description="Unix time of the event.")


class RunStarted(_Event):
    """A run began: which graph, for what request."""

    kind: Literal["run_started"] = "run_started"
    graph: str
    request: str


class Routed(_Event):
    """Where a request goes before its run starts: the path (fast or slow), the graph
    that serves it, and why."""

    kind: Literal["route"] = "route"
    path: Literal["fast", "slow"]
    graph: str
    reason: str


class StepStarted(_Event):
    """A graph node started."""

    kind: Literal["step_started"] = "step_started"
    step: str


class StepFinished(_Event):
    """A graph node finished, after `seconds`."""

    kind: Literal["step_finished"] = "step_finished"
    step: str
    seconds: float


class ToolCalled(_Event):
    """The model called a tool; `result` is the start of what it got back."""

    kind: Literal["tool_call"] = "tool_call"
    step: str
    name: str
    arguments: dict[str, Any]
    ok: bool
    result: str


class TokensUsed(_Event):
    """One model call's tokens and cost, and the run's totals so far.

    `cached_prompt_tokens` is the part of `prompt_tokens` the server read from its
    context cache (0 when it reported none).
    """

    kind: Literal["tokens"] = "tokens"
    step: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost: float
    cached_prompt_tokens: int = 0
    run_tokens: int
    run_cost: float


class AnswerDelta(_Event):
    """A piece of a model's reply as it streams (answer text)."""

    kind: Literal["answer_delta"] = "answer_delta"
    step: str
    text: str


class ReasoningDelta(_Event):
    """A piece of a model's reasoning (thinking) as it streams."""

    kind: Literal["reasoning_delta"] = "reasoning_delta"
    step: str
    text: str


ProgressTask = Literal["indexing", "packing", "prefill"]


class Progress(_Event):
    """How far a long task of a step has got: indexing or packing the repository (files),
    or the model reading its prompt (`prefill`, tokens). `done` grows up to `total`."""

    kind: Literal["progress"] = "progress"
    step: str
    task: ProgressTask
    done: int
    total: int


class PackedFile(BaseModel):
    """One file of the repository and what the model saw of it."""

    model_config = ConfigDict(frozen=True)

    path: str
    tokens: int
    mode: Literal["full", "signatures", "omitted"]
    reason: str | None = Field(None, description="Why it was not shown whole.")
    section: str = Field(description="Where the pack put it: docs, ranked, recent, skipped.")


class PackedSpan(BaseModel):
    """A numbered span the model was shown with the question (`[number]` in its prompt)."""

    model_config = ConfigDict(frozen=True)

    number: int
    path: str
    line: int
    end_line: int
    name: str | None = None
    tokens: int


class PackManifest(BaseModel):
    """What went into a model's context for one request, and what was left out.

    `budget` is the repository text the prompt could hold in the model's `context` window
    (the rest is kept for instructions, the conversation and the answer); `pack_tokens`
    went to the packed repository, `spans_tokens` to the numbered spans that citations
    point at (`spans`). `included` is false when no pack was sent (no model), `reason`
    says why. `focused`: the repository did not fit, so the question chose what went in.
    """

    model_config = ConfigDict(frozen=True)

    query: str
    context: int
    budget: int
    pack_tokens: int = 0
    spans_tokens: int = 0
    included: bool = False
    reason: str | None = None
    files: tuple[PackedFile, ...] = ()
    spans: tuple[PackedSpan, ...] = ()
    focused: bool = False

    def count(self, mode: str) -> int:
        """How many files were packed in `mode` (full, signatures, omitted)."""
        return sum(f.mode == mode for f in self.files)


class ContextPacked(_Event):
    """The context a model is about to be given (the manifest of the pack)."""

    kind: Literal["context"] = "context"
    step: str
    manifest: PackManifest


class TestResult(_Event):
    """A test run: counts (None when the command's output could not be parsed) and failures."""

    __test__ = False  # not a pytest test class, despite the name

    kind: Literal["test_result"] = "test_result"
    step: str
    ok: bool
    passed: int | None
    failed: int | None
    errors: int | None
    failures: list[str]


class DiffReady(_Event):
    """The change a run made, as a unified diff, and the files it touches."""

    kind: Literal["diff"] = "diff"
    step: str
    diff: str
    files: list[str]


class ApprovalRequested(_Event):
    """The run waits for approval before it touches the user's branch."""

    kind: Literal["approval"] = "approval"
    branch: str
    commit: str
    question: str


class Notice(_Event):
    """Something worth saying that is not an error (a skipped signal, a fallback)."""

    kind: Literal["notice"] = "notice"
    step: str
    message: str


class RunError(_Event):
    """Something failed; the run may continue (a model error in one step) or stop."""

    kind: Literal["error"] = "error"
    step: str
    message: str


class RunFinished(_Event):
    """A run stopped: `status` is done, failed, awaiting_approval or interrupted."""

    kind: Literal["run_finished"] = "run_finished"
    status: str
    summary: str


Event = Annotated[
    RunStarted | Routed | StepStarted | StepFinished | ToolCalled | TokensUsed | AnswerDelta
    | ReasoningDelta | Progress | ContextPacked | TestResult | DiffReady | ApprovalRequested
    | Notice | RunError | RunFinished,
    Field(discriminator="kind"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
EventSink = Callable[[Event], None]


def ignore(event: Event) -> None:
    """A sink that drops every event."""


class EventLog:
    """Keeps every event in order and passes each to its subscribers."""

    def __init__(self, *subscribers: EventSink) -> None:
        """Start empty, with optional subscribers."""
        self.events: list[Event] = []
        self._subscribers = list(subscribers)
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        """Record an event and deliver it."""
        with self._lock:
            self.events.append(event)
        for sink in self._subscribers:
            sink(event)

    def __iter__(self) -> Iterator[Event]:
        """The events recorded so far."""
        return iter(list(self.events))

    def of(self, kind: str) -> list[Event]:
        """The recorded events of one kind (`"tool_call"`, `"test_result"`, …)."""
        return [e for e in self.events if e.kind == kind]


class EventQueue:
    """Run `work(sink)` in a thread and iterate over the events it emits, as they come.

    Iteration ends when the work returns; an exception it raised is raised again by the
    iterator, after the events before it. `result` holds what the work returned.
    """

    _DONE = object()

    def __init__(self, work: Callable[[EventSink], Any]) -> None:
        """Prepare to run `work`; it starts when iteration starts."""
        self._work = work
        self._queue: queue.Queue[Any] = queue.Queue()
        self._error: BaseException | None = None
        self.result: Any = None

    def _run(self) -> None:
        try:
            self.result = self._work(self._queue.put)
        except BaseException as err:  # handed to the consuming thread, raised there
            self._error = err
        finally:
            self._queue.put(self._DONE)

    def __iter__(self) -> Iterator[Event]:
        """The events, in order, until the work ends."""
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        while (item := self._queue.get()) is not self._DONE:
            yield item
        thread.join()
        if self._error is not None:
            raise self._error
