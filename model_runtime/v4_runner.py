"""The engine's DeepSeek V4 runner: one sequence per forward call, and prefix-cache blocks
cut from a `V4Cache`.

All rows of a `V4Cache` share one length (the window ring, the compressors' running
windows and their entry counts are per cache, not per row), so the engine runs V4
sequences one at a time, each in a cache of its own (batch 1), inside the same step.

A V4 prefix has two parts. Per token block it left compressed entries (CSA and HCA
entries and the indexer's keys: `block_size / ratio` rows per compressor); these are a
block's payload. Everything else a later token needs is a fixed-size state at the
prefix's end: the sliding-window ring, the CSA compressors' overlap half of the last
window (`prev_kv`, `prev_score`), Engram's last token ids and convolution inputs. That
state is only known at the cache's current length, so it is snapshotted when a prefill
chunk ends on a block boundary, and a restored prefix must end at a block carrying one.
Blocks are a multiple of every compress ratio, so no compressor window is unfinished at
a boundary and the compressors' token buffers (`kv_buf`, `score_buf`) hold nothing a
later token reads.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from model_runtime.models.deepseek_v4 import DeepseekV4ForCausalLM
from model_runtime.models.v4_cache import CompressorState, V4Cache
from model_runtime.runner import Runner, tensor_bytes

MIN_V4_BLOCK = 64  # the default block is the smallest multiple of every ratio at least this

Entries = tuple[torch.Tensor | None, torch.Tensor | None]  # a layer's compressor, indexer


@dataclass(frozen=True)
class V4State:
    """The fixed-size part of a V4 cache at a block boundary (copies).

    Attributes:
        windows: per layer, the window ring ``[1, window, head_dim]``.
        overlaps: per layer, ``(prev_kv, prev_score)`` of its CSA compressor and of its
            indexer's compressor (None where the layer has none).
        engram_tokens: ``[1, max_ngram - 1]`` last compressed ids, or None.
        engram_conv: per Engram layer, its convolution inputs.
    """

    windows: tuple[torch.Tensor, ...]
    overlaps: tuple[tuple[tuple[torch.Tensor, torch.Tensor] | None, ...], ...]
    engram_tokens: torch.Tensor | None
    engram_conv: dict[int, torch.Tensor]


def v4_block_size(model: DeepseekV4ForCausalLM, block_size: int | None) -> int:
    """`block_size`, checked to be a multiple of every compress ratio; when None, the
    smallest such multiple of at least MIN_V4_BLOCK tokens."""
    ratios = sorted({r for r in model.config.compress_ratios if r > 1})
    lcm = math.lcm(*ratios) if ratios else 1
    if block_size is None:
        return lcm * -(-MIN_V4_BLOCK // lcm)
    if block_size < 1 or block_size % lcm:
        raise ValueError(f"block_size {block_size}: a DeepSeek V4 block must be a multiple "
                         f"of every compress ratio {ratios}")
    return block_size


class V4Runner(Runner):
    """Sequential forward passes, and prefix-cache blocks with boundary state."""

    needs_state = True

    def __init__(self, model: DeepseekV4ForCausalLM, block_size: int | None = None) -> None:
        """`block_size`: see `v4_block_size`."""
        super().__init__(model, v4_block_size(model, block_size))
        self.model: DeepseekV4ForCausalLM = model
        self.ratios = [block.attn.ratio for block in model.layers]  # per layer (0: none)

    def saveable(self, cache: V4Cache) -> int:
        """The cache's length when it is a block boundary (its state is known only
        there), else 0."""
        return cache.length if cache.length % self.block_size == 0 else 0

    def export_block(self, cache: V4Cache, index: int) -> tuple[tuple[Entries, ...], int]:
        """Copies of the compressed entries block `index` emitted, per layer, and their
        bytes."""
        def rows(state: CompressorState | None, ratio: int) -> torch.Tensor | None:
            if state is None:
                return None
            per = self.block_size // ratio  # entries per block
            return state.entries[:, index * per:(index + 1) * per].clone()

        payload = tuple((rows(layer.compressor, ratio), rows(layer.indexer, ratio))
                        for layer, ratio in zip(cache.layers, self.ratios, strict=True))
        return payload, tensor_bytes(payload)

    def export_state(self, cache: V4Cache) -> tuple[V4State, int]:
        """A copy of the window rings, overlap halves and Engram state, and their bytes."""
        def overlap(state: CompressorState | None
                    ) -> tuple[torch.Tensor, torch.Tensor] | None:
            if state is None or state.prev_kv is None or state.prev_score is None:
                return None
            return state.prev_kv.clone(), state.prev_score.clone()

        state = V4State(
            windows=tuple(layer.window.clone() for layer in cache.layers),
            overlaps=tuple((overlap(layer.compressor), overlap(layer.indexer))
                           for layer in cache.layers),
            engram_tokens=None if cache.engram_tokens is None else cache.engram_tokens.clone(),
            engram_conv={i: conv.clone() for i, conv in cache.engram_conv.items()})
        return state, tensor_bytes(state)

    def restore(self, cache: V4Cache, blocks: Sequence[tuple[Entries, ...]], length: int,
                state: V4State) -> None:
        """Write the blocks' entries and the boundary state after them into the empty
        `cache`; `length` is all of their tokens."""
        for i, (layer, ratio) in enumerate(zip(cache.layers, self.ratios, strict=True)):
            layer.window.copy_(state.windows[i])
            for j, comp in enumerate((layer.compressor, layer.indexer)):
                if comp is None:
                    continue
                rows = [block[i][j] for block in blocks]
                count = length // ratio
                comp.entries[:, :count] = torch.cat(rows, dim=1)
                comp.count = count
                saved = state.overlaps[i][j]
                if saved is not None:
                    comp.prev_kv.copy_(saved[0])
                    comp.prev_score.copy_(saved[1])
        if state.engram_tokens is not None:
            cache.engram_tokens = state.engram_tokens.clone()
        for i, conv in state.engram_conv.items():
            cache.engram_conv[i].copy_(conv)
        cache.length = length
