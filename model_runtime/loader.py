"""Load a model from a checkpoint directory (config.json + safetensors) or a GGUF file.

DeepSeek V4 checkpoints may use reference or Hugging Face tensor names (see
:mod:`model_runtime.checkpoint`); every name is rewritten to the reference name, which is
also our module's parameter name. The model is built on the meta device and filled block by
block straight from the memory-mapped shards, so peak memory stays near one block above the
loaded weights. FP8/FP4 weights of linear layers stay quantised by default: the
``nn.Linear`` becomes an ``Fp8Linear``/``Fp4Linear`` holding the stored bytes and scales
(same names), which dequantises as it computes; with ``quantized="dequantize"`` (and always
for the few weights the model reads directly, such as ``wo_a``) they are dequantised one
tensor at a time (see :mod:`model_runtime.quant_load`). Anything that does not fit — a
missing, extra, mis-shaped or truncated tensor — raises :class:`LoadError` naming the tensor
and the file.

A ``llama`` directory (Hugging Face names, which are our llama module's names) loads too;
``.gguf`` files go to ``gguf_loader``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from torch import nn

from model_runtime.checkpoint import (
    LoadError,
    Source,
    TensorEntry,
    index_checkpoint,
    map_names,
)
from model_runtime.config import DeepseekV4Config, LlamaConfig, load_config
from model_runtime.models.deepseek_v4 import DeepseekV4ForCausalLM
from model_runtime.models.llama import LlamaForCausalLM
from model_runtime.models.quant_linear import QuantLinear
from model_runtime.quant_load import (
    FP32_PARAMS,
    checked_scale,
    dequantize_weight,
    is_quantised,
    quant_linear_layer,
    stays_quantised,
)

__all__ = [
    "QUANTIZED_MODES",
    "LoadError",
    "Source",
    "TensorEntry",
    "index_checkpoint",
    "load_model",
    "map_names",
]

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
QUANTIZED_MODES = ("keep", "dequantize")


def load_model(
    path: str | Path,
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
    quantized: str = "keep",
) -> nn.Module:
    """Load a checkpoint directory (HF or reference names, sharded or not) or a ``.gguf``.

    The directory's ``config.json`` decides the model: DeepSeek V4 (any spelling) or llama.

    ``dtype`` is the activation/weight dtype (default: the checkpoint's ``dtype`` if it names
    one, else float32). ``quantized`` says what becomes of FP8/FP4 linear weights: ``"keep"``
    stores them as they are (``Fp8Linear``/``Fp4Linear`` layers computing in ``dtype``),
    ``"dequantize"`` converts them to ``dtype`` at load. Dense checkpoints ignore it. Returns
    the model in eval mode with gradients disabled.

    Raises:
        LoadError: missing files, or missing/extra/mis-shaped/truncated tensors.
        ConfigError: an unusable config.json.
        ValueError: an unknown ``quantized`` mode.
    """
    if quantized not in QUANTIZED_MODES:
        raise ValueError(f"quantized must be one of {QUANTIZED_MODES}, got {quantized!r}")
    path = Path(path)
    if path.suffix == ".gguf":
        from model_runtime.gguf_loader import load_gguf_model

        return load_gguf_model(path, device=device, dtype=dtype)
    if not path.is_dir():
        raise LoadError(f"{path}: not a checkpoint directory or .gguf file")
    config = load_config(path)
    entries = index_checkpoint(path)
    if isinstance(config, LlamaConfig):
        return _load_llama(path, config, entries, torch.device(device), dtype)
    sources = map_names(entries)
    if config.num_mtp_layers and not any(name.startswith("mtp.") for name in sources):
        config = dataclasses.replace(config, num_mtp_layers=0)  # HF checkpoints drop MTP
    if dtype is None:
        dtype = _DTYPES.get(config.torch_dtype or "float32", torch.float32)
    with torch.device("meta"):
        model = DeepseekV4ForCausalLM(config)
    computed = {}
    if config.engram is not None and "engram_vocab" not in sources:
        computed["engram_vocab"] = _engram_vocab_from_tokenizer(path, config)
    _check_names(model, sources, path, set(computed))
    with ExitStack() as stack:
        reader = _Reader(stack, torch.device(device), dtype)
        for group in _groups(model):
            for name in group:
                if name in computed:
                    value = computed[name].to(device)
                elif name.endswith(".engram.table"):
                    value = reader.mapped(name, sources, _target(model, name))
                elif quantized == "keep" and stays_quantised(model, name, sources):
                    layer = reader.quant_linear(name, sources, _target(model, name))
                    model.set_submodule(name.removesuffix(".weight"), layer)
                    continue
                else:
                    value = reader.read(name, sources, _target(model, name))
                _assign(model, name, value)
    if config.tie_word_embeddings:
        model.head.weight = model.embed.weight
    return model.eval().requires_grad_(False)


def _load_llama(
    path: Path,
    config: LlamaConfig,
    entries: dict[str, TensorEntry],
    device: torch.device,
    dtype: torch.dtype | None,
) -> LlamaForCausalLM:
    """A llama model from Hugging Face-named safetensors (our parameter names are theirs)."""
    dtype = dtype or _DTYPES.get(config.torch_dtype or "float32", torch.float32)
    with torch.device("meta"):
        model = LlamaForCausalLM(config)
    expected = dict(model.named_parameters())  # a tied lm_head.weight is listed once, as embed
    missing = sorted(set(expected) - set(entries))
    if missing:
        raise LoadError(f"{path}: tensor {missing[0]} is missing from the checkpoint")
    with ExitStack() as stack:
        handles: dict[Path, Any] = {}
        for key, entry in sorted(entries.items()):
            if key not in expected:
                if key == "lm_head.weight" and config.tie_word_embeddings:
                    continue  # some tied checkpoints store the head anyway; it is the embedding
                raise LoadError(f"{entry.file}: unexpected tensor {key} (no such llama parameter)")
            if entry.shape != tuple(expected[key].shape):
                raise LoadError(f"{entry.file}: tensor {key} has shape {entry.shape}, "
                                f"expected {tuple(expected[key].shape)}")
            if entry.dtype not in ("F32", "F16", "BF16"):
                raise LoadError(f"{entry.file}: tensor {key} is {entry.dtype}; llama weights "
                                "must be F32, F16 or BF16")
            if entry.file not in handles:
                handles[entry.file] = stack.enter_context(safe_open(str(entry.file), "pt"))
            value = handles[entry.file].get_tensor(key).to(device=device, dtype=dtype)
            _assign(model, key, value)
    if config.tie_word_embeddings:
        model.lm_head.weight = model.model.embed_tokens.weight
    return model.eval().requires_grad_(False)


def _expected(model: nn.Module) -> set[str]:
    """Names a checkpoint must provide: parameters and persistent buffers."""
    names = {n for n, _ in model.named_parameters()} | set(model.state_dict().keys())
    if model.config.tie_word_embeddings:
        names.discard("head.weight")
    return names


def _engram_vocab_from_tokenizer(path: Path, config: DeepseekV4Config) -> torch.Tensor:
    """Token -> compressed id table built from the checkpoint's ``tokenizer.json``."""
    from tokenizers import Tokenizer

    from model_runtime.models.engram import build_compressed_vocab

    file = path / "tokenizer.json"
    if not file.exists():
        raise LoadError(
            f"{path}: tensor engram_vocab is missing and there is no tokenizer.json to build it"
        )
    tokenizer = Tokenizer.from_file(str(file))
    lookup, size = build_compressed_vocab(
        lambda t: tokenizer.decode([t], skip_special_tokens=False),
        lambda t: tokenizer.id_to_token(t) or "",
        config.vocab_size,
    )
    if size != config.engram.compressed_vocab_size:
        raise LoadError(
            f"{file}: compresses to {size} ids, config says {config.engram.compressed_vocab_size}"
        )
    return lookup


