"""Model configurations parsed from a checkpoint's ``config.json``.

Three spellings of a DeepSeek V4 config exist and all map onto :class:`DeepseekV4Config`:

* **Hugging Face** (what ``transformers`` 5.x ``save_pretrained`` writes): ``layer_types``,
  ``compress_rates``, ``mlp_layer_types``, ``rope_parameters`` (nested ``main``/``compress``).
* **Hub / legacy** (the ``config.json`` DeepSeek ships next to the weights): the same
  model_type with ``compress_ratios`` (one int per layer, MTP layers appended),
  ``num_hash_layers``, ``qk_rope_head_dim`` and ``rope_scaling`` (YaRN).
* **Reference** (``inference/config.json`` of DeepSeek's reference code, no model_type):
  ``dim``, ``n_layers``, ``n_heads``, ``window_size``, ``rope_factor``, ...

V4.1 adds Engram keys (``engram_*``), parsed into :class:`EngramConfig`. ``llama`` configs map
onto :class:`LlamaConfig`. A key we do not know, or keys that contradict each other, raise
:class:`ConfigError` naming the key and the file: a silently ignored key is a silently wrong
model.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SLIDING = "sliding_attention"
CSA = "compressed_sparse_attention"
HCA = "heavily_compressed_attention"
LAYER_TYPES = (SLIDING, CSA, HCA)
HASH_MOE = "hash_moe"
MOE = "moe"
MLP_LAYER_TYPES = (HASH_MOE, MOE)
SCORING_FUNCS = ("sqrtsoftplus", "sigmoid", "softmax")

# Keys that describe training, serving or bookkeeping, not the forward pass.
_NEUTRAL_KEYS = frozenset({
    "architectures", "transformers_version", "dtype", "torch_dtype", "initializer_range",
    "use_cache", "attention_dropout", "output_router_logits", "router_aux_loss_coef",
    "router_jitter_noise", "_name_or_path", "auto_map", "pad_token_id", "topk_method",
    "tie_word_embeddings", "bos_token_id", "eos_token_id", "model_type",
    "quantization_config", "expert_dtype", "max_position_embeddings", "n_group", "topk_group",
    "first_k_dense_replace", "ep_size", "aux_loss_alpha", "seq_aux", "pretraining_tp",
})
_ENGRAM_KEYS = frozenset({
    "engram_layer_ids", "engram_num_embeddings", "engram_max_ngram_size", "engram_n_heads",
    "engram_head_dim", "engram_vocab_size", "engram_pad_token_id",
    "engram_compressed_vocab_size", "engram_kernel_size", "engram_seed",
})


class ConfigError(ValueError):
    """A config.json that cannot describe a model we run; the message names key and file."""


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
class EngramConfig:
    """V4.1 Engram conditional memory: hashed n-gram embeddings gated into the streams.

    Attributes:
        layer_ids: decoder layers that carry an Engram module.
        num_embeddings: total hash-table rows of each of those layers (all heads, all orders).
        max_ngram_size: longest n-gram hashed; orders 2..max_ngram_size are used.
        n_heads: hash heads per n-gram order, each with its own prime table size.
        head_dim: width of one head's embedding row.
        ngram_vocab_sizes: per n-gram order, the size the first head's prime search starts at.
        compressed_vocab_size: size of the compressed-tokenizer vocabulary (None: unknown).
        pad_token_id: token id hashed for positions before the sequence start.
        kernel_size: width of the short causal depthwise convolution over the memory.
        seed: seed of the per-layer odd hash multipliers.
    """

    layer_ids: tuple[int, ...]
    num_embeddings: tuple[int, ...]
    max_ngram_size: int
    n_heads: int
    head_dim: int
    ngram_vocab_sizes: tuple[int, ...]
    compressed_vocab_size: int | None
    pad_token_id: int
    kernel_size: int = 4
    seed: int = 0


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


@dataclass(frozen=True)
class LlamaConfig:
    """A dense llama-family decoder (SmolLM2 and friends).

    Attributes:
        vocab_size: token vocabulary.
        hidden_size: residual width.
        num_layers: decoder blocks.
        num_heads: query heads.
        num_kv_heads: key/value heads (grouped-query attention).
        head_dim: width of one head.
        intermediate_size: SwiGLU hidden width.
        rope_theta: RoPE base.
        rms_norm_eps: RMSNorm epsilon.
        tie_word_embeddings: LM head shares the embedding matrix.
        max_position_embeddings: longest supported context.
        bos_token_id: beginning-of-sequence id.
        eos_token_id: end-of-sequence id(s).
    """

    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5
    tie_word_embeddings: bool = False
    max_position_embeddings: int = 2048
    bos_token_id: int | None = None
    eos_token_id: int | tuple[int, ...] | None = None

    model_type = "llama"


ModelConfig = DeepseekV4Config | LlamaConfig


def load_config(path: str | Path) -> ModelConfig:
    """Read ``config.json`` (or the directory holding it) into a typed config.

    Raises:
        ConfigError: missing/invalid JSON, unknown model type, unknown or inconsistent keys.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "config.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no config.json found") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a JSON object at the top level")
    return parse_config(raw, source=str(path))


