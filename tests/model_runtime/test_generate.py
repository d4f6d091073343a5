"""generate() and sampling on tiny random llama and DeepSeek V4 models, byte-level tokenizer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor

from model_runtime import load_model
from model_runtime.generate import (
    PREFILL_CHUNK,
    PrefillEvent,
    TokenEvent,
    generate,
    generate_events,
    generate_text,
)
from model_runtime.loops import LOOP_NGRAM, LoopDetector
from model_runtime.models.deepseek_v4 import DeepseekV4ForCausalLM
from model_runtime.models.llama import KVCache, LlamaForCausalLM
from model_runtime.sampling import SamplingParams, sample, top_p_filter
from model_runtime.tokenizer import Tokenizer
from tests.model_runtime.tiny_models import (
    V4_CONFIG,
    random_v4_weights,
    tiny_llama,
    tiny_tokenizer,
    tiny_v4,
)
from tests.model_runtime.v4_checkpoints import save_reference_checkpoint


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return tiny_tokenizer()


@pytest.fixture(scope="module")
def model() -> LlamaForCausalLM:
    return tiny_llama()


PROMPT = [72, 101, 108, 108, 111, 32]  # "Hello "
# This random model's greedy output soon loops, and a loop ends the stream; a tiny
# no-repeat n-gram size keeps it going where a test needs a long continuation.
NO_LOOPS: dict[str, Any] = {"no_repeat_ngram_size": 3}


def _until_loop(ids: list[int]) -> list[int]:
    """`ids` up to the token where generation stops for a loop."""
    detector = LoopDetector()
    for i, token in enumerate(ids):
        if detector.push(token):
            return ids[:i + 1]
    return ids


def test_cached_decode_matches_full_prefill(model: LlamaForCausalLM) -> None:
    ids = torch.tensor([PROMPT + [1, 2, 3, 200, 201]])
    with torch.no_grad():
        full = model(ids)
        cache = model.new_cache(1, ids.shape[1])
        parts = [model.forward(ids[:, :4], cache=cache), model.forward(ids[:, 4:7], cache=cache)]
        parts += [model.forward(ids[:, i:i + 1], cache=cache) for i in range(7, ids.shape[1])]
    assert torch.allclose(torch.cat(parts, dim=1), full, atol=1e-5)
    assert cache.length == ids.shape[1]
    with pytest.raises(ValueError, match="KV cache holds"):
        model.forward(ids[:, :1], cache=cache)


def test_greedy_equals_argmax_of_repeated_full_prefills(model: LlamaForCausalLM,
                                                        tokenizer: Tokenizer) -> None:
    ids = list(PROMPT)
    with torch.no_grad():
        for _ in range(16):
            nxt = int(model(torch.tensor([ids]))[0, -1].argmax())
            if nxt == tokenizer.eos_id:
                break
            ids.append(nxt)
    expected = _until_loop(ids[len(PROMPT):])
    got = [e.token_id for e in generate(model, tokenizer, PROMPT, 16)
           if e.finish_reason != "eos"]
    assert got == expected
    chunked = [e.token_id for e in generate(model, tokenizer, PROMPT, 16, prefill_chunk=4)
               if e.finish_reason != "eos"]
    assert chunked == expected


def test_stream_deltas_concatenate_to_the_decoded_text(model: LlamaForCausalLM,
                                                       tokenizer: Tokenizer) -> None:
    for seed in range(4):
        events = list(generate(model, tokenizer, PROMPT, 24, temperature=1.5, seed=seed))
        ids = [e.token_id for e in events if e.finish_reason != "eos"]
        if events[-1].finish_reason == "repetition":  # the loop's third occurrence is cut
            decoder = tokenizer.stream_decoder()
            expected = "".join(decoder.push(i) for i in ids[:-LOOP_NGRAM])
        else:
            expected = tokenizer.decode(ids)
        assert "".join(e.text for e in events) == expected
        assert events[-1].finish_reason in ("eos", "length", "repetition")
        assert all(e.finish_reason is None for e in events[:-1])


def test_stop_strings_end_the_stream_and_are_not_emitted(model: LlamaForCausalLM,
                                                         tokenizer: Tokenizer) -> None:
    text, reason = _run(model, tokenizer, 24, **NO_LOOPS)
    assert reason == "length" and len(text) >= 8
    stop = text[5:8]
    cut = text.find(stop)
    stopped, reason = _run(model, tokenizer, 24, stop=[stop, "never-appears"], **NO_LOOPS)
    assert (stopped, reason) == (text[:cut], "stop")
    # A stop string split across many tokens is still caught, and text before it released.
    events = list(generate(model, tokenizer, PROMPT, 24, stop=[text[2:9]], **NO_LOOPS))
    assert "".join(e.text for e in events) == text[:text.find(text[2:9])]
    assert events[-1].finish_reason == "stop"


def _run(model: LlamaForCausalLM, tokenizer: Tokenizer, n: int, **kw: Any) -> tuple[str, str]:
    events = list(generate(model, tokenizer, PROMPT, n, **kw))
    return "".join(e.text for e in events), events[-1].finish_reason or ""


def test_top_p_with_a_seed_is_reproducible(model: LlamaForCausalLM,
                                           tokenizer: Tokenizer) -> None:
    def ids(seed: int, top_p: float = 0.9) -> list[int]:
        return [e.token_id for e in generate(model, tokenizer, PROMPT, 20, temperature=1.0,
                                             top_p=top_p, seed=seed)]

    assert ids(7) == ids(7)
    assert len({tuple(ids(s)) for s in range(4)}) > 1
    greedy = [e.token_id for e in generate(model, tokenizer, PROMPT, 20)]
    assert ids(3, top_p=1e-9) == greedy  # a nucleus of one token is greedy


class _EndsAfter:
    """Wraps a model so that its `n`-th generated token is EOS."""

    def __init__(self, inner: LlamaForCausalLM, eos: int, n: int) -> None:
        self.inner, self.eos, self.n, self.calls = inner, eos, n, 0

    def forward(self, input_ids: Tensor, positions: Tensor | None = None,
                cache: KVCache | None = None, num_logits: int | None = None) -> Tensor:
        logits = self.inner.forward(input_ids, positions, cache, num_logits)
        self.calls += 1
        if self.calls == self.n:
            logits[:, -1, self.eos] = 1e9
        return logits

    def new_cache(self, batch_size: int, max_len: int) -> KVCache:
        return self.inner.new_cache(batch_size, max_len)

    def parameters(self) -> Iterator[torch.nn.Parameter]:
        return self.inner.parameters()


def test_eos_ends_the_stream_without_its_text(model: LlamaForCausalLM,
                                              tokenizer: Tokenizer) -> None:
    events = list(generate(_EndsAfter(model, tokenizer.eos_id, 5), tokenizer, PROMPT, 50))
    assert len(events) == 5
    assert events[-1] == TokenEvent(tokenizer.eos_id, events[-1].text, "eos")
    assert "<|eos|>" not in "".join(e.text for e in events)


def test_generate_text_and_argument_checks(model: LlamaForCausalLM,
                                           tokenizer: Tokenizer) -> None:
    text, reason = generate_text(model, tokenizer, "Hello ", 10)
    assert reason == "length" and text == _run(model, tokenizer, 10)[0]
    with pytest.raises(ValueError, match="prompt"):
        next(generate(model, tokenizer, [], 4))
    with pytest.raises(ValueError, match="stop"):
        next(generate(model, tokenizer, PROMPT, 4, stop=[""]))
    with pytest.raises(ValueError, match="top_p"):
        next(generate(model, tokenizer, PROMPT, 4, top_p=0.0))


class _Recording:
    """Wraps a model and keeps the logits of every forward call."""

    def __init__(self, inner: LlamaForCausalLM) -> None:
        self.inner = inner
        self.logits: list[Tensor] = []

    def forward(self, input_ids: Tensor, positions: Tensor | None = None,
                cache: KVCache | None = None, num_logits: int | None = None) -> Tensor:
        logits = self.inner.forward(input_ids, positions, cache, num_logits)
        self.logits.append(logits.clone())
        return logits

    def new_cache(self, batch_size: int, max_len: int) -> KVCache:
        return self.inner.new_cache(batch_size, max_len)

    def parameters(self) -> Iterator[torch.nn.Parameter]:
        return self.inner.parameters()


def test_prefill_progress_is_reported_per_chunk_and_changes_nothing(
        model: LlamaForCausalLM, tokenizer: Tokenizer) -> None:
    prompt = [(7 * i + 3) % 256 for i in range(PREFILL_CHUNK * 2 + 100)]
    whole, chunked = _Recording(model), _Recording(model)
    expected = [e.token_id for e in generate(whole, tokenizer, prompt, 6)]
    reports: list[tuple[int, int]] = []
    got = [e.token_id for e in generate(chunked, tokenizer, prompt, 6,
                                        on_prefill=lambda d, t: reports.append((d, t)))]
    n = len(prompt)
    assert reports == [(PREFILL_CHUNK, n), (2 * PREFILL_CHUNK, n), (n, n)]  # implied chunks
    assert got == expected
    assert len(chunked.logits) == len(whole.logits) + 2
    # The logits after the last chunk are those of the whole prompt at once.
    assert torch.allclose(chunked.logits[2], whole.logits[0], atol=1e-5)
    steps = zip(chunked.logits[3:], whole.logits[1:], strict=True)
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in steps)
    # An explicit chunk size is kept; the stream itself only ever holds tokens.
    reports.clear()
    events = list(generate(model, tokenizer, PROMPT, 3, prefill_chunk=4,
                           on_prefill=lambda d, t: reports.append((d, t))))
    assert reports == [(4, 6), (6, 6)] and all(isinstance(e, TokenEvent) for e in events)
    # `generate_events` puts the same progress in the stream, before the first token.
    kinds = [type(e) for e in generate_events(model, tokenizer, PROMPT, 2, prefill_chunk=4)]
    assert kinds == [PrefillEvent, PrefillEvent, TokenEvent, TokenEvent]
    with pytest.raises(ValueError, match="prefill_chunk"):
        next(generate(model, tokenizer, PROMPT, 4, prefill_chunk=0, on_prefill=print))


def test_top_p_filter_keeps_the_nucleus() -> None:
    logits = torch.log(torch.tensor([[0.2, 0.5, 0.3]]))
    assert torch.isinf(top_p_filter(logits, 0.6)).tolist() == [[True, False, False]]
    assert torch.isinf(top_p_filter(logits, 0.85)).tolist() == [[False, False, False]]
    assert torch.isinf(top_p_filter(logits, 0.5)).tolist() == [[True, False, True]]
    assert sample(logits, SamplingParams()).tolist() == [1]
    gen = torch.Generator().manual_seed(0)
    draws = {int(sample(logits, SamplingParams(1.0, 0.6), gen)) for _ in range(50)}
    assert draws == {1, 2}


# -- DeepSeek V4 ---------------------------------------------------------------------------

V4_PROMPT = list(b"def add(a, b): return")  # 21 byte tokens


@pytest.fixture(scope="module")
def v4_model() -> DeepseekV4ForCausalLM:
    return tiny_v4()


def _argmax_continuation(model: torch.nn.Module, prompt: list[int], n: int, eos: int
                         ) -> list[int]:
    """Greedy tokens from repeated full prefills (no cache), stopping before EOS."""
    ids = list(prompt)
    with torch.no_grad():
        for _ in range(n):
            nxt = int(model(torch.tensor([ids]))[0, -1].argmax())
            if nxt == eos:
                break
            ids.append(nxt)
    return ids[len(prompt):]


def _greedy(model: torch.nn.Module, tokenizer: Tokenizer, n: int, **kw: Any) -> list[int]:
    return [e.token_id for e in generate(model, tokenizer, V4_PROMPT, n, **kw)
            if e.finish_reason != "eos"]


def test_v4_greedy_equals_argmax_of_repeated_full_prefills(v4_model: DeepseekV4ForCausalLM,
                                                           tokenizer: Tokenizer) -> None:
    expected = _argmax_continuation(v4_model, V4_PROMPT, 8, tokenizer.eos_id)
    assert len(expected) == 8 and len(set(expected)) > 1  # a real, varied continuation
    assert _greedy(v4_model, tokenizer, 8) == expected
    # Chunk edges inside compressor windows (5), and one token at a time (1).
    assert _greedy(v4_model, tokenizer, 8, prefill_chunk=5) == expected
    assert _greedy(v4_model, tokenizer, 8, prefill_chunk=1) == expected


def test_v4_checkpoint_loads_and_generates_end_to_end(v4_model: DeepseekV4ForCausalLM,
                                                      tokenizer: Tokenizer,
                                                      tmp_path: Path) -> None:
    directory = save_reference_checkpoint(tmp_path / "v4", random_v4_weights(), V4_CONFIG)
    loaded = load_model(directory)
    assert isinstance(loaded, DeepseekV4ForCausalLM) and not loaded.training
    events = list(generate(loaded, tokenizer, V4_PROMPT, 8))
    assert [e.token_id for e in events] == _greedy(v4_model, tokenizer, 8)
    assert events[-1].finish_reason == "length"
    assert "".join(e.text for e in events) == tokenizer.decode([e.token_id for e in events])
