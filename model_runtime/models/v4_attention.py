"""DeepSeek V4 attention (paper §2.3): shared-KV MQA over a sliding window plus compressed KV.

Per token: a low-rank query (``wq_a`` -> RMSNorm -> ``wq_b``, then an unweighted RMSNorm per
head) and one shared latent ``kv`` (``wkv`` -> RMSNorm) that serves as key *and* value for
all heads. RoPE rotates the trailing ``rope_head_dim`` channels. Each query attends to

* the last ``sliding_window`` latents (itself included),
* on HCA layers every compressed entry it has fully seen, on CSA layers the entries the
  lightning indexer selected,
* a learned per-head sink logit (it takes probability mass, contributes no value).

The output is rotated back by the query position, grouped into ``o_groups`` and projected
by ``wo_a`` per group (``[H*D/g] -> d_g``) and ``wo_b`` across groups.

Queries are processed in blocks, so memory grows with ``block * (window + k)`` and never with
``T * T``. Compute is linear in ``T`` on sliding layers and for CSA's attention over its
``index_topk`` entries; per query, HCA attends to every visible one of ``T / 128`` entries
and the lightning indexer scores every visible one of ``T / 4``: the two parts that grow as
``T^2``, with small constants (see :class:`~model_runtime.models.v4_compressor.Indexer`).
"""

from __future__ import annotations

import torch
from torch import nn

from model_runtime.config import CSA, HCA, SLIDING, DeepseekV4Config
from model_runtime.models.v4_cache import AttentionState, CompressorState
from model_runtime.models.v4_compressor import Compressor, Indexer
from model_runtime.models.v4_layers import (
    RMSNorm,
    Rope,
    apply_rope,
    linear,
    unweighted_rms_norm,
)

# Elements of the largest per-block intermediate ([B, block, H or k, keys]) we allow.
_BLOCK_BUDGET = 1 << 24


