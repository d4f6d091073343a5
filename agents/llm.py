"""The `ChatModel` seam: one call shape for every model Fathom talks to.

`chat(messages, tools=None, thinking=False, stream=False)` returns a `ChatResult`
(content, reasoning, tool calls, usage, model name) or, with `stream=True`, an iterator
of typed deltas (and, from the embedded backend, `PrefillProgress` while it reads the
prompt) whose last item is the `ChatResult`. Messages, tool specs and results are
pydantic models, so they validate on the way in and serialise for the event stream and
the transcripts the scripted backend replays.

Backends (in `agents.backends`):
- `EmbeddedBackend`: Fathom's own runtime in-process — the bundled SmolLM2 by default,
  or a DeepSeek V4 checkpoint;
- `OpenAIBackend`: any OpenAI-compatible endpoint (DeepSeek API, vLLM, SGLang, Ollama,
  `fathom serve`) through the `openai` client;
- `ScriptedBackend`: replays a JSON transcript, for tests and demos.

Every model counts tokens and cost per call (`ChatResult.usage`) and in total (`meter`),
prompt tokens served from the server's context cache included (`cached_prompt_tokens`),
which `Pricing` prices at their own rate.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, overload

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from agents.settings import ModelSettings

Role = Literal["system", "user", "assistant", "tool"]
DEFAULT_CONTEXT_WINDOW = 131_072  # tokens assumed for a model that does not say


class ChatModelError(RuntimeError):
    """A model could not answer: unreachable endpoint, unloadable weights, bad config."""


class ToolCall(BaseModel):
    """One call of a tool by the model. `error` says why its arguments could not be read
    (not JSON, not an object); `arguments` is then empty."""

    model_config = ConfigDict(frozen=True)

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    id: str = ""
    error: str | None = None


class ToolSpec(BaseModel):
    """A tool offered to the model: name, description and JSON Schema of its arguments."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    parameters: dict[str, Any]

    def to_openai(self) -> dict[str, Any]:
        """OpenAI's `{"type": "function", "function": {...}}` form."""
        return {"type": "function", "function": {"name": self.name,
                                                 "description": self.description,
                                                 "parameters": self.parameters}}


class ChatMessage(BaseModel):
    """One turn of a conversation; a `tool` message answers the call `tool_call_id`."""

    model_config = ConfigDict(frozen=True)

    role: Role
    content: str = ""
    reasoning: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None

    @classmethod
    def system(cls, content: str) -> ChatMessage:
        """A system message."""
        return cls(role="system", content=content)

    @classmethod
    def user(cls, content: str) -> ChatMessage:
        """A user message."""
        return cls(role="user", content=content)

    @classmethod
    def tool(cls, tool_call_id: str, content: str) -> ChatMessage:
        """The result of the tool call `tool_call_id`."""
        return cls(role="tool", content=content, tool_call_id=tool_call_id)


class Usage(BaseModel):
    """Tokens one call used and what they cost (USD, from the model's `Pricing`).

    `cached_prompt_tokens` are the part of `prompt_tokens` the server read from its
    context (prefix) cache instead of computing them — DeepSeek's cache hits; 0 when it
    reported none.
    """

    model_config = ConfigDict(frozen=True)

    prompt_tokens: int = Field(0, ge=0)
    completion_tokens: int = Field(0, ge=0)
    cached_prompt_tokens: int = Field(0, ge=0)
    cost: float = 0.0

    @model_validator(mode="after")
    def _cached_within_prompt(self) -> Usage:
        if self.cached_prompt_tokens > self.prompt_tokens:
            raise ValueError(f"cached_prompt_tokens ({self.cached_prompt_tokens}) exceeds "
                             f"prompt_tokens ({self.prompt_tokens})")
        return self

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


