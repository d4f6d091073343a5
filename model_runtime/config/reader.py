"""Typed, key-tracking access to a decoded ``config.json``, shared by every spelling's parser.

A parser reads each key through :class:`ConfigReader`, which remembers what was consumed;
:meth:`ConfigReader.reject_unknown` then turns any key nobody read into a
:class:`ConfigError` naming it. A silently ignored key is a silently wrong model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

# Keys that describe training, serving or bookkeeping, not the forward pass.
NEUTRAL_KEYS = frozenset({
    "architectures", "transformers_version", "dtype", "torch_dtype", "initializer_range",
    "use_cache", "attention_dropout", "output_router_logits", "router_aux_loss_coef",
    "router_jitter_noise", "_name_or_path", "auto_map", "pad_token_id", "topk_method",
    "tie_word_embeddings", "bos_token_id", "eos_token_id", "model_type",
    "quantization_config", "expert_dtype", "max_position_embeddings", "n_group", "topk_group",
    "first_k_dense_replace", "ep_size", "aux_loss_alpha", "seq_aux", "pretraining_tp",
})

_MISSING: Any = object()


class ConfigError(ValueError):
    """A config.json that cannot describe a model we run; the message names key and file."""


class ConfigReader:
    """Typed access to a config mapping that remembers which keys were consumed.

    Attributes:
        raw: the decoded ``config.json``.
        source: where it came from, for error messages.
        used: keys read so far.
    """

    def __init__(self, raw: Mapping[str, Any], source: str) -> None:
        self.raw = raw
        self.source = source
        self.used: set[str] = set()

    def error(self, key: str, message: str) -> ConfigError:
        """A :class:`ConfigError` naming the file and ``key``."""
        return ConfigError(f"{self.source}: key {key!r}: {message}")

    def has(self, key: str) -> bool:
        """Whether ``key`` is present with a non-null value."""
        return key in self.raw and self.raw[key] is not None

    def get(self, key: str, kind: Callable[[Any], Any], default: Any = _MISSING) -> Any:
        """The value of ``key`` converted by ``kind`` (``int``, ``float``, ``bool``, ``str``).

        Without ``default`` the key is required. ``int`` refuses fractional numbers and
        ``bool`` anything but JSON booleans.
        """
        self.used.add(key)
        if not self.has(key):
            if default is _MISSING:
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
        """A list of integers, or ``None`` when the key is absent."""
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
        """A list of strings drawn from ``allowed``, or ``None`` when the key is absent."""
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

    def expect(self, key: str, value: Any, model: str) -> None:
        """Accept ``key`` only when absent or equal to the one ``value`` ``model`` supports."""
        self.used.add(key)
        if self.has(key) and self.raw[key] != value:
            raise self.error(key, f"{model} requires {value!r}, got {self.raw[key]!r}")

    def reject_unknown(self, extra_known: frozenset[str] = frozenset()) -> None:
        """Raise for the first key that was neither read nor known to be neutral."""
        unknown = sorted(set(self.raw) - self.used - NEUTRAL_KEYS - extra_known)
        if unknown:
            raise self.error(unknown[0], "unknown key (not part of this model type's config)")

    def eos(self) -> int | tuple[int, ...] | None:
        """``eos_token_id``: one id, several, or none."""
        value = self.raw.get("eos_token_id", None)
        if isinstance(value, list):
            return tuple(int(v) for v in value)
        return None if value is None else int(value)

    def bos(self) -> int | None:
        """``bos_token_id``, or ``None``."""
        value = self.raw.get("bos_token_id", None)
        return None if value is None else int(value)

    def torch_dtype(self) -> str | None:
        """The weights' dtype (``dtype`` or the older ``torch_dtype``), if named."""
        value = self.raw.get("dtype", self.raw.get("torch_dtype"))
        if value is not None and value not in ("float32", "bfloat16", "float16"):
            raise self.error("dtype", f"unsupported dtype {value!r}")
        return value
