"""DeepSeek V4 ``config.json`` in the spelling of DeepSeek's reference inference code.

``inference/config.json`` next to the reference ``model.py`` has no ``model_type``; its keys
are ``ModelArgs`` fields: ``dim``, ``n_layers``, ``n_heads``, ``window_size``,
``compress_ratios``, ``n_hash_layers``, ``rope_factor``, ``dtype`` (``bf16``/``fp8``), ...
"""

from __future__ import annotations

from model_runtime.config.engram import read_engram
from model_runtime.config.reader import ConfigReader
from model_runtime.config.v4 import (
    CSA,
    HASH_MOE,
    HCA,
    MOE,
    SLIDING,
    DeepseekV4Config,
    QuantizationConfig,
    YarnScaling,
    read_shared_v4,
    validate_v4,
)


def read_v4_reference(r: ConfigReader) -> DeepseekV4Config:
    """The V4 config of a reference ``ModelArgs`` mapping (``dim``, ``n_layers``, ...).

    Raises:
        ConfigError: unknown keys or unusable values.
    """
    n = r.get("n_layers", int)
    ratios = r.int_list("compress_ratios") or (0,) * n
    if len(ratios) < n:
        raise r.error("compress_ratios", f"has {len(ratios)} entries for {n} layers")
    csa_ratio = 4  # the reference overlaps windows (and indexes) exactly when ratio == 4
    types = tuple(SLIDING if x == 0 else CSA if x == csa_ratio else HCA for x in ratios[:n])
    n_hash = r.get("n_hash_layers", int, 0)
    original = r.get("original_seq_len", int, 0)
    factor = r.get("rope_factor", float, 40.0)
    yarn = (
        YarnScaling(
            factor=factor,
            original_max_position_embeddings=original,
            beta_fast=r.get("beta_fast", float, 32.0),
            beta_slow=r.get("beta_slow", float, 1.0),
        )
        if original > 0
        else None
    )
    for key in ("beta_fast", "beta_slow", "max_batch_size", "max_seq_len", "scale_dtype"):
        r.used.add(key)
    weights_dtype = r.get("dtype", str, "bf16")
    if weights_dtype not in ("bf16", "fp8"):
        raise r.error("dtype", f"expected 'bf16' or 'fp8', got {weights_dtype!r}")
    scale_fmt = r.get("scale_fmt", str, None)
    expert_dtype = r.get("expert_dtype", str, None)
    quantization = (
        QuantizationConfig(scale_fmt=scale_fmt, expert_dtype=expert_dtype)
        if weights_dtype == "fp8" or expert_dtype == "fp4"
        else None
    )
    score_func = r.get("score_func", str, "sqrtsoftplus")
    config = DeepseekV4Config(
        vocab_size=r.get("vocab_size", int, 129280),
        hidden_size=r.get("dim", int),
        num_layers=n,
        num_heads=r.get("n_heads", int),
        head_dim=r.get("head_dim", int, 512),
        rope_head_dim=r.get("rope_head_dim", int, 64),
        q_lora_rank=r.get("q_lora_rank", int, 1024),
        o_groups=r.get("o_groups", int, 8),
        o_lora_rank=r.get("o_lora_rank", int, 1024),
        sliding_window=r.get("window_size", int, 128),
        layer_types=types,
        compress_ratios=tuple(ratios[:n]),
        mlp_layer_types=tuple(HASH_MOE if i < n_hash else MOE for i in range(n)),
        moe_intermediate_size=r.get("moe_inter_dim", int),
        n_routed_experts=r.get("n_routed_experts", int),
        n_shared_experts=r.get("n_shared_experts", int, 1),
        num_experts_per_tok=r.get("n_activated_experts", int),
        scoring_func=score_func,
        norm_topk_prob=score_func != "softmax",
        routed_scaling_factor=r.get("route_scale", float, 1.0),
        swiglu_limit=r.get("swiglu_limit", float, 0.0),
        rope_theta=r.get("rope_theta", float, 10000.0),
        compress_rope_theta=r.get("compress_rope_theta", float, 40000.0),
        yarn=yarn,
        **read_shared_v4(r),
        rms_norm_eps=r.get("norm_eps", float, 1e-6),
        num_mtp_layers=r.get("n_mtp_layers", int, 1),
        mtp_compress_ratios=tuple(ratios[n:]),
        quantization=quantization,
        engram=read_engram(r),
    )
    r.reject_unknown(frozenset({"rope_factor"}))
    return validate_v4(config, r)
