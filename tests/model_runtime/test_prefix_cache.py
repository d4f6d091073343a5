"""The prefix cache: hash-chain keys, longest matches (whole blocks, then part of one for
llama), least-recently-used eviction of leaves within the budget; and through the engine
on a tiny llama, a cached prefix that changes nothing but the work done."""

from __future__ import annotations

from typing import Any

import torch

from model_runtime.engine import EngineConfig, GenerationParams, PrefillEvent
from model_runtime.engine_core import EngineCore
from model_runtime.models.llama import LlamaForCausalLM
from model_runtime.prefix_cache import PrefixCache, chain_keys
from model_runtime.tokenizer import Tokenizer
from tests.model_runtime.causality import rounding_tolerance
from tests.model_runtime.engine_helpers import (
    Run,
    assert_safe_margins,
    drain,
    record_logits,
    run_alone,
)
from tests.model_runtime.tiny_models import random_tokens

BLOCK = 4


class _Exports:
    """Block exports that say which blocks were copied; every block is 10 bytes and
    every state 1 byte."""

    def __init__(self) -> None:
        self.blocks: list[int] = []
        self.states = 0

    def block(self, index: int) -> tuple[Any, int]:
        self.blocks.append(index)
        return f"block {index}", 10

    def state(self) -> tuple[Any, int]:
        self.states += 1
        return "state", 1


def _insert(cache: PrefixCache, tokens: list[int]) -> _Exports:
    exports = _Exports()
    cache.insert(tokens, exports.block, exports.state)
    return exports


def test_chain_keys_name_a_block_and_everything_before_it() -> None:
    a = chain_keys([1, 2, 3, 4, 5, 6, 7, 8, 9], BLOCK)
    b = chain_keys([1, 2, 3, 4, 5, 6, 7, 9], BLOCK)
    c = chain_keys([0, 2, 3, 4, 5, 6, 7, 8], BLOCK)
    assert len(a) == 2 and a[0] == b[0] and a[1] != b[1]  # the partial third block: no key
    assert c[1] != a[1]  # same tokens in block 1, another prefix before them


def test_matches_take_whole_blocks_then_part_of_the_next() -> None:
    cache = PrefixCache(1000, BLOCK, needs_state=False)
    first = _insert(cache, list(range(10)))  # blocks 0..3, 4..7 and the partial 8, 9
    assert first.blocks == [0, 1, 2] and first.states == 1
    assert (cache.blocks_cached, cache.bytes_cached) == (3, 31)
    assert cache.match([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]).tokens == 10
    again = _insert(cache, list(range(12)))  # only the new block is copied; it covers
    assert again.blocks == [2]  # the partial one, which goes
    assert (cache.blocks_cached, cache.bytes_cached) == (3, 31)
    assert _insert(cache, list(range(10))).blocks == []  # covered by the whole block
    match = cache.match([0, 1, 2, 3, 4, 5, 99])
    assert (len(match.blocks), match.tokens) == (2, 6)  # block 1 used for 2 of its tokens
    assert cache.match([0, 1, 2, 3, 4, 5, 6, 7, 8]).tokens == 9
    assert cache.match([7, 1, 2]).tokens == 0 and cache.match([0, 1, 7]).tokens == 2
    _insert(cache, [5, 6])  # a partial block at the start
    assert cache.match([5, 6, 7]).tokens == 2
    with_state = PrefixCache(1000, BLOCK, needs_state=True)
    _insert(with_state, list(range(8)))  # the state lands after block 1 only
    _insert(with_state, [0, 1, 2, 3, 9, 9, 9, 9])
    assert with_state.match(list(range(7))).tokens == 0  # block 0 carries no state
    assert with_state.match(list(range(9))).tokens == 8
    assert with_state.match([0, 1, 2, 3, 9, 9, 9, 9, 1]).tokens == 8


