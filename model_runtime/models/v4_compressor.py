"""KV compression of DeepSeek V4 (paper §2.3): gated pooling and the lightning indexer.

A compressor turns every ``ratio`` consecutive tokens into one KV entry: per channel, a
softmax over the window of ``wgate(x) + ape[offset]`` weighs ``wkv(x)``; the pooled vector
is RMS-normed and RoPE-rotated at the window's first position (compressed RoPE, YaRN).

* **HCA** (heavily compressed, ratio 128): windows do not overlap; every query attends to
  all entries of windows it has fully seen.
* **CSA** (compressed sparse, ratio 4): each token projects to two series, Ca and Cb
  (``2 * head_dim`` channels). Entry ``w`` pools Ca of window ``w-1`` together with Cb of
  window ``w`` (width ``2 * ratio``, stride ``ratio``). A lightning indexer — its own small
  compressor plus ``index_n_heads`` ReLU-scored query heads — picks the ``index_topk``
  entries each query attends to.

Entry ``i`` covers tokens ``[i*ratio, (i+1)*ratio)``; query ``t`` may use it iff
``i < (t + 1) // ratio``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from model_runtime.config import DeepseekV4Config
from model_runtime.models.v4_cache import CompressorState
from model_runtime.models.v4_layers import RMSNorm, Rope, apply_rope, linear

# Elements of the per-head indexer scores computed at once: 4 MiB in fp32, one reused buffer
# that stays in cache between the product and the head sum. A block's queries are scored
# together against a few hundred entries at a time (bench/model.py: 128 queries x 16 heads
# x 512 entries): on its shapes this beat scoring a few queries against all entries (8 MiB
# chunks, allocated afresh) by about 10% of the indexer's time at 64K tokens, with the same
# results bit for bit.
_SCORE_BUDGET = 1 << 20


class Compressor(nn.Module):
    """Gated pooling of ``ratio`` tokens into one ``head_dim`` entry (overlapping for CSA)."""

    def __init__(self, dim: int, head_dim: int, ratio: int, overlap: bool, eps: float) -> None:
        super().__init__()
        self.head_dim = head_dim
        self.ratio = ratio
        self.overlap = overlap
        width = 2 * head_dim if overlap else head_dim
        self.ape = nn.Parameter(torch.zeros(ratio, width, dtype=torch.float32))
        self.wkv = nn.Linear(dim, width, bias=False)
        self.wgate = nn.Linear(dim, width, bias=False)
        self.norm = RMSNorm(head_dim, eps)

    def forward(
        self, x: torch.Tensor, start: int, state: CompressorState | None, rope: Rope
    ) -> torch.Tensor:
        """Compress the tokens ``x`` (positions ``start..start+T-1``) and return all entries.

        ``x``: ``[B, T, dim]``. Without ``state`` the call must start at position 0 and the
        tokens of an unfinished last window are dropped; with it they are kept for later.
        Returns ``[B, n_entries, head_dim]``: every entry emitted so far.
        """
        b, t, _ = x.shape
        r, d = self.ratio, self.head_dim
        if state is None and start != 0:
            raise ValueError("a compressor without state can only start at position 0")
        xf = x.float()
        kv = F.linear(xf, self.wkv.weight.float())  # [B, T, c*d]
        offsets = (torch.arange(start, start + t, device=x.device) % r).long()
        score = F.linear(xf, self.wgate.weight.float()) + self.ape.float()[offsets]
        pending = start % r  # tokens of the unfinished window already buffered
        if state is not None and pending:
            kv = torch.cat([state.kv_buf[:, :pending], kv], dim=1)
            score = torch.cat([state.score_buf[:, :pending], score], dim=1)
        n = kv.shape[1] // r
        used = n * r
        if state is not None:
            left = kv.shape[1] - used
            state.kv_buf[:, :left] = kv[:, used:]
            state.score_buf[:, :left] = score[:, used:]
        first = (start - pending) // r
        if n == 0:
            return state.entries[:, : state.count] if state is not None else x.new_zeros(b, 0, d)
        kv_w = kv[:, :used].view(b, n, r, -1)
        score_w = score[:, :used].view(b, n, r, -1)
        if self.overlap:
            kv_w, score_w = self._overlap(kv_w, score_w, first, state)
        pooled = (kv_w * score_w.softmax(dim=2)).sum(dim=2)  # [B, n, d]
        entries = self.norm(pooled.to(x.dtype))
        positions = (torch.arange(first, first + n, device=x.device) * r).long()
        cos, sin = rope.cos_sin(positions)
        entries = apply_rope(entries, cos, sin)
        if state is None:
            return entries
        state.entries[:, first : first + n] = entries
        state.count = first + n
        return state.entries[:, : state.count]

    def _overlap(
        self,
        kv: torch.Tensor,
        score: torch.Tensor,
        first: int,
        state: CompressorState | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Lay out Ca of the previous window next to Cb of each window: ``[B, n, 2r, d]``."""
        b, n, r, _ = kv.shape
        d = self.head_dim
        kv_s = kv.new_zeros(b, n, 2 * r, d)
        score_s = score.new_full((b, n, 2 * r, d), float("-inf"))
        kv_s[:, :, r:] = kv[..., d:]
        score_s[:, :, r:] = score[..., d:]
        kv_s[:, 1:, :r] = kv[:, :-1, :, :d]
        score_s[:, 1:, :r] = score[:, :-1, :, :d]
        if state is not None:
            assert state.prev_kv is not None and state.prev_score is not None
            if first > 0:  # the window before this call's first one was finished earlier
                kv_s[:, 0, :r] = state.prev_kv
                score_s[:, 0, :r] = state.prev_score
            state.prev_kv.copy_(kv[:, -1, :, :d])
            state.prev_score.copy_(score[:, -1, :, :d])
        return kv_s, score_s


