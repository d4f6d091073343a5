"""Engram conditional memory (DeepSeek V4.1): hashed n-gram embeddings gated into the streams.

Per token, on the layers the config names:

1. **Compressed ids**: token ids are mapped onto a smaller vocabulary in which tokens that
   normalise to the same text (NFKC, accents stripped, lower-cased, whitespace collapsed)
   share one id (:func:`build_compressed_vocab`).
2. **Hashing**: for every n-gram order ``n = 2..max_ngram_size`` ending at the token,
   ``mix = XOR_k (id[t-k] * m_k)`` with per-layer odd multipliers ``m_k``; head ``j`` of that
   order takes ``mix mod p`` for its own prime ``p`` (primes are distinct across all heads
   and layers). Positions before the sequence start hash the pad id.
3. **Memory**: each (order, head) owns a slice of one embedding table; the rows found are
   concatenated into ``e`` (``(max_ngram_size - 1) * n_heads * head_dim`` wide).
4. **Gate** per hyper-connection stream ``s``: ``g = <RMSNorm(K_s e), RMSNorm(x_s)> / sqrt(d)``,
   ``gate = sigmoid(sign(g) * sqrt(|g|))``; the value ``gate * (V e)`` plus a causal, dilated,
   depthwise convolution of it (SiLU) is added to the stream.

Row ids depend only on token ids, so the model gathers all Engram rows before running its
layers; the tables themselves stay wherever the loader put them (memory-mapped from the
checkpoint for real sizes) and only the gathered rows are copied.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Regex, normalizers
from torch import nn

from model_runtime.config import ConfigError, DeepseekV4Config, EngramConfig
from model_runtime.models.v4_layers import RMSNorm, linear

_LAYER_SEED_STRIDE = 10007


def is_prime(n: int) -> bool:
    """Deterministic primality by trial division (table sizes stay far below 10**12)."""
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    return all(n % d for d in range(3, math.isqrt(n) + 1, 2))


def _next_prime(after: int, taken: set[int]) -> int:
    candidate = after + 1
    while not is_prime(candidate) or candidate in taken:
        candidate += 1
    return candidate


@dataclass(frozen=True)
class HashLayout:
    """Multipliers and prime table sizes of every Engram layer.

    Attributes:
        multipliers: per layer id, ``max_ngram_size`` odd multipliers.
        primes: per layer id, per n-gram order (2, 3, ...), the prime of each head.
    """

    multipliers: dict[int, tuple[int, ...]]
    primes: dict[int, tuple[tuple[int, ...], ...]]

    @classmethod
    def build(cls, engram: EngramConfig, compressed_vocab_size: int) -> HashLayout:
        """Derive the layout from the config: seeded multipliers, then distinct primes."""
        half_bound = max(1, (np.iinfo(np.int64).max // compressed_vocab_size) // 2)
        multipliers, primes, taken = {}, {}, set()
        for layer in engram.layer_ids:
            rng = np.random.default_rng(engram.seed + _LAYER_SEED_STRIDE * layer)
            draws = rng.integers(0, half_bound, size=engram.max_ngram_size, dtype=np.int64)
            multipliers[layer] = tuple(int(r) * 2 + 1 for r in draws)
            per_order = []
            for start in engram.ngram_vocab_sizes:
                heads, last = [], start - 1
                for _ in range(engram.n_heads):
                    last = _next_prime(last, taken)
                    taken.add(last)
                    heads.append(last)
                per_order.append(tuple(heads))
            primes[layer] = tuple(per_order)
        return cls(multipliers, primes)

    def table_rows(self, layer: int) -> int:
        """Rows of a layer's embedding table (all orders and heads)."""
        return sum(sum(heads) for heads in self.primes[layer])


def ngram_hashes(
    ids: torch.Tensor, history: torch.Tensor, multipliers: Sequence[int],
    primes: Sequence[Sequence[int]],
) -> torch.Tensor:
    """Hash ids ``[B, T, orders * heads]`` of the n-grams ending at each token.

    ``ids``: ``[B, T]`` compressed ids; ``history``: ``[B, max_ngram - 1]`` the ids before
    them (pad ids at the sequence start). Column ``(n - 2) * heads + j`` is head ``j`` of
    order ``n``: ``(XOR_{k<n} ids[t-k] * multipliers[k]) mod primes[n-2][j]``.
    """
    span = history.shape[1]
    full = torch.cat([history, ids], dim=1).long()
    t = ids.shape[1]
    shifted = [full[:, span - k : span - k + t] for k in range(span + 1)]
    out, mix = [], shifted[0] * multipliers[0]
    for order_index, heads in enumerate(primes):
        k = order_index + 1  # an order-n gram adds the token n-1 steps back
        mix = torch.bitwise_xor(mix, shifted[k] * multipliers[k])
        out.extend(torch.remainder(mix, p) for p in heads)
    return torch.stack(out, dim=-1)


def build_compressed_vocab(
    decode: Callable[[int], str], token_string: Callable[[int], str], vocab_size: int
) -> tuple[torch.Tensor, int]:
    """Map every token id to a compressed id: tokens with equal normalised text share one.

    ``decode(id)`` is the token's text, ``token_string(id)`` its raw vocabulary entry (used
    when the text is not valid UTF-8 on its own). Returns ``(lookup [vocab_size], size)``.
    """
    keys: dict[str, int] = {}
    lookup = torch.empty(vocab_size, dtype=torch.long)
    for tid in range(vocab_size):
        text = decode(tid)
        key = token_string(tid) if "\ufffd" in text else (normalize_token(text) or text)
        lookup[tid] = keys.setdefault(key, len(keys))
    return lookup, len(keys)


