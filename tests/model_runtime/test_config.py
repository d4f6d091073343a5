"""config.json parsing: the three V4 spellings, V4.1 Engram keys, llama, and bad configs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from model_runtime.config import (
    CSA,
    HCA,
    SLIDING,
    ConfigError,
    DeepseekV4Config,
    LlamaConfig,
    load_config,
    parse_config,
)

# The config.json published with DeepSeek-V4-Flash (hub spelling), transcribed.
HUB_CONFIG: dict[str, Any] = {
    "architectures": ["DeepseekV4ForCausalLM"], "attention_bias": False,
    "attention_dropout": 0.0, "bos_token_id": 0, "eos_token_id": 1, "expert_dtype": "fp4",
    "hc_eps": 1e-06, "hc_mult": 4, "hc_sinkhorn_iters": 20, "head_dim": 512,
    "hidden_act": "silu", "hidden_size": 4096, "index_head_dim": 128, "index_n_heads": 64,
    "index_topk": 512, "initializer_range": 0.02, "max_position_embeddings": 1048576,
    "model_type": "deepseek_v4", "moe_intermediate_size": 2048, "n_routed_experts": 256,
    "n_shared_experts": 1, "norm_topk_prob": True, "num_attention_heads": 64,
    "num_experts_per_tok": 6, "num_hidden_layers": 43, "num_hash_layers": 3,
    "num_key_value_heads": 1, "num_nextn_predict_layers": 1, "o_groups": 8, "o_lora_rank": 1024,
    "q_lora_rank": 1024, "qk_rope_head_dim": 64,
    "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                            "scale_fmt": "ue8m0", "weight_block_size": [128, 128]},
    "rms_norm_eps": 1e-06,
    "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 16,
                     "original_max_position_embeddings": 65536, "type": "yarn"},
    "rope_theta": 10000, "routed_scaling_factor": 1.5, "scoring_func": "sqrtsoftplus",
    "sliding_window": 128, "swiglu_limit": 10.0, "tie_word_embeddings": False,
    "topk_method": "noaux_tc", "torch_dtype": "bfloat16", "transformers_version": "4.57.1",
    "use_cache": True, "vocab_size": 129280, "compress_rope_theta": 160000,
    "compress_ratios": [0, 0] + [4, 128] * 20 + [4, 0],
}


def test_hub_spelling() -> None:
    config = parse_config(HUB_CONFIG)
    assert isinstance(config, DeepseekV4Config)
    assert config.num_layers == 43 and config.rope_head_dim == 64
    assert config.layer_types[:4] == (SLIDING, SLIDING, CSA, HCA)
    assert config.layer_types[-1] == CSA
    assert config.compress_ratios[:4] == (0, 0, 4, 128)
    assert config.mtp_compress_ratios == (0,)
    assert config.mlp_layer_types[:4] == ("hash_moe",) * 3 + ("moe",)
    assert config.yarn is not None and config.yarn.factor == 16
    assert config.yarn.original_max_position_embeddings == 65536
    assert config.compress_rope_theta == 160000 and config.rope_theta == 10000
    assert config.quantization is not None
    assert config.quantization.scale_fmt == "ue8m0" and config.quantization.expert_dtype == "fp4"
    assert config.torch_dtype == "bfloat16" and config.num_mtp_layers == 1


def test_hub_spelling_agrees_with_transformers() -> None:
    from transformers import DeepseekV4Config as HFConfig

    theirs = HFConfig(**{k: v for k, v in HUB_CONFIG.items() if k != "model_type"})
    ours = parse_config(HUB_CONFIG)
    assert list(ours.layer_types) == theirs.layer_types
    assert list(ours.mlp_layer_types) == theirs.mlp_layer_types
    assert ours.rope_head_dim == theirs.qk_rope_head_dim
    compress = theirs.rope_parameters["compress"]
    assert (ours.yarn.factor, ours.compress_rope_theta) == (compress["factor"],
                                                            compress["rope_theta"])


def test_hf_spelling_written_by_transformers(tmp_path: Path) -> None:
    from transformers import DeepseekV4Config as HFConfig

    HFConfig(
        num_hidden_layers=3, hidden_size=64, head_dim=32, partial_rotary_factor=0.25,
        layer_types=[SLIDING, CSA, HCA], mlp_layer_types=["hash_moe", "moe", "moe"],
        compress_rates={CSA: 4, HCA: 16}, num_nextn_predict_layers=0,
        rope_parameters={"rope_type": "yarn", "factor": 4.0,
                         "original_max_position_embeddings": 64},
    ).save_pretrained(tmp_path)
    config = load_config(tmp_path)
    assert config.layer_types == (SLIDING, CSA, HCA)
    assert config.compress_ratios == (0, 4, 16)
    assert config.rope_head_dim == 8
    assert config.yarn is not None and config.yarn.factor == 4.0
    assert config.num_mtp_layers == 0


def test_reference_modelargs_spelling_and_engram_keys() -> None:
    raw = {
        "vocab_size": 1000, "dim": 64, "moe_inter_dim": 32, "n_layers": 4, "n_hash_layers": 2,
        "n_heads": 4, "n_routed_experts": 8, "n_activated_experts": 2, "score_func": "softmax",
        "head_dim": 32, "rope_head_dim": 16, "window_size": 64, "compress_ratios": [0, 4, 128, 0],
        "original_seq_len": 4096, "rope_factor": 16, "dtype": "fp8", "scale_fmt": "ue8m0",
        "engram_layer_ids": [1, 3], "engram_num_embeddings": [5000, 5000],
        "engram_max_ngram_size": 3, "engram_n_heads": 2, "engram_head_dim": 8,
        "engram_vocab_size": [700, 900], "engram_pad_token_id": 2,
    }
    config = parse_config(raw)
    assert config.layer_types == (SLIDING, CSA, HCA, SLIDING)
    assert config.mlp_layer_types == ("hash_moe", "hash_moe", "moe", "moe")
    assert config.norm_topk_prob is False  # the reference renormalises only non-softmax scores
    assert config.yarn is not None and config.yarn.original_max_position_embeddings == 4096
    assert config.engram is not None
    assert config.engram.layer_ids == (1, 3) and config.engram.ngram_vocab_sizes == (700, 900)
    assert config.num_mtp_layers == 1 and config.mtp_compress_ratios == ()


def test_llama(tmp_path: Path) -> None:
    raw = {
        "model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 576,
        "intermediate_size": 1536, "num_hidden_layers": 30, "num_attention_heads": 9,
        "num_key_value_heads": 3, "rms_norm_eps": 1e-5, "rope_theta": 100000,
        "vocab_size": 49152, "tie_word_embeddings": True, "max_position_embeddings": 8192,
        "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu", "torch_dtype": "bfloat16",
    }
    (tmp_path / "config.json").write_text(json.dumps(raw))
    config = load_config(tmp_path)
    assert isinstance(config, LlamaConfig)
    assert (config.head_dim, config.num_kv_heads, config.tie_word_embeddings) == (64, 3, True)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"frobnicate": 1}, "frobnicate"),
        ({"layer_types": [SLIDING] * 42}, "layer_types"),
        ({"layer_types": [SLIDING] * 43}, "compress_ratios"),
        ({"mlp_layer_types": ["moe"] * 43}, "num_hash_layers"),
        ({"partial_rotary_factor": 0.25}, "partial_rotary_factor"),
        ({"compress_ratios": [0, 0, 4, 64] + [4, 128] * 19 + [4]}, "compress_ratios"),
        ({"compress_ratios": [0, 4]}, "compress_ratios"),
        ({"num_key_value_heads": 8}, "num_key_value_heads"),
        ({"scoring_func": "relu"}, "scoring_func"),
        ({"o_groups": 7}, "o_groups"),
        ({"num_hidden_layers": "many"}, "num_hidden_layers"),
        ({"rope_parameters": {"rope_type": "yarn", "factor": 2}}, "rope_scaling"),
        ({"rope_scaling": {"type": "dynamic", "factor": 2.0}}, "rope_scaling"),
        ({"quantization_config": {"quant_method": "gptq"}}, "quantization_config"),
        ({"engram_layer_ids": [1, 99], "engram_num_embeddings": [1, 1],
          "engram_vocab_size": 100}, "engram_layer_ids"),
    ],
)
def test_bad_keys_are_named(change: dict[str, Any], key: str, tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({**HUB_CONFIG, **change}))
    with pytest.raises(ConfigError, match=f"config.json: key '{key}'"):
        load_config(tmp_path)


def test_unknown_model_type_and_bad_json(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"model_type": "gpt2"}')
    with pytest.raises(ConfigError, match="'model_type'"):
        load_config(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(tmp_path)
    with pytest.raises(ConfigError, match="no config.json"):
        load_config(tmp_path / "absent")
