"""OpenAI's chat and text completion API on the wire: requests read, replies written.

Requests are pydantic models that accept what OpenAI's published API (and the clients
built on it) send, plus what DeepSeek's API and vLLM add for thinking mode: DeepSeek's
`thinking: {"type": "enabled"}`, vLLM/SGLang's `chat_template_kwargs: {"thinking": true}`
(or `enable_thinking`), and `reasoning_effort`. Fields Fathom cannot honour (several
choices, log-probabilities) are refused with a 400 naming them, never silently ignored.
Replies follow the published shapes: `chat.completion` / `chat.completion.chunk`,
`text_completion`, errors as `{"error": {"message", "type", "param", "code"}}`, and
`usage` with `prompt_tokens_details.cached_tokens` for the prompt read from the prefix
cache. The reply's reasoning goes in `reasoning_content`, as DeepSeek's API does.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from model_runtime.dsml import ToolCall

OpenAIFinish = Literal["stop", "length", "tool_calls"]


class WireError(Exception):
    """A request the server refuses: HTTP `status`, OpenAI error `type` and `code`, and
    the request field at fault (`param`)."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None) -> None:
        """See the class docstring."""
        super().__init__(message)
        self.status, self.message, self.kind, self.code, self.param = (
            status, message, kind, code, param)

    def body(self) -> dict[str, Any]:
        """OpenAI's error object."""
        return error_body(self.message, self.kind, self.code, self.param)


def error_body(message: str, kind: str, code: str | None = None,
               param: str | None = None) -> dict[str, Any]:
    """`{"error": {"message", "type", "param", "code"}}`."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


class _Request(BaseModel):
    """What chat and text completions share: model, sampling, limits, streaming."""

    model_config = ConfigDict(extra="allow")

    model: str
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    top_k: int | None = Field(None, ge=-1)
    min_p: float | None = Field(None, ge=0.0, le=1.0)
    repetition_penalty: float | None = Field(None, ge=1.0)
    seed: int | None = None
    stop: str | list[str] | None = None
    n: int = Field(1, ge=1)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    logprobs: bool | int | None = None

    def refuse_unsupported(self) -> None:
        """Raise a 400 for what Fathom cannot do: several choices, log-probabilities."""
        if self.n != 1:
            raise WireError(400, "n must be 1: Fathom returns one choice", param="n")
        if self.logprobs:
            raise WireError(400, "logprobs are not supported", param="logprobs")

    def token_limit(self) -> int | None:
        """The most tokens to generate, as asked (`max_completion_tokens` first)."""
        return self.max_completion_tokens or self.max_tokens

    def stops(self) -> tuple[str, ...]:
        """The stop strings, as a tuple (empty strings dropped)."""
        if self.stop is None:
            return ()
        stops = [self.stop] if isinstance(self.stop, str) else self.stop
        if len(stops) > 4:
            raise WireError(400, "at most 4 stop sequences", param="stop")
        return tuple(s for s in stops if s)

    def include_usage(self) -> bool:
        """Whether a streamed reply ends with a usage chunk."""
        return bool((self.stream_options or {}).get("include_usage"))


class ChatRequest(_Request):
    """A `/v1/chat/completions` request."""

    messages: list[dict[str, Any]] = Field(min_length=1)
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    thinking: dict[str, Any] | bool | None = None
    chat_template_kwargs: dict[str, Any] | None = None
    reasoning_effort: str | None = None

    @field_validator("messages")
    @classmethod
    def _plain_messages(cls, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Content given as a list of parts becomes their text joined."""
        return [{**m, "content": content_text(m.get("content"))} for m in messages]

    def wants_thinking(self) -> bool:
        """Thinking mode, asked for the way DeepSeek's API or vLLM accept it."""
        if isinstance(self.thinking, bool):
            return self.thinking
        if isinstance(self.thinking, dict):
            return self.thinking.get("type") == "enabled"
        kwargs = self.chat_template_kwargs or {}
        return bool(kwargs.get("thinking") or kwargs.get("enable_thinking"))

    def offered_tools(self) -> list[dict[str, Any]]:
        """The tools the model may call (none when `tool_choice` is "none")."""
        return [] if self.tool_choice == "none" else list(self.tools or [])


class CompletionRequest(_Request):
    """A `/v1/completions` request: one prompt, as text or token ids."""

    prompt: str | list[str] | list[int]
    echo: bool = False

    def prompt_text_or_ids(self) -> str | list[int]:
        """The one prompt: text, or token ids."""
        if isinstance(self.prompt, str):
            return self.prompt
        if self.prompt and all(isinstance(p, int) for p in self.prompt):
            return list(self.prompt)  # type: ignore[arg-type]
        if len(self.prompt) == 1 and isinstance(self.prompt[0], str):
            return self.prompt[0]
        raise WireError(400, "prompt must be one string or one list of token ids",
                        param="prompt")


def content_text(content: Any) -> str:
    """A message's content as text: a string, or the text parts of a list of parts."""
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text":
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise WireError(400, f"unsupported content part {kind!r}: only text",
                                param="messages")
            texts.append(str(part.get("text", "")))
        return "".join(texts)
    raise WireError(400, "message content must be a string or a list of text parts",
                    param="messages")


def new_id(prefix: str) -> str:
    """A fresh response id, e.g. `chatcmpl-…`."""
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def usage_json(prompt: int, completion: int, cached: int) -> dict[str, Any]:
    """OpenAI's usage object, with the prompt tokens read from the prefix cache."""
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached}}


def tool_call_json(call: ToolCall, index: int | None = None) -> dict[str, Any]:
    """One tool call as OpenAI writes it (with its `index` in a streamed delta)."""
    data: dict[str, Any] = {"id": call.id, "type": "function",
                            "function": {"name": call.name,
                                         "arguments": call.arguments_json()}}
    return data if index is None else {"index": index, **data}


def chat_completion(response_id: str, model: str, content: str, reasoning: str,
                    calls: list[ToolCall], finish: OpenAIFinish,
                    usage: dict[str, Any]) -> dict[str, Any]:
    """A whole `chat.completion` object."""
    message: dict[str, Any] = {"role": "assistant", "content": content or None}
    if reasoning:
        message["reasoning_content"] = reasoning
    if calls:
        message["tool_calls"] = [tool_call_json(c) for c in calls]
    return {"id": response_id, "object": "chat.completion", "created": int(time.time()),
            "model": model, "choices": [{"index": 0, "message": message,
                                         "finish_reason": finish, "logprobs": None}],
            "usage": usage}


def chat_chunk(response_id: str, model: str, delta: dict[str, Any],
               finish: OpenAIFinish | None = None,
               usage: dict[str, Any] | None = None) -> dict[str, Any]:
    """One `chat.completion.chunk`: a delta, or (with `usage` and no choices) the last."""
    choices = [] if usage is not None else [
        {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]
    chunk: dict[str, Any] = {"id": response_id, "object": "chat.completion.chunk",
                             "created": int(time.time()), "model": model, "choices": choices}
    if usage is not None:
        chunk["usage"] = usage
    return chunk


def text_completion(response_id: str, model: str, text: str, finish: OpenAIFinish | None,
                    usage: dict[str, Any] | None) -> dict[str, Any]:
    """A `text_completion` object (whole, or one streamed piece)."""
    data: dict[str, Any] = {"id": response_id, "object": "text_completion",
                            "created": int(time.time()), "model": model,
                            "choices": [{"index": 0, "text": text, "finish_reason": finish,
                                         "logprobs": None}]}
    if usage is not None:
        data["usage"] = usage
    return data
