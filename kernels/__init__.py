"""Triton kernels for the runtime's hot paths, each beside its PyTorch reference.

The functions here dispatch: CUDA tensors go to the Triton kernel, anything else to the
reference in :mod:`kernels.reference` (triton is imported only when a CUDA tensor arrives,
so CPU-only installs never need it).
"""

from __future__ import annotations

import torch

from kernels import reference


def fp8_linear(
    x: torch.Tensor, weight: torch.Tensor, scale: torch.Tensor, dtype: torch.dtype
) -> torch.Tensor:
    """``x [..., K] @ dequantise(weight).T -> [..., N]`` in ``dtype`` for an FP8 weight.

    ``weight``: ``[N, K]`` ``float8_e4m3fn``; ``scale``: ``[ceil(N/128), ceil(K/128)]`` fp32.
    """
    if x.is_cuda:
        from kernels import quant_matmul

        return quant_matmul.fp8_linear(x, weight, scale, dtype)
    return reference.fp8_linear(x, weight, scale, dtype)


def fp4_linear(
    x: torch.Tensor, packed: torch.Tensor, scale: torch.Tensor, dtype: torch.dtype
) -> torch.Tensor:
    """``x [..., K] @ dequantise(packed).T -> [..., N]`` in ``dtype`` for an FP4 weight.

    ``packed``: ``[N, K/2]`` uint8 (two e2m1 codes a byte, low nibble first); ``scale``:
    ``[N, K/32]`` uint8 ue8m0 exponents.
    """
    if x.is_cuda:
        from kernels import quant_matmul

        return quant_matmul.fp4_linear(x, packed, scale, dtype)
    return reference.fp4_linear(x, packed, scale, dtype)
