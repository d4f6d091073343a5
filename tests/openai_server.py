"""A real OpenAI-compatible `/v1/chat/completions` server for tests, on 127.0.0.1.

Tests decide what the model says (`WireReply`); this module speaks the wire format the
`openai` client reads — a `chat.completion` object, or with `"stream": true` server-sent
`chat.completion.chunk`s whose text arrives word by word and whose tool-call arguments
arrive in fragments, then a usage chunk (as `stream_options.include_usage` asks) and
`[DONE]` — and runs the app with uvicorn in a thread (`serve`).

The usage may report context-cache hits the way DeepSeek does (`prompt_cache_hit_tokens`
and `prompt_cache_miss_tokens`, which add up to `prompt_tokens`) or the way OpenAI, vLLM
and SGLang do (`prompt_tokens_details.cached_tokens`). `chat_app` records every request
it receives, raw bytes and JSON; `PrefixCache` counts the hits a server's prefix cache
would have, so a test sees what a stable prompt prefix earns.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

CacheFields = Literal["none", "deepseek", "details", "both"]
CHARS_PER_TOKEN = 4  # how `PrefixCache` counts tokens


@dataclass(frozen=True)
class WireCall:
    """A tool call as the server sends it; `arguments` is the raw text (maybe not JSON)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class WireReply:
    """What the model answers to one request, and the tokens the server reports for it.

    `cached_tokens` of the `prompt_tokens` came from the context cache; `cache_fields`
    says how the usage reports them: not at all, DeepSeek's way, OpenAI's way
    (`details`), or both (as DeepSeek's API does now).
    """

    content: str = ""
    reasoning: str | None = None
    tool_calls: tuple[WireCall, ...] = ()
    prompt_tokens: int = 42
    completion_tokens: int = 7
    cached_tokens: int = 0
    cache_fields: CacheFields = "none"

    @property
    def finish_reason(self) -> str:
        """`tool_calls` when the reply calls tools, else `stop`."""
        return "tool_calls" if self.tool_calls else "stop"

    def usage(self) -> dict[str, Any]:
        """The `usage` object of the response."""
        usage: dict[str, Any] = {"prompt_tokens": self.prompt_tokens,
                                 "completion_tokens": self.completion_tokens,
                                 "total_tokens": self.prompt_tokens + self.completion_tokens}
        if self.cache_fields in ("deepseek", "both"):
            usage["prompt_cache_hit_tokens"] = self.cached_tokens
            usage["prompt_cache_miss_tokens"] = self.prompt_tokens - self.cached_tokens
        if self.cache_fields in ("details", "both"):
            usage["prompt_tokens_details"] = {"cached_tokens": self.cached_tokens}
        return usage


def completion(model: str, reply: WireReply) -> dict[str, Any]:
    """The non-streaming response: one `chat.completion` object."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.content or None}
    if reply.reasoning is not None:
        message["reasoning_content"] = reply.reasoning
    if reply.tool_calls:
        message["tool_calls"] = [{"id": c.id, "type": "function",
                                  "function": {"name": c.name, "arguments": c.arguments}}
                                 for c in reply.tool_calls]
    return {"id": "cmpl-1", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
            "usage": reply.usage()}


def chunks(model: str, reply: WireReply) -> Iterator[str]:
    """The streaming response, as server-sent events."""
    def event(choices: list[dict[str, Any]], **extra: Any) -> str:
        data = {"id": "cmpl-1", "object": "chat.completion.chunk", "created": 0,
                "model": model, "choices": choices, **extra}
        return f"data: {json.dumps(data)}\n\n"

    def delta(fields: dict[str, Any], finish: str | None = None) -> str:
        return event([{"index": 0, "delta": fields, "finish_reason": finish}])

    yield delta({"role": "assistant", "content": ""})
    for word in reply.reasoning.split(" ") if reply.reasoning else []:
        yield delta({"reasoning_content": word + " "})
    for word in reply.content.split(" ") if reply.content else []:
        yield delta({"content": word + " "})
    for index, call in enumerate(reply.tool_calls):
        yield delta({"tool_calls": [{"index": index, "id": call.id, "type": "function",
                                     "function": {"name": call.name, "arguments": ""}}]})
        for cut in range(0, len(call.arguments), 5):
            yield delta({"tool_calls": [{"index": index, "function": {
                "arguments": call.arguments[cut:cut + 5]}}]})
    yield delta({}, reply.finish_reason)
    yield event([], usage=reply.usage())
    yield "data: [DONE]\n\n"


def respond(body: dict[str, Any], reply: WireReply) -> JSONResponse | StreamingResponse:
    """The response to a request `body`: streamed when it asked for a stream."""
    if body.get("stream"):
        return StreamingResponse(chunks(body["model"], reply), media_type="text/event-stream")
    return JSONResponse(completion(body["model"], reply))


@dataclass(frozen=True)
class Received:
    """One request as the server got it: the bytes of its body, and their JSON."""

    raw: bytes
    body: dict[str, Any]


def chat_app(reply_for: Callable[[dict[str, Any]], WireReply],
             received: list[Received]) -> FastAPI:
    """An app serving `/v1/chat/completions` with `reply_for(body)`, appending every
    request to `received`."""
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: Request) -> Any:
        raw = await request.body()
        body = json.loads(raw)
        received.append(Received(raw, body))
        return respond(body, reply_for(body))

    return app


def rendered(messages: Sequence[Mapping[str, Any]]) -> str:
    """A conversation as the model reads it, simplified: each message's role marker, then
    its content (a chat template's layout, enough for prefix caching)."""
    return "".join(f"<|{m['role']}|>{m.get('content') or ''}" for m in messages)


class PrefixCache:
    """A server's prefix cache, simplified: a prompt hits the longest prefix it shares
    with an earlier prompt. Tokens are counted as `CHARS_PER_TOKEN` characters; only
    whole tokens hit."""

    def __init__(self) -> None:
        """Start empty."""
        self._prompts: list[str] = []
        self._lock = threading.Lock()

    def lookup(self, messages: Sequence[Mapping[str, Any]]) -> tuple[int, int]:
        """The prompt tokens of `messages` and how many of them hit; the prompt is kept
        for later lookups."""
        prompt = rendered(messages)
        with self._lock:
            shared = max((len(os.path.commonprefix([prompt, p])) for p in self._prompts),
                         default=0)
            self._prompts.append(prompt)
        return -(-len(prompt) // CHARS_PER_TOKEN), shared // CHARS_PER_TOKEN


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run `app` on a free port of 127.0.0.1 until the block ends; yields its `/v1` URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(10)
