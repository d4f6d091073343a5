"""Contiguous decoding state of DeepSeek V4: everything a later token needs from earlier ones.

Per attention layer the state is fixed-size apart from the compressed entries:

* ``window``: a ring of the last ``sliding_window`` KV latents (slot = position % window);
* per compressor (the layer's own, and the indexer's on CSA layers): the token rows of the
  window still being filled (``kv_buf``/``score_buf``), the previous window's overlap half
  (CSA only) and the compressed entries emitted so far (``entries``, one per ``ratio``
  tokens, preallocated for ``max_len``).

All sequences of a batch advance together (``length`` is shared); the paged, per-request
cache of the serving engine is a later layer built on the same pieces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class CompressorState:
    """Running state of one gated-pooling compressor.

    Attributes:
        kv_buf: ``[B, ratio, c*d]`` fp32 projections of the tokens of the unfinished window.
        score_buf: ``[B, ratio, c*d]`` fp32 gate logits (position bias included) of those tokens.
        prev_kv: ``[B, ratio, d]`` overlap half (Ca) of the last finished window (CSA only).
        prev_score: ``[B, ratio, d]`` gate logits matching ``prev_kv``.
        entries: ``[B, max_len // ratio, d]`` compressed entries emitted so far.
        count: number of valid rows of ``entries``.
    """

    kv_buf: torch.Tensor
    score_buf: torch.Tensor
    prev_kv: torch.Tensor | None
    prev_score: torch.Tensor | None
    entries: torch.Tensor
    count: int = 0

    @classmethod
    def allocate(
        cls,
        batch: int,
        ratio: int,
        dim: int,
        overlap: bool,
        max_len: int,
        dtype: torch.dtype,
        device: torch.device,
    ) -> CompressorState:
        """Zeroed state for ``batch`` sequences of up to ``max_len`` tokens."""
        width = 2 * dim if overlap else dim
        f32 = {"dtype": torch.float32, "device": device}
        return cls(
            kv_buf=torch.zeros(batch, ratio, width, **f32),
            score_buf=torch.zeros(batch, ratio, width, **f32),
            prev_kv=torch.zeros(batch, ratio, dim, **f32) if overlap else None,
            prev_score=torch.zeros(batch, ratio, dim, **f32) if overlap else None,
            entries=torch.zeros(batch, max_len // ratio, dim, dtype=dtype, device=device),
        )


@dataclass
class AttentionState:
    """Decoding state of one attention layer.

    Attributes:
        window: ``[B, sliding_window, head_dim]`` ring of recent KV latents.
        compressor: state of the layer's KV compressor (CSA/HCA layers).
        indexer: state of the lightning indexer's compressor (CSA layers).
    """

    window: torch.Tensor
    compressor: CompressorState | None = None
    indexer: CompressorState | None = None


@dataclass
class V4Cache:
    """Decoding state of a whole model: one :class:`AttentionState` per decoder layer.

    Attributes:
        layers: states of the decoder layers, in order.
        batch_size: sequences decoded together.
        max_len: longest sequence the buffers hold.
        length: tokens already processed (the position of the next token).
        engram_tokens: ``[B, max_ngram - 1]`` compressed ids of the latest tokens (Engram).
        engram_conv: per Engram layer, ``[B, span, n*d]`` recent convolution inputs.
    """

    layers: list[AttentionState]
    batch_size: int
    max_len: int
    length: int = 0
    engram_tokens: torch.Tensor | None = None
    engram_conv: dict[int, torch.Tensor] = field(default_factory=dict)
