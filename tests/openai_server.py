"""A real OpenAI-compatible `/v1/chat/completions` server for tests, on 127.0.0.1.

Tests decide what the model says (`WireReply`); this module speaks the wire format the
`openai` client reads — a `chat.completion` object, or with `"stream": true` server-sent
`chat.completion.chunk`s whose text arrives word by word and whose tool-call arguments
arrive in fragments, then a usage chunk (as `stream_options.include_usage` asks) and
`[DONE]` — and runs the app with uvicorn in a thread (`serve`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse, StreamingResponse


@dataclass(frozen=True)
class WireCall:
    """A tool call as the server sends it; `arguments` is the raw text (maybe not JSON)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class WireReply:
    """What the model answers to one request, and the tokens the server reports for it."""

    content: str = ""
    reasoning: str | None = None
    tool_calls: tuple[WireCall, ...] = ()
    prompt_tokens: int = 42
    completion_tokens: int = 7

    @property
    def finish_reason(self) -> str:
        """`tool_calls` when the reply calls tools, else `stop`."""
        return "tool_calls" if self.tool_calls else "stop"

    def usage(self) -> dict[str, int]:
        """The `usage` object of the response."""
        return {"prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "total_tokens": self.prompt_tokens + self.completion_tokens}


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
