"""The engine on tiny random DeepSeek V4 models: sequences run one at a time inside a step
give what they give alone, and a prefix restored from cache blocks plus a boundary
snapshot (window ring, compressor overlap, entries, Engram state) continues exactly as
the recomputed one."""

from __future__ import annotations

import pytest
import torch

from model_runtime.engine import EngineConfig, GenerationParams
from model_runtime.engine_core import EngineCore
from model_runtime.models.deepseek_v4 import DeepseekV4ForCausalLM
from model_runtime.models.v4_cache import V4Cache
from model_runtime.tokenizer import Tokenizer
from model_runtime.v4_runner import V4Runner
from tests.model_runtime.causality import rounding_tolerance
from tests.model_runtime.engine_helpers import (
    Run,
    assert_safe_margins,
    drain,
    record_logits,
    run_alone,
)
from tests.model_runtime.tiny_models import random_tokens, tiny_v4

BLOCK = 16  # a multiple of the ratios 4 and 8
CHUNK = 32


@pytest.fixture(scope="module")
def model() -> DeepseekV4ForCausalLM:
    return tiny_v4(engram=True)


def test_batched_v4_requests_equal_each_request_alone(model: DeepseekV4ForCausalLM,
                                                      byte_level: Tokenizer) -> None:
    prompts = [random_tokens(n, seed=n) for n in (5, 37, 70, 130)]
    params = GenerationParams(10)
    core = EngineCore(model, byte_level, EngineConfig(prefill_chunk=CHUNK, block_size=BLOCK))
    run = Run()
    record_logits(core, run)
    ids = [core.add_request(p, params) for p in prompts[:2]]

    def join_late(step: int) -> None:
        if step == 2:
            ids.extend(core.add_request(p, params) for p in prompts[2:])

    drain(core, run, join_late)
    assert max(len(s) for s in run.shapes) == 4
    terms = model.config.hidden_size
    for request_id, prompt in zip(ids, prompts, strict=True):
        alone, alone_run = run_alone(model, byte_level, prompt, params, prefill_chunk=CHUNK)
        (rows,) = alone_run.logits.values()
        sampled = rows[-len(alone):]
        assert_safe_margins(sampled, terms)
        assert run.tokens(request_id) == alone
        together = run.logits[request_id][-len(alone):]
        worst = max((a - b).abs().max().item() for a, b in zip(together, sampled, strict=True))
        assert worst <= rounding_tolerance(torch.stack(sampled), terms)
    assert core.memory().bytes_in_use == 0


def test_a_restored_snapshot_continues_like_the_recomputed_prefix(
        model: DeepseekV4ForCausalLM) -> None:
    runner = V4Runner(model, BLOCK)
    prompt, decoded = random_tokens(70, seed=1), random_tokens(6, seed=2)
    with torch.inference_mode():
        source = runner.allocate(100)
        runner.forward([(source, prompt[:16])])
        runner.forward([(source, prompt[16:48])])  # 48: a block boundary
        assert runner.saveable(source) == 48
        blocks = [runner.export_block(source, i)[0] for i in range(3)]
        state, _ = runner.export_state(source)
        restored = runner.allocate(100)
        runner.restore(restored, blocks, 48, state)
        _assert_same_state(restored, source)
        recomputed = runner.allocate(100)
        warm = [runner.forward([(restored, prompt[48:])])[0]]
        cold = [runner.forward([(recomputed, prompt)])[0]]
        for token in decoded:  # through window wrap-arounds and new CSA / HCA entries
            warm.append(runner.forward([(restored, [token])])[0])
            cold.append(runner.forward([(recomputed, [token])])[0])
        whole = model(torch.tensor([prompt + decoded]))[0, len(prompt) - 1:]
    tolerance = rounding_tolerance(whole, model.config.hidden_size)
    for name, rows in (("restored", warm), ("recomputed", cold)):
        worst = (torch.stack(rows) - whole).abs().max().item()
        assert worst <= tolerance, f"{name}: {worst:.3g} > {tolerance:.3g}"
    assert restored.length == recomputed.length == 76


def _assert_same_state(restored: V4Cache, source: V4Cache) -> None:
    """Every part of the state a later token reads is the same in both caches."""
    assert restored.length == source.length
    for mine, theirs in zip(restored.layers, source.layers, strict=True):
        assert torch.equal(mine.window, theirs.window)
        for a, b in ((mine.compressor, theirs.compressor), (mine.indexer, theirs.indexer)):
            assert (a is None) == (b is None)
            if a is None or b is None:
                continue
            assert a.count == b.count > 0
            assert torch.equal(a.entries[:, :a.count], b.entries[:, :b.count])
            if a.prev_kv is not None and b.prev_kv is not None:
                assert torch.equal(a.prev_kv, b.prev_kv)
    assert restored.engram_tokens is not None and source.engram_tokens is not None
    assert torch.equal(restored.engram_tokens, source.engram_tokens)
    assert restored.engram_conv.keys() == source.engram_conv.keys() == {1, 2}
    for i, conv in source.engram_conv.items():
        assert torch.equal(restored.engram_conv[i], conv)


def test_v4_follow_ups_reuse_the_prefix_up_to_a_saved_state(model: DeepseekV4ForCausalLM,
                                                            byte_level: Tokenizer) -> None:
    shared = random_tokens(70, seed=3)
    first, follow_up = shared + random_tokens(10, seed=4), shared + random_tokens(5, seed=5)
    params = GenerationParams(8)
    core = EngineCore(model, byte_level, EngineConfig(prefill_chunk=CHUNK, block_size=BLOCK))
    run = Run()
    record_logits(core, run)
    core.add_request(first, params, request_id="first")
    drain(core, run)
    assert run.shapes[:3] == [[32], [32], [16]]  # chunks end on states at 32 and 64
    core.add_request(follow_up, params, request_id="follow-up")
    drain(core, run)
    assert run.finished("follow-up").usage.cached_prompt_tokens == 64  # the last state
    cold_tokens, cold = run_alone(model, byte_level, follow_up, params, prefill_chunk=CHUNK)
    (rows,) = cold.logits.values()
    assert_safe_margins(rows[-len(cold_tokens):], model.config.hidden_size)
    assert run.tokens("follow-up") == cold_tokens
    memory = core.memory()
    assert memory.bytes_in_use == 0 and memory.blocks_cached == 5
    assert memory.bytes_cached == core.prefix.bytes_cached > 0
