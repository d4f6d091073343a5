"""Tiny DeepSeek V4 checkpoints for tests, written by transformers or by our own writer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

CSA = "compressed_sparse_attention"
HCA = "heavily_compressed_attention"
SLIDING = "sliding_attention"

# Each config exercises every layer type; together they cover hash and top-k routing,
# sqrtsoftplus and sigmoid scores, YaRN and plain compressed RoPE, indexer top-k below and
# above the number of visible entries, and 2 or 4 hyper-connection streams. The indexer has
# 16 heads: an exact score tie at the top-k boundary (every head's ReLU zero) then has odds
# around 2**-16 per entry. We break such ties towards lower indices, transformers' topk
# arbitrarily, so a tie would be a legitimate difference rather than a bug.
TINY_CONFIGS: dict[str, dict[str, Any]] = {
    "yarn_hash_topk": {
        "layer_types": [SLIDING, CSA, HCA, CSA],
        "mlp_layer_types": ["hash_moe", "hash_moe", "moe", "moe"],
        "compress_rates": {CSA: 4, HCA: 16},
        "sliding_window": 16,
        "index_topk": 8,
        "rope_parameters": {
            "rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64,
            "beta_fast": 32, "beta_slow": 1,
        },
    },
    "plain_rope_sigmoid": {
        "layer_types": [HCA, CSA, SLIDING],
        "mlp_layer_types": ["hash_moe", "moe", "moe"],
        "compress_rates": {CSA: 4, HCA: 32},
        "sliding_window": 24,
        "index_topk": 128,  # more than the visible entries: every entry is selected
        "scoring_func": "sigmoid",
        "routed_scaling_factor": 2.5,
        "hc_mult": 2,
        "o_groups": 4,
        "num_experts_per_tok": 1,
    },
    "wide_heads": {
        "layer_types": [CSA, SLIDING, HCA],
        "mlp_layer_types": ["moe", "moe", "moe"],
        "compress_rates": {CSA: 4, HCA: 8},
        "sliding_window": 40,
        "index_topk": 16,
        "num_attention_heads": 8,
        "head_dim": 16,
        "partial_rotary_factor": 0.5,
        "n_routed_experts": 6,
        "num_experts_per_tok": 3,
        "rope_parameters": {
            "rope_type": "yarn", "factor": 8.0, "original_max_position_embeddings": 32,
            "beta_fast": 16, "beta_slow": 2,
        },
    },
}


def hf_config(name: str) -> Any:
    """transformers' ``DeepseekV4Config`` of one tiny test config."""
    from transformers import DeepseekV4Config

    settings = {
        "vocab_size": 512, "hidden_size": 64, "moe_intermediate_size": 32,
        "num_attention_heads": 4, "head_dim": 32, "q_lora_rank": 32, "n_routed_experts": 4,
        "num_experts_per_tok": 2, "o_groups": 2, "o_lora_rank": 16, "index_n_heads": 16,
        "index_head_dim": 16, "partial_rotary_factor": 0.25, "max_position_embeddings": 4096,
    }
    settings.update(TINY_CONFIGS[name])
    settings["num_hidden_layers"] = len(settings["layer_types"])
    return DeepseekV4Config(**settings)


def random_hf_model(name: str, seed: int = 0) -> Any:
    """A transformers ``DeepseekV4ForCausalLM`` with every weight and buffer randomised."""
    from transformers import DeepseekV4ForCausalLM

    torch.manual_seed(seed)
    config = hf_config(name)
    model = DeepseekV4ForCausalLM(config).eval()
    randomize_(model, config)
    return model


def randomize_(module: torch.nn.Module, config: Any) -> None:
    """Randomise every parameter of ``module`` and its routers' buffers, in place.

    Norm weights scatter around 1. Sinks, biases (``base``, ``position_bias``) and the
    LM head get a larger spread so they visibly matter; the selection bias is large
    enough to change which experts win, and hash routers get random expert tables.
    """
    from transformers.models.deepseek_v4.modeling_deepseek_v4 import (
        DeepseekV4HashRouter,
        DeepseekV4TopKRouter,
    )

    with torch.no_grad():
        for pname, param in module.named_parameters():
            if pname.endswith("norm.weight"):
                param.normal_(1.0, 0.1)
            else:
                wide = any(k in pname for k in ("sinks", "base", "position_bias", "lm_head"))
                param.normal_(0.0, 0.5 if wide else 0.15)
        for sub in module.modules():
            if isinstance(sub, DeepseekV4HashRouter):
                experts = config.n_routed_experts
                picks = [torch.randperm(experts)[: config.num_experts_per_tok]
                         for _ in range(config.vocab_size)]
                sub.tid2eid.copy_(torch.stack(picks))
            elif isinstance(sub, DeepseekV4TopKRouter):
                sub.e_score_correction_bias.normal_(0.0, 1.0)


def save_reference_checkpoint(
    directory: Path, tensors: dict[str, torch.Tensor], config: dict[str, Any]
) -> Path:
    """Write reference-named tensors and a config.json into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(directory / "model.safetensors"))
    (directory / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return directory