def test_eviction_drops_least_recently_used_leaves_within_the_budget() -> None:
    cache = PrefixCache(65, BLOCK, needs_state=False)  # six blocks and their states
    _insert(cache, [1] * 8)
    _insert(cache, [2] * 8)
    _insert(cache, [3] * 8)
    assert cache.bytes_cached == 63
    cache.match([1] * 9)  # chain 1 is used again: chain 2 is now the oldest
    _insert(cache, [1] * 8 + [4] * 4)  # a third block on chain 1: 74 bytes, over budget
    assert cache.bytes_cached <= 65
    assert cache.match([2] * 9).tokens == 4  # chain 2 lost its leaf, not its first block
    assert cache.match([1] * 8 + [4] * 4 + [0]).tokens == 12
    assert cache.match([3] * 9).tokens == 8
    tiny = PrefixCache(5, BLOCK, needs_state=False)  # not even one block fits
    _insert(tiny, list(range(8)))
    assert (tiny.blocks_cached, tiny.bytes_cached) == (0, 0)


# -- through the engine, on a tiny llama ---------------------------------------------------


def test_a_cached_prefix_gives_the_same_logits_and_prefills_only_the_rest(
        llama: LlamaForCausalLM, byte_level: Tokenizer) -> None:
    shared = random_tokens(150, seed=5)
    first, follow_up = shared + random_tokens(20, seed=6), shared + random_tokens(9, seed=7)
    params = GenerationParams(12)
    core = EngineCore(llama, byte_level, EngineConfig(prefill_chunk=64, block_size=16))
    run = Run()
    record_logits(core, run)
    core.add_request(first, params, request_id="first")
    drain(core, run)
    steps = len(run.shapes)
    core.add_request(follow_up, params, request_id="follow-up")
    drain(core, run)
    usage = run.finished("follow-up").usage
    assert usage.cached_prompt_tokens == 150  # 9 whole blocks, then 6 tokens of the 10th
    assert run.finished("first").usage.cached_prompt_tokens == 0
    progress = [e for e in run.events["follow-up"] if isinstance(e, PrefillEvent)]
    assert progress == [PrefillEvent(150, 159), PrefillEvent(159, 159)]
    assert run.shapes[steps] == [9]  # the tail alone was prefilled
    cold_tokens, cold = run_alone(llama, byte_level, follow_up, params, prefill_chunk=64)
    (cold_rows,) = cold.logits.values()
    sampled = cold_rows[-len(cold_tokens):]
    assert_safe_margins(sampled, llama.config.hidden_size)
    assert run.tokens("follow-up") == cold_tokens
    warm_rows = run.logits["follow-up"][-len(cold_tokens):]
    worst = max((a - b).abs().max().item() for a, b in zip(warm_rows, sampled, strict=True))
    assert worst <= rounding_tolerance(torch.stack(sampled), llama.config.hidden_size)
    # The whole first request (prompt and reply) was cached when it ended: asking it again
    # prefills its last prompt token only.
    core.add_request(first, params, request_id="again")
    drain(core, run)
    assert run.finished("again").usage.cached_prompt_tokens == len(first) - 1
    first_tokens = run.tokens("first")
    assert_safe_margins(run.logits["first"][-len(first_tokens):], llama.config.hidden_size)
    assert run.tokens("again") == first_tokens


def test_the_prefix_cache_stays_within_its_budget_and_counts_exactly(
        llama: LlamaForCausalLM, byte_level: Tokenizer) -> None:
    config = llama.config
    per_token = 2 * config.num_layers * config.num_kv_heads * config.head_dim * 4  # fp32 K+V
    core = EngineCore(llama, byte_level, EngineConfig(prefill_chunk=64, block_size=16,
                                                     prefix_cache_bytes=160 * per_token))
    cached = []
    for seed in range(4):  # 70 prompt tokens + 3 generated ones fed: 4 whole blocks + 9
        core.add_request(random_tokens(70, seed=10 + seed), GenerationParams(4))
        drain(core)
        memory = core.memory()
        cached.append((memory.bytes_cached, memory.blocks_cached))
        assert memory.bytes_in_use == 0
    # A third sequence does not fit: the oldest goes, leaf by leaf, until the rest fits.
    assert cached == [(73 * per_token, 5)] + [(146 * per_token, 10)] * 3
    newest = core.add_request(random_tokens(70, seed=13) + [1], GenerationParams(1))
    oldest = core.add_request(random_tokens(70, seed=10) + [1], GenerationParams(1))
    run = drain(core)
    assert run.finished(newest).usage.cached_prompt_tokens == 70
    assert run.finished(oldest).usage.cached_prompt_tokens == 0
    disabled = EngineCore(llama, byte_level, EngineConfig(prefix_cache_bytes=0))
    assert disabled.prefix is None and disabled.memory().bytes_cached == 0