def _check_names(
    model: nn.Module, sources: dict[str, Source], path: Path, computed: set[str]
) -> None:
    """Every expected tensor present, nothing left over (``.scale`` pairs with a weight)."""
    expected = _expected(model)
    for name in sorted(expected - computed):
        if name not in sources:
            raise LoadError(f"{path}: tensor {name} is missing from the checkpoint")
    optional = {"head.weight"} if model.config.tie_word_embeddings else set()
    for name, source in sorted(sources.items()):
        if name in expected or name in optional:
            continue
        if name.endswith(".scale") and name.removesuffix(".scale") + ".weight" in expected:
            continue
        raise LoadError(
            f"{source.entry.file}: unexpected tensor {source.entry.key} "
            f"(no parameter {name} in this model)"
        )


def _groups(model: nn.Module) -> Iterator[list[str]]:
    """Expected names grouped by block (embedding, each layer, each MTP block, the rest)."""
    by_group: dict[str, list[str]] = {}
    for name in sorted(_expected(model)):
        parts = name.split(".")
        key = ".".join(parts[:2]) if parts[0] in ("layers", "mtp") else parts[0]
        by_group.setdefault(key, []).append(name)
    yield from by_group.values()


def _target(model: nn.Module, name: str) -> torch.Tensor:
    """The (meta) parameter or buffer ``name`` refers to."""
    module_name, _, leaf = name.rpartition(".")
    module = model.get_submodule(module_name) if module_name else model
    return getattr(module, leaf)


