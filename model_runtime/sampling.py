"""Choosing the next token from logits: greedy, or temperature with nucleus (top-p) sampling."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class SamplingParams:
    """How to pick tokens. `temperature == 0` is greedy; `top_p < 1` keeps the smallest set
    of most likely tokens whose probabilities sum to at least `top_p`."""

    temperature: float = 0.0
    top_p: float = 1.0

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")

    @property
    def greedy(self) -> bool:
        """True when sampling reduces to argmax."""
        return self.temperature == 0


def top_p_filter(logits: Tensor, top_p: float) -> Tensor:
    """`logits` [B, V] with every token outside the top-p nucleus set to -inf.

    The most likely token always survives, so a row is never empty.
    """
    if top_p >= 1:
        return logits
    sorted_logits, order = logits.sort(dim=-1, descending=True)
    probs = sorted_logits.softmax(dim=-1)
    # Drop a token when the tokens ranked above it already reach top_p.
    drop_sorted = probs.cumsum(dim=-1) - probs >= top_p
    drop = drop_sorted.scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def sample(logits: Tensor, params: SamplingParams,
           generator: torch.Generator | None = None) -> Tensor:
    """Next token ids [B] from `logits` [B, V]."""
    if params.greedy:
        return logits.argmax(dim=-1)
    scaled = top_p_filter(logits.float() / params.temperature, params.top_p)
    probs = scaled.softmax(dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(-1)
