"""The engine's synchronous core on a tiny random llama: continuous batching gives each
request what it gets alone, aborts free every block, seeds hold across batches, and
requests the engine cannot take are refused clearly."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import torch
from torch import Tensor

from model_runtime.engine import (
    EngineBusy,
    EngineConfig,
    Finished,
    GenerationParams,
    PrefillEvent,
    PromptTooLong,
    TokenEvent,
)
from model_runtime.engine_core import EngineCore
from model_runtime.models.llama import LlamaForCausalLM
from model_runtime.sampling import SamplingParams
from model_runtime.tokenizer import Tokenizer
from tests.model_runtime.causality import rounding_tolerance
from tests.model_runtime.engine_helpers import (
    Run,
    assert_safe_margins,
    drain,
    record_logits,
    run_alone,
)

CHUNK = 64  # prefill tokens per step: the long prompts below take several steps


def _prompts(*lengths: int, seed: int = 1) -> list[list[int]]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randint(0, 256, (n,), generator=generator).tolist() for n in lengths]


def _sampled_rows(rows: Sequence[Tensor], prompt: int, cached: int = 0) -> list[Tensor]:
    """The logits rows a request sampled from: after its last prefill chunk."""
    chunks = -(-(prompt - cached) // CHUNK)
    return list(rows[chunks - 1:])


def test_batched_greedy_equals_each_request_alone(llama: LlamaForCausalLM,
                                                  byte_level: Tokenizer) -> None:
    prompts = _prompts(5, 37, 130, 300)
    params = GenerationParams(20)
    core = EngineCore(llama, byte_level, EngineConfig(prefill_chunk=CHUNK, block_size=16))
    run = Run()
    record_logits(core, run)
    ids = [core.add_request(p, params) for p in prompts[:2]]

    def join_late(step: int) -> None:  # the long prompts arrive while others decode
        if step == 3:
            ids.extend(core.add_request(p, params) for p in prompts[2:])

    drain(core, run, join_late)
    assert any(len(s) >= 3 and max(s) > 1 for s in run.shapes)  # decodes beside a chunk
    assert max(len(s) for s in run.shapes) == 4
    for request_id, prompt in zip(ids, prompts, strict=True):
        alone, alone_run = run_alone(llama, byte_level, prompt, params, prefill_chunk=CHUNK)
        (rows,) = alone_run.logits.values()
        assert_safe_margins(_sampled_rows(rows, len(prompt)), llama.config.hidden_size)
        assert run.tokens(request_id) == alone and len(alone) >= 12
        together = _sampled_rows(run.logits[request_id], len(prompt))
        difference = max((a - b).abs().max().item()
                         for a, b in zip(together, _sampled_rows(rows, len(prompt)),
                                         strict=True))
        assert difference <= rounding_tolerance(torch.stack(rows), llama.config.hidden_size)
        finished = run.finished(request_id)
        assert finished.usage.completion_tokens == len(alone)
        assert finished.finish_reason == run.events[request_id][-2].finish_reason
        progress = [e for e in run.events[request_id] if isinstance(e, PrefillEvent)]
        assert [e.done for e in progress][-1] == len(prompt)
    assert core.memory().bytes_in_use == 0 and not core.has_work()


def test_abort_mid_prefill_and_mid_decode_frees_every_block(llama: LlamaForCausalLM,
                                                            byte_level: Tokenizer) -> None:
    config = llama.config
    per_token = 2 * config.num_layers * config.num_kv_heads * config.head_dim * 4  # K+V fp32
    core = EngineCore(llama, byte_level, EngineConfig(prefill_chunk=16, block_size=16,
                                                     prefix_cache_bytes=0))
    long, short = _prompts(100, 10)
    first = core.add_request(long, GenerationParams(20))
    second = core.add_request(short, GenerationParams(30))
    waiting = core.add_request(short, GenerationParams(5))
    core.abort(waiting)  # still queued: it ends without ever holding a cache
    assert core.memory().sequences_waiting == 2
    events = core.step()  # the abort's event, then the long prompt's first chunk
    assert events[0][0] == waiting and events[0][1] == Finished("aborted", events[0][1].usage)
    assert events[1] == (first, PrefillEvent(16, 100))
    memory = core.memory()
    assert (memory.blocks_in_use, memory.sequences_running) == (8 + 3, 2)  # 120 and 40 tokens
    assert memory.bytes_in_use == (128 + 48) * per_token
    assert memory.bytes_free == 16 * 2048 * per_token - memory.bytes_in_use
    core.abort(first)  # mid-prefill
    assert core.memory().bytes_in_use == 48 * per_token
    events = core.step()  # the abort's event first, then the short prompt's prefill
    assert events[0][0] == first and isinstance(events[0][1], Finished)
    assert events[0][1].finish_reason == "aborted"
    assert events[0][1].usage.completion_tokens == 0
    for _ in range(3):
        core.step()  # decoding
    core.abort(second)
    core.abort("no-such-request")  # ignored
    (last,) = [e for r, e in core.step() if r == second]
    assert isinstance(last, Finished) and last.finish_reason == "aborted"
    assert last.usage.completion_tokens == 4
    memory = core.memory()
    assert (memory.bytes_in_use, memory.blocks_in_use, memory.sequences_running) == (0, 0, 0)
    assert not core.has_work()


def test_seeded_sampling_does_not_depend_on_what_else_runs(llama: LlamaForCausalLM,
                                                           byte_level: Tokenizer) -> None:
    sampling = SamplingParams(temperature=1.0, top_k=40, top_p=0.95, min_p=0.02)
    params = GenerationParams(24, sampling, seed=7)
    prompt, *others = _prompts(40, 12, 90, 7, seed=3)
    alone, _ = run_alone(llama, byte_level, prompt, params, prefill_chunk=CHUNK)
    core = EngineCore(llama, byte_level, EngineConfig(prefill_chunk=CHUNK))
    core.add_request(others[0], GenerationParams(30, sampling, seed=1))
    core.add_request(others[1], GenerationParams(30))

    def crowd(step: int) -> None:
        if step == 2:
            core.add_request(prompt, params, request_id="watched")
        if step == 5:
            core.add_request(others[2], GenerationParams(10, sampling, seed=7))

    run = drain(core, before_step=crowd)
    assert run.tokens("watched") == alone
    other_seed, _ = run_alone(llama, byte_level, prompt, GenerationParams(24, sampling, seed=8),
                              prefill_chunk=CHUNK)
    assert other_seed != alone


def test_requests_the_engine_cannot_take_are_refused(llama: LlamaForCausalLM,
                                                     byte_level: Tokenizer) -> None:
    core = EngineCore(llama, byte_level, EngineConfig(max_running=1, max_waiting=1,
                                                     max_context=100))
    assert core.context_window == 100
    with pytest.raises(PromptTooLong, match="90 tokens .* 20 more.* 100"):
        core.add_request([1] * 90, GenerationParams(20))
    with pytest.raises(ValueError, match="at least one prompt token"):
        core.add_request([], GenerationParams(1))
    with pytest.raises(ValueError, match="prompt token 1 is 999, outside the vocabulary of 257"):
        core.add_request([1, 999], GenerationParams(1))
    core.add_request([1, 2], GenerationParams(4), request_id="a")  # takes the free place
    with pytest.raises(ValueError, match="'a' is already in use"):
        core.add_request([1, 2], GenerationParams(4), request_id="a")
    core.add_request([1, 2], GenerationParams(4))  # waits
    with pytest.raises(EngineBusy, match="2 requests are waiting for 1 free places"):
        core.add_request([1, 2], GenerationParams(4))
    events = drain(core).events
    assert all(isinstance(e[-1], Finished) for e in events.values()) and len(events) == 2
    assert EngineCore(llama, byte_level).context_window == llama.config.max_position_embeddings


@pytest.mark.parametrize(("make", "message"), [
    (lambda: GenerationParams(0), "max_new_tokens must be an integer >= 1"),
    (lambda: GenerationParams(4, stop=("",)), "stop strings must be non-empty"),
    (lambda: GenerationParams(4, stop="x"), "stop must be a tuple"),  # type: ignore[arg-type]
    (lambda: EngineConfig(prefill_chunk=0), "prefill_chunk must be an integer >= 1"),
    (lambda: EngineConfig(max_running=0), "max_running must be an integer >= 1"),
    (lambda: EngineConfig(prefix_cache_bytes=-1), "prefix_cache_bytes"),
    (lambda: EngineConfig(max_context=0), "max_context must be None or an integer >= 1"),
    (lambda: SamplingParams(top_k=-1), "top_k must be an integer >= 0"),
    (lambda: SamplingParams(top_k=True), "top_k"),
    (lambda: SamplingParams(min_p=1.5), r"min_p must be in \[0, 1\]"),
    (lambda: SamplingParams(temperature=float("nan")), "temperature"),
])
def test_bad_settings_are_refused(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]


def test_events_carry_the_text_semantics_of_generate(llama: LlamaForCausalLM,
                                                     byte_level: Tokenizer) -> None:
    (prompt,) = _prompts(30, seed=4)
    plain, _ = run_alone(llama, byte_level, prompt, GenerationParams(16))
    text = byte_level.decode(plain)
    stop = text[6:9]
    core = EngineCore(llama, byte_level, EngineConfig(prefill_chunk=CHUNK))
    request_id = core.add_request(prompt, GenerationParams(16, stop=(stop,)))
    run = drain(core)
    tokens = [e for e in run.events[request_id] if isinstance(e, TokenEvent)]
    assert "".join(e.text for e in tokens) == text[:text.find(stop)]
    assert tokens[-1].finish_reason == "stop" == run.finished(request_id).finish_reason
