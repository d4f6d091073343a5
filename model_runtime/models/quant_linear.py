"""Linear layers whose weights stay FP8/FP4 in memory, as the checkpoint stores them.

They stand in for ``nn.Linear`` wherever a layer is applied through
:func:`model_runtime.models.v4_layers.linear`. The forward computes ``x @ dequantise(W).T``
in the layer's compute dtype with the kernels in :mod:`kernels` (Triton on CUDA; on CPU the
PyTorch reference, which dequantises a tile of output rows at a time), so the dequantised
matrix never exists as a whole. Buffers keep the checkpoint's names: ``weight`` and
``scale``.
"""

from __future__ import annotations

import torch
from torch import nn

import kernels
from model_runtime.quant import (
    FP4_GROUP,
    FP8_BLOCK,
    PACKED_DTYPES,
    QuantFormatError,
    float_to_e8m0,
    scale_to_float,
)

_UE8M0_DTYPES = (torch.float8_e8m0fnu, torch.uint8)


class QuantLinear(nn.Module):
    """A bias-free linear layer over a quantised weight; subclasses pick the format.

    Attributes:
        in_features: ``K``, the input width.
        out_features: ``N``, the output width.
        dtype: the compute dtype: inputs are cast to it, outputs come out in it.
    """

    def __init__(self, in_features: int, out_features: int, dtype: torch.dtype) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.dtype = dtype

    def extra_repr(self) -> str:
        """Shapes and dtypes, as ``print(model)`` shows them."""
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"weight={self.weight.dtype}, compute={self.dtype}")


class Fp8Linear(QuantLinear):
    """e4m3 weight ``[N, K]`` with one fp32 scale per 128x128 block."""

    def __init__(self, weight: torch.Tensor, scale: torch.Tensor, dtype: torch.dtype) -> None:
        """Wrap ``weight`` (``float8_e4m3fn``) and its block ``scale`` (fp32/bf16 or ue8m0).

        ue8m0 scales are decoded to fp32 here (the grid is 16,384 times smaller than the
        weight). Raises :class:`QuantFormatError` for a wrong dtype or scale grid.
        """
        if weight.dtype != torch.float8_e4m3fn or weight.dim() != 2:
            raise QuantFormatError(
                f"FP8 weights must be 2-D float8_e4m3fn, got {weight.dtype} {tuple(weight.shape)}")
        n, k = weight.shape
        grid = (-(-n // FP8_BLOCK), -(-k // FP8_BLOCK))
        if tuple(scale.shape) != grid:
            raise QuantFormatError(f"scale shape {tuple(scale.shape)} does not match the "
                                   f"{grid} blocks of {FP8_BLOCK}x{FP8_BLOCK} of a {n}x{k} weight")
        super().__init__(k, n, dtype)
        self.register_buffer("weight", weight)
        self.register_buffer("scale", scale_to_float(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., K] -> [..., N]`` in the compute dtype."""
        return kernels.fp8_linear(x, self.weight, self.scale, self.dtype)


class Fp4Linear(QuantLinear):
    """e2m1 weight packed two per byte ``[N, K/2]``, one ue8m0 scale per 32 values of a row."""

    def __init__(self, packed: torch.Tensor, scale: torch.Tensor, dtype: torch.dtype) -> None:
        """Wrap ``packed`` (uint8/int8/``float4_e2m1fn_x2``) and ``scale`` (``[N, K/32]``).

        Both are kept as raw bytes (uint8 views); float scales are re-encoded as ue8m0, which
        is lossless for the powers of two DeepSeek uses. Raises :class:`QuantFormatError` for
        a wrong dtype or scale shape, or float scales that are not powers of two.
        """
        if packed.dtype not in PACKED_DTYPES or packed.dim() != 2:
            raise QuantFormatError(
                f"FP4 weights must be 2-D packed bytes, got {packed.dtype} {tuple(packed.shape)}")
        if scale.dtype not in _UE8M0_DTYPES:
            scale = float_to_e8m0(scale_to_float(scale))
        n, k = packed.shape[0], 2 * packed.shape[1]
        if k % FP4_GROUP or tuple(scale.shape) != (n, k // FP4_GROUP):
            raise QuantFormatError(f"scale shape {tuple(scale.shape)} does not match the "
                                   f"({n}, {k // FP4_GROUP}) groups of {FP4_GROUP} of a "
                                   f"{n}x{k} weight")
        super().__init__(k, n, dtype)
        self.register_buffer("weight", packed.view(torch.uint8))
        self.register_buffer("scale", scale.view(torch.uint8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., K] -> [..., N]`` in the compute dtype."""
        return kernels.fp4_linear(x, self.weight, self.scale, self.dtype)