def parse_config(raw: Mapping[str, Any], source: str = "config.json") -> ModelConfig:
    """Build a typed config from an already decoded ``config.json`` mapping.

    Raises:
        ConfigError: unknown model type, unknown or inconsistent keys.
    """
    model_type = raw.get("model_type")
    if model_type == "deepseek_v4":
        return _Reader(raw, source).deepseek_v4()
    if model_type is None and "dim" in raw and "n_layers" in raw:
        return _Reader(raw, source).deepseek_v4_reference()
    if model_type == "llama":
        return _Reader(raw, source).llama()
    raise ConfigError(f"{source}: key 'model_type': unsupported model type {model_type!r}")


class _Reader:
    """Typed access to a config mapping that remembers which keys were consumed."""

    def __init__(self, raw: Mapping[str, Any], source: str) -> None:
        self.raw = raw
        self.source = source
        self.used: set[str] = set()

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.source}: key {key!r}: {message}")

    def has(self, key: str) -> bool:
        return key in self.raw and self.raw[key] is not None

    def get(self, key: str, kind: Callable[[Any], Any], default: Any = ...) -> Any:
        self.used.add(key)
        if not self.has(key):
            if default is ...:
                raise self.error(key, "required but missing")
            return default
        value = self.raw[key]
        try:
            if kind is int and (isinstance(value, bool) or float(value) != int(value)):
                raise ValueError
            if kind is bool and not isinstance(value, bool):
                raise ValueError
            return kind(value)
        except (TypeError, ValueError) as exc:
            raise self.error(key, f"expected {kind.__name__}, got {value!r}") from exc

    def int_list(self, key: str) -> tuple[int, ...] | None:
        self.used.add(key)
        if not self.has(key):
            return None
        value = self.raw[key]
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise self.error(key, f"expected a list of integers, got {value!r}")
        return tuple(value)

    def str_list(self, key: str, allowed: tuple[str, ...]) -> tuple[str, ...] | None:
        self.used.add(key)
        if not self.has(key):
            return None
        value = self.raw[key]
        if not isinstance(value, list):
            raise self.error(key, f"expected a list, got {value!r}")
        bad = [v for v in value if v not in allowed]
        if bad:
            raise self.error(key, f"entries must be among {allowed}, got {bad}")
        return tuple(value)

    def reject_unknown(self, extra_known: frozenset[str] = frozenset()) -> None:
        unknown = sorted(set(self.raw) - self.used - _NEUTRAL_KEYS - extra_known)
        if unknown:
            raise self.error(unknown[0], "unknown key (not part of this model type's config)")

    def eos(self) -> int | tuple[int, ...] | None:
        value = self.raw.get("eos_token_id", None)
        if isinstance(value, list):
            return tuple(int(v) for v in value)
        return None if value is None else int(value)

    def bos(self) -> int | None:
        value = self.raw.get("bos_token_id", None)
        return None if value is None else int(value)

    def torch_dtype(self) -> str | None:
        value = self.raw.get("dtype", self.raw.get("torch_dtype"))
        if value is not None and value not in ("float32", "bfloat16", "float16"):
            raise self.error("dtype", f"unsupported dtype {value!r}")
        return value

    # -- DeepSeek V4, Hugging Face and hub spellings ------------------------------------

    def deepseek_v4(self) -> DeepseekV4Config:
        n = self.get("num_hidden_layers", int, 43)
        head_dim = self.get("head_dim", int, 512)
        rope_head_dim = self._rope_head_dim(head_dim)
        layer_types, compress_ratios, mtp_ratios = self._layer_schedule(n)
        mlp_layer_types = self._mlp_schedule(n)
        yarn = self._yarn_hf()
        self._expect("num_key_value_heads", 1)
        self._expect("hidden_act", "silu")
        self._expect("attention_bias", False)
        self._expect("mlp_bias", False)
        config = DeepseekV4Config(
            vocab_size=self.get("vocab_size", int, 129280),
            hidden_size=self.get("hidden_size", int, 4096),
            num_layers=n,
            num_heads=self.get("num_attention_heads", int, 64),
            head_dim=head_dim,
            rope_head_dim=rope_head_dim,
            q_lora_rank=self.get("q_lora_rank", int, 1024),
            o_groups=self.get("o_groups", int, 8),
            o_lora_rank=self.get("o_lora_rank", int, 1024),
            sliding_window=self.get("sliding_window", int, 128),
            layer_types=layer_types,
            compress_ratios=compress_ratios,
            mlp_layer_types=mlp_layer_types,
            moe_intermediate_size=self.get("moe_intermediate_size", int, 2048),
            n_routed_experts=self.get("n_routed_experts", int, 256),
            n_shared_experts=self.get("n_shared_experts", int, 1),
            num_experts_per_tok=self.get("num_experts_per_tok", int, 6),
            scoring_func=self.get("scoring_func", str, "sqrtsoftplus"),
            norm_topk_prob=self.get("norm_topk_prob", bool, True),
            routed_scaling_factor=self.get("routed_scaling_factor", float, 1.5),
            swiglu_limit=self.get("swiglu_limit", float, 10.0),
            rope_theta=self._main_rope_theta(),
            compress_rope_theta=self._compress_rope_theta(),
            yarn=yarn,
            index_n_heads=self.get("index_n_heads", int, 64),
            index_head_dim=self.get("index_head_dim", int, 128),
            index_topk=self.get("index_topk", int, 512),
            hc_mult=self.get("hc_mult", int, 4),
            hc_sinkhorn_iters=self.get("hc_sinkhorn_iters", int, 20),
            hc_eps=self.get("hc_eps", float, 1e-6),
            rms_norm_eps=self.get("rms_norm_eps", float, 1e-6),
            num_mtp_layers=self.get("num_nextn_predict_layers", int, 1),
            mtp_compress_ratios=mtp_ratios,
            tie_word_embeddings=self.get("tie_word_embeddings", bool, False),
            max_position_embeddings=self.get("max_position_embeddings", int, 1 << 20),
            bos_token_id=self.bos(),
            eos_token_id=self.eos(),
            torch_dtype=self.torch_dtype(),
            quantization=self._quantization(),
            engram=self._engram(),
        )
        self.reject_unknown()
        return _validated(config, self)

    def _expect(self, key: str, value: Any) -> None:
        self.used.add(key)
        if self.has(key) and self.raw[key] != value:
            raise self.error(key, f"DeepSeek V4 requires {value!r}, got {self.raw[key]!r}")

    def _rope_head_dim(self, head_dim: int) -> int:
        by_dim = self.get("qk_rope_head_dim", int, None)
        factor = self.get("partial_rotary_factor", float, None)
        by_factor = None if factor is None else int(head_dim * factor)
        if by_dim is not None and by_factor is not None and by_dim != by_factor:
            raise self.error(
                "partial_rotary_factor",
                f"gives {by_factor} rope dims but qk_rope_head_dim says {by_dim}",
            )
        return by_dim if by_dim is not None else by_factor if by_factor is not None else 64

    def _layer_schedule(self, n: int) -> tuple[tuple[str, ...], tuple[int, ...], tuple[int, ...]]:
        rates = {CSA: 4, HCA: 128}
        if self.has("compress_rates"):
            self.used.add("compress_rates")
            given = self.raw["compress_rates"]
            if not isinstance(given, dict) or set(given) - {CSA, HCA}:
                raise self.error("compress_rates", f"expected keys among {(CSA, HCA)}: {given!r}")
            rates.update({k: int(v) for k, v in given.items()})
        for key, kind in (("compress_rate_csa", CSA), ("compress_rate_hca", HCA)):
            value = self.get(key, int, None)
            if value is not None:
                rates[kind] = value
        types = self.str_list("layer_types", LAYER_TYPES)
        ratios = self.int_list("compress_ratios")
        from_ratios = None
        if ratios is not None:
            if len(ratios) < n:
                raise self.error(
                    "compress_ratios", f"has {len(ratios)} entries for {n} layers"
                )
            from_ratios = tuple(self._type_of_ratio(r, rates) for r in ratios)
        if types is None:
            if from_ratios is not None:
                types = from_ratios[:n]
            else:  # the V4-Pro schedule: two HCA layers, then CSA / HCA interleaved
                tail = [CSA if i % 2 else HCA for i in range(max(n - 2, 0))]
                types = tuple([HCA] * min(n, 2) + tail)
        if len(types) != n:
            raise self.error("layer_types", f"has {len(types)} entries for {n} layers")
        if from_ratios is not None and from_ratios[:n] != types:
            raise self.error("compress_ratios", "contradicts layer_types")
        per_layer = tuple(0 if t == SLIDING else rates[t] for t in types)
        if ratios is not None and ratios[:n] != per_layer:
            raise self.error("compress_ratios", f"contradicts compress_rates {rates}")
        mtp = tuple(ratios[n:]) if ratios is not None else ()
        return types, per_layer, mtp

    def _type_of_ratio(self, ratio: int, rates: dict[str, int]) -> str:
        if ratio == 0:
            return SLIDING
        if ratio == rates[CSA]:
            return CSA
        if ratio == rates[HCA]:
            return HCA
        raise self.error(
            "compress_ratios", f"ratio {ratio} is neither 0, {rates[CSA]} nor {rates[HCA]}"
        )

    def _mlp_schedule(self, n: int) -> tuple[str, ...]:
        types = self.str_list("mlp_layer_types", MLP_LAYER_TYPES)
        n_hash = self.get("num_hash_layers", int, None)
        if types is not None:
            if len(types) != n:
                raise self.error("mlp_layer_types", f"has {len(types)} entries for {n} layers")
            if n_hash is not None and types.count(HASH_MOE) != min(n_hash, n):
                raise self.error("num_hash_layers", "contradicts mlp_layer_types")
            return types
        n_hash = 3 if n_hash is None else n_hash
        return tuple([HASH_MOE] * min(n, n_hash) + [MOE] * max(0, n - n_hash))

    def _rope_parameters(self) -> dict[str, Any] | None:
        if self.has("rope_parameters") and self.has("rope_scaling"):
            raise self.error("rope_scaling", "given together with rope_parameters")
        for key in ("rope_parameters", "rope_scaling"):
            self.used.add(key)
            if self.has(key):
                value = self.raw[key]
                if not isinstance(value, dict):
                    raise self.error(key, f"expected an object, got {value!r}")
                return dict(value)
        return None

    def _main_rope_theta(self) -> float:
        params = self._rope_parameters() or {}
        theta = self.get("rope_theta", float, 10000.0)
        main = params.get("main")
        if isinstance(main, dict):
            if main.get("rope_type", "default") != "default":
                raise self.error("rope_parameters", "the 'main' rope must be of type 'default'")
            return float(main.get("rope_theta", theta))
        return theta

    def _compress_rope_theta(self) -> float:
        params = self._rope_parameters() or {}
        theta = self.get("compress_rope_theta", float, 160000.0)
        compress = params.get("compress")
        if isinstance(compress, dict):
            return float(compress.get("rope_theta", theta))
        return theta

    def _yarn_hf(self) -> YarnScaling | None:
        params = self._rope_parameters()
        if params is None:
            return None
        key = "rope_parameters" if self.has("rope_parameters") else "rope_scaling"
        if isinstance(params.get("compress"), dict):
            params = params["compress"]
        rope_type = params.get("rope_type", params.get("type", "default"))
        if rope_type == "default":
            return None
        if rope_type != "yarn":
            raise self.error(key, f"unsupported rope type {rope_type!r} (V4 uses yarn)")
        known = {
            "rope_type", "type", "factor", "original_max_position_embeddings", "beta_fast",
            "beta_slow", "rope_theta", "partial_rotary_factor", "attention_factor", "truncate",
            "mscale", "mscale_all_dim",
        }
        unknown = sorted(set(params) - known)
        if unknown:
            raise self.error(key, f"unknown rope parameter {unknown[0]!r}")
        if params.get("attention_factor", 1.0) != 1.0 or params.get("truncate", True) is not True:
            raise self.error(key, "V4 uses attention_factor 1.0 and truncated correction ranges")
        if {params.get("mscale", 1.0), params.get("mscale_all_dim", 1.0)} - {None, 1.0}:
            raise self.error(key, "V4's YaRN does not rescale attention (mscale must be 1)")
        try:
            return YarnScaling(
                factor=float(params["factor"]),
                original_max_position_embeddings=int(params["original_max_position_embeddings"]),
                beta_fast=float(params.get("beta_fast") or 32),
                beta_slow=float(params.get("beta_slow") or 1),
            )
        except KeyError as exc:
            raise self.error(key, f"yarn needs {exc.args[0]!r}") from exc

    def _quantization(self) -> QuantizationConfig | None:
        q = self.raw.get("quantization_config")
        expert_dtype = self.raw.get("expert_dtype")
        if q is None and expert_dtype is None:
            return None
        q = dict(q or {})
        expert_dtype = q.get("expert_dtype", expert_dtype)
        method = q.get("quant_method", "fp8")
        if method != "fp8":
            raise self.error("quantization_config", f"unsupported quant_method {method!r}")
        if q.get("fmt", "e4m3") != "e4m3":
            raise self.error("quantization_config", f"unsupported FP8 format {q.get('fmt')!r}")
        block = tuple(q.get("weight_block_size", (128, 128)))
        if len(block) != 2:
            raise self.error("quantization_config", f"weight_block_size needs 2 entries: {block}")
        scale_fmt = q.get("scale_fmt")
        if scale_fmt not in (None, "ue8m0"):
            raise self.error("quantization_config", f"unsupported scale_fmt {scale_fmt!r}")
        if expert_dtype not in (None, "fp4", "fp8"):
            raise self.error("expert_dtype", f"unsupported expert dtype {expert_dtype!r}")
        return QuantizationConfig(
            weight_block_size=(int(block[0]), int(block[1])),
            scale_fmt=scale_fmt,
            expert_dtype="fp4" if expert_dtype == "fp4" else None,
        )

    def _engram(self) -> EngramConfig | None:
        layer_ids = self.int_list("engram_layer_ids")
        for key in _ENGRAM_KEYS:
            self.used.add(key)
        if not layer_ids:
            return None
        sizes = self.int_list("engram_num_embeddings")
        if sizes is None or len(sizes) != len(layer_ids):
            raise self.error("engram_num_embeddings", "needs one table size per Engram layer")
        max_ngram = self.get("engram_max_ngram_size", int, 3)
        if max_ngram < 2:
            raise self.error("engram_max_ngram_size", "Engram hashes n-grams of order 2 and up")
        vocab = self.raw.get("engram_vocab_size")
        if isinstance(vocab, int) and not isinstance(vocab, bool):
            vocab = [vocab] * (max_ngram - 1)
        if (
            not isinstance(vocab, list)
            or len(vocab) != max_ngram - 1
            or not all(isinstance(v, int) and v > 1 for v in vocab)
        ):
            raise self.error(
                "engram_vocab_size", f"expected an int or {max_ngram - 1} ints > 1, got {vocab!r}"
            )
        return EngramConfig(
            layer_ids=layer_ids,
            num_embeddings=sizes,
            max_ngram_size=max_ngram,
            n_heads=self.get("engram_n_heads", int, 8),
            head_dim=self.get("engram_head_dim", int, 64),
            ngram_vocab_sizes=tuple(vocab),
            compressed_vocab_size=self.get("engram_compressed_vocab_size", int, None),
            pad_token_id=self.get("engram_pad_token_id", int, 2),
            kernel_size=self.get("engram_kernel_size", int, 4),
            seed=self.get("engram_seed", int, 0),
        )

    # -- DeepSeek V4, reference ModelArgs spelling ---------------------------------------

    def deepseek_v4_reference(self) -> DeepseekV4Config:
        n = self.get("n_layers", int)
        ratios = self.int_list("compress_ratios") or (0,) * n
        if len(ratios) < n:
            raise self.error("compress_ratios", f"has {len(ratios)} entries for {n} layers")
        csa_ratio = 4  # the reference overlaps windows (and indexes) exactly when ratio == 4
        types = tuple(SLIDING if r == 0 else CSA if r == csa_ratio else HCA for r in ratios[:n])
        n_hash = self.get("n_hash_layers", int, 0)
        original = self.get("original_seq_len", int, 0)
        factor = self.get("rope_factor", float, 40.0)
        yarn = (
            YarnScaling(
                factor=factor,
                original_max_position_embeddings=original,
                beta_fast=self.get("beta_fast", float, 32.0),
                beta_slow=self.get("beta_slow", float, 1.0),
            )
            if original > 0
            else None
        )
        for key in ("beta_fast", "beta_slow", "max_batch_size", "max_seq_len", "scale_dtype"):
            self.used.add(key)
        weights_dtype = self.get("dtype", str, "bf16")
        if weights_dtype not in ("bf16", "fp8"):
            raise self.error("dtype", f"expected 'bf16' or 'fp8', got {weights_dtype!r}")
        scale_fmt = self.get("scale_fmt", str, None)
        expert_dtype = self.get("expert_dtype", str, None)
        quantization = (
            QuantizationConfig(scale_fmt=scale_fmt, expert_dtype=expert_dtype)
            if weights_dtype == "fp8" or expert_dtype == "fp4"
            else None
        )
        score_func = self.get("score_func", str, "sqrtsoftplus")
        config = DeepseekV4Config(
            vocab_size=self.get("vocab_size", int, 129280),
            hidden_size=self.get("dim", int),
            num_layers=n,
            num_heads=self.get("n_heads", int),
            head_dim=self.get("head_dim", int, 512),
            rope_head_dim=self.get("rope_head_dim", int, 64),
            q_lora_rank=self.get("q_lora_rank", int, 1024),
            o_groups=self.get("o_groups", int, 8),
            o_lora_rank=self.get("o_lora_rank", int, 1024),
            sliding_window=self.get("window_size", int, 128),
            layer_types=types,
            compress_ratios=tuple(ratios[:n]),
            mlp_layer_types=tuple(HASH_MOE if i < n_hash else MOE for i in range(n)),
            moe_intermediate_size=self.get("moe_inter_dim", int),
            n_routed_experts=self.get("n_routed_experts", int),
            n_shared_experts=self.get("n_shared_experts", int, 1),
            num_experts_per_tok=self.get("n_activated_experts", int),
            scoring_func=score_func,
            norm_topk_prob=score_func != "softmax",
            routed_scaling_factor=self.get("route_scale", float, 1.0),
            swiglu_limit=self.get("swiglu_limit", float, 0.0),
            rope_theta=self.get("rope_theta", float, 10000.0),
            compress_rope_theta=self.get("compress_rope_theta", float, 40000.0),
            yarn=yarn,
            index_n_heads=self.get("index_n_heads", int, 64),
            index_head_dim=self.get("index_head_dim", int, 128),
            index_topk=self.get("index_topk", int, 512),
            hc_mult=self.get("hc_mult", int, 4),
            hc_sinkhorn_iters=self.get("hc_sinkhorn_iters", int, 20),
            hc_eps=self.get("hc_eps", float, 1e-6),
            rms_norm_eps=self.get("norm_eps", float, 1e-6),
            num_mtp_layers=self.get("n_mtp_layers", int, 1),
            mtp_compress_ratios=tuple(ratios[n:]),
            quantization=quantization,
            engram=self._engram(),
        )
        self.reject_unknown(frozenset({"rope_factor"}))
        return _validated(config, self)

    # -- llama ---------------------------------------------------------------------------

    def llama(self) -> LlamaConfig:
        hidden = self.get("hidden_size", int)
        heads = self.get("num_attention_heads", int)
        self._expect("hidden_act", "silu")
        self._expect("attention_bias", False)
        self._expect("mlp_bias", False)
        self.used.update({"rope_scaling", "attention_dropout"})
        if self.has("rope_scaling"):
            raise self.error("rope_scaling", "RoPE scaling is not supported for llama models")
        config = LlamaConfig(
            vocab_size=self.get("vocab_size", int),
            hidden_size=hidden,
            num_layers=self.get("num_hidden_layers", int),
            num_heads=heads,
            num_kv_heads=self.get("num_key_value_heads", int, heads),
            head_dim=self.get("head_dim", int, hidden // heads),
            intermediate_size=self.get("intermediate_size", int),
            rope_theta=self.get("rope_theta", float, 10000.0),
            rms_norm_eps=self.get("rms_norm_eps", float, 1e-5),
            tie_word_embeddings=self.get("tie_word_embeddings", bool, False),
            max_position_embeddings=self.get("max_position_embeddings", int, 2048),
            bos_token_id=self.bos(),
            eos_token_id=self.eos(),
        )
        if config.num_heads % config.num_kv_heads:
            raise self.error("num_key_value_heads", "must divide num_attention_heads")
        self.reject_unknown(frozenset({"rope_parameters", "head_dim"}))
        return config


def _validated(config: DeepseekV4Config, reader: _Reader) -> DeepseekV4Config:
    """Reject combinations of values that cannot build a V4 model."""
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