def _assign(model: nn.Module, name: str, tensor: torch.Tensor) -> None:
    """Replace the meta parameter/buffer ``name`` by ``tensor``."""
    module_name, _, leaf = name.rpartition(".")
    module = model.get_submodule(module_name) if module_name else model
    if leaf in module._buffers:
        module._buffers[leaf] = tensor
    else:
        module._parameters[leaf] = nn.Parameter(tensor, requires_grad=False)


class _Reader:
    """Reads, dequantises and converts tensors from open shards."""

    def __init__(self, stack: ExitStack, device: torch.device, dtype: torch.dtype) -> None:
        self.stack = stack
        self.device = device
        self.dtype = dtype
        self.handles: dict[Path, object] = {}

    def _raw(self, entry: TensorEntry) -> torch.Tensor:
        handle = self.handles.get(entry.file)
        if handle is None:
            handle = self.stack.enter_context(safe_open(str(entry.file), framework="pt"))
            self.handles[entry.file] = handle
        return handle.get_tensor(entry.key)

    def read(self, name: str, sources: dict[str, Source], target: torch.Tensor) -> torch.Tensor:
        """The value of model tensor ``name``, shaped and typed like ``target``."""
        source = sources[name]
        entry = source.entry
        where = f"{entry.file}: tensor {entry.key}"
        if target.dtype == torch.long:  # tid2eid
            if entry.dtype not in ("I64", "I32", "I16", "U8", "I8"):
                raise LoadError(f"{where}: expected integer expert ids, got {entry.dtype}")
            value = self._raw(entry)
        elif is_quantised(entry.dtype):
            weight, scale = self._quantised(name, sources, target)
            value = dequantize_weight(name, sources, weight, scale, self.dtype)
        else:
            value = self._raw(entry)
            if source.expert is not None:
                value = value[source.expert]
                if source.half is not None:
                    value = value.chunk(2, dim=0)[source.half]
        if tuple(value.shape) != tuple(target.shape):
            raise LoadError(
                f"{where}: shape {tuple(value.shape)} does not fit {name} {tuple(target.shape)}"
            )
        dtype = target.dtype if target.dtype == torch.long else self.dtype
        if FP32_PARAMS.search(name):
            dtype = torch.float32
        return value.to(device=self.device, dtype=dtype)

    def mapped(self, name: str, sources: dict[str, Source], target: torch.Tensor) -> torch.Tensor:
        """A memory-mapped, copy-on-write view of a (large) table, in its stored dtype.

        Nothing is read until rows are gathered; it stays in host memory whatever the device.
        """
        entry = sources[name].entry
        kinds = {"F32": (np.float32, None), "F16": (np.float16, None),
                 "BF16": (np.uint16, torch.bfloat16)}
        if entry.dtype not in kinds:
            raise LoadError(f"{entry.file}: tensor {entry.key}: cannot map {entry.dtype} tables")
        if entry.shape != tuple(target.shape):
            raise LoadError(
                f"{entry.file}: tensor {entry.key}: shape {entry.shape} does not fit "
                f"{name} {tuple(target.shape)}"
            )
        np_dtype, view = kinds[entry.dtype]
        array = np.memmap(entry.file, dtype=np_dtype, mode="c", offset=entry.offset,
                          shape=entry.shape)
        table = torch.from_numpy(array)
        return table.view(view) if view is not None else table

    def quant_linear(
        self, name: str, sources: dict[str, Source], target: torch.Tensor
    ) -> QuantLinear:
        """The FP8/FP4 weight ``name`` and its scale as a layer that keeps them quantised."""
        weight, scale = self._quantised(name, sources, target)
        return quant_linear_layer(
            name, sources, weight.to(self.device), scale.to(self.device), self.dtype
        )

    def _quantised(
        self, name: str, sources: dict[str, Source], target: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A quantised weight's stored bytes and its scale, after checks."""
        scale = checked_scale(name, sources, target)
        return self._raw(sources[name].entry), self._raw(scale.entry)
