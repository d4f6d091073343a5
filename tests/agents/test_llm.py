"""The ChatModel seam: scripted replay, a real OpenAI-compatible server on 127.0.0.1 reached
with the real `openai` client, settings from fathom.toml and FATHOM_* variables, and the
bundled SmolLM2 running in-process."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

from agents.backends.embedded import EmbeddedBackend, LoadedModel
from agents.backends.openai_api import OpenAIBackend
from agents.backends.scripted import (
    ScriptDivergedError,
    ScriptedBackend,
    ScriptExhaustedError,
)
from agents.events import EVENT_ADAPTER, EventLog
from agents.graphs.base import RunContext
from agents.llm import (
    ChatMessage,
    ChatModelError,
    ChatResult,
    ContentDelta,
    Pricing,
    ReasoningDelta,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
    chat_model_from_config,
)
from agents.runs import RunStore
from agents.settings import ModelSettings
from model_runtime.config import load_config, parse_config
from model_runtime.models.deepseek_v4 import DeepseekV4ForCausalLM
from model_runtime.tokenizer import V4_BOS, V4_EOS
from tests.model_runtime.v4_checkpoints import save_reference_checkpoint
from tests.openai_server import Received, WireCall, WireReply, chat_app, respond, serve


@pytest.fixture(autouse=True)
def no_fathom_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come only from what each test sets, not from the caller's environment."""
    for name in [n for n in os.environ if n.startswith("FATHOM_")]:
        monkeypatch.delenv(name)


READ_FILE = ToolSpec(name="read_file", description="Read a file.",
                     parameters={"type": "object", "properties": {"path": {"type": "string"}},
                                 "required": ["path"]})

# -- scripted -----------------------------------------------------------------------------

SCRIPT = {
    "model": "oracle",
    "turns": [
        {"expect": {"role": "user", "contains": "where is the discount", "tools": ["read_file"],
                    "thinking": True},
         "reply": {"reasoning": "Look at pricing.", "content": "Let me read it.",
                   "tool_calls": [{"name": "read_file", "arguments": {"path": "pricing.py"}}]}},
        {"expect": {"role": "tool", "contains": ["DISCOUNT_CODES"]},
         "reply": {"content": "It is in pricing.py:5.",
                   "usage": {"prompt_tokens": 1000, "completion_tokens": 500}}},
    ],
}


@pytest.fixture
def script_file(tmp_path: Path) -> Path:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(SCRIPT))
    return path


def test_scripted_replays_turns_with_tool_calls_and_counts_usage(script_file: Path) -> None:
    model = ScriptedBackend.from_file(script_file, pricing=Pricing(1.0, 2.0))
    question = [ChatMessage.system("You answer."), ChatMessage.user("where is the discount?")]
    events = list(model.chat(question, tools=[READ_FILE], thinking=True, stream=True))
    first = events[-1]
    assert isinstance(first, ChatResult)
    assert [type(e) for e in events[:2]] == [ReasoningDelta, ContentDelta]
    assert "".join(e.text for e in events if isinstance(e, ContentDelta)) == first.content
    assert [e.call for e in events if isinstance(e, ToolCallDelta)] == list(first.tool_calls)
    call = first.tool_calls[0]
    assert (call.name, call.arguments, call.id) == ("read_file", {"path": "pricing.py"},
                                                    "call_1_1")
    history = [*question, first.message(),
               ChatMessage.tool(call.id, 'DISCOUNT_CODES = {"SUMMER": 10}')]
    second = model.chat(history)
    assert second.content == "It is in pricing.py:5." and second.model == "oracle"
    assert second.usage.cost == pytest.approx((1000 * 1.0 + 500 * 2.0) / 1e6)
    totals = model.meter.totals
    assert totals.calls == 2 and totals.prompt_tokens == first.usage.prompt_tokens + 1000
    assert model.remaining == 0 and model.requests[1] == history
    with pytest.raises(ScriptExhaustedError, match="all 2 turns were replayed"):
        model.chat(history)


def test_scripted_divergence_says_turn_and_difference(script_file: Path) -> None:
    model = ScriptedBackend.from_file(script_file)
    with pytest.raises(ScriptDivergedError) as info:
        model.chat([ChatMessage.user("how do I deploy?")], tools=[READ_FILE], thinking=False)
    message = str(info.value)
    assert "script.json: turn 1 of 2 expected" in message
    assert "'where is the discount'" in message and "thinking=True" in message
    assert "how do I deploy?" in message
    assert model.remaining == 2  # a diverged call consumes nothing


