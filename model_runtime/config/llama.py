"""The dense llama-family configuration, one :class:`LlamaConfig` for every source.

``config.json`` (``model_type: llama``) is parsed here by :func:`read_llama`; a GGUF file's
``llama.*`` metadata is mapped onto the same class by ``model_runtime.gguf_loader``. The
class checks its own shape, so both sources reject the same impossible models.
"""

from __future__ import annotations

from dataclasses import dataclass

from model_runtime.config.reader import ConfigError, ConfigReader


@dataclass(frozen=True)
class LlamaConfig:
    """A dense llama-family decoder (SmolLM2 and friends).

    Attributes:
        vocab_size: token vocabulary.
        hidden_size: residual width.
        num_layers: decoder blocks.
        num_heads: query heads.
        num_kv_heads: key/value heads (grouped-query attention).
        head_dim: width of one head (must be even: RoPE rotates pairs).
        intermediate_size: SwiGLU hidden width.
        rope_theta: RoPE base.
        rms_norm_eps: RMSNorm epsilon.
        tie_word_embeddings: LM head shares the embedding matrix.
        max_position_embeddings: longest supported context.
        bos_token_id: beginning-of-sequence id.
        eos_token_id: end-of-sequence id(s).
        torch_dtype: dtype named by the checkpoint (``"bfloat16"``, ...), if any.

    Raises:
        ConfigError: (on construction) a shape no llama model can have, naming the key.
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
    torch_dtype: str | None = None

    model_type = "llama"

    def __post_init__(self) -> None:
        sizes = {
            "vocab_size": self.vocab_size, "hidden_size": self.hidden_size,
            "num_hidden_layers": self.num_layers, "num_attention_heads": self.num_heads,
            "num_key_value_heads": self.num_kv_heads, "head_dim": self.head_dim,
            "intermediate_size": self.intermediate_size,
        }
        for key, value in sizes.items():
            if value < 1:
                raise ConfigError(f"key {key!r}: must be positive, got {value}")
        if self.num_heads % self.num_kv_heads:
            raise ConfigError(
                f"key 'num_key_value_heads': {self.num_kv_heads} does not divide "
                f"num_attention_heads ({self.num_heads})"
            )
        if self.head_dim % 2:
            raise ConfigError(f"key 'head_dim': {self.head_dim} must be even for RoPE")


def read_llama(r: ConfigReader) -> LlamaConfig:
    """The llama config of a ``model_type: llama`` mapping (Hugging Face's ``LlamaConfig``).

    Raises:
        ConfigError: unknown keys, RoPE scaling, biases, or an impossible shape.
    """
    hidden = r.get("hidden_size", int)
    heads = r.get("num_attention_heads", int)
    r.expect("hidden_act", "silu", "llama")
    r.expect("attention_bias", False, "llama")
    r.expect("mlp_bias", False, "llama")
    rope_theta = _rope_theta(r)
    if not r.has("head_dim") and heads > 0 and hidden % heads:
        raise r.error("num_attention_heads", f"does not divide hidden_size ({hidden})")
    try:
        config = LlamaConfig(
            vocab_size=r.get("vocab_size", int),
            hidden_size=hidden,
            num_layers=r.get("num_hidden_layers", int),
            num_heads=heads,
            num_kv_heads=r.get("num_key_value_heads", int, heads),
            head_dim=r.get("head_dim", int, hidden // heads if heads > 0 else 0),
            intermediate_size=r.get("intermediate_size", int),
            rope_theta=rope_theta,
            rms_norm_eps=r.get("rms_norm_eps", float, 1e-5),
            tie_word_embeddings=r.get("tie_word_embeddings", bool, False),
            max_position_embeddings=r.get("max_position_embeddings", int, 2048),
            bos_token_id=r.bos(),
            eos_token_id=r.eos(),
            torch_dtype=r.torch_dtype(),
        )
    except ConfigError as exc:
        raise ConfigError(f"{r.source}: {exc}") from exc
    r.reject_unknown()
    return config


def _rope_theta(r: ConfigReader) -> float:
    """RoPE base from ``rope_theta`` or (transformers 5) ``rope_parameters``; plain RoPE only."""
    theta = r.get("rope_theta", float, 10000.0)
    for key in ("rope_scaling", "rope_parameters"):
        r.used.add(key)
        if not r.has(key):
            continue
        params = r.raw[key]
        if not isinstance(params, dict):
            raise r.error(key, f"expected an object, got {params!r}")
        rope_type = params.get("rope_type", params.get("type", "default"))
        if rope_type != "default" or set(params) - {"rope_type", "type", "rope_theta"}:
            raise r.error(key, f"RoPE scaling is not supported for llama models: {params!r}")
        theta = float(params.get("rope_theta", theta))
    return theta
