"""Dense llama-family decoder: RMSNorm, RoPE, grouped-query attention, SwiGLU MLP.

Enough for SmolLM2 and its relatives. Parameter names follow Hugging Face's
`LlamaForCausalLM` (`model.layers.N.self_attn.q_proj.weight`, …), so an HF state dict
loads with `load_state_dict` as is. RoPE uses the HF (half-split) layout; GGUF files
store Q/K rows interleaved for llama.cpp and `gguf_loader` undoes that.

`forward(input_ids, positions, cache)` continues sequences that share one `KVCache`: it
appends the new keys/values after `cache.length` and attends over everything cached.
`forward_packed(input_ids, packed)` is the engine's entry point: the tokens of several
sequences, each with its own `KVCache` and length, packed into one call, so the
projections and the MLP run once over all of them and only attention runs per sequence.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from model_runtime.config import LlamaConfig


@dataclass
class KVCache:
    """Contiguous key/value cache for all layers: `k`, `v` are [layers, B, kv_heads, max_len, D].

    `length` positions are filled; `forward` writes the next ones and advances it.
    """

    k: Tensor
    v: Tensor
    length: int = 0

    @property
    def max_len(self) -> int:
        """Positions the cache can hold."""
        return self.k.shape[3]

    def check_room(self, t: int) -> None:
        """Raise ValueError unless `t` more positions fit."""
        if self.length + t > self.max_len:
            raise ValueError(f"KV cache holds {self.max_len} positions; {self.length} are "
                             f"filled and {t} more were given")


@dataclass
class PackedCaches:
    """Several sequences in one call: sequence `i` brings `counts[i]` new tokens, packed
    one sequence after another along the token axis, and continues `caches[i]` (batch 1)."""

    caches: list[KVCache]
    counts: list[int]


class RMSNorm(nn.Module):
    """Root-mean-square norm with a learned scale, computed in fp32."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        """Normalise the last dimension of `x`."""
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * xf.to(x.dtype)


def rope_cos_sin(positions: Tensor, head_dim: int, theta: float) -> tuple[Tensor, Tensor]:
    """cos and sin for `positions` ([T] or [B, T]), shaped [B or 1, 1, T, head_dim], fp32."""
    inv_freq = 1.0 / theta ** (
        torch.arange(0, head_dim, 2, device=positions.device, dtype=torch.float32) / head_dim
    )
    freqs = positions.to(torch.float32)[..., None] * inv_freq  # [.., T, D/2]
    emb = torch.cat([freqs, freqs], dim=-1)
    if emb.dim() == 2:
        emb = emb[None]
    return emb.cos()[:, None], emb.sin()[:, None]


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate `x` [B, H, T, D] by the angles in cos/sin (half-split layout)."""
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return (x.float() * cos + rotated.float() * sin).to(x.dtype)


class LlamaAttention(nn.Module):
    """Grouped-query self-attention with RoPE."""

    def __init__(self, cfg: LlamaConfig, layer: int) -> None:
        super().__init__()
        self.layer = layer
        self.n_heads, self.n_kv, self.head_dim = cfg.num_heads, cfg.num_kv_heads, cfg.head_dim
        self.q_proj = nn.Linear(cfg.hidden_size, self.n_heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(cfg.hidden_size, self.n_kv * self.head_dim, bias=False)
        self.v_proj = nn.Linear(cfg.hidden_size, self.n_kv * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.n_heads * self.head_dim, cfg.hidden_size, bias=False)

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor,
                cache: KVCache | PackedCaches | None) -> Tensor:
        """x: [B, T, hidden] -> [B, T, hidden]; reads and extends `cache` when given (with
        `PackedCaches`, B is 1 and T the packed tokens of all its sequences)."""
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.n_kv, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.n_kv, self.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if isinstance(cache, PackedCaches):
            out = torch.empty_like(q)  # [1, H, T, D]
            a = 0
            for one, n in zip(cache.caches, cache.counts, strict=True):
                part = slice(a, a + n)
                out[:, :, part] = self._attend(q[:, :, part], k[:, :, part], v[:, :, part], one)
                a += n
        else:
            out = self._attend(q, k, v, cache)
        return self.o_proj(out.transpose(1, 2).reshape(b, t, -1))

    def _attend(self, q: Tensor, k: Tensor, v: Tensor, cache: KVCache | None) -> Tensor:
        """Causal attention of q [B, H, T, D] over the cached keys/values and k, v
        [B, KV, T, D], which are written after `cache.length` first."""
        t = q.shape[2]
        start = 0
        if cache is not None:
            start = cache.length
            cache.k[self.layer, :, :, start:start + t] = k
            cache.v[self.layer, :, :, start:start + t] = v
            k = cache.k[self.layer, :, :, :start + t]
            v = cache.v[self.layer, :, :, :start + t]
        if t == 1:
            return _decode_attention(q, k, v)
        mask = None
        if start:  # a chunk after a cached prefix: causal within the chunk
            q_pos = torch.arange(start, start + t, device=q.device)[:, None]
            mask = torch.arange(start + t, device=q.device)[None, :] <= q_pos
        return F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=mask is None, enable_gqa=True
        )  # [B, H, T, D]