@cache
def _normalizer() -> normalizers.Normalizer:
    sentinel = "\ue000"  # keeps a token that is a single space from being stripped away
    return normalizers.Sequence([
        normalizers.NFKC(),
        normalizers.NFD(),
        normalizers.StripAccents(),
        normalizers.Lowercase(),
        normalizers.Replace(Regex(r"[ \t\r\n]+"), " "),
        normalizers.Replace(Regex(r"^ $"), sentinel),
        normalizers.Strip(),
        normalizers.Replace(sentinel, " "),
    ])


def normalize_token(text: str) -> str:
    """Engram's token normaliser: NFKC, NFD, strip accents, lower-case, collapse ASCII
    whitespace runs to one space and strip — except that a lone space stays a space."""
    return _normalizer().normalize_str(text)


class Engram(nn.Module):
    """Engram memory of one layer: table, gate per stream and short convolution."""

    def __init__(self, config: DeepseekV4Config, layer_id: int, layout: HashLayout) -> None:
        super().__init__()
        engram = config.engram
        assert engram is not None
        dim, hc = config.hidden_size, config.hc_mult
        rows = layout.table_rows(layer_id)
        declared = engram.num_embeddings[engram.layer_ids.index(layer_id)]
        if declared != rows:
            raise ConfigError(
                f"key 'engram_num_embeddings': layer {layer_id} declares {declared} rows, "
                f"its hash primes need {rows}"
            )
        heads = [p for order in layout.primes[layer_id] for p in order]
        offsets = torch.tensor([0, *np.cumsum(heads)[:-1].tolist()], dtype=torch.long, device="cpu")
        self.register_buffer("offsets", offsets, persistent=False)
        self.register_buffer("table", torch.zeros(rows, engram.head_dim))
        width = len(heads) * engram.head_dim
        self.hc = hc
        self.dim = dim
        self.kernel = engram.kernel_size
        self.dilation = engram.max_ngram_size
        self.value_proj = nn.Linear(width, dim, bias=False)
        self.key_projs = nn.ModuleList(nn.Linear(width, dim, bias=False) for _ in range(hc))
        self.norm1 = nn.ModuleList(RMSNorm(dim, config.rms_norm_eps) for _ in range(hc))
        self.norm2 = nn.ModuleList(RMSNorm(dim, config.rms_norm_eps) for _ in range(hc))
        self.conv_norms = nn.ModuleList(RMSNorm(dim, config.rms_norm_eps) for _ in range(hc))
        self.conv = nn.Parameter(torch.zeros(hc * dim, 1, engram.kernel_size))

    @property
    def conv_span(self) -> int:
        """Past positions the causal convolution reads."""
        return (self.kernel - 1) * self.dilation

    def gather(self, hashes: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """Rows for hash ids ``[B, T, G]`` -> memory ``[B, T, G * head_dim]`` on the model device.

        Only the addressed rows are read from the (possibly memory-mapped) table.
        """
        rows = (hashes + self.offsets.to(hashes.device)).to(self.table.device)
        found = self.table[rows.flatten()].view(*rows.shape, -1).flatten(-2)
        return found.to(device=self.value_proj.weight.device, dtype=dtype)

    def forward(
        self, x: torch.Tensor, memory: torch.Tensor, conv_history: torch.Tensor | None
    ) -> torch.Tensor:
        """Add the gated memory to the streams ``x`` ``[B, T, n, d]``.

        ``conv_history`` ``[B, conv_span, n*d]`` holds the normed convolution inputs of the
        positions before this call (zeros at the start) and is updated in place.
        """
        gates = []
        for s in range(self.hc):
            key = self.norm1[s](linear(memory, self.key_projs[s]))
            query = self.norm2[s](x[:, :, s])
            g = (key.float() * query.float()).sum(dim=-1) / math.sqrt(self.dim)
            g = g.abs().clamp_min(1e-6).sqrt() * g.sign()
            gates.append(g.sigmoid())
        value = torch.stack(gates, dim=2).unsqueeze(-1).to(x.dtype) * linear(
            memory, self.value_proj
        ).unsqueeze(2)  # [B, T, n, d]
        normed = torch.cat([self.conv_norms[s](value[:, :, s]) for s in range(self.hc)], dim=-1)
        b, t, _ = normed.shape
        if conv_history is None:
            past = normed.new_zeros(b, self.conv_span, normed.shape[-1])
        else:
            past = conv_history.to(normed.dtype)
        padded = torch.cat([past, normed], dim=1)  # [B, span + T, n*d]
        if conv_history is not None:
            conv_history.copy_(padded[:, t:])
        mixed = F.conv1d(
            padded.transpose(1, 2), self.conv.to(normed.dtype), dilation=self.dilation,
            groups=self.hc * self.dim,
        ).transpose(1, 2)  # [B, T, n*d]
        out = value + F.silu(mixed).view(b, t, self.hc, self.dim)
        return x + out
