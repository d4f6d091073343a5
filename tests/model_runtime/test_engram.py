"""Engram (V4.1): hashing and gate against direct formulas, and a tiny V4.1 model end to end."""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from tokenizers.models import WordLevel

from model_runtime import load_model
from model_runtime.config import EngramConfig, parse_config
from model_runtime.models.deepseek_v4 import DeepseekV4ForCausalLM
from model_runtime.models.engram import (
    Engram,
    HashLayout,
    build_compressed_vocab,
    is_prime,
    ngram_hashes,
)
from tests.model_runtime.v4_checkpoints import save_reference_checkpoint

ENGRAM = EngramConfig(
    layer_ids=(1, 2), num_embeddings=(0, 0), max_ngram_size=3, n_heads=2, head_dim=4,
    ngram_vocab_sizes=(50, 70), compressed_vocab_size=17, pad_token_id=2, kernel_size=3, seed=5,
)


def test_hash_layout_is_deterministic_with_distinct_primes_and_odd_multipliers() -> None:
    layout = HashLayout.build(ENGRAM, compressed_vocab_size=17)
    assert layout == HashLayout.build(ENGRAM, compressed_vocab_size=17)
    primes = [p for layer in (1, 2) for order in layout.primes[layer] for p in order]
    assert len(set(primes)) == len(primes) == 2 * 2 * 2 and all(map(is_prime, primes))
    assert layout.primes[1][0][0] == 53 and layout.primes[1][1][0] == 71  # next primes >= 50, 70
    for layer in (1, 2):
        assert len(layout.multipliers[layer]) == 3
        assert all(m % 2 == 1 for m in layout.multipliers[layer])
    assert layout.multipliers[1] != layout.multipliers[2]


def test_hashes_match_the_direct_formula() -> None:
    layout = HashLayout.build(ENGRAM, compressed_vocab_size=17)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 17, (2, 9), generator=g)
    pad = 3
    history = torch.full((2, 2), pad)
    mult, primes = layout.multipliers[2], layout.primes[2]
    got = ngram_hashes(ids, history, mult, primes)
    for b in range(2):
        for t in range(9):
            column = 0
            for n in (2, 3):
                mix = 0
                for k in range(n):
                    token = int(ids[b, t - k]) if t - k >= 0 else pad
                    mix ^= token * mult[k]
                for p in primes[n - 2]:
                    assert int(got[b, t, column]) == mix % p
                    column += 1
    # a later chunk hashed with the earlier tokens as history gives the same ids
    tail = ngram_hashes(ids[:, 5:], ids[:, 3:5], mult, primes)
    assert torch.equal(tail, got[:, 5:])


def test_compressed_vocab_merges_tokens_with_equal_normalised_text() -> None:
    tokens = ["Hello", "hello", " hello", "HÉLLO", "\ufffd", "x", " ", "  ", "Ｘ"]
    lookup, size = build_compressed_vocab(
        lambda t: tokens[t], lambda t: f"<raw{t}>", len(tokens)
    )
    assert lookup.tolist() == [0, 0, 0, 0, 1, 2, 3, 3, 2]
    assert size == 4


def _tiny_v41_config(num_embeddings: tuple[int, int]) -> dict:
    return {
        "vocab_size": 64, "dim": 32, "moe_inter_dim": 32, "n_layers": 3, "n_hash_layers": 0,
        "n_mtp_layers": 0, "n_heads": 2, "n_routed_experts": 4, "n_activated_experts": 2,
        "route_scale": 1.5, "swiglu_limit": 10.0, "q_lora_rank": 16, "head_dim": 16,
        "rope_head_dim": 8, "o_groups": 2, "o_lora_rank": 8, "window_size": 8,
        "compress_ratios": [4, 0, 8], "index_n_heads": 16, "index_head_dim": 8, "index_topk": 4,
        "hc_mult": 2, "dtype": "bf16",
        "engram_layer_ids": [1, 2], "engram_num_embeddings": list(num_embeddings),
        "engram_max_ngram_size": 3, "engram_n_heads": 2, "engram_head_dim": 4,
        "engram_vocab_size": [50, 70], "engram_compressed_vocab_size": 17,
        "engram_pad_token_id": 2, "engram_kernel_size": 3, "engram_seed": 5,
    }


def _layout_rows() -> tuple[int, int]:
    layout = HashLayout.build(ENGRAM, compressed_vocab_size=17)
    return layout.table_rows(1), layout.table_rows(2)