def test_scripted_transcript_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"reply": {"content": "x", "colour": "red"}}]))
    with pytest.raises(ChatModelError, match="bad.json: not a usable transcript"):
        ScriptedBackend.from_file(bad)
    with pytest.raises(ChatModelError, match="missing.json"):
        ScriptedBackend.from_file(tmp_path / "missing.json")


# -- settings and factory -----------------------------------------------------------------


def test_settings_precedence_code_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           script_file: Path) -> None:
    config = tmp_path / "fathom.toml"
    config.write_text('[model]\nbackend = "openai"\nmodel = "from-file"\ntemperature = 0.7\n'
                      'base_url = "http://127.0.0.1:9/v1"\n')
    monkeypatch.setenv("FATHOM_MODEL", "from-env")
    monkeypatch.setenv("FATHOM_API_KEY", "sk-test")
    settings = ModelSettings(config_file=config)
    assert (settings.backend, settings.model, settings.temperature) == ("openai", "from-env", 0.7)
    assert "sk-test" not in repr(settings)
    assert ModelSettings(config_file=config, model="from-code").model == "from-code"
    model = chat_model_from_config(settings)
    assert isinstance(model, OpenAIBackend) and model.name == "from-env"
    monkeypatch.setenv("FATHOM_BACKEND", "scripted")
    monkeypatch.setenv("FATHOM_SCRIPT", str(script_file))
    scripted = chat_model_from_config(ModelSettings(config_file=config))
    assert isinstance(scripted, ScriptedBackend) and scripted.name == "oracle"


def test_settings_defaults_and_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no fathom.toml here
    assert ModelSettings().backend == "embedded"
    (tmp_path / "fathom.toml").write_text("[model]\nbakend = 'openai'\n")
    with pytest.raises(ValueError, match="bakend"):
        ModelSettings()
    (tmp_path / "fathom.toml").write_text("[model\n")
    with pytest.raises(ValueError, match="fathom.toml: not valid TOML"):
        ModelSettings()
    with pytest.raises(ChatModelError, match="needs a model name"):
        chat_model_from_config(ModelSettings(config_file=tmp_path / "none", backend="openai"))
    with pytest.raises(ChatModelError, match="needs a transcript"):
        chat_model_from_config(ModelSettings(config_file=tmp_path / "none", backend="scripted"))


# -- OpenAI-compatible endpoint over real HTTP -------------------------------------------


def _reply_for(body: dict[str, Any]) -> WireReply:
    """What the fake server answers: decided by the last user message."""
    last_user = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
    if "tool" in last_user:
        return WireReply(reasoning="The user wants a file; read it.",
                         tool_calls=(WireCall("call_a", "read_file",
                                              '{"path": "shop/pricing.py"}'),))
    if "broken" in last_user:
        return WireReply(tool_calls=(WireCall("call_b", "read_file", '{"path": '),))
    return WireReply(content="Hello from 127.0.0.1, friend.")


def _app(requests: list[dict[str, Any]]) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: Request) -> Any:
        body = await request.json()
        requests.append(body)
        if body["model"] == "down":
            return JSONResponse({"error": {"message": "model overloaded"}}, status_code=503)
        return respond(body, _reply_for(body))

    return app


