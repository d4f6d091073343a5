"""The OpenAI-compatible backend: DeepSeek's API, vLLM, SGLang, Ollama, `fathom serve`.

Talks through the official `openai` client. What differs between servers is kept small:
- thinking mode is asked for the way the server understands (`thinking_field`):
  DeepSeek's `{"thinking": {"type": "enabled"}}`, vLLM/SGLang's
  `{"chat_template_kwargs": {"thinking": true}}`, or not at all;
- reasoning arrives as `reasoning_content` (DeepSeek, SGLang) or `reasoning` (newer
  vLLM); it is sent back on assistant turns that called tools, which DeepSeek requires
  within a tool-using turn;
- tool-call arguments that are not a JSON object become a `ToolCall` with `error` set,
  so the agent can tell the model instead of crashing;
- prompt tokens served from the server's context cache arrive as DeepSeek's
  `prompt_cache_hit_tokens` or as `prompt_tokens_details.cached_tokens` (OpenAI, vLLM,
  SGLang); both become `Usage.cached_prompt_tokens`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import openai
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletionChunk
from pydantic import BaseModel

from agents.llm import (
    DEFAULT_CONTEXT_WINDOW,
    BaseChatModel,
    ChatMessage,
    ChatModelError,
    ChatResult,
    ContentDelta,
    Pricing,
    ReasoningDelta,
    StreamEvent,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
)
from agents.settings import ThinkingField

PLACEHOLDER_KEY = "not-needed"   # local servers take any key; the client insists on one



class OpenAIBackend(BaseChatModel):
    """A chat model behind an OpenAI-compatible `/chat/completions` endpoint."""

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None, *,
                 max_tokens: int | None = None, temperature: float | None = None,
                 top_p: float | None = None, timeout: float = 120.0,
                 thinking_field: ThinkingField = "deepseek", max_retries: int = 2,
                 pricing: Pricing | None = None, context_window: int | None = None) -> None:
        """`base_url` None means OpenAI's own endpoint; `api_key` None sends a placeholder.

        `context_window` is how many tokens the remote model attends to (default 131,072).
        """
        super().__init__(model, pricing)
        self.context_window = context_window or DEFAULT_CONTEXT_WINDOW
        self.base_url = base_url
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.top_p = top_p
        self.thinking_field = thinking_field
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key or PLACEHOLDER_KEY,
                                     timeout=timeout, max_retries=max_retries)

    def _request(self, messages: list[ChatMessage], tools: list[ToolSpec],
                 thinking: bool) -> dict[str, Any]:
        """Keyword arguments for `chat.completions.create`."""
        body: dict[str, Any] = {"model": self.name, "messages": [_wire(m) for m in messages]}
        if tools:
            body["tools"] = [t.to_openai() for t in tools]
        for key in ("max_tokens", "temperature", "top_p"):
            if getattr(self, key) is not None:
                body[key] = getattr(self, key)
        if self.thinking_field == "deepseek":
            body["extra_body"] = {"thinking": {"type": "enabled" if thinking else "disabled"}}
        elif self.thinking_field == "chat_template_kwargs":
            body["extra_body"] = {"chat_template_kwargs": {"thinking": thinking}}
        return body

    def _failure(self, err: openai.OpenAIError) -> ChatModelError:
        where = self.base_url or "the OpenAI API"
        return ChatModelError(f"{self.name} at {where}: {err}")

    def _complete(self, messages: list[ChatMessage], tools: list[ToolSpec],
                  thinking: bool) -> ChatResult:
        try:
            response = self._client.chat.completions.create(
                **self._request(messages, tools, thinking))
        except openai.OpenAIError as err:
            raise self._failure(err) from err
        if not response.choices:
            raise ChatModelError(f"{self.name}: the server returned no choices")
        choice = response.choices[0]
        message = choice.message
        calls = tuple(_tool_call(c.id, c.function.name, c.function.arguments)
                      for c in message.tool_calls or () if c.type == "function")
        return ChatResult(content=message.content or "", reasoning=_reasoning(message),
                          tool_calls=calls, usage=_usage(response.usage),
                          model=response.model or self.name, finish_reason=choice.finish_reason)

    def _stream(self, messages: list[ChatMessage], tools: list[ToolSpec],
                thinking: bool) -> Iterator[StreamEvent]:
        reply = _StreamedReply()
        try:
            with self._client.chat.completions.create(
                    **self._request(messages, tools, thinking), stream=True,
                    stream_options={"include_usage": True}) as chunks:  # closed if abandoned
                for chunk in chunks:
                    yield from reply.add(chunk)
        except openai.OpenAIError as err:
            raise self._failure(err) from err
        calls = reply.tool_calls()
        for call in calls:
            yield ToolCallDelta(call=call)
        yield ChatResult(content="".join(reply.content),
                         reasoning="".join(reply.reasoning) or None, tool_calls=calls,
                         usage=reply.usage, model=reply.model or self.name,
                         finish_reason=reply.finish_reason)


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class _StreamedReply:
    """A streamed reply as it accumulates."""

    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    calls: dict[int, _PartialCall] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    finish_reason: str | None = None

    def add(self, chunk: ChatCompletionChunk) -> Iterator[StreamEvent]:
        """Take in one `ChatCompletionChunk`; yield the text deltas it carries."""
        self.model = chunk.model or self.model
        if chunk.usage is not None:
            self.usage = _usage(chunk.usage)
        for choice in chunk.choices[:1]:
            delta = choice.delta
            reasoning = _reasoning(delta)
            if reasoning:
                self.reasoning.append(reasoning)
                yield ReasoningDelta(text=reasoning)
            if delta.content:
                self.content.append(delta.content)
                yield ContentDelta(text=delta.content)
            for piece in delta.tool_calls or ():
                partial = self.calls.setdefault(piece.index, _PartialCall())
                partial.id = piece.id or partial.id
                if piece.function is not None:
                    partial.name = piece.function.name or partial.name
                    partial.arguments.append(piece.function.arguments or "")
            self.finish_reason = choice.finish_reason or self.finish_reason

    def tool_calls(self) -> tuple[ToolCall, ...]:
        """The complete calls, in the order of their indices."""
        return tuple(_tool_call(p.id, p.name, "".join(p.arguments))
                     for _, p in sorted(self.calls.items()))


def _wire(message: ChatMessage) -> dict[str, Any]:
    """A message in OpenAI's wire format."""
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id or "",
                "content": message.content}
    if message.role != "assistant":
        return {"role": message.role, "content": message.content}
    wire: dict[str, Any] = {"role": "assistant", "content": message.content or None}
    if message.tool_calls:
        wire["tool_calls"] = [{"id": c.id, "type": "function",
                               "function": {"name": c.name,
                                            "arguments": json.dumps(c.arguments)}}
                              for c in message.tool_calls]
        if message.reasoning:
            wire["reasoning_content"] = message.reasoning
    return wire