def test_gate_and_convolution_match_their_formulas() -> None:
    config = parse_config(_tiny_v41_config(_layout_rows()))
    layout = HashLayout.build(config.engram, 17)
    torch.manual_seed(0)
    engram = Engram(config, 1, layout)
    with torch.no_grad():
        for p in engram.parameters():
            p.normal_(0, 0.3)
    x = torch.randn(1, 7, 2, 32)
    memory = torch.randn(1, 7, 2 * 2 * 4)
    with torch.no_grad():
        out = engram(x, memory, None)

    def rms(v: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return v * torch.rsqrt(v.pow(2).mean(-1, keepdim=True) + 1e-6) * w

    value = torch.empty(1, 7, 2, 32)
    for s in range(2):
        key = rms(memory @ engram.key_projs[s].weight.T, engram.norm1[s].weight)
        query = rms(x[:, :, s], engram.norm2[s].weight)
        g = (key * query).sum(-1) / math.sqrt(32)
        gate = torch.sigmoid(torch.sign(g) * g.abs().clamp_min(1e-6).sqrt())
        value[:, :, s] = gate.unsqueeze(-1) * (memory @ engram.value_proj.weight.T)
    normed = torch.cat([rms(value[:, :, s], engram.conv_norms[s].weight) for s in range(2)], -1)
    conv = torch.zeros_like(normed)
    for t in range(7):
        for j in range(3):  # taps at t, t-3, t-6 (dilation = max n-gram size)
            src = t - (2 - j) * 3
            if src >= 0:
                conv[:, t] += engram.conv[:, 0, j] * normed[:, src]
    expected = x + value + F.silu(conv).view(1, 7, 2, 32)
    assert torch.allclose(out, expected, atol=1e-5)


def _checkpoint(directory: Path, with_vocab: bool) -> Path:
    config = _tiny_v41_config(_layout_rows())
    torch.manual_seed(1)
    with torch.device("meta"):
        shapes = DeepseekV4ForCausalLM(parse_config(config)).state_dict()
    tensors = {}
    for name, meta in shapes.items():
        if name == "engram_vocab":
            tensors[name] = torch.arange(64) % 17
        elif name.endswith("norm.weight") or ".norm" in name:
            tensors[name] = 1 + 0.1 * torch.randn(meta.shape)
        elif name.endswith(".engram.table"):
            tensors[name] = torch.randn(meta.shape).to(torch.bfloat16)
        else:
            tensors[name] = 0.3 * torch.randn(meta.shape)
    if not with_vocab:  # the loader derives it from the tokenizer instead
        del tensors["engram_vocab"]
        variants = ("w{}", "W{}", "\u1e83{}", "\u1e82{}")  # w, W, w-acute, W-acute
        vocab = {variants[i // 17].format(i % 17): i for i in range(64)}
        directory.mkdir(parents=True)
        Tokenizer(WordLevel(vocab, unk_token="w0")).save(str(directory / "tokenizer.json"))
    return save_reference_checkpoint(directory, tensors, config)


def test_tiny_v41_model_runs_and_decodes_like_prefill(tmp_path: Path) -> None:
    directory = _checkpoint(tmp_path / "v41", with_vocab=True)
    model = load_model(directory)
    table = model.layers[1].engram.table
    assert table.dtype == torch.bfloat16  # kept as stored, memory-mapped, rows gathered on use
    ids = torch.randint(0, 64, (2, 70), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        full = model(ids)
        cache = model.new_cache(batch_size=2, max_len=70)
        pieces = [model(ids[:, :23], cache=cache)]
        pieces += [model(ids[:, t : t + 1], cache=cache) for t in range(23, 40)]
        pieces.append(model(ids[:, 40:], cache=cache))
    assert torch.isfinite(full).all()
    assert (torch.cat(pieces, 1) - full).abs().max().item() <= 1e-4


def test_compressed_vocab_is_built_from_the_tokenizer_when_absent(tmp_path: Path) -> None:
    stored = load_model(_checkpoint(tmp_path / "stored", with_vocab=True))
    built = load_model(_checkpoint(tmp_path / "built", with_vocab=False))
    assert torch.equal(built.engram_vocab, torch.arange(64) % 17)
    ids = torch.randint(0, 64, (1, 30), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        assert torch.equal(built(ids), stored(ids))
