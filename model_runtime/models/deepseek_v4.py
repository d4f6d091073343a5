"""DeepSeek V4: embedding into hyper-connection streams, decoder blocks, head and MTP.

Shapes: ``B`` batch, ``T`` tokens, ``n`` = ``hc_mult`` streams, ``d`` = ``hidden_size``.

    ids [B, T] -> embed [B, T, d] -> copied into streams [B, T, n, d]
      -> per block: mHC pre -> RMSNorm -> attention -> mHC post
                    mHC pre -> RMSNorm -> MoE       -> mHC post
      -> mHC head [B, T, d] -> RMSNorm -> head -> logits [B, T, vocab]

Module and parameter names follow DeepSeek's reference checkpoints (``layers.N.attn.wq_a``,
``layers.N.ffn.experts.E.w1``, ``layers.N.hc_attn_fn``, ``mtp.0.e_proj``, ...), so a
reference state dict loads without renaming; the loader maps Hugging Face names onto them.
The pieces live in ``v4_attention`` (attention), ``v4_compressor`` (CSA/HCA compression and
the lightning indexer), ``v4_moe`` (routing and experts) and ``v4_hyper`` (mHC).
"""

from __future__ import annotations

import torch
from torch import nn

from model_runtime.config import CSA, HCA, MOE, SLIDING, ConfigError, DeepseekV4Config
from model_runtime.models.engram import Engram, HashLayout, ngram_hashes
from model_runtime.models.v4_attention import Attention
from model_runtime.models.v4_cache import AttentionState, V4Cache
from model_runtime.models.v4_hyper import HyperConnection
from model_runtime.models.v4_layers import RMSNorm, linear
from model_runtime.models.v4_moe import MoE

# Tokens per step of a long prefill (DeepseekV4ForCausalLM.hidden_streams). The per-token
# work (mHC, norms, projections, MoE, window attention) slows down per token once its
# [T, hc_mult, hidden] activations outgrow the CPU caches: in bench/model.py a 64K prefill
# in one pass spent 1.5-2.5x more per token on it than a 4K one. Steps of 4K keep the 4K rate.
PREFILL_STEP = 4096


