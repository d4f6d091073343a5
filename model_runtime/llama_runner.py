"""The engine's llama runner: every sequence of a step in one packed forward call, each
sequence in a contiguous KV cache of its own.

Cache layout, chosen for CPU decoding: a sequence's cache is one `KVCache` of batch 1
(`[layers, 1, kv_heads, capacity, head_dim]` for K and for V) sized to its prompt plus
its `max_new_tokens`, rounded up to whole blocks. Attention then reads each sequence's
keys in place, as one contiguous slice per layer. A paged cache would have to gather a
sequence's blocks into such a slice at every layer of every decode step (SmolLM2: 30
layers, up to 4K positions), which on a CPU costs as much as the attention itself; the
price of contiguity is that a request reserves its whole length up front, which the
block accounting reports exactly. The buffers are allocated uninitialised, so the pages
of positions never written are never touched.

The packed call (`LlamaForCausalLM.forward_packed`) runs the projections, the MLP and the
LM head once over the tokens of all sequences (decode tokens and a prefill chunk alike)
and attention once per sequence, over its own cache at its own length.

For the prefix cache a block is a copy of the keys and values of `block_size` positions
(`[layers, kv_heads, block_size, head_dim]` twice); restoring copies them back in.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from model_runtime.models.llama import KVCache, LlamaForCausalLM, PackedCaches
from model_runtime.runner import Runner, Work, round_up

LLAMA_BLOCK = 64  # tokens per prefix-cache block


class LlamaRunner(Runner):
    """Packed forward passes and per-sequence contiguous caches for a llama model."""

    needs_state = False

    def __init__(self, model: LlamaForCausalLM, block_size: int | None = None) -> None:
        """`block_size`: tokens per block (LLAMA_BLOCK when None)."""
        cfg = model.config
        weight = model.model.embed_tokens.weight
        self.dtype = weight.dtype
        self.per_token = 2 * cfg.num_layers * cfg.num_kv_heads * cfg.head_dim * weight.itemsize
        super().__init__(model, block_size or LLAMA_BLOCK)
        self.model: LlamaForCausalLM = model

    def allocate(self, max_len: int) -> KVCache:
        """An empty, uninitialised cache for one sequence of up to `max_len` tokens."""
        cfg = self.model.config
        shape = (cfg.num_layers, 1, cfg.num_kv_heads, round_up(max_len, self.block_size),
                 cfg.head_dim)
        return KVCache(torch.empty(shape, dtype=self.dtype, device=self.device),
                       torch.empty(shape, dtype=self.dtype, device=self.device))

    def bytes_for(self, max_len: int) -> int:
        """Bytes of `allocate(max_len)`'s cache."""
        return round_up(max_len, self.block_size) * self.per_token

    def forward(self, work: Work) -> Tensor:
        """One packed call for all sequences; logits [S, vocab] of each one's last token."""
        ids = torch.tensor([t for _, tokens in work for t in tokens], device=self.device)
        packed = PackedCaches([cache for cache, _ in work], [len(t) for _, t in work])
        return self.model.forward_packed(ids, packed)

    def saveable(self, cache: KVCache) -> int:
        """Every cached token (the last block may be partial)."""
        return cache.length

    def export_block(self, cache: KVCache, index: int) -> tuple[tuple[Tensor, Tensor], int]:
        """Copies of the keys and values of block `index` (of its filled positions), and
        their bytes."""
        start = index * self.block_size
        at = slice(start, min(start + self.block_size, cache.length))
        k, v = cache.k[:, 0, :, at].clone(), cache.v[:, 0, :, at].clone()
        return (k, v), k.nbytes + v.nbytes

    def export_state(self, cache: KVCache) -> tuple[None, int]:
        """Nothing: a llama cache is its keys and values."""
        return None, 0

    def restore(self, cache: KVCache, blocks: Sequence[tuple[Tensor, Tensor]], length: int,
                state: None) -> None:
        """Copy the keys and values of the blocks' first `length` positions into the empty
        `cache` (the last block may be used in part)."""
        for index, (k, v) in enumerate(blocks):
            start = index * self.block_size
            n = min(self.block_size, length - start)
            cache.k[:, 0, :, start:start + n] = k[:, :, :n]
            cache.v[:, 0, :, start:start + n] = v[:, :, :n]
        cache.length = length
