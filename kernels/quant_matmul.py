"""Weight-only block-scaled GEMMs in Triton: ``y = x @ dequantise(W).T`` for FP8 and FP4.

Same operands and result as :func:`kernels.reference.fp8_linear` / ``fp4_linear``. Each
program computes a ``BLOCK_M x BLOCK_N`` tile of ``y``; for every ``BLOCK_K`` slice of the
reduction it loads the quantised weight bytes, decodes them in registers (e4m3 by a
bitcast, e2m1 and ue8m0 arithmetically), multiplies by the scale in fp32 and feeds
``tl.dot``. The dequantised weight never reaches memory.

The dot runs in the compute dtype (bf16/fp16 operands, fp32 accumulation) on a GPU, in
fp32 (IEEE, no TF32) for fp32 layers and under ``TRITON_INTERPRET=1``, whose bf16 dot is
wrong. The interpreter also decodes e4m3's NaN code as 480; DeepSeek weights have none.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from kernels.reference import FP4_GROUP, FP8_BLOCK

_DTYPES = (torch.float32, torch.bfloat16, torch.float16)
BLOCK_N = 64
BLOCK_K = 64  # divides the FP8 block (one scale per K slice) and spans two FP4 groups


@triton.jit
def _e8m0_to_float(byte):
    """ue8m0 exponent bytes (as int32) -> fp32 ``2 ** (byte - 127)``, built bit by bit."""
    bits = tl.where(byte == 0, 0x00400000, byte << 23)  # byte 0 is the subnormal 2**-127
    bits = tl.where(byte == 255, 0x7FC00000, bits)  # NaN
    return bits.to(tl.float32, bitcast=True)


@triton.jit
def _e2m1_to_float(code):
    """e2m1 codes (int32, 0..15) -> fp32 values: sign bit 3, exponent bits 1-2, mantissa bit 0."""
    exponent = (code >> 1) & 3
    mantissa = code & 1
    twice = tl.where(exponent == 0, mantissa, (2 + mantissa) << tl.maximum(exponent - 1, 0))
    value = twice.to(tl.float32) * 0.5
    return tl.where((code & 8) != 0, -value, value)


@triton.jit
def _fp8_tile(w_ptr, s_ptr, rn, kk, k0, N, K, stride_wn, stride_sn, SCALE_BLOCK: tl.constexpr):
    """Dequantised ``[BLOCK_N, BLOCK_K]`` FP8 weight tile: e4m3 bytes times the block scale."""
    raw = tl.load(w_ptr + rn[:, None] * stride_wn + kk[None, :],
                  mask=(rn[:, None] < N) & (kk[None, :] < K), other=0)
    scale = tl.load(s_ptr + (rn // SCALE_BLOCK) * stride_sn + k0 // SCALE_BLOCK,
                    mask=rn < N, other=0.0)
    return raw.to(tl.float8e4nv, bitcast=True).to(tl.float32) * scale[:, None]


@triton.jit
def _fp4_tile(w_ptr, s_ptr, rn, kk, k0, N, K, stride_wn, stride_sn, SCALE_BLOCK: tl.constexpr):
    """Dequantised ``[BLOCK_N, BLOCK_K]`` FP4 weight tile: e2m1 codes times their group's
    ue8m0 scale (``SCALE_BLOCK`` values per scale)."""
    w_mask = (rn[:, None] < N) & (kk[None, :] < K)
    # Each byte holds columns 2j (low nibble) and 2j+1 (high): load it once per column.
    raw = tl.load(w_ptr + rn[:, None] * stride_wn + kk[None, :] // 2, mask=w_mask, other=0)
    code = (raw.to(tl.int32) >> ((kk[None, :] % 2) * 4)) & 15
    byte = tl.load(s_ptr + rn[:, None] * stride_sn + kk[None, :] // SCALE_BLOCK, mask=w_mask,
                   other=127)
    return _e2m1_to_float(code) * _e8m0_to_float(byte.to(tl.int32))


@triton.jit
def _quant_linear_kernel(
    x_ptr, w_ptr, s_ptr, y_ptr, M, N, K, stride_xm, stride_wn, stride_sn, stride_ym,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
    FP4: tl.constexpr, SCALE_BLOCK: tl.constexpr, DOT_FP32: tl.constexpr,
):
    rm = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    rn = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    rk = tl.arange(0, BLOCK_K)
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k0 in range(0, K, BLOCK_K):
        kk = k0 + rk
        x = tl.load(x_ptr + rm[:, None] * stride_xm + kk[None, :],
                    mask=(rm[:, None] < M) & (kk[None, :] < K), other=0.0)
        if FP4:
            w = _fp4_tile(w_ptr, s_ptr, rn, kk, k0, N, K, stride_wn, stride_sn, SCALE_BLOCK)
        else:
            w = _fp8_tile(w_ptr, s_ptr, rn, kk, k0, N, K, stride_wn, stride_sn, SCALE_BLOCK)
        if DOT_FP32:
            acc += tl.dot(x.to(tl.float32), tl.trans(w), input_precision="ieee")
        else:
            acc += tl.dot(x, tl.trans(w.to(x.dtype)))
    tl.store(y_ptr + rm[:, None] * stride_ym + rn[None, :], acc.to(y_ptr.dtype.element_ty),
             mask=(rm[:, None] < M) & (rn[None, :] < N))


def _launch(x: torch.Tensor, weight: torch.Tensor, scale: torch.Tensor, n: int, k: int,
            dtype: torch.dtype, fp4: bool, scale_block: int) -> torch.Tensor:
    """Flatten ``x`` to ``[M, K]`` in ``dtype``, run the kernel over the output grid."""
    if dtype not in _DTYPES:
        raise ValueError(f"unsupported compute dtype {dtype}")
    x2 = x.reshape(-1, k).to(dtype).contiguous()
    m = x2.shape[0]
    y = torch.empty(m, n, dtype=dtype, device=x.device)
    block_m = 16 if m <= 16 else 64
    grid = (triton.cdiv(m, block_m), triton.cdiv(n, BLOCK_N))
    dot_fp32 = dtype == torch.float32 or x.device.type != "cuda"
    _quant_linear_kernel[grid](
        x2, weight, scale, y, m, n, k, x2.stride(0), weight.stride(0), scale.stride(0),
        y.stride(0), BLOCK_M=block_m, BLOCK_N=BLOCK_N, BLOCK_K=BLOCK_K, FP4=fp4,
        SCALE_BLOCK=scale_block, DOT_FP32=dot_fp32)
    return y.view(*x.shape[:-1], n)


def fp8_linear(
    x: torch.Tensor, weight: torch.Tensor, scale: torch.Tensor, dtype: torch.dtype
) -> torch.Tensor:
    """Triton ``x [..., K] @ (weight * block scale).T -> [..., N]`` in ``dtype``.

    ``weight``: ``[N, K]`` ``float8_e4m3fn``; ``scale``: ``[ceil(N/128), ceil(K/128)]`` fp32.
    """
    n, k = weight.shape
    return _launch(x, weight.contiguous().view(torch.uint8), scale.float().contiguous(), n, k,
                   dtype, fp4=False, scale_block=FP8_BLOCK)


def fp4_linear(
    x: torch.Tensor, packed: torch.Tensor, scale: torch.Tensor, dtype: torch.dtype
) -> torch.Tensor:
    """Triton ``x [..., K] @ (e2m1 value * group scale).T -> [..., N]`` in ``dtype``.

    ``packed``: ``[N, K/2]`` uint8; ``scale``: ``[N, K/32]`` uint8 ue8m0 exponents.
    """
    n, k = packed.shape[0], 2 * packed.shape[1]
    return _launch(x, packed.contiguous(), scale.contiguous(), n, k, dtype, fp4=True,
                   scale_block=FP4_GROUP)