@pytest.fixture(scope="module")
def endpoint() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A real HTTP server on 127.0.0.1 (uvicorn in a thread), and the requests it saw."""
    requests: list[dict[str, Any]] = []
    with serve(_app(requests)) as url:
        yield url, requests


def test_openai_plain_completion(endpoint: tuple[str, list[dict[str, Any]]]) -> None:
    url, requests = endpoint
    model = OpenAIBackend("deepseek-flash", base_url=url, api_key="sk-local",
                          temperature=0.0, pricing=Pricing(0.30, 1.20))
    result = model.chat([ChatMessage.user("hi")])
    assert result.content == "Hello from 127.0.0.1, friend." and result.reasoning is None
    assert result.finish_reason == "stop" and result.model == "deepseek-flash"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (42, 7)
    assert result.usage.cached_prompt_tokens == 0  # the server reported no cache fields
    assert result.usage.cost == pytest.approx((42 * 0.30 + 7 * 1.20) / 1e6)
    sent = requests[-1]
    assert sent["thinking"] == {"type": "disabled"} and sent["temperature"] == 0.0
    assert "tools" not in sent


def test_openai_tool_call_with_reasoning(endpoint: tuple[str, list[dict[str, Any]]]) -> None:
    url, requests = endpoint
    model = OpenAIBackend("deepseek-v4-pro", base_url=url)
    question = [ChatMessage.user("use a tool please")]
    result = model.chat(question, tools=[READ_FILE], thinking=True)
    assert result.reasoning == "The user wants a file; read it."
    assert result.tool_calls == (ToolCall(name="read_file", id="call_a",
                                          arguments={"path": "shop/pricing.py"}),)
    assert requests[-1]["thinking"] == {"type": "enabled"}
    assert requests[-1]["tools"] == [READ_FILE.to_openai()]
    follow = [*question, result.message(), ChatMessage.tool("call_a", "DISCOUNT = 10")]
    model.chat(follow + [ChatMessage.user("thanks")], tools=[READ_FILE], thinking=True)
    sent = requests[-1]["messages"]
    assert sent[1]["reasoning_content"] == "The user wants a file; read it."
    assert sent[1]["tool_calls"][0]["function"] == {"name": "read_file",
                                                    "arguments": '{"path": "shop/pricing.py"}'}
    assert sent[2] == {"role": "tool", "tool_call_id": "call_a", "content": "DISCOUNT = 10"}
    assert model.meter.totals.calls == 2


def test_openai_streaming_deltas(endpoint: tuple[str, list[dict[str, Any]]]) -> None:
    url, requests = endpoint
    model = OpenAIBackend("v4", base_url=url, thinking_field="chat_template_kwargs")
    events = list(model.chat([ChatMessage.user("stream a tool call")], tools=[READ_FILE],
                             thinking=True, stream=True))
    result = events[-1]
    assert isinstance(result, ChatResult)
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    assert reasoning.strip() == "The user wants a file; read it." == result.reasoning.strip()
    calls = [e.call for e in events if isinstance(e, ToolCallDelta)]
    assert calls == list(result.tool_calls)
    assert calls[0].arguments == {"path": "shop/pricing.py"} and calls[0].id == "call_a"
    assert result.usage.prompt_tokens == 42 and result.finish_reason == "tool_calls"
    assert requests[-1]["chat_template_kwargs"] == {"thinking": True}
    assert requests[-1]["stream_options"] == {"include_usage": True}
    text = list(model.chat([ChatMessage.user("hello")], stream=True))
    content = "".join(e.text for e in text if isinstance(e, ContentDelta))
    assert content.strip() == "Hello from 127.0.0.1, friend." == text[-1].content.strip()
    assert model.meter.totals.calls == 2


def test_openai_unreadable_arguments_and_errors(
        endpoint: tuple[str, list[dict[str, Any]]]) -> None:
    url, _ = endpoint
    model = OpenAIBackend("v4", base_url=url, thinking_field="none")
    for stream in (False, True):
        if stream:
            result = list(model.chat([ChatMessage.user("broken call")], stream=True))[-1]
        else:
            result = model.chat([ChatMessage.user("broken call")])
        assert isinstance(result, ChatResult)
        call = result.tool_calls[0]
        assert call.arguments == {} and "not valid JSON" in (call.error or "")
    down = OpenAIBackend("down", base_url=url, max_retries=0)
    with pytest.raises(ChatModelError, match="down at http://127.0.0.1.*model overloaded"):
        down.chat([ChatMessage.user("hi")])
    with pytest.raises(ChatModelError, match="down at"):
        list(down.chat([ChatMessage.user("hi")], stream=True))
    with pytest.raises(ChatModelError, match="at least one message"):
        model.chat([])


# -- context-cache hits: read from the wire, priced at their own rate, reported ----------------

CACHE_PRICES = Pricing(prompt_per_mtok=0.30, completion_per_mtok=1.20, cached_prompt_per_mtok=0.006)


def _asking(fields: str, prompt: int = 1000, cached: int = 930) -> list[ChatMessage]:
    """A question telling the cache server what usage to report."""
    return [ChatMessage.user(json.dumps({"fields": fields, "prompt": prompt, "cached": cached}))]


def _cache_reply(body: dict[str, Any]) -> WireReply:
    """The usage the last user message asks for, with 20 completion tokens."""
    asked = json.loads(body["messages"][-1]["content"])
    return WireReply(content="From the cache.", prompt_tokens=asked["prompt"],
                     completion_tokens=20, cached_tokens=asked["cached"],
                     cache_fields=asked["fields"])


@pytest.fixture(scope="module")
def cache_endpoint() -> Iterator[tuple[str, list[Received]]]:
    """A server on 127.0.0.1 reporting context-cache hits, and the requests it got."""
    received: list[Received] = []
    with serve(chat_app(_cache_reply, received)) as url:
        yield url, received


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("fields", ["deepseek", "details", "both"])
def test_cache_hits_are_counted_priced_and_reported(
        cache_endpoint: tuple[str, list[Received]], tmp_path: Path, fields: str,
        stream: bool) -> None:
    url, received = cache_endpoint
    model = OpenAIBackend("deepseek-flash", base_url=url, pricing=CACHE_PRICES)
    log = EventLog()
    with RunStore(tmp_path) as store:
        store.create("ask-1", "ask", tmp_path, {})
        ctx = RunContext("ask-1", model, emit=log, store=store)
        results = [ctx.chat("answer", _asking(fields), stream=stream) for _ in range(2)]
        record = store.get("ask-1")
    assert [bool(r.body.get("stream")) for r in received[-2:]] == [stream, stream]
    usage = results[-1].usage
    assert (usage.prompt_tokens, usage.cached_prompt_tokens, usage.completion_tokens) == (
        1000, 930, 20)
    one = (70 * 0.30 + 930 * 0.006 + 20 * 1.20) / 1e6  # misses, hits, completion
    assert usage.cost == pytest.approx(one)
    totals = model.meter.totals
    assert (totals.calls, totals.prompt_tokens, totals.cached_prompt_tokens) == (2, 2000, 1860)
    assert totals.cost == pytest.approx(2 * one)
    events = log.of("tokens")
    assert [(e.prompt_tokens, e.cached_prompt_tokens) for e in events] == [(1000, 930)] * 2
    assert events[-1].cost == pytest.approx(one)
    assert events[-1].run_cost == pytest.approx(2 * one)
    assert EVENT_ADAPTER.validate_json(events[-1].model_dump_json()) == events[-1]
    assert (record.calls, record.prompt_tokens, record.cached_prompt_tokens) == (2, 2000, 1860)
    assert record.cost == pytest.approx(2 * one)


def test_cache_hits_cost_the_prompt_rate_unless_priced(
        cache_endpoint: tuple[str, list[Received]]) -> None:
    url, _ = cache_endpoint
    model = OpenAIBackend("deepseek-v4-pro", base_url=url, pricing=Pricing(0.30, 1.20))
    usage = model.chat(_asking("deepseek")).usage
    assert usage.cached_prompt_tokens == 930
    assert usage.cost == pytest.approx((1000 * 0.30 + 20 * 1.20) / 1e6)
    assert model.chat(_asking("none")).usage.cached_prompt_tokens == 0  # none reported
    # A server claiming more hits than prompt tokens is held to the prompt.
    assert model.chat(_asking("details", prompt=10, cached=50)).usage.cached_prompt_tokens == 10
    with pytest.raises(ValueError, match="cached_prompt_tokens"):
        Usage(prompt_tokens=10, cached_prompt_tokens=11)


def test_cache_hit_price_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "fathom.toml"
    table = ('[model]\nbackend = "openai"\nmodel = "deepseek-flash"\n'
             'base_url = "http://127.0.0.1:9/v1"\nprice_prompt_per_mtok = 0.30\n'
             'price_completion_per_mtok = 1.20\n')
    config.write_text(table + "price_cached_prompt_per_mtok = 0.006\n")
    assert chat_model_from_config(ModelSettings(config_file=config)).pricing == CACHE_PRICES
    config.write_text(table)
    unset = chat_model_from_config(ModelSettings(config_file=config)).pricing
    assert unset == Pricing(0.30, 1.20) and unset.cached_prompt_per_mtok is None


# -- embedded: the bundled SmolLM2, in-process ----------------------------------------------


@pytest.mark.slow
def test_embedded_smollm2_answers_with_usage() -> None:
    model = chat_model_from_config(ModelSettings(config_file=Path("/nonexistent.toml"),
                                                 max_tokens=12))
    assert model.name == "smollm2-135m-instruct"
    events = list(model.chat([ChatMessage.user("What is the capital of France?")], stream=True))
    result = events[-1]
    assert isinstance(result, ChatResult)
    streamed = "".join(e.text for e in events if isinstance(e, ContentDelta))
    assert streamed == result.content and result.content.strip()
    assert 20 < result.usage.prompt_tokens < 100 and 1 <= result.usage.completion_tokens <= 12
    assert result.finish_reason in ("eos", "length") and result.tool_calls == ()
    assert model.meter.totals.completion_tokens == result.usage.completion_tokens


def _tiny_v4_checkpoint(directory: Path) -> Path:
    """A random two-layer V4 checkpoint (reference names, bf16) with a byte-level tokenizer
    holding V4's special tokens, so the whole V4 chat path runs in a second."""
    specials = [V4_BOS, V4_EOS, "<｜User｜>", "<｜Assistant｜>", "<think>", "</think>"]
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    tokenizer = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(alphabet)}, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False)
                                  for t in specials])
    config = {
        "vocab_size": tokenizer.get_vocab_size(), "dim": 64, "moe_inter_dim": 32,
        "n_layers": 2, "n_hash_layers": 1, "n_mtp_layers": 0, "n_heads": 4,
        "n_routed_experts": 4, "n_shared_experts": 1, "n_activated_experts": 2,
        "score_func": "sqrtsoftplus", "route_scale": 1.5, "swiglu_limit": 10.0,
        "q_lora_rank": 32, "head_dim": 32, "rope_head_dim": 8, "norm_eps": 1e-6,
        "o_groups": 2, "o_lora_rank": 16, "window_size": 16, "compress_ratios": [0, 4, 0],
        "compress_rope_theta": 160000.0, "original_seq_len": 64, "rope_theta": 10000.0,
        "rope_factor": 4, "beta_fast": 32, "beta_slow": 1, "index_n_heads": 16,
        "index_head_dim": 16, "index_topk": 8, "hc_mult": 2, "hc_sinkhorn_iters": 20,
        "hc_eps": 1e-6, "dtype": "bf16", "max_batch_size": 1, "max_seq_len": 4096,
    }
    generator = torch.Generator().manual_seed(0)
    with torch.device("meta"):
        shapes = DeepseekV4ForCausalLM(parse_config(config)).state_dict()
    tensors = {}
    for name, meta in shapes.items():
        if meta.dtype == torch.long:  # hash-routing table: token -> experts
            tensors[name] = torch.randint(0, 4, tuple(meta.shape), generator=generator)
        elif name.endswith("norm.weight"):
            tensors[name] = 1 + 0.1 * torch.randn(meta.shape, generator=generator)
        else:
            tensors[name] = 0.2 * torch.randn(meta.shape, generator=generator)
    save_reference_checkpoint(directory, tensors, config)
    tokenizer.save(str(directory / "tokenizer.json"))
    return directory