class ChatResult(BaseModel):
    """A model's whole reply. `warnings` are problems found in its output (e.g. a
    malformed tool-call block) that did not stop it from being read."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["result"] = "result"
    content: str = ""
    reasoning: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = Usage()
    model: str
    finish_reason: str | None = None
    warnings: tuple[str, ...] = ()

    def message(self) -> ChatMessage:
        """The reply as the assistant message that continues the conversation."""
        return ChatMessage(role="assistant", content=self.content, reasoning=self.reasoning,
                           tool_calls=self.tool_calls)


class ContentDelta(BaseModel):
    """New answer text."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["content"] = "content"
    text: str


class ReasoningDelta(BaseModel):
    """New reasoning (thinking) text."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["reasoning"] = "reasoning"
    text: str


class ToolCallDelta(BaseModel):
    """A tool call, complete with its arguments."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["tool_call"] = "tool_call"
    call: ToolCall


class PrefillProgress(BaseModel):
    """The model has read `done` of the prompt's `total` tokens (before its first token;
    only a backend that runs the model itself can tell)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["prefill"] = "prefill"
    done: int
    total: int


StreamEvent = ContentDelta | ReasoningDelta | ToolCallDelta | PrefillProgress | ChatResult


@dataclass(frozen=True)
class Pricing:
    """USD per million prompt and completion tokens (0 for local models).

    `prompt_per_mtok` prices the prompt tokens the server computed (DeepSeek: its cache
    miss price), `cached_prompt_per_mtok` those it read from its context cache (DeepSeek:
    its cache hit price). Unset, cache hits cost the prompt rate: never less than the bill.
    """

    prompt_per_mtok: float = 0.0
    completion_per_mtok: float = 0.0
    cached_prompt_per_mtok: float | None = None

    def cost(self, usage: Usage) -> float:
        """The price of one call's `usage`."""
        hit_rate = (self.prompt_per_mtok if self.cached_prompt_per_mtok is None
                    else self.cached_prompt_per_mtok)
        cached = usage.cached_prompt_tokens
        return ((usage.prompt_tokens - cached) * self.prompt_per_mtok + cached * hit_rate
                + usage.completion_tokens * self.completion_per_mtok) / 1_000_000


class UsageTotals(BaseModel):
    """What a model instance has used since it was made."""

    model_config = ConfigDict(frozen=True)

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    cost: float = 0.0


class UsageMeter:
    """Thread-safe running totals of calls, tokens and cost."""

    def __init__(self) -> None:
        """Start at zero."""
        self._lock = threading.Lock()
        self._totals = UsageTotals()

    def add(self, usage: Usage) -> None:
        """Count one call."""
        with self._lock:
            t = self._totals
            self._totals = UsageTotals(calls=t.calls + 1,
                                       prompt_tokens=t.prompt_tokens + usage.prompt_tokens,
                                       completion_tokens=t.completion_tokens
                                       + usage.completion_tokens,
                                       cached_prompt_tokens=t.cached_prompt_tokens
                                       + usage.cached_prompt_tokens,
                                       cost=t.cost + usage.cost)

    @property
    def totals(self) -> UsageTotals:
        """The totals so far."""
        return self._totals


class ChatModel(Protocol):
    """What agents need from a model: a name, a usage meter, its context window in tokens
    (known without loading weights), and `chat`."""

    name: str
    meter: UsageMeter

    @property
    def context_window(self) -> int:
        """How many tokens of context the model attends to (prompt and reply)."""
        ...

    @overload
    def chat(self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec] | None = None,
             thinking: bool = False, stream: Literal[False] = False) -> ChatResult: ...

    @overload
    def chat(self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec] | None = None,
             thinking: bool = False, *, stream: Literal[True]) -> Iterator[StreamEvent]: ...

    def chat(self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec] | None = None,
             thinking: bool = False, stream: bool = False) -> ChatResult | Iterator[StreamEvent]:
        """Reply to `messages`, offering `tools`, in thinking (Slow Path) mode or not."""
        ...


