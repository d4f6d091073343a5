"""`fathom serve` through the real `openai` client on 127.0.0.1: plain and streamed chat,
tool calls, thinking, text completions, 32 concurrent streams, errors, disconnects.

The models are real `LlamaForCausalLM`s running in the real engine; their weights make
them say a known script (`tests.model_runtime.scripted_llama`), so every reply is known.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import openai
import pytest

from model_runtime.chat import ChatMLFormat, V4ChatFormat
from model_runtime.dsml import ToolCall, render_tool_calls
from model_runtime.engine import Engine, EngineConfig
from model_runtime.served_model import ChatModelBundle
from model_runtime.server import ServerConfig, create_app
from tests.model_runtime.scripted_llama import scripted_llama
from tests.openai_server import serve

ROOT = Path(__file__).resolve().parents[2]
CHATML_REPLY = "<|im_start|>assistant\n"
ANSWER = ["The", " answer", " is", " 42", "."]
MODEL = "scripted"
CALL = ToolCall("read_file", {"path": "shop/pricing.py", "start": 3})
TOOLS = [{"type": "function", "function": {
    "name": "read_file", "description": "Read a file.",
    "parameters": {"type": "object", "properties": {"path": {"type": "string"},
                                                    "start": {"type": "integer"}}}}}]


def _pieces(text: str) -> list[str]:
    """`text` cut after each line that holds more than its line end: distinct pieces for
    a scripted model (blank lines join the line after them)."""
    pieces, pending = [], ""
    for line in text.splitlines(keepends=True):
        pending += line
        if line.strip():
            pieces.append(pending)
            pending = ""
    return pieces + ([pending] if pending else [])


@contextmanager
def running(script: list[str], after: str = CHATML_REPLY, chat_format: object = None,
            config: ServerConfig = ServerConfig(),
            engine_config: EngineConfig = EngineConfig()) -> Iterator[tuple[str, Engine]]:
    """A server of a model saying `script`; yields its `/v1` URL and its engine."""
    model, tokenizer = scripted_llama(script, after)
    engine = Engine(model, tokenizer, engine_config)
    bundle = ChatModelBundle(MODEL, model, tokenizer, chat_format or ChatMLFormat())
    try:
        with serve(create_app(bundle, engine, config)) as url:
            yield url, engine
    finally:
        engine.close()


def client(url: str, **options: object) -> openai.OpenAI:
    return openai.OpenAI(base_url=url, api_key=str(options.pop("api_key", "unused")),
                         max_retries=0, **options)


def ask(c: openai.OpenAI, **options: object) -> object:
    return c.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "What is the answer?"}],
        temperature=0, **options)


def test_plain_and_streamed_chat() -> None:
    with running(ANSWER) as (url, _):
        c = client(url)
        reply = ask(c)
        assert reply.choices[0].message.content == "The answer is 42."
        assert reply.choices[0].finish_reason == "stop" and reply.model == MODEL
        assert reply.usage.completion_tokens == len(ANSWER) + 1  # and EOS
        assert reply.usage.prompt_tokens > 0
        assert [m.id for m in c.models.list().data] == [MODEL]
        stream = ask(c, stream=True, stream_options={"include_usage": True})
        chunks = list(stream)
        text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
        assert text == "The answer is 42."
        finishes = [ch.choices[0].finish_reason for ch in chunks if ch.choices]
        assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
        assert chunks[-1].usage.total_tokens == reply.usage.total_tokens
        again = ask(c)  # the same prompt: its full blocks come from the prefix cache
        assert again.usage.prompt_tokens_details.cached_tokens >= 0
        assert again.choices[0].message.content == "The answer is 42."


def test_tool_calls_come_back_as_openai_tool_calls() -> None:
    script = ["I will read it."] + _pieces(render_tool_calls([CALL]))
    with running(script) as (url, _):
        c = client(url)
        reply = ask(c, tools=TOOLS)
        message = reply.choices[0].message
        assert reply.choices[0].finish_reason == "tool_calls"
        assert message.content == "I will read it."
        (call,) = message.tool_calls
        assert call.function.name == "read_file" and call.id.startswith("call")
        assert json.loads(call.function.arguments) == CALL.arguments
        streamed = [ch.choices[0].delta for ch in ask(c, tools=TOOLS, stream=True)
                    if ch.choices]
        calls = [t for d in streamed for t in d.tool_calls or []]
        assert [(t.index, t.function.name) for t in calls] == [(0, "read_file")]
        assert json.loads(calls[0].function.arguments) == CALL.arguments


def test_thinking_asked_as_deepseek_or_vllm_comes_back_as_reasoning_content() -> None:
    thinking_prompt_end = "<｜Assistant｜><think>"
    with running(["Forty-two,", " plainly.", "</think>", "It is 42."], thinking_prompt_end,
                 V4ChatFormat()) as (url, _):
        c = client(url)
        for extra in ({"thinking": {"type": "enabled"}},
                      {"chat_template_kwargs": {"thinking": True}}):
            message = ask(c, extra_body=extra).choices[0].message
            assert message.reasoning_content == "Forty-two, plainly."  # type: ignore[attr-defined]
            assert message.content == "It is 42."
        plain = ask(c, extra_body={"thinking": {"type": "disabled"}}).choices[0].message
        # Without thinking the prompt itself closes </think>: the script goes on from there.
        assert plain.content == "It is 42." and not getattr(plain, "reasoning_content", None)
        streamed = ask(c, stream=True, extra_body={"thinking": {"type": "enabled"}})
        deltas = [ch.choices[0].delta for ch in streamed if ch.choices]
        assert "".join(getattr(d, "reasoning_content", None) or "" for d in deltas) == \
            "Forty-two, plainly."
        assert "".join(d.content or "" for d in deltas) == "It is 42."


def test_text_completions_whole_and_streamed() -> None:
    with running(ANSWER, after="Q:") as (url, _):
        c = client(url)
        done = c.completions.create(model=MODEL, prompt="Q:", temperature=0)
        assert done.choices[0].text == "The answer is 42." and done.usage.prompt_tokens == 1
        pieces = c.completions.create(model=MODEL, prompt="Q:", temperature=0, stream=True)
        assert "".join(p.choices[0].text for p in pieces) == "The answer is 42."
        echoed = c.completions.create(model=MODEL, prompt="Q:", temperature=0, echo=True)
        assert echoed.choices[0].text == "Q:The answer is 42."


def test_32_concurrent_streaming_clients_all_get_the_whole_text() -> None:
    words = [f" w{i}" for i in range(40)]

    async def one(c: openai.AsyncOpenAI, n: int) -> str:
        stream = await c.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": f"client {n}"}],
            temperature=0, stream=True)
        return "".join([ch.choices[0].delta.content or "" async for ch in stream
                         if ch.choices])

    async def all_of_them(url: str) -> list[str]:
        async with openai.AsyncOpenAI(base_url=url, api_key="x", max_retries=0) as c:
            return await asyncio.gather(*(one(c, n) for n in range(32)))

    with running(words, engine_config=EngineConfig(max_running=16, max_waiting=32)) \
            as (url, engine):
        texts = asyncio.run(all_of_them(url))
        assert texts == ["".join(words)] * 32
        assert httpx.get(url.removesuffix("/v1") + "/health").json()["running"] == 0
        assert engine.memory().bytes_in_use == 0


def test_errors_have_openai_shape_and_the_server_keeps_serving() -> None:
    config = ServerConfig(api_key="s3cret", max_prompt_tokens=300)
    with running(ANSWER, config=config,
                 engine_config=EngineConfig(max_running=1, max_waiting=0)) as (url, _):
        c = client(url, api_key="s3cret")
        with pytest.raises(openai.AuthenticationError) as missing:
            ask(client(url, api_key="wrong"))
        assert missing.value.body["code"] == "invalid_api_key"  # type: ignore[index]
        with pytest.raises(openai.NotFoundError) as unknown:
            c.chat.completions.create(model="gpt-5", messages=[{"role": "user",
                                                                 "content": "hi"}])
        assert unknown.value.body["code"] == "model_not_found"  # type: ignore[index]
        with pytest.raises(openai.APIStatusError) as large:
            c.chat.completions.create(model=MODEL, messages=[{"role": "user",
                                                                "content": "x " * 400}])
        assert large.value.status_code == 413
        assert large.value.body["code"] == "context_length_exceeded"  # type: ignore[index]
        with pytest.raises(openai.BadRequestError, match="n must be 1"):
            ask(c, n=2)
        raw = httpx.post(f"{url}/chat/completions", content=b"{not json",
                         headers={"Authorization": "Bearer s3cret"})
        assert raw.status_code == 400 and raw.json()["error"]["type"] == \
            "invalid_request_error"
        wrong = httpx.post(f"{url}/chat/completions", json={"model": MODEL},
                           headers={"Authorization": "Bearer s3cret"})
        assert wrong.status_code == 400 and "messages" in wrong.json()["error"]["message"]
        assert ask(c).choices[0].message.content == "The answer is 42."  # still serving


def test_too_many_requests_get_429() -> None:
    words = [f" v{i}" for i in range(300)]
    with running(words, engine_config=EngineConfig(max_running=1, max_waiting=0)) \
            as (url, _):
        c = client(url)
        first = ask(c, stream=True)  # holds the only slot while it streams
        next(iter(first))
        with pytest.raises(openai.RateLimitError):
            ask(c)
        first.close()


def test_a_client_that_disconnects_cancels_its_request() -> None:
    words = [f" u{i}" for i in range(600)]
    with running(words) as (url, engine):
        with httpx.stream("POST", f"{url}/chat/completions", json={
                "model": MODEL, "stream": True, "temperature": 0,
                "messages": [{"role": "user", "content": "go"}]}) as response:
            for line in response.iter_lines():
                if line.startswith("data:"):
                    break  # one chunk, then hang up
        deadline = time.monotonic() + 10
        while engine.memory().bytes_in_use and time.monotonic() < deadline:
            time.sleep(0.05)
        assert engine.memory().bytes_in_use == 0
        assert httpx.get(url.removesuffix("/v1") + "/health").json()["running"] == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_fathom_serve_serves_the_bundled_model() -> None:
    port = _free_port()
    env = {**os.environ, "FATHOM_SERVE_API_KEY": "k"}
    process = subprocess.Popen([sys.executable, "-c", "from app.cli import main; main()",
                                "serve", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, \
                process.stdout.read().decode() if process.stdout else ""
            time.sleep(0.2)
        c = openai.OpenAI(base_url=url, api_key="k", max_retries=0)
        (model,) = c.models.list().data
        assert model.id == "SmolLM2-135M-Instruct.Q4_1"
        reply = c.chat.completions.create(model=model.id, max_tokens=8, temperature=0,
                                          messages=[{"role": "user", "content": "Hello!"}])
        assert reply.usage.completion_tokens <= 8 and reply.choices[0].message.content
    finally:
        process.terminate()
        process.wait(30)