def _decode_attention(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """Attention of one query per sequence, q: [B, H, 1, D], k/v: [B, KV, S, D].

    Two small matmuls beat SDPA's CPU flash kernel by ~10x at this shape (its per-call
    setup dominates when there is a single query).
    """
    b, h, _, d = q.shape
    kv = k.shape[1]
    qg = q.view(b, kv, h // kv, d)  # the query heads that share each KV head
    scores = (qg @ k.transpose(-1, -2)).float() * d ** -0.5  # [B, KV, G, S]
    probs = scores.softmax(-1).to(v.dtype)
    return (probs @ v).view(b, h, 1, d)


class LlamaMLP(nn.Module):
    """SwiGLU feed-forward: down(silu(gate(x)) * up(x))."""

    def __init__(self, cfg: LlamaConfig) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.up_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        """x: [B, T, hidden] -> [B, T, hidden]."""
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    """Pre-norm block: x + attn(norm(x)), then + mlp(norm(x))."""

    def __init__(self, cfg: LlamaConfig, layer: int) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = LlamaAttention(cfg, layer)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = LlamaMLP(cfg)

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor,
                cache: KVCache | PackedCaches | None) -> Tensor:
        """One transformer block over x: [B, T, hidden]."""
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, cache)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaModel(nn.Module):
    """Embedding, decoder layers and final norm (HF's `model.` prefix)."""

    def __init__(self, cfg: LlamaConfig) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(LlamaDecoderLayer(cfg, i)
                                    for i in range(cfg.num_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class LlamaForCausalLM(nn.Module):
    """A llama decoder with its LM head; `model(input_ids)` returns logits [B, T, vocab]."""

    def __init__(self, cfg: LlamaConfig) -> None:
        super().__init__()
        self.config = cfg
        self.model = LlamaModel(cfg)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        if cfg.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    def new_cache(self, batch_size: int, max_len: int) -> KVCache:
        """An empty contiguous cache for `batch_size` sequences of up to `max_len` tokens."""
        cfg = self.config
        weight = self.model.embed_tokens.weight
        shape = (cfg.num_layers, batch_size, cfg.num_kv_heads, max_len, cfg.head_dim)
        return KVCache(torch.zeros(shape, dtype=weight.dtype, device=weight.device),
                       torch.zeros(shape, dtype=weight.dtype, device=weight.device))

    def forward(self, input_ids: Tensor, positions: Tensor | None = None,
                cache: KVCache | None = None, num_logits: int | None = None) -> Tensor:
        """Logits [B, T, vocab] for `input_ids` [B, T].

        Without a cache this is a full causal prefill. With one, the tokens continue the
        cached sequence at `cache.length` (which advances by T). `positions` ([T] or
        [B, T]) overrides the RoPE positions, which default to the slots being written.
        `num_logits` keeps only the last that many positions ([B, num_logits, vocab]).
        """
        b, t = input_ids.shape
        start = 0 if cache is None else cache.length
        if cache is not None:
            cache.check_room(t)
        if positions is None:
            positions = torch.arange(start, start + t, device=input_ids.device)
        cos, sin = rope_cos_sin(positions, self.config.head_dim, self.config.rope_theta)
        x = self.model.embed_tokens(input_ids)
        for layer in self.model.layers:
            x = layer(x, cos, sin, cache)
        if cache is not None:
            cache.length = start + t
        if num_logits is not None:
            x = x[:, -num_logits:]
        return self.lm_head(self.model.norm(x))

    def forward_packed(self, input_ids: Tensor, packed: PackedCaches) -> Tensor:
        """Logits [S, vocab] of the last token of each of `packed`'s S sequences.

        `input_ids` [N] holds their new tokens one sequence after another (N is the sum
        of `packed.counts`); each sequence continues its own cache at its own length
        (RoPE positions included), which advances by its count.
        """
        for cache, n in zip(packed.caches, packed.counts, strict=True):
            cache.check_room(n)
        positions = torch.cat([torch.arange(c.length, c.length + n, device=input_ids.device)
                               for c, n in zip(packed.caches, packed.counts, strict=True)])
        cos, sin = rope_cos_sin(positions, self.config.head_dim, self.config.rope_theta)
        x = self.model.embed_tokens(input_ids[None])  # [1, N, hidden]
        for layer in self.model.layers:
            x = layer(x, cos, sin, packed)
        for cache, n in zip(packed.caches, packed.counts, strict=True):
            cache.length += n
        last = torch.tensor(packed.counts, device=input_ids.device).cumsum(0) - 1
        return self.lm_head(self.model.norm(x[0, last]))
