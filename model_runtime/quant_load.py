"""FP8/FP4 checkpoint weights: which stay quantised, their checks, and what they become.

A linear layer's FP8 (``F8_E4M3``) or packed FP4 (``F4``/``U8``/``I8``) weight comes with a
``.scale`` tensor. Kept quantised, the pair becomes an ``Fp8Linear``/``Fp4Linear`` layer that
dequantises as it computes; otherwise it is dequantised to the activation dtype at load.
Both paths check the pair the same way, and every misfit raises :class:`LoadError` naming
the tensor and the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from model_runtime.checkpoint import LoadError, Source
from model_runtime.models.quant_linear import Fp4Linear, Fp8Linear, QuantLinear
from model_runtime.quant import FP4_GROUP, QuantFormatError, dequantize_fp4, dequantize_fp8

_PACKED = {"F4", "U8", "I8"}
# Parameters DeepSeek keeps in fp32 whatever the activation dtype.
FP32_PARAMS = re.compile(
    r"(hc_\w+_(fn|base|scale)|attn_sink|\.ape|gate\.bias|norm\.weight"
    r"|compressor\.(wkv|wgate)\.weight)$"
)
# Linear weights the model reads directly rather than through ``linear()`` (the grouped
# output projection's bmm); FP8 storage of these is dequantised at load, as DeepSeek's own
# convert.py does for ``wo_a``. The fp32 compressor projections above are too.
_READ_DIRECTLY = re.compile(r"\.wo_a\.weight$")


def is_quantised(dtype: str) -> bool:
    """Whether a safetensors dtype string is FP8 or (packed) FP4 storage."""
    return dtype == "F8_E4M3" or dtype in _PACKED


def stays_quantised(model: nn.Module, name: str, sources: dict[str, Source]) -> bool:
    """Whether ``name`` is an FP8/FP4-stored weight of a layer applied through ``linear()``."""
    if not is_quantised(sources[name].entry.dtype):
        return False
    if _READ_DIRECTLY.search(name) or FP32_PARAMS.search(name) or not name.endswith(".weight"):
        return False
    return type(model.get_submodule(name.removesuffix(".weight"))) is nn.Linear


def checked_scale(name: str, sources: dict[str, Source], target: torch.Tensor) -> Source:
    """Where quantised weight ``name``'s scale is stored, once the weight fits ``target``."""
    entry = sources[name].entry
    where = f"{entry.file}: tensor {entry.key}"
    scale_name = _scale_name(name)
    if sources[name].expert is not None:
        raise LoadError(f"{where}: stacked expert tensors must be stored unquantised")
    if scale_name not in sources:
        raise LoadError(f"{where}: quantised ({entry.dtype}) but has no scale {scale_name}")
    if target.dim() != 2:
        raise LoadError(f"{where}: {entry.dtype} storage for non-matrix {name}")
    rows, cols = target.shape
    stored = (rows, cols // 2) if entry.dtype in ("U8", "I8") else (rows, cols)
    if entry.shape != stored:
        raise LoadError(f"{where}: shape {entry.shape} does not fit {name} {(rows, cols)}")
    if entry.dtype in _PACKED and cols % FP4_GROUP:
        raise LoadError(f"{where} / {scale_name}: {cols} columns are not groups of {FP4_GROUP}")
    return sources[scale_name]


def dequantize_weight(
    name: str,
    sources: dict[str, Source],
    weight: torch.Tensor,
    scale: torch.Tensor,
    dtype: torch.dtype,
) -> torch.Tensor:
    """Stored weight ``name`` and its scale (checked by :func:`checked_scale`) in ``dtype``."""
    with _format_errors(name, sources):
        if sources[name].entry.dtype in _PACKED:
            return dequantize_fp4(weight, scale, dtype)
        return dequantize_fp8(weight, scale, dtype)


def quant_linear_layer(
    name: str,
    sources: dict[str, Source],
    weight: torch.Tensor,
    scale: torch.Tensor,
    dtype: torch.dtype,
) -> QuantLinear:
    """A layer keeping stored weight ``name`` and its scale quantised, computing in ``dtype``."""
    with _format_errors(name, sources):
        if sources[name].entry.dtype in _PACKED:
            return Fp4Linear(weight, scale, dtype)
        return Fp8Linear(weight, scale, dtype)


def _scale_name(name: str) -> str:
    """The reference name of weight ``name``'s scale."""
    return name.removesuffix(".weight") + ".scale"


@contextmanager
def _format_errors(name: str, sources: dict[str, Source]) -> Iterator[None]:
    """Re-raise a bad weight/scale pair's ``QuantFormatError`` as a ``LoadError`` naming both."""
    entry = sources[name].entry
    try:
        yield
    except QuantFormatError as exc:
        raise LoadError(f"{entry.file}: tensor {entry.key} / {_scale_name(name)}: {exc}") from exc
