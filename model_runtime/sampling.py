"""Choosing the next token from logits: greedy, or temperature with nucleus (top-p) sampling,
after the output's own repeats are discouraged (repetition penalty) or banned (no-repeat
n-grams)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class SamplingParams:
    """How to pick tokens. `temperature == 0` is greedy; `top_p < 1` keeps the smallest set
    of most likely tokens whose probabilities sum to at least `top_p`.

    Both repeat controls look at the generated output only, never the prompt: an answer
    about code must be free to copy identifiers and lines from the code it was shown, and
    the degeneration they fight is the output repeating itself.
    `repetition_penalty` (CTRL, Keskar et al. 2019; the semantics of Hugging Face and vLLM)
    divides the positive logits and multiplies the negative logits of every token the
    output already holds; 1 is off, 1.1-1.3 is usual. `no_repeat_ngram_size` n > 0 bans
    any token that would complete an n-gram the output already holds; 0 is off.
    """

    temperature: float = 0.0
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if not (math.isfinite(self.repetition_penalty) and self.repetition_penalty >= 1):
            raise ValueError("repetition_penalty must be a finite number >= 1 (1 is off; "
                             f"below 1 would favour repeats), got {self.repetition_penalty}")
        if isinstance(self.no_repeat_ngram_size, bool) or \
                not isinstance(self.no_repeat_ngram_size, int) or self.no_repeat_ngram_size < 0:
            raise ValueError("no_repeat_ngram_size must be an integer >= 0 (0 is off), got "
                             f"{self.no_repeat_ngram_size!r}")

    @property
    def greedy(self) -> bool:
        """True when sampling reduces to argmax."""
        return self.temperature == 0


class RepeatControls:
    """What `repetition_penalty` and `no_repeat_ngram_size` need to know about one sequence's
    output so far, updated once per generated token in O(n) (n the n-gram size).

    `apply` works on the distinct tokens seen and the banned ones only (gathered, changed
    and put back), plus one copy of the logits: no element-wise pass over the vocabulary,
    which for DeepSeek V4's 129,280 tokens would cost twenty times as much.
    """

    def __init__(self, params: SamplingParams) -> None:
        """Nothing generated yet."""
        self.penalty = params.repetition_penalty
        self.n = params.no_repeat_ngram_size
        self._seen: list[int] = []  # distinct tokens generated, when there is a penalty
        self._seen_set: set[int] = set()
        self._seen_index: Tensor | None = None  # `_seen` on the logits' device, when current
        self._recent: deque[int] = deque(maxlen=max(self.n - 1, 0))  # the last n-1 tokens
        self._followers: dict[tuple[int, ...], set[int]] = {}  # (n-1)-gram -> tokens after it

    def observe(self, token: int) -> None:
        """Record a generated token."""
        if self.penalty != 1 and token not in self._seen_set:
            self._seen_set.add(token)
            self._seen.append(token)
            self._seen_index = None
        if self.n:
            if len(self._recent) == self.n - 1:
                self._followers.setdefault(tuple(self._recent), set()).add(token)
            self._recent.append(token)

    def apply(self, logits: Tensor) -> Tensor:
        """`logits` [B, V] (every row this sequence's) with seen tokens penalised and
        n-gram-completing tokens set to -inf; a new tensor, the input is left as it was."""
        if self._seen:
            if self._seen_index is None:
                self._seen_index = torch.tensor(self._seen, device=logits.device)
            picked = logits.index_select(-1, self._seen_index)
            picked = torch.where(picked > 0, picked / self.penalty, picked * self.penalty)
            logits = logits.index_copy(-1, self._seen_index, picked)
        if self.n and len(self._recent) == self.n - 1:
            banned = self._followers.get(tuple(self._recent))
            if banned:
                index = torch.tensor(list(banned), device=logits.device)
                logits = logits.index_fill(-1, index, float("-inf"))
        return logits


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
    """Next token ids [B] from `logits` [B, V] (repeat controls already applied: they need
    the output, which `RepeatControls` keeps)."""
    if params.greedy:
        return logits.argmax(dim=-1)
    scaled = top_p_filter(logits.float() / params.temperature, params.top_p)
    probs = scaled.softmax(dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(-1)
