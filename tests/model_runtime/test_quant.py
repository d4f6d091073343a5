"""FP8 (e4m3, 128x128 block scales) and FP4 (e2m1, ue8m0 per 32) against direct formulas,
and the layers that keep them quantised."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from model_runtime.models.quant_linear import Fp4Linear, Fp8Linear
from model_runtime.quant import (
    E2M1_VALUES,
    QuantFormatError,
    dequantize_fp4,
    dequantize_fp8,
    e8m0_to_float,
    float_to_e8m0,
    quantize_fp4,
    quantize_fp8,
)


def test_e8m0_is_a_biased_power_of_two() -> None:
    raw = torch.tensor([0, 1, 126, 127, 128, 254, 255], dtype=torch.uint8)
    decoded = e8m0_to_float(raw.view(torch.float8_e8m0fnu))
    expected = [2.0**-127, 2.0**-126, 0.5, 1.0, 2.0, 2.0**127]
    assert decoded[:6].tolist() == expected
    assert math.isnan(decoded[6].item())
    assert float_to_e8m0(torch.tensor(expected)).view(torch.uint8).tolist() == raw[:6].tolist()
    with pytest.raises(QuantFormatError):
        float_to_e8m0(torch.tensor([3.0]))


def test_fp4_low_nibble_comes_first() -> None:
    packed = torch.tensor([[0x71] * 16], dtype=torch.uint8)  # codes 1 then 7
    scale = torch.tensor([[127]], dtype=torch.uint8).view(torch.float8_e8m0fnu)
    values = dequantize_fp4(packed, scale)
    assert values[0, :4].tolist() == [0.5, 6.0, 0.5, 6.0]
    negative = torch.tensor([[0xF9] * 16], dtype=torch.uint8)  # codes 9 (-0.5), 15 (-6)
    assert dequantize_fp4(negative, scale)[0, :2].tolist() == [-0.5, -6.0]


def test_fp4_dequantisation_matches_the_formula() -> None:
    g = torch.Generator().manual_seed(0)
    rows, cols = 5, 96
    codes = torch.randint(0, 16, (rows, cols), generator=g)
    exponents = torch.randint(120, 135, (rows, cols // 32), generator=g)
    packed = (codes[:, 0::2] | (codes[:, 1::2] << 4)).to(torch.uint8)
    scale = exponents.to(torch.uint8).view(torch.float8_e8m0fnu)
    expected = torch.empty(rows, cols)
    for r in range(rows):
        for c in range(cols):
            value = E2M1_VALUES[int(codes[r, c])]
            expected[r, c] = value * 2.0 ** (int(exponents[r, c // 32]) - 127)
    assert torch.equal(dequantize_fp4(packed.view(torch.float4_e2m1fn_x2), scale), expected)


def test_fp4_writer_round_trips_representable_values() -> None:
    g = torch.Generator().manual_seed(1)
    codes = torch.randint(0, 16, (4, 64), generator=g)
    codes[:, 0::32] = 7  # every group reaches 6 x scale, so the writer picks that scale
    powers = 2.0 ** torch.randint(-6, 4, (4, 2), generator=g).float()
    table = torch.tensor(E2M1_VALUES)
    values = table[codes] * powers.repeat_interleave(32, dim=1)
    packed, scale = quantize_fp4(values)
    assert packed.dtype == torch.float4_e2m1fn_x2 and tuple(packed.shape) == (4, 32)
    assert torch.equal(e8m0_to_float(scale), powers)
    assert torch.equal(dequantize_fp4(packed, scale), values)


def test_fp8_dequantisation_matches_the_formula_on_ragged_blocks() -> None:
    g = torch.Generator().manual_seed(2)
    rows, cols = 200, 300  # partial blocks on both edges
    weight = (torch.randn(rows, cols, generator=g) * 50).to(torch.float8_e4m3fn)
    scale = torch.rand(2, 3, generator=g) + 0.1
    expected = torch.empty(rows, cols)
    for i in range(2):
        for j in range(3):
            block = weight[i * 128 : (i + 1) * 128, j * 128 : (j + 1) * 128].float()
            expected[i * 128 : (i + 1) * 128, j * 128 : (j + 1) * 128] = block * scale[i, j]
    assert torch.equal(dequantize_fp8(weight, scale), expected)
    with pytest.raises(QuantFormatError, match="scale shape"):
        dequantize_fp8(weight, scale[:, :2])


@pytest.mark.parametrize("scale_fmt", [None, "ue8m0"])
def test_fp8_writer_keeps_blocks_within_range(scale_fmt: str | None) -> None:
    g = torch.Generator().manual_seed(3)
    values = torch.randn(130, 260, generator=g) * torch.logspace(-3, 3, 260)
    weight, scale = quantize_fp8(values, scale_fmt=scale_fmt)
    assert weight.dtype == torch.float8_e4m3fn
    assert scale.dtype == (torch.float8_e8m0fnu if scale_fmt else torch.float32)
    assert tuple(scale.shape) == (2, 3)
    restored = dequantize_fp8(weight, scale)
    # e4m3 keeps 3 mantissa bits: relative error at most 1/16 above the subnormal range.
    big = values.abs() > 1e-2 * values.abs().amax()
    assert ((restored - values).abs()[big] <= values.abs()[big] / 16).all()


def test_fp8_writer_round_trips_representable_values() -> None:
    g = torch.Generator().manual_seed(4)
    grid = torch.randn(128, 256, generator=g).to(torch.float8_e4m3fn).float()
    grid[0, 0], grid[0, 128] = 448.0, -448.0  # each block's maximum maps to 448 exactly
    values = grid * torch.tensor([[0.25] * 128 + [4.0] * 128])
    weight, scale = quantize_fp8(values, scale_fmt="ue8m0")
    assert e8m0_to_float(scale).tolist() == [[0.25, 4.0]]
    assert torch.equal(dequantize_fp8(weight, scale), values)


def test_quantised_layers_compute_with_their_dequantised_weights() -> None:
    g = torch.Generator().manual_seed(5)
    x = torch.randn(2, 3, 256, generator=g)
    weight, scale = quantize_fp8(torch.randn(200, 256, generator=g), scale_fmt="ue8m0")
    fp8 = Fp8Linear(weight, scale, torch.bfloat16)
    expected = F.linear(x.bfloat16(), dequantize_fp8(weight, scale, torch.bfloat16))
    assert (fp8.in_features, fp8.out_features, fp8.scale.dtype) == (256, 200, torch.float32)
    assert torch.equal(fp8(x), expected)
    packed, fp4_scale = quantize_fp4(torch.randn(48, 256, generator=g))
    fp4 = Fp4Linear(packed, fp4_scale, torch.float32)
    assert fp4.weight.dtype == fp4.scale.dtype == torch.uint8
    assert (fp4.in_features, fp4.out_features) == (256, 48)
    assert torch.allclose(fp4(x), F.linear(x, dequantize_fp4(packed, fp4_scale)),
                          rtol=1e-6, atol=1e-6)


def test_quantised_layers_refuse_mismatched_scales() -> None:
    weight, scale = quantize_fp8(torch.randn(200, 300))
    with pytest.raises(QuantFormatError, match=r"scale shape \(2, 2\) does not match the \(2, 3\)"):
        Fp8Linear(weight, scale[:, :2], torch.float32)
    with pytest.raises(QuantFormatError, match="float8_e4m3fn"):
        Fp8Linear(weight.float(), scale, torch.float32)
    packed, fp4_scale = quantize_fp4(torch.randn(4, 64))
    with pytest.raises(QuantFormatError, match=r"scale shape \(4, 1\) does not match the \(4, 2\)"):
        Fp4Linear(packed, fp4_scale[:, :1], torch.float32)
    as_float = Fp4Linear(packed, e8m0_to_float(fp4_scale), torch.float32)
    assert torch.equal(as_float.scale, fp4_scale.view(torch.uint8))  # powers of two: lossless
    with pytest.raises(QuantFormatError, match="powers of two"):
        Fp4Linear(packed, 3 * e8m0_to_float(fp4_scale), torch.float32)
