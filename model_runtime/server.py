"""`fathom serve`: Fathom's runtime behind an OpenAI-compatible HTTP API.

    GET  /health                 liveness, and what is running
    GET  /v1/models              the one model served (named after its file or directory)
    POST /v1/chat/completions    chat, streamed (SSE) or not; tools; thinking mode
    POST /v1/completions         plain text continuation

Requests go to one `Engine` (continuous batching, prefix cache): each becomes a request
of the engine, and its events become the reply — whole, or as server-sent
`chat.completion.chunk`s ending with `[DONE]` (and a usage chunk when
`stream_options.include_usage` asks). The reply's text is read by the prompt format's
DSML parser, so reasoning comes back as `reasoning_content` and tool calls as
`tool_calls`, the same for a V4 checkpoint and for ChatML models. A client that
disconnects cancels its request, freeing its cache. Errors have OpenAI's shape: 400 bad
request (malformed JSON too), 401 missing or wrong API key, 404 unknown model, 413 a
prompt larger than the context or the server's limit, 429 too many requests queued;
the server keeps serving. It sits beside the agents, not above them: it serves the
runtime, and Fathom's own `openai` backend can use it like any other endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sse_starlette.sse import EventSourceResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from model_runtime.chat import ChatEncodingError, Message, ToolSpec, V4ChatFormat
from model_runtime.dsml import ContentDelta, ReasoningDelta, ToolCall, ToolCallEvent
from model_runtime.engine import (
    Engine,
    EngineBusy,
    EngineEvent,
    Finished,
    GenerationParams,
    PromptTooLong,
    RequestHandle,
)
from model_runtime.generate import TokenEvent
from model_runtime.openai_wire import (
    ChatRequest,
    CompletionRequest,
    OpenAIFinish,
    WireError,
    chat_chunk,
    chat_completion,
    error_body,
    new_id,
    text_completion,
    tool_call_json,
    usage_json,
)
from model_runtime.sampling import SamplingParams
from model_runtime.served_model import ChatModelBundle

DEFAULT_MAX_TOKENS = 1024     # generated per reply when the request does not say
DISCONNECT_POLL = 0.25        # seconds between checks that a waiting client is still there
_FINISH: dict[str, OpenAIFinish] = {"eos": "stop", "stop": "stop", "length": "length",
                                    "repetition": "stop"}


@dataclass(frozen=True)
class ServerConfig:
    """How the server admits requests.

    Attributes:
        api_key: when set, every request but `/health` must carry it as a bearer token.
        max_prompt_tokens: the largest prompt accepted (None: the model's context).
    """

    api_key: str | None = None
    max_prompt_tokens: int | None = None


@dataclass
class _Served:
    """The model, its engine and the server's settings, as the routes use them."""

    bundle: ChatModelBundle
    engine: Engine
    config: ServerConfig
    running: set[str] = field(default_factory=set)


def create_app(bundle: ChatModelBundle, engine: Engine,
               config: ServerConfig = ServerConfig()) -> FastAPI:
    """The FastAPI application serving `bundle` through `engine` (closed on shutdown)."""
    served = _Served(bundle, engine, config)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        engine.close()

    app = FastAPI(title="fathom serve", lifespan=lifespan)
    _install_errors(app)

    @app.middleware("http")
    async def authenticate(request: Request, call_next: Callable[..., Any]) -> Any:
        """Refuse a request without the configured API key (401)."""
        if config.api_key and request.url.path != "/health":
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {config.api_key}".encode()):
                return JSONResponse(error_body("missing or invalid API key",
                                               "authentication_error", "invalid_api_key"),
                                    status_code=401)
        return await call_next(request)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness: the model served and the requests running now."""
        return {"status": "ok", "model": bundle.name, "running": len(served.running)}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        """The model served."""
        return {"object": "list", "data": [{"id": bundle.name, "object": "model",
                                            "created": 0, "owned_by": "fathom"}]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        """A chat completion, whole or streamed."""
        body = ChatRequest.model_validate(await _json(request))
        return await _chat(served, body, request)

    @app.post("/v1/completions")
    async def completions(request: Request) -> Any:
        """A text completion, whole or streamed."""
        body = CompletionRequest.model_validate(await _json(request))
        return await _complete(served, body, request)

    return app


async def _json(request: Request) -> Any:
    """The request body as JSON, or a 400 saying where it is malformed."""
    raw = await request.body()
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise WireError(400, f"the request body is not valid JSON: {err}") from err


def _install_errors(app: FastAPI) -> None:
    """Every error leaves in OpenAI's shape."""
    @app.exception_handler(WireError)
    async def wire_error(_: Request, err: WireError) -> JSONResponse:
        return JSONResponse(err.body(), status_code=err.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, err: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body(str(err), "invalid_request_error"), status_code=400)

    @app.exception_handler(ValueError)  # pydantic's ValidationError is one
    async def bad_value(_: Request, err: ValueError) -> JSONResponse:
        return JSONResponse(error_body(str(err), "invalid_request_error"), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, err: StarletteHTTPException) -> JSONResponse:
        kind = "not_found_error" if err.status_code == 404 else "invalid_request_error"
        return JSONResponse(error_body(str(err.detail), kind), status_code=err.status_code)


def _check_model(served: _Served, name: str) -> None:
    """A 404 for a model this server does not serve."""
    if name != served.bundle.name:
        raise WireError(404, f"model {name!r} is not served here; this server serves "
                             f"{served.bundle.name!r}", "not_found_error", "model_not_found",
                        "model")


def _params(served: _Served, body: ChatRequest | CompletionRequest, prompt: int
            ) -> GenerationParams:
    """How to generate for `body`, its prompt being `prompt` tokens (413 when too long)."""
    limit = served.config.max_prompt_tokens or served.engine.context_window
    room = served.engine.context_window - prompt
    if prompt > limit or room < 1:
        raise WireError(413, f"the prompt has {prompt} tokens; this server accepts at most "
                             f"{min(limit, served.engine.context_window - 1)}",
                        code="context_length_exceeded", param="messages")
    sampling = SamplingParams(
        temperature=1.0 if body.temperature is None else body.temperature,
        top_p=body.top_p or 1.0, top_k=max(0, body.top_k or 0), min_p=body.min_p or 0.0,
        repetition_penalty=body.repetition_penalty or 1.0)
    wanted = body.token_limit() or DEFAULT_MAX_TOKENS
    return GenerationParams(max_new_tokens=min(wanted, room), sampling=sampling,
                            stop=body.stops(), seed=body.seed)


def _submit(served: _Served, prompt_ids: list[int], params: GenerationParams) -> RequestHandle:
    """The engine's request, or 429 / 413 when it cannot take it."""
    try:
        return served.engine.submit(prompt_ids, params)
    except EngineBusy as err:
        raise WireError(429, f"too many requests: {err}", "rate_limit_error",
                        "rate_limit_exceeded") from err
    except PromptTooLong as err:
        raise WireError(413, str(err), code="context_length_exceeded") from err


async def _events(served: _Served, handle: RequestHandle) -> AsyncIterator[EngineEvent]:
    """The request's engine events, in the event loop; cancels the request when the
    consumer stops early (a client gone, an error)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[EngineEvent | BaseException] = asyncio.Queue()

    def pump() -> None:
        try:
            for event in handle.events():
                loop.call_soon_threadsafe(queue.put_nowait, event)
        except BaseException as err:  # handed to the consumer, which raises it
            loop.call_soon_threadsafe(queue.put_nowait, err)

    served.running.add(handle.request_id)
    threading.Thread(target=pump, name=f"fathom-{handle.request_id}", daemon=True).start()
    try:
        while True:
            item = await queue.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            if isinstance(item, Finished):
                return
    finally:
        served.running.discard(handle.request_id)
        handle.cancel()  # nothing to do when it finished


async def _watch(request: Request, handle: RequestHandle) -> None:
    """Cancel `handle` when the client of a whole (non-streamed) reply disconnects."""
    while not await request.is_disconnected():
        await asyncio.sleep(DISCONNECT_POLL)
    handle.cancel()


class _Reply:
    """A chat reply read from generated text: content, reasoning, tool calls."""

    def __init__(self, parser: Any) -> None:
        self.parser = parser
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.calls: list[ToolCall] = []

    def feed(self, text: str, final: bool = False) -> list[dict[str, Any]]:
        """Read a piece of the reply (or its end); the chunk deltas it releases."""
        deltas = []
        for event in (self.parser.finish() if final else self.parser.feed(text)):
            if isinstance(event, ContentDelta):
                self.content.append(event.text)
                deltas.append({"content": event.text})
            elif isinstance(event, ReasoningDelta):
                self.reasoning.append(event.text)
                deltas.append({"reasoning_content": event.text})
            elif isinstance(event, ToolCallEvent):
                call = ToolCall(event.call.name, event.call.arguments,
                                event.call.id or new_id("call"))
                self.calls.append(call)
                deltas.append({"tool_calls": [tool_call_json(call, len(self.calls) - 1)]})
        return deltas

    def finish_reason(self, finished: Finished) -> OpenAIFinish:
        """OpenAI's finish reason for how the generation ended."""
        return "tool_calls" if self.calls else _FINISH.get(finished.finish_reason, "stop")


def _chat_prompt(served: _Served, body: ChatRequest) -> tuple[list[int], bool]:
    """The prompt's token ids and whether it asks for thinking (400 on bad messages)."""
    try:
        messages = [Message.from_openai(m) for m in body.messages]
        tools = [ToolSpec.from_openai(t) for t in body.offered_tools()]
    except (ChatEncodingError, KeyError, TypeError) as err:
        raise WireError(400, f"cannot read the messages: {err}", param="messages") from err
    thinking = body.wants_thinking()
    chat_format = served.bundle.chat_format
    if body.reasoning_effort in ("high", "max") and isinstance(chat_format, V4ChatFormat):
        chat_format = V4ChatFormat(reasoning_effort=body.reasoning_effort)  # type: ignore[arg-type]
    try:
        text = chat_format.encode(messages, tools=tools or None, thinking=thinking)
    except ChatEncodingError as err:
        raise WireError(400, f"cannot encode the conversation: {err}",
                        param="messages") from err
    return served.bundle.tokenizer.encode(text), thinking


async def _chat(served: _Served, body: ChatRequest, request: Request) -> Any:
    """Answer a chat request, whole or as a stream of chunks."""
    body.refuse_unsupported()
    _check_model(served, body.model)
    prompt, thinking = _chat_prompt(served, body)
    handle = _submit(served, prompt, _params(served, body, len(prompt)))
    reply = _Reply(served.bundle.chat_format.parser(thinking))
    response_id = new_id("chatcmpl")
    if body.stream:
        return EventSourceResponse(_chat_stream(served, body, handle, reply, response_id),
                                   ping=15)
    watcher = asyncio.create_task(_watch(request, handle))
    try:
        finished = await _drain(served, handle, reply.feed)
    finally:
        watcher.cancel()
    reply.feed("", final=True)
    return chat_completion(response_id, served.bundle.name, "".join(reply.content),
                           "".join(reply.reasoning), reply.calls,
                           reply.finish_reason(finished), _usage(finished))


async def _drain(served: _Served, handle: RequestHandle,
                 feed: Callable[[str], Any]) -> Finished:
    """Feed every generated piece to `feed`; the request's end (500 on an engine error)."""
    async with contextlib.aclosing(_events(served, handle)) as events:
        async for event in events:
            if isinstance(event, TokenEvent):
                feed(event.text)
            elif isinstance(event, Finished):
                if event.finish_reason == "error":
                    raise WireError(500, f"generation failed: {event.error}", "server_error")
                return event
    raise WireError(500, "the request ended without finishing", "server_error")


def _usage(finished: Finished) -> dict[str, Any]:
    u = finished.usage
    return usage_json(u.prompt_tokens, u.completion_tokens, u.cached_prompt_tokens)


async def _chat_stream(served: _Served, body: ChatRequest, handle: RequestHandle,
                       reply: _Reply, response_id: str) -> AsyncIterator[str]:
    """The chunks of a streamed chat reply, then `[DONE]`."""
    model = served.bundle.name

    def chunk(delta: dict[str, Any], finish: OpenAIFinish | None = None) -> str:
        return json.dumps(chat_chunk(response_id, model, delta, finish))

    yield chunk({"role": "assistant", "content": ""})
    async with contextlib.aclosing(_events(served, handle)) as events:
        async for event in events:
            if isinstance(event, TokenEvent):
                for delta in reply.feed(event.text):
                    yield chunk(delta)
            elif isinstance(event, Finished):
                if event.finish_reason == "error":
                    yield json.dumps(error_body(f"generation failed: {event.error}",
                                                "server_error"))
                    break
                for delta in reply.feed("", final=True):
                    yield chunk(delta)
                yield chunk({}, reply.finish_reason(event))
                if body.include_usage():
                    yield json.dumps(chat_chunk(response_id, model, {}, usage=_usage(event)))
    yield "[DONE]"


async def _complete(served: _Served, body: CompletionRequest, request: Request) -> Any:
    """Continue a text prompt, whole or streamed."""
    body.refuse_unsupported()
    _check_model(served, body.model)
    given = body.prompt_text_or_ids()
    prompt = given if isinstance(given, list) else served.bundle.tokenizer.encode(given)
    handle = _submit(served, prompt, _params(served, body, len(prompt)))
    response_id, model = new_id("cmpl"), served.bundle.name
    echo = (given if isinstance(given, str) else served.bundle.tokenizer.decode(given)
            ) if body.echo else ""
    if body.stream:
        return EventSourceResponse(_text_stream(served, body, handle, response_id, echo),
                                   ping=15)
    watcher = asyncio.create_task(_watch(request, handle))
    pieces: list[str] = [echo]
    try:
        finished = await _drain(served, handle, pieces.append)
    finally:
        watcher.cancel()
    return text_completion(response_id, model, "".join(pieces),
                           _FINISH.get(finished.finish_reason, "stop"), _usage(finished))


async def _text_stream(served: _Served, body: CompletionRequest, handle: RequestHandle,
                       response_id: str, echo: str) -> AsyncIterator[str]:
    """The pieces of a streamed text completion, then `[DONE]`."""
    model = served.bundle.name
    if echo:
        yield json.dumps(text_completion(response_id, model, echo, None, None))
    async with contextlib.aclosing(_events(served, handle)) as events:
        async for event in events:
            if isinstance(event, TokenEvent) and event.text:
                yield json.dumps(text_completion(response_id, model, event.text, None, None))
            elif isinstance(event, Finished):
                if event.finish_reason == "error":
                    yield json.dumps(error_body(f"generation failed: {event.error}",
                                                "server_error"))
                    break
                usage = _usage(event) if body.include_usage() else None
                yield json.dumps(text_completion(
                    response_id, model, "", _FINISH.get(event.finish_reason, "stop"), usage))
    yield "[DONE]"
