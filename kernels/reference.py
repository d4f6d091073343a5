"""PyTorch references for the kernels: the ground truth of their tests and the CPU path.

Weight-only quantised linear layers, ``y = x @ W.T`` with ``W`` kept in DeepSeek's storage:

* **FP8**: ``weight`` ``[N, K]`` ``float8_e4m3fn``, ``scale`` ``[ceil(N/128), ceil(K/128)]``
  fp32 (one per 128x128 block; the caller decodes ue8m0 scales, a grid 16,384 times smaller
  than the weight);
* **FP4**: ``packed`` ``[N, K/2]`` uint8, two e2m1 codes per byte (low nibble first), and
  ``scale`` ``[N, K/32]`` uint8 ue8m0 exponents (one per 32 values of a row).

The weight is dequantised a tile of output rows at a time, each tile exactly as
``model_runtime.quant`` dequantises a whole matrix (``value * scale`` in fp32, then rounded
to the compute dtype), so the full dequantised matrix never exists and the result equals
``x @ dequantise(W).T`` up to the rounding of the matmul's summation order. The format's
constants and ue8m0 decoder are defined here, below ``model_runtime.quant``, which uses them.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

FP8_BLOCK = 128
FP4_GROUP = 32
# Dequantised tile size, in elements: 4 MiB in fp32 whatever the layer's width.
TILE_ELEMENTS = 1 << 20
# e2m1 code -> value; bit 3 is the sign.
E2M1_VALUES = (
    0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0,
)


def tile_rows(in_features: int) -> int:
    """Output rows dequantised at once: a multiple of 128 holding about ``TILE_ELEMENTS``."""
    return max(FP8_BLOCK, TILE_ELEMENTS // in_features // FP8_BLOCK * FP8_BLOCK)


def e8m0_bytes_to_float(scale: torch.Tensor) -> torch.Tensor:
    """ue8m0 exponent bytes -> fp32 ``2 ** (byte - 127)`` (byte 255 is NaN)."""
    exponent = scale.to(torch.int32) - 127
    value = torch.ldexp(torch.ones_like(exponent, dtype=torch.float32), exponent)
    return torch.where(scale == 255, torch.full_like(value, float("nan")), value)


def _tiled_linear(
    x: torch.Tensor,
    out_features: int,
    rows: int,
    tile: Callable[[int, int], torch.Tensor],
    dtype: torch.dtype,
) -> torch.Tensor:
    """``x @ W.T`` where ``tile(start, stop)`` dequantises rows ``start:stop`` of ``W``."""
    x = x.to(dtype)
    out = x.new_empty(*x.shape[:-1], out_features)
    for start in range(0, out_features, rows):
        stop = min(start + rows, out_features)
        out[..., start:stop] = F.linear(x, tile(start, stop))
    return out


def fp8_linear(
    x: torch.Tensor,
    weight: torch.Tensor,
    scale: torch.Tensor,
    dtype: torch.dtype,
    rows: int | None = None,
) -> torch.Tensor:
    """``x [..., K] @ (weight * block scale).T -> [..., N]`` computed in ``dtype``.

    ``rows`` (a multiple of 128, default :func:`tile_rows`) output rows are dequantised at
    a time.
    """
    n, k = weight.shape
    rows = rows or tile_rows(k)
    if rows % FP8_BLOCK:
        raise ValueError(f"FP8 tiles must be whole 128-row blocks, got {rows} rows")

    # byte -> value table: a gather is ~2.5x faster than the CPU's float8 -> fp32 cast
    table = torch.arange(256, dtype=torch.int32, device=weight.device).to(torch.uint8)
    table = table.view(torch.float8_e4m3fn).float()

    def tile(start: int, stop: int) -> torch.Tensor:
        values = torch.take(table, weight[start:stop].view(torch.uint8).long())
        row_scales = scale[start // FP8_BLOCK : -(-stop // FP8_BLOCK)].float()
        row_scales = row_scales.repeat_interleave(FP8_BLOCK, 1)[:, :k]  # [blocks, K]
        for i, block in enumerate(values.split(FP8_BLOCK)):
            block.mul_(row_scales[i])
        return values.to(dtype)

    return _tiled_linear(x, n, rows, tile, dtype)


def fp4_linear(
    x: torch.Tensor,
    packed: torch.Tensor,
    scale: torch.Tensor,
    dtype: torch.dtype,
    rows: int | None = None,
) -> torch.Tensor:
    """``x [..., K] @ (e2m1 value * group scale).T -> [..., N]`` computed in ``dtype``.

    ``packed`` is ``[N, K/2]`` uint8 and ``scale`` ``[N, K/32]`` uint8; ``rows`` output rows
    (default :func:`tile_rows`) are dequantised at a time.
    """
    n, k = packed.shape[0], 2 * packed.shape[1]
    rows = rows or tile_rows(k)
    values = torch.tensor(E2M1_VALUES, dtype=torch.float32, device=packed.device)
    codes = torch.arange(256, device=packed.device)
    pairs = torch.stack((values[codes & 0x0F], values[codes >> 4]), dim=-1)  # byte -> 2 values

    def tile(start: int, stop: int) -> torch.Tensor:
        # an embedding lookup is ~3x faster on CPU than indexing the table
        decoded = F.embedding(packed[start:stop].long(), pairs).view(stop - start, -1, FP4_GROUP)
        decoded.mul_(e8m0_bytes_to_float(scale[start:stop]).unsqueeze(-1))
        return decoded.view(stop - start, k).to(dtype)

    return _tiled_linear(x, n, rows, tile, dtype)