def _reasoning(message: BaseModel) -> str | None:
    """`reasoning_content` (or `reasoning`), which the client keeps as extra fields."""
    extra = message.model_extra or {}
    value = extra.get("reasoning_content") or extra.get("reasoning")
    return value if isinstance(value, str) and value else None


def _usage(usage: CompletionUsage | None) -> Usage:
    """Our `Usage` from the server's (which may be missing or partial)."""
    if usage is None:
        return Usage()
    prompt = usage.prompt_tokens or 0
    return Usage(prompt_tokens=prompt, completion_tokens=usage.completion_tokens or 0,
                 cached_prompt_tokens=min(_cache_hits(usage), prompt))


def _cache_hits(usage: CompletionUsage) -> int:
    """Prompt tokens the server read from its context cache: DeepSeek's
    `prompt_cache_hit_tokens` (its `prompt_tokens` is hits plus `prompt_cache_miss_tokens`),
    else `prompt_tokens_details.cached_tokens` (OpenAI, vLLM, SGLang); 0 when unreported."""
    hits = (usage.model_extra or {}).get("prompt_cache_hit_tokens")
    if isinstance(hits, int) and hits >= 0:
        return hits
    details = usage.prompt_tokens_details
    cached = details.cached_tokens if details is not None else None
    return cached if isinstance(cached, int) and cached >= 0 else 0


def _tool_call(call_id: str | None, name: str, arguments: str | None) -> ToolCall:
    """A `ToolCall` from wire data; unreadable arguments are kept as an error."""
    text = arguments or "{}"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        return ToolCall(name=name, id=call_id or "",
                        error=f"arguments are not valid JSON ({err.msg}): {text[:200]!r}")
    if not isinstance(value, dict):
        return ToolCall(name=name, id=call_id or "",
                        error=f"arguments must be a JSON object, not {type(value).__name__}")
    return ToolCall(name=name, arguments=value, id=call_id or "")
