"""The DeepSeek V4 configuration: every hyper-parameter of the forward pass, and its checks.

Both spellings of ``config.json`` (``v4_hf`` for Hugging Face / hub, ``v4_reference`` for
DeepSeek's reference ``ModelArgs``) produce a :class:`DeepseekV4Config` and pass it through
:func:`validate_v4`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from model_runtime.config.engram import EngramConfig
from model_runtime.config.reader import ConfigReader

SLIDING = "sliding_attention"
CSA = "compressed_sparse_attention"
HCA = "heavily_compressed_attention"
LAYER_TYPES = (SLIDING, CSA, HCA)
HASH_MOE = "hash_moe"
MOE = "moe"
MLP_LAYER_TYPES = (HASH_MOE, MOE)
SCORING_FUNCS = ("sqrtsoftplus", "sigmoid", "softmax")


@dataclass(frozen=True)
class YarnScaling:
    """YaRN frequency interpolation used by the compressed-attention RoPE.

    Attributes:
        factor: context extension factor s.
        original_max_position_embeddings: pre-training context length.
        beta_fast: rotations above which frequencies are left untouched.
        beta_slow: rotations below which frequencies are fully interpolated.
    """

    factor: float
    original_max_position_embeddings: int
    beta_fast: float = 32.0
    beta_slow: float = 1.0


@dataclass(frozen=True)
class QuantizationConfig:
    """How the checkpoint stores its weights.

    Attributes:
        weight_block_size: FP8 scale block (rows, cols), (128, 128) for DeepSeek.
        scale_fmt: ``None`` (fp32 scales) or ``"ue8m0"`` (power-of-two scales).
        expert_dtype: ``"fp4"`` when routed experts are e2m1 packed, else ``None``.
    """

    weight_block_size: tuple[int, int] = (128, 128)
    scale_fmt: str | None = None
    expert_dtype: str | None = None


@dataclass(frozen=True)
class DeepseekV4Config:
    """Every hyper-parameter of the DeepSeek V4 forward pass.

    Attributes:
        vocab_size: token vocabulary.
        hidden_size: residual width d.
        num_layers: decoder blocks (MTP blocks not included).
        num_heads: attention query heads n_h.
        head_dim: width of a query head and of the single shared KV latent.
        rope_head_dim: trailing channels of each head that receive RoPE.
        q_lora_rank: width of the low-rank query latent.
        o_groups: groups g of the grouped output projection.
        o_lora_rank: per-group intermediate width d_g.
        sliding_window: keys each query sees in its local window (itself included).
        layer_types: per layer, sliding / CSA / HCA.
        compress_ratios: per layer, tokens pooled into one compressed entry (0 = none).
        mlp_layer_types: per layer, ``hash_moe`` (tid2eid routing) or ``moe`` (top-k).
        moe_intermediate_size: hidden width of one expert.
        n_routed_experts: routed experts per MoE layer.
        n_shared_experts: always-on experts (V4 has exactly one).
        num_experts_per_tok: routed experts per token k.
        scoring_func: router activation (``sqrtsoftplus`` for V4).
        norm_topk_prob: renormalise the k selected scores to sum to one.
        routed_scaling_factor: multiplier on the routed output.
        swiglu_limit: clamp of the SwiGLU pre-activations (0 disables).
        rope_theta: RoPE base of sliding-window layers.
        compress_rope_theta: RoPE base of compressed layers.
        yarn: YaRN scaling of compressed layers, or ``None``.
        index_n_heads: lightning-indexer heads.
        index_head_dim: lightning-indexer head width.
        index_topk: compressed entries each CSA query keeps.
        hc_mult: hyper-connection streams.
        hc_sinkhorn_iters: Sinkhorn-Knopp iterations of the residual mixing matrix.
        hc_eps: numerical floor of the mHC weights.
        rms_norm_eps: RMSNorm epsilon.
        num_mtp_layers: multi-token-prediction blocks.
        mtp_compress_ratios: compress ratio of each MTP block's attention.
        tie_word_embeddings: share the embedding matrix with the LM head.
        max_position_embeddings: longest supported context.
        bos_token_id: beginning-of-sequence id.
        eos_token_id: end-of-sequence id(s).
        torch_dtype: dtype named by the checkpoint (``"bfloat16"``, ...), if any.
        quantization: FP8/FP4 storage description, or ``None`` for dense checkpoints.
        engram: V4.1 Engram settings, or ``None``.
    """

    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    head_dim: int
    rope_head_dim: int
    q_lora_rank: int
    o_groups: int
    o_lora_rank: int
    sliding_window: int
    layer_types: tuple[str, ...]
    compress_ratios: tuple[int, ...]
    mlp_layer_types: tuple[str, ...]
    moe_intermediate_size: int
    n_routed_experts: int
    n_shared_experts: int
    num_experts_per_tok: int
    scoring_func: str
    norm_topk_prob: bool
    routed_scaling_factor: float
    swiglu_limit: float
    rope_theta: float
    compress_rope_theta: float
    yarn: YarnScaling | None
    index_n_heads: int
    index_head_dim: int
    index_topk: int
    hc_mult: int
    hc_sinkhorn_iters: int
    hc_eps: float
    rms_norm_eps: float
    num_mtp_layers: int = 0
    mtp_compress_ratios: tuple[int, ...] = ()
    tie_word_embeddings: bool = False
    max_position_embeddings: int = 1 << 20
    bos_token_id: int | None = 0
    eos_token_id: int | tuple[int, ...] | None = 1
    torch_dtype: str | None = None
    quantization: QuantizationConfig | None = None
    engram: EngramConfig | None = None

    model_type = "deepseek_v4"


def validate_v4(config: DeepseekV4Config, reader: ConfigReader) -> DeepseekV4Config:
    """``config`` itself, once every combination of values is known to build a V4 model.

    Raises:
        ConfigError: naming the first key whose value cannot work with the others.
    """
    checks: list[tuple[str, bool, str]] = [
        ("qk_rope_head_dim", 0 < config.rope_head_dim <= config.head_dim
         and config.rope_head_dim % 2 == 0, "rope dims must be even and at most head_dim"),
        ("o_groups", (config.num_heads * config.head_dim) % config.o_groups == 0,
         "must divide num_attention_heads * head_dim"),
        ("num_experts_per_tok", 0 < config.num_experts_per_tok <= config.n_routed_experts,
         "must be between 1 and n_routed_experts"),
        ("n_shared_experts", config.n_shared_experts == 1, "DeepSeek V4 has exactly one"),
        ("scoring_func", config.scoring_func in SCORING_FUNCS, f"must be one of {SCORING_FUNCS}"),
        ("index_head_dim", config.index_head_dim >= config.rope_head_dim,
         "must be at least the rope head dim"),
        ("hc_mult", config.hc_mult >= 1, "needs at least one stream"),
        ("sliding_window", config.sliding_window >= 1, "must be positive"),
        ("index_topk", config.index_topk >= 1, "must be positive"),
        ("hidden_size", config.hidden_size >= 1 and config.vocab_size >= 1, "must be positive"),
    ]
    if config.yarn is not None:
        checks.append(("rope_scaling", config.yarn.factor >= 1.0
                       and config.yarn.original_max_position_embeddings > 0
                       and math.isfinite(config.yarn.factor), "invalid yarn parameters"))
    for ratio in config.compress_ratios + config.mtp_compress_ratios:
        if ratio < 0 or ratio == 1:
            checks.append(("compress_ratios", False, f"ratio {ratio} cannot compress"))
    if config.engram is not None:
        bad = [i for i in config.engram.layer_ids if not 0 <= i < config.num_layers]
        checks.append(("engram_layer_ids", not bad, f"layers {bad} do not exist"))
    for key, ok, message in checks:
        if not ok:
            raise reader.error(key, message)
    return config


def read_shared_v4(r: ConfigReader) -> dict[str, int | float]:
    """The indexer and hyper-connection keys, spelled the same in both V4 spellings."""
    return {
        "index_n_heads": r.get("index_n_heads", int, 64),
        "index_head_dim": r.get("index_head_dim", int, 128),
        "index_topk": r.get("index_topk", int, 512),
        "hc_mult": r.get("hc_mult", int, 4),
        "hc_sinkhorn_iters": r.get("hc_sinkhorn_iters", int, 20),
        "hc_eps": r.get("hc_eps", float, 1e-6),
    }
