"""Small shared pieces of DeepSeek V4: RMSNorm, partial interleaved RoPE (with YaRN), linear.

RoPE in V4 rotates only the trailing ``rope_head_dim`` channels of a head, pairing
*consecutive* channels (``x[2i], x[2i+1]``). Sliding-window layers use a plain base
(``rope_theta``); compressed layers and their indexer use ``compress_rope_theta`` with YaRN
interpolation and no attention rescaling. Because K doubles as V, the attention output
picks up the keys' rotation and is rotated back by the query position ("inverse RoPE").
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from model_runtime.config import YarnScaling
from model_runtime.models.quant_linear import QuantLinear


class RMSNorm(nn.Module):
    """RMS normalisation with an fp32 weight; computes in fp32, returns the input dtype."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise the last dimension of ``x``."""
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return (self.weight.float() * xf).to(x.dtype)


def unweighted_rms_norm(x: torch.Tensor, eps: float) -> torch.Tensor:
    """RMS normalisation without a learned weight (per-head query norm, mHC input norm)."""
    return x * torch.rsqrt(x.float().square().mean(-1, keepdim=True) + eps).to(x.dtype)


def linear(x: torch.Tensor, layer: nn.Linear | QuantLinear) -> torch.Tensor:
    """``x @ W.T`` computed in the weight's dtype (a quantised layer's: its compute dtype)."""
    if isinstance(layer, QuantLinear):
        return layer(x)
    return F.linear(x.to(layer.weight.dtype), layer.weight)


def rope_inv_freq(dim: int, theta: float, yarn: YarnScaling | None) -> torch.Tensor:
    """Inverse frequencies ``[dim/2]`` of RoPE over ``dim`` channels, YaRN-interpolated if set.

    YaRN keeps high frequencies (more than ``beta_fast`` rotations over the original context)
    unchanged, divides low ones (fewer than ``beta_slow`` rotations) by ``factor`` and ramps
    linearly in between; V4 does not rescale the attention logits.
    """
    exponents = torch.arange(0, dim, 2, dtype=torch.float32, device="cpu") / dim
    pos_freqs = theta**exponents
    if yarn is None:
        return 1.0 / pos_freqs
    original = yarn.original_max_position_embeddings

    def correction_dim(rotations: float) -> float:
        return dim * math.log(original / (rotations * 2 * math.pi)) / (2 * math.log(theta))

    low = max(math.floor(correction_dim(yarn.beta_fast)), 0)
    high = min(math.ceil(correction_dim(yarn.beta_slow)), dim - 1)
    if low == high:
        high += 0.001
    ramp = ((torch.arange(dim // 2, dtype=torch.float32, device="cpu") - low) / (high - low)).clamp(
        0, 1
    )
    keep = 1 - ramp  # share of the un-interpolated frequency
    return (1.0 / (yarn.factor * pos_freqs)) * (1 - keep) + (1.0 / pos_freqs) * keep


class Rope:
    """cos/sin tables of one RoPE flavour, computed for the positions of each call."""

    def __init__(self, dim: int, theta: float, yarn: YarnScaling | None) -> None:
        self.dim = dim
        self.inv_freq = rope_inv_freq(dim, theta, yarn)

    def cos_sin(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(cos, sin)`` of shape ``[*positions.shape, dim/2]`` in fp32."""
        freqs = positions.to(torch.float32)[..., None] * self.inv_freq.to(positions.device)
        return freqs.cos(), freqs.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate consecutive channel pairs of the trailing ``2 * cos.shape[-1]`` channels.

    ``x``: ``[B, T, ..., D]``; ``cos``/``sin``: ``[T, rd/2]``, broadcast over batch and
    the dims between T and D. Pass ``-sin`` for the inverse rotation.
    """
    rd = 2 * cos.shape[-1]
    extra = x.dim() - 3  # dims between T and D
    shape = (cos.shape[0],) + (1,) * extra + (cos.shape[-1],)
    cos = cos.view(shape).repeat_interleave(2, dim=-1)
    sin = sin.view(shape).repeat_interleave(2, dim=-1)
    nope, rope = x[..., :-rd], x[..., -rd:]
    pairs = rope.unflatten(-1, (-1, 2))
    swapped = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).flatten(-2)
    rotated = (rope.float() * cos + swapped.float() * sin).to(x.dtype)
    return torch.cat([nope, rotated], dim=-1)
