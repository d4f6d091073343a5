"""DeepSeek V4 ``config.json`` in the Hugging Face and hub spellings (``model_type`` set).

* **Hugging Face** (what ``transformers`` 5.x ``save_pretrained`` writes): ``layer_types``,
  ``compress_rates``, ``mlp_layer_types``, ``rope_parameters`` (nested ``main``/``compress``).
* **Hub / legacy** (the ``config.json`` DeepSeek ships next to the weights): the same
  model_type with ``compress_ratios`` (one int per layer, MTP layers appended),
  ``num_hash_layers``, ``qk_rope_head_dim`` and ``rope_scaling`` (YaRN).

A config may mix the two as long as they agree; where they contradict each other the
error names the key.
"""

from __future__ import annotations

from typing import Any

from model_runtime.config.engram import read_engram
from model_runtime.config.reader import ConfigReader
from model_runtime.config.v4 import (
    CSA,
    HASH_MOE,
    HCA,
    LAYER_TYPES,
    MLP_LAYER_TYPES,
    MOE,
    SLIDING,
    DeepseekV4Config,
    QuantizationConfig,
    YarnScaling,
    read_shared_v4,
    validate_v4,
)


def read_v4_hf(r: ConfigReader) -> DeepseekV4Config:
    """The V4 config of a ``model_type: deepseek_v4`` mapping (either spelling).

    Raises:
        ConfigError: unknown keys, keys that contradict each other, unusable values.
    """
    n = r.get("num_hidden_layers", int, 43)
    head_dim = r.get("head_dim", int, 512)
    rope_head_dim = _rope_head_dim(r, head_dim)
    layer_types, compress_ratios, mtp_ratios = _layer_schedule(r, n)
    mlp_layer_types = _mlp_schedule(r, n)
    yarn = _yarn_hf(r)
    r.expect("num_key_value_heads", 1, "DeepSeek V4")
    r.expect("hidden_act", "silu", "DeepSeek V4")
    r.expect("attention_bias", False, "DeepSeek V4")
    r.expect("mlp_bias", False, "DeepSeek V4")
    config = DeepseekV4Config(
        vocab_size=r.get("vocab_size", int, 129280),
        hidden_size=r.get("hidden_size", int, 4096),
        num_layers=n,
        num_heads=r.get("num_attention_heads", int, 64),
        head_dim=head_dim,
        rope_head_dim=rope_head_dim,
        q_lora_rank=r.get("q_lora_rank", int, 1024),
        o_groups=r.get("o_groups", int, 8),
        o_lora_rank=r.get("o_lora_rank", int, 1024),
        sliding_window=r.get("sliding_window", int, 128),
        layer_types=layer_types,
        compress_ratios=compress_ratios,
        mlp_layer_types=mlp_layer_types,
        moe_intermediate_size=r.get("moe_intermediate_size", int, 2048),
        n_routed_experts=r.get("n_routed_experts", int, 256),
        n_shared_experts=r.get("n_shared_experts", int, 1),
        num_experts_per_tok=r.get("num_experts_per_tok", int, 6),
        scoring_func=r.get("scoring_func", str, "sqrtsoftplus"),
        norm_topk_prob=r.get("norm_topk_prob", bool, True),
        routed_scaling_factor=r.get("routed_scaling_factor", float, 1.5),
        swiglu_limit=r.get("swiglu_limit", float, 10.0),
        rope_theta=_main_rope_theta(r),
        compress_rope_theta=_compress_rope_theta(r),
        yarn=yarn,
        **read_shared_v4(r),
        rms_norm_eps=r.get("rms_norm_eps", float, 1e-6),
        num_mtp_layers=r.get("num_nextn_predict_layers", int, 1),
        mtp_compress_ratios=mtp_ratios,
        tie_word_embeddings=r.get("tie_word_embeddings", bool, False),
        max_position_embeddings=r.get("max_position_embeddings", int, 1 << 20),
        bos_token_id=r.bos(),
        eos_token_id=r.eos(),
        torch_dtype=r.torch_dtype(),
        quantization=_quantization(r),
        engram=read_engram(r),
    )
    r.reject_unknown()
    return validate_v4(config, r)