class BaseChatModel(ABC):
    """Shared by the backends: argument checks, stream/non-stream dispatch, accounting.

    A backend implements `_stream` (deltas, then the `ChatResult` with token counts) and
    may override `_complete` when its non-streaming call differs. `context_window` is
    DEFAULT_CONTEXT_WINDOW unless the backend knows better.
    """

    context_window: int = DEFAULT_CONTEXT_WINDOW

    def __init__(self, name: str, pricing: Pricing | None = None) -> None:
        """`name` is reported in results and errors; `pricing` prices usage (default free)."""
        self.name = name
        self.pricing = pricing or Pricing()
        self.meter = UsageMeter()

    @overload
    def chat(self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec] | None = None,
             thinking: bool = False, stream: Literal[False] = False) -> ChatResult: ...

    @overload
    def chat(self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec] | None = None,
             thinking: bool = False, *, stream: Literal[True]) -> Iterator[StreamEvent]: ...

    def chat(self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec] | None = None,
             thinking: bool = False, stream: bool = False) -> ChatResult | Iterator[StreamEvent]:
        """See `ChatModel.chat`; usage is priced and counted when the result is complete."""
        messages = list(messages)
        if not messages:
            raise ChatModelError("chat needs at least one message")
        tool_list = list(tools or [])
        if stream:
            return self._metered(self._stream(messages, tool_list, thinking))
        return self._record(self._complete(messages, tool_list, thinking))

    def _complete(self, messages: list[ChatMessage], tools: list[ToolSpec],
                  thinking: bool) -> ChatResult:
        """The whole reply; by default the last event of `_stream`."""
        final: ChatResult | None = None
        for event in self._stream(messages, tools, thinking):
            if isinstance(event, ChatResult):
                final = event
        if final is None:
            raise ChatModelError(f"{self.name}: the reply stream ended without a result")
        return final

    @abstractmethod
    def _stream(self, messages: list[ChatMessage], tools: list[ToolSpec],
                thinking: bool) -> Iterator[StreamEvent]:
        """Deltas as they are produced, then the `ChatResult`."""

    def _metered(self, events: Iterator[StreamEvent]) -> Iterator[StreamEvent]:
        for event in events:
            yield self._record(event) if isinstance(event, ChatResult) else event

    def _record(self, result: ChatResult) -> ChatResult:
        usage = result.usage
        priced = usage.model_copy(update={"cost": self.pricing.cost(usage)})
        self.meter.add(priced)
        return result.model_copy(update={"usage": priced})


def chat_model_from_config(config: ModelSettings | None = None) -> BaseChatModel:
    """The model the settings describe (default: `ModelSettings()` from file and env)."""
    from agents.settings import ModelSettings

    config = config or ModelSettings()
    pricing = Pricing(config.price_prompt_per_mtok, config.price_completion_per_mtok,
                      config.price_cached_prompt_per_mtok)
    if config.backend == "embedded":
        from agents.backends.embedded import EmbeddedBackend

        return EmbeddedBackend(config.model, max_new_tokens=config.max_tokens,
                               temperature=config.temperature, top_p=config.top_p,
                               seed=config.seed, device=config.device, pricing=pricing,
                               context_limit=config.context_tokens,
                               repetition_penalty=config.repetition_penalty,
                               no_repeat_ngram_size=config.no_repeat_ngram_size)
    if config.backend == "openai":
        from agents.backends.openai_api import OpenAIBackend

        if not config.model:
            raise ChatModelError("backend 'openai' needs a model name (FATHOM_MODEL or "
                                 "[model] model = ...)")
        key = config.api_key.get_secret_value() if config.api_key else None
        return OpenAIBackend(config.model, base_url=config.base_url, api_key=key,
                             max_tokens=config.max_tokens, temperature=config.temperature,
                             top_p=config.top_p, timeout=config.timeout,
                             thinking_field=config.thinking_field, pricing=pricing,
                             context_window=config.context_tokens)
    if config.backend == "none":
        raise ChatModelError("backend 'none' configures no model")
    from agents.backends.scripted import ScriptedBackend

    if config.script is None:
        raise ChatModelError("backend 'scripted' needs a transcript (FATHOM_SCRIPT or "
                             "[model] script = ...)")
    return ScriptedBackend.from_file(config.script, pricing=pricing)