class Block(nn.Module):
    """One decoder block: attention and MoE, each wrapped in an mHC site."""

    def __init__(
        self,
        config: DeepseekV4Config,
        layer_type: str,
        ratio: int,
        mlp_type: str,
        engram: Engram | None = None,
    ) -> None:
        super().__init__()
        dim, hc = config.hidden_size, config.hc_mult
        self.engram = engram
        mix = (2 + hc) * hc
        self.attn = Attention(config, layer_type, ratio)
        self.ffn = MoE(config, mlp_type)
        self.attn_norm = RMSNorm(dim, config.rms_norm_eps)
        self.ffn_norm = RMSNorm(dim, config.rms_norm_eps)
        for site in ("attn", "ffn"):
            f32 = {"dtype": torch.float32}
            setattr(self, f"hc_{site}_fn", nn.Parameter(torch.zeros(mix, hc * dim, **f32)))
            setattr(self, f"hc_{site}_base", nn.Parameter(torch.zeros(mix, **f32)))
            setattr(self, f"hc_{site}_scale", nn.Parameter(torch.ones(3, **f32)))
        self.mhc = HyperConnection(hc, config.hc_sinkhorn_iters, config.hc_eps, config.rms_norm_eps)

    def forward(
        self,
        x: torch.Tensor,
        input_ids: torch.Tensor,
        positions: torch.Tensor,
        start: int,
        state: AttentionState | None,
        memory: torch.Tensor | None = None,
        conv_history: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Streams ``[B, T, n, d]`` in, streams out.

        ``memory`` is this layer's gathered Engram rows (Engram layers only) and
        ``conv_history`` its convolution state when decoding with a cache.
        """
        if self.engram is not None:
            x = self.engram(x, memory, conv_history)
        h, post, comb = self.mhc.pre(x, self.hc_attn_fn, self.hc_attn_scale, self.hc_attn_base)
        out = self.attn(self.attn_norm(h), positions, start, state)
        x = self.mhc.post(out, x, post, comb)
        h, post, comb = self.mhc.pre(x, self.hc_ffn_fn, self.hc_ffn_scale, self.hc_ffn_base)
        return self.mhc.post(self.ffn(self.ffn_norm(h), input_ids), x, post, comb)


class MTPBlock(Block):
    """Multi-token prediction: mixes the next token's embedding into the final streams."""

    def __init__(self, config: DeepseekV4Config, layer_type: str, ratio: int) -> None:
        super().__init__(config, layer_type, ratio, MOE)
        dim, hc = config.hidden_size, config.hc_mult
        self.e_proj = nn.Linear(dim, dim, bias=False)
        self.h_proj = nn.Linear(dim, dim, bias=False)
        self.enorm = RMSNorm(dim, config.rms_norm_eps)
        self.hnorm = RMSNorm(dim, config.rms_norm_eps)
        self.norm = RMSNorm(dim, config.rms_norm_eps)
        self.hc_head_fn = nn.Parameter(torch.zeros(hc, hc * dim, dtype=torch.float32))
        self.hc_head_base = nn.Parameter(torch.zeros(hc, dtype=torch.float32))
        self.hc_head_scale = nn.Parameter(torch.ones(1, dtype=torch.float32))

    def predict(
        self,
        streams: torch.Tensor,
        next_ids: torch.Tensor,
        embed: nn.Embedding,
        head: nn.Linear,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``streams`` ``[B, T, n, d]`` at positions 0..T-1 and the tokens one step ahead
        ``next_ids`` ``[B, T]`` -> ``(logits [B, T, vocab], this block's streams)``."""
        e = self.enorm(embed(next_ids))  # [B, T, d]
        x = linear(e, self.e_proj).unsqueeze(2) + linear(self.hnorm(streams), self.h_proj)
        positions = torch.arange(streams.shape[1], device=streams.device)
        x = self.forward(x.to(streams.dtype), next_ids, positions, 0, None)
        collapsed = self.mhc.head(x, self.hc_head_fn, self.hc_head_scale, self.hc_head_base)
        return linear(self.norm(collapsed), head), x


class DeepseekV4ForCausalLM(nn.Module):
    """The DeepSeek V4 language model (decoder, LM head and MTP blocks)."""

    def __init__(self, config: DeepseekV4Config) -> None:
        super().__init__()
        self.config = config
        dim, hc = config.hidden_size, config.hc_mult
        self.embed = nn.Embedding(config.vocab_size, dim)
        self.hash_layout = self._engram_layout()
        engram_ids = config.engram.layer_ids if config.engram is not None else ()
        self.layers = nn.ModuleList(
            Block(config, t, r, m, Engram(config, i, self.hash_layout) if i in engram_ids else None)
            for i, (t, r, m) in enumerate(
                zip(config.layer_types, config.compress_ratios, config.mlp_layer_types, strict=True)
            )
        )
        self.norm = RMSNorm(dim, config.rms_norm_eps)
        self.hc_head_fn = nn.Parameter(torch.zeros(hc, hc * dim, dtype=torch.float32))
        self.hc_head_base = nn.Parameter(torch.zeros(hc, dtype=torch.float32))
        self.hc_head_scale = nn.Parameter(torch.ones(1, dtype=torch.float32))
        self.head = nn.Linear(dim, config.vocab_size, bias=False)
        if config.tie_word_embeddings:
            self.head.weight = self.embed.weight
        self.mtp = nn.ModuleList(
            MTPBlock(config, *self._mtp_layer(i)) for i in range(config.num_mtp_layers)
        )
        self.mhc = HyperConnection(hc, config.hc_sinkhorn_iters, config.hc_eps, config.rms_norm_eps)

    def _engram_layout(self) -> HashLayout | None:
        """Hash layout of the Engram layers, plus the token -> compressed id table."""
        engram = self.config.engram
        if engram is None:
            return None
        if engram.compressed_vocab_size is None:
            raise ConfigError("key 'engram_compressed_vocab_size': required with Engram layers")
        self.register_buffer("engram_vocab", torch.arange(self.config.vocab_size))
        return HashLayout.build(engram, engram.compressed_vocab_size)

    def _engram_memory(
        self, input_ids: torch.Tensor, cache: V4Cache | None
    ) -> dict[int, torch.Tensor]:
        """Gather every Engram layer's rows for ``input_ids`` before any layer runs."""
        engram = self.config.engram
        if engram is None:
            return {}
        ids = self.engram_vocab[input_ids]  # [B, T] compressed ids
        if cache is not None and cache.engram_tokens is not None:
            history = cache.engram_tokens
        else:
            pad = self.engram_vocab[engram.pad_token_id]
            history = pad.expand(input_ids.shape[0], engram.max_ngram_size - 1)
        if cache is not None:
            cache.engram_tokens = torch.cat([history, ids], dim=1)[:, -history.shape[1] :]
        memory = {}
        for i in engram.layer_ids:
            hashes = ngram_hashes(
                ids, history, self.hash_layout.multipliers[i], self.hash_layout.primes[i]
            )
            memory[i] = self.layers[i].engram.gather(hashes, self.dtype)
        return memory

    def _mtp_layer(self, i: int) -> tuple[str, int]:
        """Attention type and ratio of MTP block ``i`` (from the ratios after the layers)."""
        ratios = self.config.mtp_compress_ratios
        ratio = ratios[i] if i < len(ratios) else 0
        csa_ratios = {
            r for t, r in zip(self.config.layer_types, self.config.compress_ratios, strict=True)
            if t == CSA
        }
        if ratio == 0:
            return SLIDING, 0
        return (CSA if ratio in (csa_ratios or {4}) else HCA), ratio

    @property
    def dtype(self) -> torch.dtype:
        """Activation dtype (that of the token embedding)."""
        return self.embed.weight.dtype

    @property
    def device(self) -> torch.device:
        """Device holding the weights."""
        return self.embed.weight.device

    def new_cache(self, batch_size: int, max_len: int) -> V4Cache:
        """Preallocated decoding state for ``batch_size`` sequences of up to ``max_len`` tokens."""
        states = [
            block.attn.new_state(batch_size, max_len, self.dtype, self.device)
            for block in self.layers
        ]
        cache = V4Cache(layers=states, batch_size=batch_size, max_len=max_len)
        for i, block in enumerate(self.layers):
            if block.engram is not None:
                width = self.config.hc_mult * self.config.hidden_size
                cache.engram_conv[i] = torch.zeros(
                    batch_size, block.engram.conv_span, width, dtype=self.dtype, device=self.device
                )
        return cache

    def _check_positions(
        self, input_ids: torch.Tensor, positions: torch.Tensor | None, cache: V4Cache | None
    ) -> tuple[torch.Tensor, int]:
        """Positions ``[T]`` of this call and its start; validates them against the cache."""
        if input_ids.dim() != 2:
            raise ValueError(f"input_ids must be [batch, tokens], got {tuple(input_ids.shape)}")
        b, t = input_ids.shape
        start = 0
        if cache is not None:
            if b != cache.batch_size:
                raise ValueError(f"batch of {b} sequences, cache holds {cache.batch_size}")
            if cache.length + t > cache.max_len:
                raise ValueError(
                    f"{cache.length} cached + {t} new tokens exceed the cache's {cache.max_len}"
                )
            start = cache.length
        expected = torch.arange(start, start + t, device=input_ids.device)
        if positions is not None and not bool((positions == expected).all()):
            raise ValueError(
                f"positions must continue the sequence contiguously from {start} in every row"
            )
        return expected, start

    def hidden_streams(
        self,
        input_ids: torch.Tensor,
        positions: torch.Tensor | None = None,
        cache: V4Cache | None = None,
        keep: int | None = None,
    ) -> torch.Tensor:
        """Run the decoder: ``input_ids`` ``[B, T]`` -> final streams ``[B, T, n, d]``.

        ``keep`` (if given and positive) returns only the last that many positions. Inputs
        longer than ``PREFILL_STEP`` run in steps of that many tokens through ``cache`` (a
        transient one when none is given), as a chunked prefill would: the per-token work
        stays on cache-sized tensors, and the streams equal one pass's up to rounding.
        """
        pos, start = self._check_positions(input_ids, positions, cache)
        t = input_ids.shape[1]
        keep = min(keep, t) if keep else t
        if t <= PREFILL_STEP:
            return self._run_layers(input_ids, pos, start, cache)[:, t - keep :]
        if cache is None:
            cache = self.new_cache(input_ids.shape[0], t)
        kept = []
        for a in range(0, t, PREFILL_STEP):
            z = min(a + PREFILL_STEP, t)
            streams = self._run_layers(input_ids[:, a:z], pos[a:z], start + a, cache)
            if z > t - keep:
                kept.append(streams[:, max(a, t - keep) - a :])
        return kept[0] if len(kept) == 1 else torch.cat(kept, dim=1)

    def _run_layers(
        self, input_ids: torch.Tensor, pos: torch.Tensor, start: int, cache: V4Cache | None
    ) -> torch.Tensor:
        """Every decoder layer over ``input_ids`` ``[B, T]`` at ``pos`` (already checked)."""
        memory = self._engram_memory(input_ids, cache)
        x = self.embed(input_ids)
        x = x.unsqueeze(2).expand(-1, -1, self.config.hc_mult, -1).contiguous()
        for i, block in enumerate(self.layers):
            state = cache.layers[i] if cache is not None else None
            conv = cache.engram_conv.get(i) if cache is not None else None
            x = block(x, input_ids, pos, start, state, memory.get(i), conv)
        if cache is not None:
            cache.length = start + input_ids.shape[1]
        return x

    def logits(self, streams: torch.Tensor) -> torch.Tensor:
        """Final streams ``[B, T, n, d]`` -> logits ``[B, T, vocab]``."""
        collapsed = self.mhc.head(streams, self.hc_head_fn, self.hc_head_scale, self.hc_head_base)
        return linear(self.norm(collapsed), self.head)

    def forward(
        self,
        input_ids: torch.Tensor,
        positions: torch.Tensor | None = None,
        cache: V4Cache | None = None,
        num_logits: int | None = None,
    ) -> torch.Tensor:
        """Logits ``[B, T, vocab]`` for ``input_ids`` ``[B, T]``.

        ``positions`` ``[B, T]`` (optional) must continue the cached sequence contiguously.
        With ``cache`` the call extends it (prefill, then one token at a time gives the same
        logits as one full prefill). ``num_logits`` keeps only the last that many positions.
        """
        return self.logits(self.hidden_streams(input_ids, positions, cache, keep=num_logits))

    def mtp_logits(self, input_ids: torch.Tensor) -> list[torch.Tensor]:
        """Multi-token predictions of a full sequence, one tensor per MTP block.

        Block ``k`` returns ``[B, T-1-k, vocab]`` whose row ``t`` predicts token ``t+k+2``.
        """
        x = self.hidden_streams(input_ids)
        out = []
        for k, block in enumerate(self.mtp):
            logits, x = block.predict(x[:, :-1], input_ids[:, k + 1 :], self.embed, self.head)
            out.append(logits)
        return out