def _rope_head_dim(r: ConfigReader, head_dim: int) -> int:
    """Rope channels per head, from ``qk_rope_head_dim`` or ``partial_rotary_factor``."""
    by_dim = r.get("qk_rope_head_dim", int, None)
    factor = r.get("partial_rotary_factor", float, None)
    by_factor = None if factor is None else int(head_dim * factor)
    if by_dim is not None and by_factor is not None and by_dim != by_factor:
        raise r.error(
            "partial_rotary_factor",
            f"gives {by_factor} rope dims but qk_rope_head_dim says {by_dim}",
        )
    return by_dim if by_dim is not None else by_factor if by_factor is not None else 64


def _layer_schedule(
    r: ConfigReader, n: int
) -> tuple[tuple[str, ...], tuple[int, ...], tuple[int, ...]]:
    """(layer types, per-layer compress ratios, MTP ratios) from whichever keys are given."""
    rates = {CSA: 4, HCA: 128}
    if r.has("compress_rates"):
        r.used.add("compress_rates")
        given = r.raw["compress_rates"]
        if not isinstance(given, dict) or set(given) - {CSA, HCA}:
            raise r.error("compress_rates", f"expected keys among {(CSA, HCA)}: {given!r}")
        rates.update({k: int(v) for k, v in given.items()})
    for key, kind in (("compress_rate_csa", CSA), ("compress_rate_hca", HCA)):
        value = r.get(key, int, None)
        if value is not None:
            rates[kind] = value
    types = r.str_list("layer_types", LAYER_TYPES)
    ratios = r.int_list("compress_ratios")
    from_ratios = None
    if ratios is not None:
        if len(ratios) < n:
            raise r.error(
                "compress_ratios", f"has {len(ratios)} entries for {n} layers"
            )
        from_ratios = tuple(_type_of_ratio(r, ratio, rates) for ratio in ratios)
    if types is None:
        if from_ratios is not None:
            types = from_ratios[:n]
        else:  # the V4-Pro schedule: two HCA layers, then CSA / HCA interleaved
            tail = [CSA if i % 2 else HCA for i in range(max(n - 2, 0))]
            types = tuple([HCA] * min(n, 2) + tail)
    if len(types) != n:
        raise r.error("layer_types", f"has {len(types)} entries for {n} layers")
    if from_ratios is not None and from_ratios[:n] != types:
        raise r.error("compress_ratios", "contradicts layer_types")
    per_layer = tuple(0 if t == SLIDING else rates[t] for t in types)
    if ratios is not None and ratios[:n] != per_layer:
        raise r.error("compress_ratios", f"contradicts compress_rates {rates}")
    mtp = tuple(ratios[n:]) if ratios is not None else ()
    return types, per_layer, mtp


def _type_of_ratio(r: ConfigReader, ratio: int, rates: dict[str, int]) -> str:
    """The layer type a ``compress_ratios`` entry stands for."""
    if ratio == 0:
        return SLIDING
    if ratio == rates[CSA]:
        return CSA
    if ratio == rates[HCA]:
        return HCA
    raise r.error(
        "compress_ratios", f"ratio {ratio} is neither 0, {rates[CSA]} nor {rates[HCA]}"
    )


def _mlp_schedule(r: ConfigReader, n: int) -> tuple[str, ...]:
    """Per layer ``hash_moe`` or ``moe``, from ``mlp_layer_types`` or ``num_hash_layers``."""
    types = r.str_list("mlp_layer_types", MLP_LAYER_TYPES)
    n_hash = r.get("num_hash_layers", int, None)
    if types is not None:
        if len(types) != n:
            raise r.error("mlp_layer_types", f"has {len(types)} entries for {n} layers")
        if n_hash is not None and types.count(HASH_MOE) != min(n_hash, n):
            raise r.error("num_hash_layers", "contradicts mlp_layer_types")
        return types
    n_hash = 3 if n_hash is None else n_hash
    return tuple([HASH_MOE] * min(n, n_hash) + [MOE] * max(0, n - n_hash))


def _rope_parameters(r: ConfigReader) -> dict[str, Any] | None:
    """``rope_parameters`` (HF) or ``rope_scaling`` (hub), whichever is given."""
    if r.has("rope_parameters") and r.has("rope_scaling"):
        raise r.error("rope_scaling", "given together with rope_parameters")
    for key in ("rope_parameters", "rope_scaling"):
        r.used.add(key)
        if r.has(key):
            value = r.raw[key]
            if not isinstance(value, dict):
                raise r.error(key, f"expected an object, got {value!r}")
            return dict(value)
    return None


