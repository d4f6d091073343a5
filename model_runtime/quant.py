"""DeepSeek's low-precision weight formats: dequantisation, and a writer for tests.

* **FP8** ``float8_e4m3fn`` weights ``[out, in]`` with one scale per 128x128 block,
  ``scale[out/128, in/128]`` (rounded up), stored as fp32 or as ``ue8m0`` (an unsigned
  8-bit exponent: the value is ``2 ** (byte - 127)``).
* **FP4** e2m1 routed-expert weights, two values per byte (low nibble first), logical shape
  ``[out, in]`` stored as ``[out, in/2]`` bytes, with one ue8m0 scale per 32 consecutive
  values of a row: ``scale[out, in/32]``.

The writer functions exist so tests and benchmarks can build such checkpoints from known
values without any external tool; the runtime only reads them, dequantising at load or
keeping them quantised (``model_runtime.models.quant_linear``).
"""

from __future__ import annotations

import torch

# The format constants and the ue8m0 decoder live with the kernels that compute on them.
from kernels.reference import E2M1_VALUES, FP4_GROUP, FP8_BLOCK, e8m0_bytes_to_float

FP8_MAX = 448.0
FP4_MAX = 6.0
PACKED_DTYPES = (torch.uint8, torch.int8, torch.float4_e2m1fn_x2)  # FP4 storage dtypes


class QuantFormatError(ValueError):
    """A quantised tensor whose dtype or scale shape does not match its format."""


def e8m0_to_float(scale: torch.Tensor) -> torch.Tensor:
    """Decode ue8m0 exponents (``float8_e8m0fnu`` or raw ``uint8``) to fp32 powers of two."""
    if scale.dtype == torch.float8_e8m0fnu:
        scale = scale.view(torch.uint8)
    if scale.dtype != torch.uint8:
        raise QuantFormatError(f"ue8m0 scales must be float8_e8m0fnu or uint8, got {scale.dtype}")
    return e8m0_bytes_to_float(scale)


def scale_to_float(scale: torch.Tensor) -> torch.Tensor:
    """Return scales as fp32 whatever their stored format (fp32/bf16/fp16 or ue8m0)."""
    if scale.dtype in (torch.float8_e8m0fnu, torch.uint8):
        return e8m0_to_float(scale)
    if not scale.is_floating_point():
        raise QuantFormatError(f"unsupported scale dtype {scale.dtype}")
    return scale.float()