def test_embedded_v4_checkpoint_uses_v4_prompt_and_thinking(tmp_path: Path) -> None:
    model = EmbeddedBackend(_tiny_v4_checkpoint(tmp_path / "v4-tiny"), max_new_tokens=5)
    assert model.name == "v4-tiny"
    result = model.chat([ChatMessage.user("What is 2+2?")], thinking=True)
    loaded = model.loaded()
    assert type(loaded.chat_format).__name__ == "V4ChatFormat"
    # Random weights never close the think block: everything is reasoning, and the parser
    # says so instead of failing.
    assert result.content == "" and result.reasoning
    assert result.warnings == ("output ended before </think>",)
    assert result.usage.completion_tokens == 5 and result.finish_reason == "length"
    with pytest.raises(ChatModelError, match="cannot load the embedded model"):
        EmbeddedBackend(tmp_path / "missing.gguf").chat([ChatMessage.user("hi")])


class _NeverLoads(EmbeddedBackend):
    """An embedded backend that fails the test if it loads its weights."""

    def _load(self) -> LoadedModel:
        raise AssertionError("the weights were loaded")


def test_embedded_context_window_is_known_without_loading_weights(tmp_path: Path) -> None:
    assert _NeverLoads().context_window == 4096  # the bundled SmolLM2 (8K), capped
    assert _NeverLoads(context_limit=1_000_000).context_window == 8192  # its own
    v4 = _tiny_v4_checkpoint(tmp_path / "v4-tiny")
    assert _NeverLoads(v4).context_window == load_config(v4).max_position_embeddings
    loaded = EmbeddedBackend(v4, context_limit=2048)
    loaded.loaded()
    assert loaded.context_window == loaded.loaded().context == 2048
    with pytest.raises(ChatModelError, match="missing.gguf"):
        _ = _NeverLoads(tmp_path / "missing.gguf").context_window


def test_backend_none_and_remote_context_window(tmp_path: Path) -> None:
    none = ModelSettings(config_file=tmp_path / "absent.toml", backend="none")
    with pytest.raises(ChatModelError, match="no model"):
        chat_model_from_config(none)
    remote = chat_model_from_config(ModelSettings(
        config_file=tmp_path / "absent.toml", backend="openai", model="deepseek-v4-pro",
        base_url="http://127.0.0.1:9/v1", context_tokens=1_048_576,
    ))
    assert remote.context_window == 1_048_576