def _main_rope_theta(r: ConfigReader) -> float:
    """RoPE base of the sliding-window layers."""
    params = _rope_parameters(r) or {}
    theta = r.get("rope_theta", float, 10000.0)
    main = params.get("main")
    if isinstance(main, dict):
        if main.get("rope_type", "default") != "default":
            raise r.error("rope_parameters", "the 'main' rope must be of type 'default'")
        return float(main.get("rope_theta", theta))
    return theta


def _compress_rope_theta(r: ConfigReader) -> float:
    """RoPE base of the compressed (CSA/HCA) layers."""
    params = _rope_parameters(r) or {}
    theta = r.get("compress_rope_theta", float, 160000.0)
    compress = params.get("compress")
    if isinstance(compress, dict):
        return float(compress.get("rope_theta", theta))
    return theta


def _yarn_hf(r: ConfigReader) -> YarnScaling | None:
    """YaRN scaling of the compressed layers, or ``None`` for plain RoPE."""
    params = _rope_parameters(r)
    if params is None:
        return None
    key = "rope_parameters" if r.has("rope_parameters") else "rope_scaling"
    if isinstance(params.get("compress"), dict):
        params = params["compress"]
    rope_type = params.get("rope_type", params.get("type", "default"))
    if rope_type == "default":
        return None
    if rope_type != "yarn":
        raise r.error(key, f"unsupported rope type {rope_type!r} (V4 uses yarn)")
    known = {
        "rope_type", "type", "factor", "original_max_position_embeddings", "beta_fast",
        "beta_slow", "rope_theta", "partial_rotary_factor", "attention_factor", "truncate",
        "mscale", "mscale_all_dim",
    }
    unknown = sorted(set(params) - known)
    if unknown:
        raise r.error(key, f"unknown rope parameter {unknown[0]!r}")
    if params.get("attention_factor", 1.0) != 1.0 or params.get("truncate", True) is not True:
        raise r.error(key, "V4 uses attention_factor 1.0 and truncated correction ranges")
    if {params.get("mscale", 1.0), params.get("mscale_all_dim", 1.0)} - {None, 1.0}:
        raise r.error(key, "V4's YaRN does not rescale attention (mscale must be 1)")
    try:
        return YarnScaling(
            factor=float(params["factor"]),
            original_max_position_embeddings=int(params["original_max_position_embeddings"]),
            beta_fast=float(params.get("beta_fast") or 32),
            beta_slow=float(params.get("beta_slow") or 1),
        )
    except KeyError as exc:
        raise r.error(key, f"yarn needs {exc.args[0]!r}") from exc


def _quantization(r: ConfigReader) -> QuantizationConfig | None:
    """FP8/FP4 storage from ``quantization_config`` and ``expert_dtype``."""
    q = r.raw.get("quantization_config")
    expert_dtype = r.raw.get("expert_dtype")
    if q is None and expert_dtype is None:
        return None
    q = dict(q or {})
    expert_dtype = q.get("expert_dtype", expert_dtype)
    method = q.get("quant_method", "fp8")
    if method != "fp8":
        raise r.error("quantization_config", f"unsupported quant_method {method!r}")
    if q.get("fmt", "e4m3") != "e4m3":
        raise r.error("quantization_config", f"unsupported FP8 format {q.get('fmt')!r}")
    block = tuple(q.get("weight_block_size", (128, 128)))
    if len(block) != 2:
        raise r.error("quantization_config", f"weight_block_size needs 2 entries: {block}")
    scale_fmt = q.get("scale_fmt")
    if scale_fmt not in (None, "ue8m0"):
        raise r.error("quantization_config", f"unsupported scale_fmt {scale_fmt!r}")
    if expert_dtype not in (None, "fp4", "fp8"):
        raise r.error("expert_dtype", f"unsupported expert dtype {expert_dtype!r}")
    return QuantizationConfig(
        weight_block_size=(int(block[0]), int(block[1])),
        scale_fmt=scale_fmt,
        expert_dtype="fp4" if expert_dtype == "fp4" else None,
    )
