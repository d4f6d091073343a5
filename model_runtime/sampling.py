"""Choosing the next token from logits: greedy, or temperature with top-k, nucleus (top-p)
and min-p filtering, after the output's own repeats are discouraged (repetition penalty) or
banned (no-repeat n-grams). `RequestSampler` is one request's choice of tokens: its
settings, its repeat controls and its own random generator."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class SamplingParams:
    """How to pick tokens. `temperature == 0` is greedy; otherwise the logits are divided by
    the temperature and filtered before drawing: `top_k > 0` keeps the `top_k` most likely
    tokens, `top_p < 1` the smallest set of most likely tokens whose probabilities sum to at
    least `top_p`, `min_p > 0` the tokens at least `min_p` times as likely as the most
    likely one (in that order, Hugging Face's; 0, 1 and 0 are off).

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
    top_k: int = 0
    min_p: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.temperature) and self.temperature >= 0):
            raise ValueError(f"temperature must be a finite number >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or self.top_k < 0:
            raise ValueError(f"top_k must be an integer >= 0 (0 is off), got {self.top_k!r}")
        if not 0 <= self.min_p <= 1:
            raise ValueError(f"min_p must be in [0, 1] (0 is off), got {self.min_p}")
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


def top_k_filter(logits: Tensor, top_k: int) -> Tensor:
    """`logits` [B, V] with every token outside the `top_k` most likely set to -inf (ties
    at the k-th value kept); 0 keeps all."""
    if top_k <= 0 or top_k >= logits.shape[-1]:
        return logits
    kth = logits.topk(top_k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


def min_p_filter(logits: Tensor, min_p: float) -> Tensor:
    """`logits` [B, V] with every token less likely than `min_p` times the most likely one
    set to -inf (in log space: more than -log(min_p) below the top logit); 0 keeps all."""
    if min_p <= 0:
        return logits
    floor = logits.amax(dim=-1, keepdim=True) + math.log(min_p)
    return logits.masked_fill(logits < floor, float("-inf"))


def sample(logits: Tensor, params: SamplingParams,
           generator: torch.Generator | None = None) -> Tensor:
    """Next token ids [B] from `logits` [B, V] (repeat controls already applied: they need
    the output, which `RepeatControls` keeps)."""
    if params.greedy:
        return logits.argmax(dim=-1)
    scaled = top_k_filter(logits.float() / params.temperature, params.top_k)
    scaled = min_p_filter(top_p_filter(scaled, params.top_p), params.min_p)
    probs = scaled.softmax(dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(-1)


class RequestSampler:
    """One request's token choice: its settings, its repeat controls and, when it samples,
    its own random generator, so its draws do not depend on what else the engine runs."""

    def __init__(self, params: SamplingParams, seed: int | None,
                 device: torch.device | str = "cpu") -> None:
        """`seed` makes the draws reproducible; None seeds the generator at random."""
        self.params = params
        self.controls = RepeatControls(params)
        self.generator: torch.Generator | None = None
        if not params.greedy:
            self.generator = torch.Generator(device=device)
            if seed is None:
                self.generator.seed()
            else:
                self.generator.manual_seed(seed)

    def choose(self, logits: Tensor) -> int:
        """The next token from this request's logits [vocab] (or [1, vocab])."""
        row = logits.reshape(1, -1)
        return int(sample(self.controls.apply(row), self.params, self.generator)[0])

    def observe(self, token: int) -> None:
        """Record a token the output keeps (for the repeat controls)."""
        self.controls.observe(token)
