"""Weight-only FP8/FP4 matmuls: the tiled reference against whole-matrix dequantisation, and
the Triton kernels (interpreted on CPU, compiled on a GPU) against the reference."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import kernels
from kernels import reference
from model_runtime.quant import (
    dequantize_fp4,
    dequantize_fp8,
    quantize_fp4,
    quantize_fp8,
    scale_to_float,
)

triton = pytest.importorskip("triton")
from kernels import quant_matmul  # noqa: E402  (needs triton, and TRITON_INTERPRET set first)

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
gpu = pytest.mark.gpu
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _fp8(rows: int, cols: int, seed: int, scale_fmt: str | None = None) -> tuple:
    g = torch.Generator().manual_seed(seed)
    values = torch.randn(rows, cols, generator=g) * torch.logspace(-2, 1, cols)
    weight, scale = quantize_fp8(values, scale_fmt=scale_fmt)
    return weight, scale_to_float(scale)


def _fp4(rows: int, cols: int, seed: int) -> tuple:
    g = torch.Generator().manual_seed(seed)
    values = torch.randn(rows, cols, generator=g) * torch.logspace(-3, 1, rows)[:, None]
    packed, scale = quantize_fp4(values)
    return packed.view(torch.uint8), scale.view(torch.uint8)


def _input(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _assert_close(actual: torch.Tensor, expected: torch.Tensor, dtype: torch.dtype) -> None:
    """fp32: summation-order rounding only; bf16/fp16: a few units of the output's last place."""
    assert actual.dtype == expected.dtype == dtype and actual.shape == expected.shape
    a, b = actual.float().cpu(), expected.float().cpu()
    eps = {torch.float32: 1e-5, torch.bfloat16: 2**-6, torch.float16: 2**-9}[dtype]
    assert (a - b).abs().max() <= eps * b.abs().max()


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("rows", [128, None])
def test_fp8_reference_equals_whole_matrix_dequantisation(dtype: torch.dtype,
                                                          rows: int | None) -> None:
    weight, scale = _fp8(300, 200, seed=0, scale_fmt="ue8m0")  # ragged blocks both ways
    x = _input((2, 7, 200), seed=1)
    expected = F.linear(x.to(dtype), dequantize_fp8(weight, scale, dtype))
    _assert_close(reference.fp8_linear(x, weight, scale, dtype, rows=rows), expected, dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_fp4_reference_equals_whole_matrix_dequantisation(dtype: torch.dtype) -> None:
    packed, scale = _fp4(70, 96, seed=2)
    x = _input((9, 96), seed=3)
    expected = F.linear(x.to(dtype), dequantize_fp4(packed, scale, dtype))
    for rows in (32, 64, None):  # 70 rows: ragged last tile
        _assert_close(reference.fp4_linear(x, packed, scale, dtype, rows=rows), expected, dtype)


def test_fp8_tiles_are_whole_scale_blocks() -> None:
    weight, scale = _fp8(256, 128, seed=4)
    with pytest.raises(ValueError, match="128-row blocks"):
        reference.fp8_linear(torch.zeros(1, 128), weight, scale, torch.float32, rows=64)


def test_tiles_stay_bounded_whatever_the_width() -> None:
    assert reference.tile_rows(64) == reference.TILE_ELEMENTS // 64
    assert reference.tile_rows(7168) * 7168 <= reference.TILE_ELEMENTS
    assert reference.tile_rows(1 << 22) == 128  # never below one scale block


def test_cpu_tensors_dispatch_to_the_reference() -> None:
    weight, scale = _fp8(130, 256, seed=5)
    x = _input((3, 256), seed=6)
    assert torch.equal(kernels.fp8_linear(x, weight, scale, torch.float32),
                       reference.fp8_linear(x, weight, scale, torch.float32))
    packed, fp4_scale = _fp4(40, 64, seed=7)
    assert torch.equal(kernels.fp4_linear(x[:, :64], packed, fp4_scale, torch.bfloat16),
                       reference.fp4_linear(x[:, :64], packed, fp4_scale, torch.bfloat16))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize(("m", "n", "k"), [(5, 300, 200), (40, 130, 256)])
def test_triton_fp8_matches_the_reference(dtype: torch.dtype, m: int, n: int, k: int) -> None:
    weight, scale = _fp8(n, k, seed=8)
    x = _input((1, m, k), seed=9)
    expected = reference.fp8_linear(x, weight, scale, dtype)
    actual = quant_matmul.fp8_linear(x.to(DEVICE), weight.to(DEVICE), scale.to(DEVICE), dtype)
    _assert_close(actual, expected, dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize(("m", "n", "k"), [(5, 70, 96), (33, 64, 160)])
def test_triton_fp4_matches_the_reference(dtype: torch.dtype, m: int, n: int, k: int) -> None:
    packed, scale = _fp4(n, k, seed=10)
    x = _input((m, k), seed=11)
    expected = reference.fp4_linear(x, packed, scale, dtype)
    actual = quant_matmul.fp4_linear(x.to(DEVICE), packed.to(DEVICE), scale.to(DEVICE), dtype)
    _assert_close(actual, expected, dtype)


def test_triton_fp8_decodes_every_e4m3_code() -> None:
    raw = torch.arange(256, dtype=torch.int32).to(torch.uint8)
    raw[raw & 0x7F == 0x7F] = 0  # NaN codes (the interpreter reads them as 480)
    weight = raw.repeat(128, 1).view(torch.float8_e4m3fn)  # [128, 256], every code per row
    eye = torch.eye(256)
    actual = quant_matmul.fp8_linear(eye.to(DEVICE), weight.to(DEVICE),
                                     torch.ones(1, 2, device=DEVICE), torch.float32)
    assert torch.equal(actual.cpu(), weight.float().T)


def test_triton_fp4_decodes_every_code_and_scale_byte() -> None:
    # one row per scale byte from 2**-107 to 2**125 (no subnormal or infinite products),
    # the 16 e2m1 codes repeated along each row
    exponents = torch.arange(20, 253, dtype=torch.int32).to(torch.uint8)
    codes = torch.arange(16, dtype=torch.uint8).repeat(len(exponents), 4)  # [233, 64]
    packed = codes[:, 0::2] | (codes[:, 1::2] << 4)
    scale = exponents[:, None].repeat(1, 2)
    eye = torch.eye(64)
    expected = dequantize_fp4(packed, scale).T  # x = I picks out every dequantised value
    actual = quant_matmul.fp4_linear(eye.to(DEVICE), packed.to(DEVICE), scale.to(DEVICE),
                                     torch.float32)
    assert torch.equal(actual.cpu(), expected)


@gpu
@needs_cuda
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_cuda_dispatch_runs_triton_on_real_shapes(dtype: torch.dtype) -> None:
    weight, scale = _fp8(2048, 1536, seed=12)
    x = _input((3, 100, 1536), seed=13)
    expected = reference.fp8_linear(x, weight, scale, dtype)
    _assert_close(kernels.fp8_linear(x.cuda(), weight.cuda(), scale.cuda(), dtype),
                  expected, dtype)
    packed, fp4_scale = _fp4(1024, 2048, seed=14)
    x = _input((300, 2048), seed=15)
    expected = reference.fp4_linear(x, packed, fp4_scale, dtype)
    _assert_close(kernels.fp4_linear(x.cuda(), packed.cuda(), fp4_scale.cuda(), dtype),
                  expected, dtype)