class Attention(nn.Module):
    """One V4 attention layer: sliding window, plus CSA or HCA compressed entries."""

    def __init__(self, config: DeepseekV4Config, layer_type: str, ratio: int) -> None:
        super().__init__()
        self.layer_type = layer_type
        self.ratio = ratio
        self.n_heads = config.num_heads
        self.head_dim = config.head_dim
        self.window = config.sliding_window
        self.o_groups = config.o_groups
        self.eps = config.rms_norm_eps
        self.scale = config.head_dim**-0.5
        dim, heads, hd = config.hidden_size, config.num_heads, config.head_dim
        self.attn_sink = nn.Parameter(torch.zeros(heads, dtype=torch.float32))
        self.wq_a = nn.Linear(dim, config.q_lora_rank, bias=False)
        self.q_norm = RMSNorm(config.q_lora_rank, config.rms_norm_eps)
        self.wq_b = nn.Linear(config.q_lora_rank, heads * hd, bias=False)
        self.wkv = nn.Linear(dim, hd, bias=False)
        self.kv_norm = RMSNorm(hd, config.rms_norm_eps)
        self.wo_a = nn.Linear(heads * hd // config.o_groups, config.o_groups * config.o_lora_rank,
                              bias=False)
        self.wo_b = nn.Linear(config.o_groups * config.o_lora_rank, dim, bias=False)
        self.compressor: Compressor | None = None
        self.indexer: Indexer | None = None
        if layer_type == SLIDING:
            self.rope = Rope(config.rope_head_dim, config.rope_theta, None)
        else:
            self.rope = Rope(config.rope_head_dim, config.compress_rope_theta, config.yarn)
            self.compressor = Compressor(dim, hd, ratio, overlap=layer_type == CSA,
                                         eps=config.rms_norm_eps)
        if layer_type == CSA:
            self.indexer = Indexer(config, ratio)

    def new_state(self, batch: int, max_len: int, dtype: torch.dtype,
                  device: torch.device) -> AttentionState:
        """Zeroed decoding state for ``batch`` sequences of up to ``max_len`` tokens."""
        state = AttentionState(
            window=torch.zeros(batch, self.window, self.head_dim, dtype=dtype, device=device)
        )
        if self.compressor is not None:
            state.compressor = CompressorState.allocate(
                batch, self.ratio, self.head_dim, self.compressor.overlap, max_len, dtype, device
            )
        if self.indexer is not None:
            state.indexer = CompressorState.allocate(
                batch, self.ratio, self.indexer.head_dim, True, max_len, dtype, device
            )
        return state

    def forward(
        self,
        x: torch.Tensor,
        positions: torch.Tensor,
        start: int,
        state: AttentionState | None,
    ) -> torch.Tensor:
        """Attend for tokens ``x`` ``[B, T, dim]`` at ``positions`` ``[T]`` (= start + arange)."""
        b, t, _ = x.shape
        qr = self.q_norm(linear(x, self.wq_a))  # [B, T, q_lora_rank]
        q = linear(qr, self.wq_b).view(b, t, self.n_heads, self.head_dim)
        q = unweighted_rms_norm(q, self.eps)
        cos, sin = self.rope.cos_sin(positions)
        q = apply_rope(q, cos, sin)  # [B, T, H, D]
        kv = apply_rope(self.kv_norm(linear(x, self.wkv)), cos, sin)  # [B, T, D]
        keys, key_start = self._window_keys(kv, start, state)
        entries = index_keys = None
        if self.compressor is not None:
            entries = self.compressor(x, start, state.compressor if state else None, self.rope)
        if self.indexer is not None:
            index_keys = self.indexer.compressor(
                x, start, state.indexer if state else None, self.rope
            ).float()  # converted once here, not once per query block
        out = torch.empty_like(q)
        block = self._block_size(t, keys.shape[1])
        for a in range(0, t, block):
            z = min(a + block, t)
            topk = None
            if self.indexer is not None:
                topk = self.indexer.select(x[:, a:z], qr[:, a:z], positions[a:z], index_keys,
                                           self.rope)
            out[:, a:z] = self._attend(q[:, a:z], positions[a:z], keys, key_start, entries, topk)
        out = apply_rope(out, cos, -sin)  # undo the rotation V picked up as K
        return self._project_out(out)

    def _block_size(self, t: int, n_keys: int) -> int:
        """Queries per block: at most ``max(window, 64)`` (a block then sees under
        ``block + window`` window keys) and few enough to keep the score tensors in budget."""
        longest = max(self.window, 64)
        per_query = self.n_heads * (longest + self.window + 1)
        if self.layer_type == CSA:  # indexer score rows (its per-head scores are chunked)
            per_query += n_keys // self.ratio + 1
            per_query += (self.n_heads + self.head_dim) * self.indexer.topk
        elif self.layer_type == HCA:
            per_query += self.n_heads * (n_keys // self.ratio + 1)
        return max(1, min(t, longest, _BLOCK_BUDGET // per_query))

    def _window_keys(
        self, kv: torch.Tensor, start: int, state: AttentionState | None
    ) -> tuple[torch.Tensor, int]:
        """Latents of this call preceded by those of the window before ``start``.

        Returns ``(keys [B, L, D], position of keys[:, 0])`` and stores the newest latents
        in the ring.
        """
        if state is None:
            return kv, 0
        w = self.window
        t = kv.shape[1]
        first = max(0, start - (w - 1))
        old = torch.arange(first, start, device=kv.device) % w
        keys = torch.cat([state.window[:, old], kv], dim=1)
        keep = min(t, w)
        slots = torch.arange(start + t - keep, start + t, device=kv.device) % w
        state.window[:, slots] = kv[:, t - keep :]
        return keys, first

    def _attend(
        self,
        q: torch.Tensor,
        positions: torch.Tensor,
        keys: torch.Tensor,
        key_start: int,
        entries: torch.Tensor | None,
        topk: torch.Tensor | None,
    ) -> torch.Tensor:
        """Softmax attention of one query block ``q`` ``[B, Tb, H, D]`` -> ``[B, Tb, H, D]``."""
        b, tb, h, d = q.shape
        first_q = int(positions[0])
        lo = max(first_q - (self.window - 1), key_start) - key_start
        hi = int(positions[-1]) + 1 - key_start
        win = keys[:, lo:hi]  # [B, Lk, D]
        key_pos = torch.arange(lo + key_start, hi + key_start, device=q.device)
        flat_q = q.reshape(b, tb * h, d)
        scores = [torch.matmul(flat_q, win.transpose(1, 2)).view(b, tb, h, -1) * self.scale]
        dist = positions.view(tb, 1) - key_pos.view(1, -1)
        scores[0] = scores[0].masked_fill(
            ((dist < 0) | (dist >= self.window)).view(1, tb, 1, -1), float("-inf")
        )
        selected = None
        if topk is not None:  # CSA: per-query gathered entries
            n, k = entries.shape[1], topk.shape[-1]
            # Row ids into the flattened [B*n, D] entries: a plain row copy (index_select),
            # several times faster than gathering from an expanded [B, Tb, n, D] view.
            rows = topk.clamp(min=0) + torch.arange(b, device=q.device).view(b, 1, 1) * n
            selected = entries.reshape(b * n, d).index_select(0, rows.flatten())
            selected = selected.view(b, tb, k, d)  # [B, Tb, k, D]
            comp = torch.matmul(q, selected.transpose(-1, -2)) * self.scale  # [B, Tb, H, k]
            scores.append(comp.masked_fill((topk < 0).unsqueeze(2), float("-inf")))
        elif entries is not None:  # HCA: every entry whose window the query has seen
            # Entries no query of the block has seen yet would only be masked out, and those
            # its first query has seen are seen by all: only the ones between need the mask.
            entries = entries[:, : (int(positions[-1]) + 1) // self.ratio]
            n = entries.shape[1]
            comp = torch.matmul(flat_q, entries.transpose(1, 2)).view(b, tb, h, n)
            comp.mul_(self.scale)
            first = (int(positions[0]) + 1) // self.ratio
            visible = (positions + 1) // self.ratio
            hidden = torch.arange(first, n, device=q.device).view(1, -1) >= visible.view(tb, 1)
            comp[..., first:].masked_fill_(hidden.view(1, tb, 1, -1), float("-inf"))
            scores.append(comp)
        sink = self.attn_sink.float().view(1, 1, h, 1).expand(b, tb, h, 1)
        logits = torch.cat([s.float() for s in scores] + [sink], dim=-1)
        probs = (logits - logits.amax(dim=-1, keepdim=True)).softmax(dim=-1).to(q.dtype)
        n_win = win.shape[1]
        p_win = probs[..., :n_win].reshape(b, tb * h, n_win)
        out = torch.matmul(p_win, win).view(b, tb, h, d)
        if selected is not None:
            out = out + torch.matmul(probs[..., n_win:-1], selected)
        elif entries is not None:
            n = entries.shape[1]
            p_comp = probs[..., n_win:-1].reshape(b, tb * h, n)
            out = out + torch.matmul(p_comp, entries).view(b, tb, h, d)
        return out

    def _project_out(self, out: torch.Tensor) -> torch.Tensor:
        """Grouped low-rank output projection: ``[B, T, H, D] -> [B, T, dim]``."""
        b, t = out.shape[:2]
        g = self.o_groups
        grouped = out.reshape(b * t, g, -1).transpose(0, 1)  # [g, B*T, H*D/g]
        weight = self.wo_a.weight.view(g, -1, grouped.shape[-1]).transpose(1, 2)
        mixed = torch.bmm(grouped.to(weight.dtype), weight)  # [g, B*T, d_g]
        mixed = mixed.transpose(0, 1).reshape(b, t, -1)
        return linear(mixed, self.wo_b)