def _expand_blocks(
    scale: torch.Tensor, rows: int, cols: int, block: tuple[int, int]
) -> torch.Tensor:
    """Broadcast a per-block scale grid to every element of a ``rows x cols`` matrix."""
    expected = (-(-rows // block[0]), -(-cols // block[1]))
    if tuple(scale.shape) != expected:
        raise QuantFormatError(
            f"scale shape {tuple(scale.shape)} does not match {expected} blocks of {block}"
        )
    full = scale.repeat_interleave(block[0], dim=0).repeat_interleave(block[1], dim=1)
    return full[:rows, :cols]


def dequantize_fp8(
    weight: torch.Tensor,
    scale: torch.Tensor,
    dtype: torch.dtype = torch.float32,
    block: tuple[int, int] = (FP8_BLOCK, FP8_BLOCK),
) -> torch.Tensor:
    """``weight[i, j] * scale[i // 128, j // 128]`` for an e4m3 matrix, in ``dtype``."""
    if weight.dtype != torch.float8_e4m3fn or weight.dim() != 2:
        raise QuantFormatError(f"FP8 weights must be 2-D float8_e4m3fn, got {weight.dtype}")
    rows, cols = weight.shape
    full = _expand_blocks(scale_to_float(scale), rows, cols, block)
    return (weight.float() * full).to(dtype)


def fp4_codes(packed: torch.Tensor) -> torch.Tensor:
    """Unpack ``[out, in/2]`` bytes into ``[out, in]`` e2m1 codes (low nibble first)."""
    if packed.dtype not in PACKED_DTYPES:
        raise QuantFormatError(f"FP4 weights must be packed bytes, got {packed.dtype}")
    raw = packed.view(torch.uint8)
    low, high = raw & 0x0F, raw >> 4
    return torch.stack((low, high), dim=-1).flatten(-2)


def dequantize_fp4(
    packed: torch.Tensor, scale: torch.Tensor, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """e2m1 value times its group's scale (one per 32 values of a row), in ``dtype``."""
    if packed.dim() != 2:
        raise QuantFormatError(f"FP4 weights must be 2-D, got shape {tuple(packed.shape)}")
    codes = fp4_codes(packed)
    rows, cols = codes.shape
    table = torch.tensor(E2M1_VALUES, dtype=torch.float32, device=packed.device)
    full = _expand_blocks(scale_to_float(scale), rows, cols, (1, FP4_GROUP))
    return (table[codes.long()] * full).to(dtype)


def _power_of_two_at_least(x: torch.Tensor) -> torch.Tensor:
    """Smallest power of two >= x (x > 0), as fp32."""
    mantissa, exponent = torch.frexp(x)
    exponent = torch.where(mantissa == 0.5, exponent - 1, exponent)
    return torch.ldexp(torch.ones_like(x), exponent)


def float_to_e8m0(value: torch.Tensor) -> torch.Tensor:
    """Encode exact powers of two as ``float8_e8m0fnu`` (exponent + 127)."""
    mantissa, exponent = torch.frexp(value.float())
    if not bool(((mantissa == 0.5) & (value > 0)).all()):
        raise QuantFormatError("ue8m0 can only encode positive powers of two")
    biased = exponent - 1 + 127
    if bool(((biased < 0) | (biased > 254)).any()):
        raise QuantFormatError("scale exponent out of the ue8m0 range")
    return biased.to(torch.uint8).view(torch.float8_e8m0fnu)


def quantize_fp8(
    values: torch.Tensor, scale_fmt: str | None = None, block: int = FP8_BLOCK
) -> tuple[torch.Tensor, torch.Tensor]:
    """Write a matrix as e4m3 with per-block scales: ``(weight, scale)``.

    Each block's scale maps its largest magnitude to at most 448; with ``scale_fmt="ue8m0"``
    the scale is rounded up to a power of two and stored as ``float8_e8m0fnu``.
    """
    if values.dim() != 2:
        raise QuantFormatError("FP8 quantisation expects a 2-D matrix")
    rows, cols = values.shape
    values = values.float()
    pad_r, pad_c = -rows % block, -cols % block
    padded = torch.nn.functional.pad(values, (0, pad_c, 0, pad_r))
    tiles = padded.view(padded.shape[0] // block, block, padded.shape[1] // block, block)
    amax = tiles.abs().amax(dim=(1, 3)).clamp_min(1e-12)
    scale = amax / FP8_MAX
    if scale_fmt == "ue8m0":
        scale = _power_of_two_at_least(scale)
    elif scale_fmt is not None:
        raise QuantFormatError(f"unknown scale format {scale_fmt!r}")
    full = _expand_blocks(scale, rows, cols, (block, block))
    weight = (values / full).to(torch.float8_e4m3fn)
    return weight, float_to_e8m0(scale) if scale_fmt == "ue8m0" else scale


def quantize_fp4(values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Write a matrix as packed e2m1 with ue8m0 group scales: ``(packed, scale)``.

    The group scale is the smallest power of two that brings the group's largest magnitude
    to at most 6; values are rounded to the nearest e2m1 value (ties to the lower code).
    Returns ``packed`` as ``float4_e2m1fn_x2`` of shape ``[out, in/2]``.
    """
    if values.dim() != 2 or values.shape[1] % FP4_GROUP:
        raise QuantFormatError(f"FP4 quantisation expects [out, k*{FP4_GROUP}] matrices")
    rows, cols = values.shape
    groups = values.float().view(rows, cols // FP4_GROUP, FP4_GROUP)
    amax = groups.abs().amax(dim=-1).clamp_min(2.0**-126)
    scale = _power_of_two_at_least(amax / FP4_MAX)
    scaled = groups / scale.unsqueeze(-1)
    magnitudes = torch.tensor(E2M1_VALUES[:8], dtype=torch.float32)
    nearest = (scaled.abs().unsqueeze(-1) - magnitudes).abs().argmin(dim=-1)
    codes = (nearest | ((scaled < 0).long() << 3)).view(rows, cols).to(torch.uint8)
    pairs = codes.view(rows, cols // 2, 2)
    packed = (pairs[..., 0] | (pairs[..., 1] << 4)).to(torch.uint8)
    return packed.view(torch.float4_e2m1fn_x2), float_to_e8m0(scale)
