"""Tiny random llama and DeepSeek V4 models and a byte-level tokenizer, for tests of
generation and of the engine."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from model_runtime.config import CSA, HCA, SLIDING, EngramConfig, LlamaConfig, parse_config
from model_runtime.models.deepseek_v4 import DeepseekV4ForCausalLM
from model_runtime.models.engram import HashLayout
from model_runtime.models.llama import LlamaForCausalLM
from model_runtime.tokenizer import Tokenizer
from tests.model_runtime.looping import byte_tokenizer


def byte_of(char: str) -> int:
    """The byte a character of the byte-level alphabet stands for."""
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    return {v: k for k, v in bytes_to_unicode().items()}[char]


def tiny_tokenizer() -> Tokenizer:
    """Byte-level: ids 0..255 are single bytes (random ids make broken UTF-8), 256 is EOS."""
    return byte_tokenizer(order=byte_of)


def random_tokens(n: int, seed: int) -> list[int]:
    """`n` random byte ids (0..255), the same for the same seed."""
    return torch.randint(0, 256, (n,), generator=torch.Generator().manual_seed(seed)).tolist()


def tiny_llama(seed: int = 0, tied: bool = True) -> LlamaForCausalLM:
    """A random llama over `tiny_tokenizer`'s 257 ids (hidden 64, 2 layers, GQA 4/2 heads).

    Tied, its greedy output soon repeats its last token; untied (an N(0, 0.5) head) it
    wanders for a dozen tokens or more before it loops, which batching tests need.
    """
    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=257, hidden_size=64, intermediate_size=128, num_layers=2,
                      num_heads=4, num_kv_heads=2, head_dim=16, rope_theta=10000.0,
                      tie_word_embeddings=tied)
    model = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():
        if tied:  # tied N(0, 1) embeddings make near one-hot logits; soften them
            model.lm_head.weight.mul_(0.2)
        else:
            model.lm_head.weight.normal_(0.0, 0.5)
    return model


# Every attention type and both routings; a window of 8 and ratios 4 / 8, so a 20-token prompt
# plus 8 new tokens wraps the window and completes CSA and HCA blocks during decoding.
V4_CONFIG: dict[str, Any] = {
    "model_type": "deepseek_v4", "vocab_size": 257, "hidden_size": 32, "num_hidden_layers": 3,
    "layer_types": [SLIDING, CSA, HCA], "mlp_layer_types": ["hash_moe", "moe", "moe"],
    "compress_rates": {CSA: 4, HCA: 8}, "sliding_window": 8, "num_attention_heads": 2,
    "head_dim": 16, "partial_rotary_factor": 0.5, "q_lora_rank": 16, "o_groups": 2,
    "o_lora_rank": 8, "moe_intermediate_size": 16, "n_routed_experts": 4,
    "num_experts_per_tok": 2, "index_n_heads": 4, "index_head_dim": 16, "index_topk": 3,
    "hc_mult": 2, "num_nextn_predict_layers": 0, "eos_token_id": 256, "bos_token_id": None,
}
_ENGRAM = EngramConfig(layer_ids=(1, 2), num_embeddings=(0, 0), max_ngram_size=3, n_heads=2,
                       head_dim=4, ngram_vocab_sizes=(50, 70), compressed_vocab_size=17,
                       pad_token_id=2, kernel_size=3, seed=5)


def v4_config(engram: bool = False) -> dict[str, Any]:
    """`V4_CONFIG`, with V4.1 Engram memory on layers 1 and 2 when `engram`."""
    if not engram:
        return dict(V4_CONFIG)
    layout = HashLayout.build(_ENGRAM, _ENGRAM.compressed_vocab_size)
    return {**V4_CONFIG, "engram_layer_ids": [1, 2],
            "engram_num_embeddings": [layout.table_rows(1), layout.table_rows(2)],
            "engram_max_ngram_size": 3, "engram_n_heads": 2, "engram_head_dim": 4,
            "engram_vocab_size": [50, 70], "engram_compressed_vocab_size": 17,
            "engram_pad_token_id": 2, "engram_kernel_size": 3, "engram_seed": 5}


def random_v4_weights(config: dict[str, Any] | None = None, seed: int = 0) -> dict[str, Tensor]:
    """Reference-named random tensors for `config` (default `V4_CONFIG`; mHC, sinks,
    routing and Engram all active)."""
    config = config or V4_CONFIG
    generator = torch.Generator().manual_seed(seed)
    with torch.device("meta"):
        shapes = DeepseekV4ForCausalLM(parse_config(config)).state_dict()
    tensors = {}
    for name, meta in shapes.items():
        if name == "engram_vocab":  # token -> compressed id
            tensors[name] = torch.arange(meta.shape[0]) % config["engram_compressed_vocab_size"]
        elif meta.dtype == torch.long:  # hash routing: token -> experts
            tensors[name] = torch.randint(0, 4, tuple(meta.shape), generator=generator)
        elif name.endswith("norm.weight"):
            tensors[name] = 1 + 0.1 * torch.randn(meta.shape, generator=generator)
        else:
            tensors[name] = 0.3 * torch.randn(meta.shape, generator=generator)
    return tensors


def tiny_v4(engram: bool = False, seed: int = 0) -> DeepseekV4ForCausalLM:
    """A random `V4_CONFIG` model (with Engram when asked), fp32, in eval mode."""
    config = v4_config(engram)
    model = DeepseekV4ForCausalLM(parse_config(config)).eval()
    model.load_state_dict(random_v4_weights(config, seed))
    return model