class Indexer(nn.Module):
    """Lightning indexer: scores compressed entries per query and keeps the top-k.

    Cost: every query scores every entry it can see, so a prefill of ``T`` tokens does about
    ``T * (T / ratio) / 2 * index_n_heads * index_head_dim`` multiply-adds plus a top-k over
    up to ``T / ratio`` scores per query — quadratic in ``T`` by design (the paper's
    indexer is the one O(T^2) part of V4, kept cheap by few, narrow heads; everything else
    in a CSA layer is linear). The products run at about the CPU's matmul peak; the top-k
    is two linear-time partitions over a few candidates per row (see
    :func:`_topk_lowest_index_ties`). In ``bench/model.py`` (16 heads x 32) :meth:`select`
    takes 24 of 52 s at 64K tokens (2.8 s of it the top-k) and under a tenth of the time at
    4K. Memory stays bounded: ``Attention.forward`` calls
    :meth:`select` one query block at a time (``Attention._block_size`` keeps the block's
    ``[block, N]`` score rows within ``_BLOCK_BUDGET``), and :func:`head_scores` computes the
    per-head ``[rows, heads, cols]`` scores one tile at a time into one reused buffer of at
    most ``_SCORE_BUDGET`` elements (4 MiB): all of the block's queries (``rows``) against
    ``cols`` entries, fewer queries only when ``rows * heads`` alone exceeds the budget.
    """

    def __init__(self, config: DeepseekV4Config, ratio: int) -> None:
        super().__init__()
        self.n_heads = config.index_n_heads
        self.head_dim = config.index_head_dim
        self.topk = config.index_topk
        self.ratio = ratio
        self.wq_b = nn.Linear(config.q_lora_rank, self.n_heads * self.head_dim, bias=False)
        self.weights_proj = nn.Linear(config.hidden_size, self.n_heads, bias=False)
        self.compressor = Compressor(
            config.hidden_size, self.head_dim, ratio, overlap=True, eps=config.rms_norm_eps
        )

    def select(
        self,
        x: torch.Tensor,
        qr: torch.Tensor,
        positions: torch.Tensor,
        keys: torch.Tensor,
        rope: Rope,
    ) -> torch.Tensor:
        """Top-k entry ids ``[B, T, k]`` per query, ``-1`` where fewer entries are visible.

        ``x``: ``[B, T, dim]`` normed block input; ``qr``: ``[B, T, q_lora_rank]`` query
        latent; ``positions``: ``[T]`` (ascending); ``keys``: ``[B, N, index_head_dim]`` fp32
        indexer entries. Score of entry s for query t:
        ``sum_h w_{t,h} * relu(q_{t,h} . k_s) / sqrt(c)``. Only the entries the block's last
        query can see are scored (a causal prefill thus scores half of all pairs); when they
        are no more than ``index_topk``, every visible one is selected without scoring.
        Memory: ``[B, T, index_n_heads, N]`` fp32 scores; the caller bounds ``T``.
        """
        b, t, _ = x.shape
        visible = ((positions + 1) // self.ratio).view(1, t, 1)  # entries each query may use
        n = min(keys.shape[1], int(visible[0, -1, 0]))
        if n <= self.topk:
            top = torch.arange(n, device=x.device).view(1, 1, n).expand(b, t, n)
            return torch.where(top >= visible, torch.full_like(top, -1), top)
        q = linear(qr, self.wq_b).view(b, t, self.n_heads, self.head_dim)
        cos, sin = rope.cos_sin(positions)
        q = apply_rope(q, cos, sin).float()
        scale = (self.head_dim * self.n_heads) ** -0.5
        weights = linear(x, self.weights_proj).float() * scale  # [B, T, H]
        keys_t = keys[:, :n].float().transpose(1, 2)  # [B, c, N]
        scores = torch.empty(b, t, n, device=x.device)
        rows = min(t, max(1, _SCORE_BUDGET // self.n_heads))
        cols = min(n, max(1, _SCORE_BUDGET // (rows * self.n_heads)))
        per_head = scores.new_empty(rows * self.n_heads * cols)  # reused by every tile
        for a in range(0, t, rows):
            z = min(a + rows, t)
            for e in range(0, n, cols):
                f = min(e + cols, n)
                head_scores(q[:, a:z], keys_t[:, :, e:f], weights[:, a:z], scores[:, a:z, e:f],
                            per_head)
        # Entries before the first query's limit are visible to every query of the block.
        first = int(visible[0, 0, 0])
        future = torch.arange(first, n, device=x.device).view(1, 1, -1) >= visible
        scores[..., first:].masked_fill_(future, float("-inf"))
        top = _topk_lowest_index_ties(scores, self.topk)
        return torch.where(top >= visible, torch.full_like(top, -1), top)


def head_scores(
    q: torch.Tensor,
    keys_t: torch.Tensor,
    weights: torch.Tensor,
    out: torch.Tensor,
    per_head: torch.Tensor,
) -> None:
    """Write indexer scores ``sum_h weights[b, r, h] * relu(q[b, r, h] . keys[b, :, s])`` to
    ``out`` ``[B, R, N]`` (a view into the caller's scores; need not be contiguous).

    ``q``: ``[B, R, H, c]`` fp32 queries; ``keys_t``: ``[B, c, N]`` fp32 entries, transposed;
    ``weights``: ``[B, R, H]`` scaled head weights; ``per_head``: a flat work buffer of at
    least ``R * H * N`` elements that receives each sequence's per-head scores in turn
    (one buffer reused by every tile, not a fresh multi-MiB tensor per call).
    """
    _, r, h, c = q.shape
    n = keys_t.shape[2]
    work = per_head[: r * h * n].view(r * h, n)
    for i in range(q.shape[0]):
        # One [R*H, c] x [c, N] product per sequence rather than R small ones.
        torch.mm(q[i].reshape(r * h, c), keys_t[i], out=work).relu_()
        # The head sum as a matmul: one read of the [R, H, N] block instead of three.
        out[i] = torch.bmm(weights[i].unsqueeze(1), work.view(r, h, n)).squeeze(1)


def _topk_lowest_index_ties(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Indices ``[..., k]`` of the k largest scores, ties at the k-th value going to lower indices.

    ``torch.topk`` breaks ties arbitrarily, and differently for rows of different lengths;
    scores tie exactly whenever every head's ReLU is zero. A fixed rule keeps the selection
    — and so the logits — identical between a full prefill and prefill-then-decode. The
    indices of a row come in no particular order (callers gather by index); ``k >= n``
    selects all ``n`` entries.

    The selection is by value, not by sorting: find each row's k-th largest score ``v``
    (:func:`_at_least_kth`, a linear-time partition), keep the scores above it and the
    lowest-index ties at it. Long rows (``n >= 4k``) first cut themselves to candidates
    (:func:`_group_candidates`) holding every score ``>= v``; the rest of a row is never
    touched again.
    """
    n = scores.shape[-1]
    lead = scores.shape[:-1]
    if k >= n:
        return torch.arange(n, device=scores.device).expand(*lead, n)
    flat = scores.reshape(-1, n)
    group = math.isqrt(n // k)
    top = _group_candidates(flat, k, group) if group >= 2 else _by_threshold(flat, k)
    return top.view(*lead, k)


def _on_numpy(x: torch.Tensor) -> bool:
    """Whether the selection's partitions and compactions of ``x`` run in numpy: on CPU,
    where ``np.partition`` (introselect) is several times faster than ``torch.kthvalue``
    or ``torch.topk`` and ``np.flatnonzero`` about twice as fast as ``torch.nonzero``."""
    return x.device.type == "cpu"


def _at_least_kth(x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x >= v, v)`` for ``x [R, n]``, ``v [R, 1]`` each row's k-th largest value (ties
    counted apart): at least k true entries per row."""
    n = x.shape[1]
    if not _on_numpy(x):
        kth = x.kthvalue(n - k + 1, dim=1, keepdim=True).values
        return x >= kth, kth
    values = x.detach().numpy()
    kth = np.partition(values, n - k, axis=1)[:, n - k : n - k + 1]
    return torch.from_numpy(values >= kth), torch.from_numpy(kth)


def _columns(mask: torch.Tensor, k: int) -> torch.Tensor | None:
    """Column ids ``[R, k]`` of the true entries of ``mask [R, m]``, or None unless each row
    has exactly k (the caller guarantees at least k per row, so the total decides)."""
    rows, m = mask.shape
    if _on_numpy(mask):
        where = torch.from_numpy(np.flatnonzero(mask.numpy()))
    else:
        where = mask.view(-1).nonzero().squeeze(1)
    if where.numel() != rows * k:
        return None
    return where.view(rows, k) - torch.arange(0, rows * m, m, device=mask.device).view(rows, 1)


def _by_threshold(flat: torch.Tensor, k: int) -> torch.Tensor:
    """:func:`_topk_lowest_index_ties` of ``flat [R, n]`` (``k < n``) by its k-th largest value.

    Every row selects its scores above ``v`` and, in index order, as many ties at ``v`` as
    fit: exactly k entries.
    """
    chosen, kth = _at_least_kth(flat, k)
    top = _columns(chosen, k)
    if top is not None:
        return top
    crowded = chosen.sum(dim=1) > k  # rows whose k-th value has a twin left out
    rows, kth = flat[crowded], kth[crowded]
    tied = rows == kth
    room = k - (rows > kth).sum(dim=1, keepdim=True)
    chosen[crowded] = (rows > kth) | (tied & (tied.cumsum(dim=1) <= room))
    top = _columns(chosen, k)
    assert top is not None
    return top


def _group_candidates(flat: torch.Tensor, k: int, group: int) -> torch.Tensor:
    """:func:`_by_threshold` of ``flat [R, n]`` through a cut to ``group * k`` candidates.

    The ``width = n // group`` strided groups (entries ``j, j + width, j + 2 * width, ...``;
    the ``n - group * width`` last entries are candidates of every row) have maxima; their
    k-th largest ``floor`` is reached by k groups. Where exactly k groups reach it, every
    score outside them is below ``floor``, which is at most the k-th largest score ``v``
    (the k group maxima are k scores ``>= floor``): the candidates hold every score
    ``>= v``, and when exactly k of them are ``>= v`` those are the selection. Rows with
    ties at ``floor`` or at ``v`` are decided again by :func:`_by_threshold`. ``group``
    near ``sqrt(n / k)`` balances the two selections (``width`` maxima, ``group * k``
    candidates).
    """
    rows, n = flat.shape
    width = n // group
    maxima = flat[:, : group * width].view(rows, group, width).amax(dim=1)
    firsts, tied_floor = _first_k(_at_least_kth(maxima, k)[0], k)  # the groups' first entries
    columns = flat.new_empty((rows, group * k + n - group * width), dtype=torch.long)
    columns[:, : group * k].view(rows, group, k).copy_(
        firsts.unsqueeze(1)
        + torch.arange(0, group * width, width, device=flat.device).view(1, group, 1)
    )
    columns[:, group * k :] = torch.arange(group * width, n, device=flat.device)
    candidates = flat.gather(1, columns)
    picked, tied_v = _first_k(_at_least_kth(candidates, k)[0], k)
    top = columns.gather(1, picked)
    for tied in (tied_floor, tied_v):
        if tied is not None:
            top[tied] = _by_threshold(flat[tied], k)
    return top


def _first_k(mask: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Columns ``[R, k]`` of the first k true entries of each row of ``mask [R, m]`` (at
    least k per row), and which rows had more (None if none did; rare: exact ties)."""
    columns = _columns(mask, k)
    if columns is not None:
        return columns, None
    crowded = mask.sum(dim=1) > k
    mask[crowded] &= mask[crowded].cumsum(dim=1) <= k
    columns = _columns(mask, k)
    assert columns is not None
    return columns, crowded
