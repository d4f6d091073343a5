"""generate() and sampling on a tiny random llama with a byte-level tokenizer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import tokenizers
import torch
from tokenizers import AddedToken, decoders, models, pre_tokenizers
from torch import Tensor

from model_runtime.generate import TokenEvent, generate, generate_text
from model_runtime.models.llama import KVCache, LlamaConfig, LlamaForCausalLM
from model_runtime.sampling import SamplingParams, sample, top_p_filter
from model_runtime.tokenizer import Tokenizer

EOS = "<|eos|>"


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    """Byte-level: ids 0..255 are single bytes (random ids make broken UTF-8), 256 is EOS."""
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    byte_chars = sorted(alphabet, key=lambda c: _byte_of(c))
    backend = tokenizers.Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(byte_chars)},
                                              merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens([AddedToken(EOS, special=True)])
    return Tokenizer(backend, bos_token=None, eos_token=EOS)


def _byte_of(char: str) -> int:
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    return {v: k for k, v in bytes_to_unicode().items()}[char]


@pytest.fixture(scope="module")
def model() -> LlamaForCausalLM:
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=257, hidden_size=64, intermediate_size=128,
                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      rope_theta=10000.0)
    m = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():  # tied N(0, 1) embeddings make near one-hot logits; soften them
        m.lm_head.weight.mul_(0.2)
    return m


PROMPT = [72, 101, 108, 108, 111, 32]  # "Hello "


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
    expected = ids[len(PROMPT):]
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
        assert "".join(e.text for e in events) == tokenizer.decode(ids)
        assert events[-1].finish_reason in ("eos", "length")
        assert all(e.finish_reason is None for e in events[:-1])


def test_stop_strings_end_the_stream_and_are_not_emitted(model: LlamaForCausalLM,
                                                         tokenizer: Tokenizer) -> None:
    text, reason = _run(model, tokenizer, 24)
    assert reason == "length" and len(text) >= 8
    stop = text[5:8]
    cut = text.find(stop)
    stopped, reason = _run(model, tokenizer, 24, stop=[stop, "never-appears"])
    assert (stopped, reason) == (text[:cut], "stop")
    # A stop string split across many tokens is still caught, and text before it released.
    events = list(generate(model, tokenizer, PROMPT, 24, stop=[text[2:9]]))
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
                cache: KVCache | None = None) -> Tensor:
        logits = self.inner.forward(input_ids, positions, cache)
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


def test_top_p_filter_keeps_the_nucleus() -> None:
    logits = torch.log(torch.tensor([[0.2, 0.5, 0.3]]))
    assert torch.isinf(top_p_filter(logits, 0.6)).tolist() == [[True, False, False]]
    assert torch.isinf(top_p_filter(logits, 0.85)).tolist() == [[False, False, False]]
    assert torch.isinf(top_p_filter(logits, 0.5)).tolist() == [[True, False, True]]
    assert sample(logits, SamplingParams()).tolist() == [1]
    gen = torch.Generator().manual_seed(0)
    draws = {int(sample(logits, SamplingParams(1.0, 0.6), gen)) for _ in range(50)}
    assert draws == {1, 2}
