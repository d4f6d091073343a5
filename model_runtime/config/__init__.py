"""Model configurations parsed from a checkpoint's ``config.json``.

Three spellings of a DeepSeek V4 config exist and all map onto :class:`DeepseekV4Config`:
the Hugging Face and hub ones (``model_type: deepseek_v4``, parsed in ``v4_hf``) and the
reference ``ModelArgs`` one (no model_type, parsed in ``v4_reference``). V4.1 adds Engram
keys (``engram``). ``llama`` configs map onto :class:`LlamaConfig` (``llama``), the same
class the GGUF loader fills. A key we do not know, or keys that contradict each other,
raise :class:`ConfigError` naming the key and the file: a silently ignored key is a silently
wrong model. This package's ``__all__`` is the public surface; callers import from here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from model_runtime.config.engram import EngramConfig
from model_runtime.config.llama import LlamaConfig, read_llama
from model_runtime.config.reader import ConfigError, ConfigReader
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
)
from model_runtime.config.v4_hf import read_v4_hf
from model_runtime.config.v4_reference import read_v4_reference

__all__ = [
    "CSA", "HASH_MOE", "HCA", "LAYER_TYPES", "MLP_LAYER_TYPES", "MOE", "SLIDING",
    "ConfigError", "DeepseekV4Config", "EngramConfig", "LlamaConfig", "ModelConfig",
    "QuantizationConfig", "YarnScaling", "load_config", "parse_config",
]

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
    reader = ConfigReader(raw, source)
    model_type = raw.get("model_type")
    if model_type == "deepseek_v4":
        return read_v4_hf(reader)
    if model_type is None and "dim" in raw and "n_layers" in raw:
        return read_v4_reference(reader)
    if model_type == "llama":
        return read_llama(reader)
    raise ConfigError(f"{source}: key 'model_type': unsupported model type {model_type!r}")
