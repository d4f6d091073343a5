"""Manifold-constrained hyper-connections (mHC, paper §2.2).

The residual stream is ``hc_mult`` parallel streams ``[B, T, n, d]``. Around every
sub-block (attention, MoE) a one-layer perceptron over the RMS-normed, flattened streams
produces three mappings:

* ``pre``  ``[B, T, n]``: ``sigmoid(.) + eps``, collapses the streams into the block input;
* ``post`` ``[B, T, n]``: ``2 * sigmoid(.)``, spreads the block output over the streams;
* ``comb`` ``[B, T, n, n]``: ``softmax(.) + eps`` projected onto doubly-stochastic matrices
  by Sinkhorn-Knopp, mixes the residual streams: ``new_k = post_k * out + sum_j comb_jk * x_j``.

At the end a head-only mapping (``pre`` alone) collapses the streams before the final norm.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from model_runtime.models.v4_layers import unweighted_rms_norm


class HyperConnection:
    """The mHC computations; the learned ``fn``/``base``/``scale`` are passed in.

    Reference checkpoints name them ``hc_attn_fn`` / ``hc_ffn_base`` / ...; the owning block
    registers the parameters under those names, this class only computes.
    """

    def __init__(self, hc_mult: int, sinkhorn_iters: int, hc_eps: float, norm_eps: float) -> None:
        self.hc = hc_mult
        self.iters = sinkhorn_iters
        self.hc_eps = hc_eps
        self.norm_eps = norm_eps

    def pre(
        self, x: torch.Tensor, fn: torch.Tensor, scale: torch.Tensor, base: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Collapse ``x`` ``[B, T, n, d]`` -> ``(block input [B, T, d], post, comb)``."""
        hc = self.hc
        flat = unweighted_rms_norm(x.flatten(2).float(), self.norm_eps)
        mixes = F.linear(flat, fn.float())  # [B, T, (2 + n) * n]
        pre_w, post_w, comb_w = mixes.split([hc, hc, hc * hc], dim=-1)
        pre_b, post_b, comb_b = base.float().split([hc, hc, hc * hc])
        s = scale.float()
        pre = torch.sigmoid(pre_w * s[0] + pre_b) + self.hc_eps
        post = 2 * torch.sigmoid(post_w * s[1] + post_b)
        comb = comb_w.unflatten(-1, (hc, hc)) * s[2] + comb_b.view(hc, hc)
        comb = self._sinkhorn(comb.softmax(dim=-1) + self.hc_eps)
        collapsed = (pre.unsqueeze(-1) * x).sum(dim=2).to(x.dtype)
        return collapsed, post, comb

    def _sinkhorn(self, comb: torch.Tensor) -> torch.Tensor:
        """Alternate column / row normalisation of ``[B, T, n, n]`` towards doubly stochastic.

        The iterations run on a ``[n, n, B, T]`` copy: the sums over the tiny ``n`` axes
        become adds of contiguous ``B*T`` vectors (several times faster than reducing
        ``n`` adjacent values per row; the arithmetic is the same, so are the results).
        """
        eps = self.hc_eps
        comb = comb.permute(2, 3, 0, 1).contiguous()  # [n (rows j), n (cols k), B, T]
        comb = comb / (comb.sum(dim=0, keepdim=True) + eps)
        for _ in range(self.iters - 1):
            comb = comb / (comb.sum(dim=1, keepdim=True) + eps)
            comb = comb / (comb.sum(dim=0, keepdim=True) + eps)
        return comb.permute(2, 3, 0, 1).contiguous()

    @staticmethod
    def post(
        out: torch.Tensor, residual: torch.Tensor, post: torch.Tensor, comb: torch.Tensor
    ) -> torch.Tensor:
        """Expand the block output ``[B, T, d]`` back into ``[B, T, n, d]`` streams."""
        dtype = residual.dtype
        mixed = torch.matmul(comb.to(dtype).transpose(-1, -2), residual)
        return post.to(dtype).unsqueeze(-1) * out.unsqueeze(-2) + mixed

    def head(
        self, x: torch.Tensor, fn: torch.Tensor, scale: torch.Tensor, base: torch.Tensor
    ) -> torch.Tensor:
        """Final collapse ``[B, T, n, d] -> [B, T, d]`` with sigmoid weights only."""
        flat = unweighted_rms_norm(x.flatten(2).float(), self.norm_eps)
        mixes = F.linear(flat, fn.float())
        pre = torch.sigmoid(mixes * scale.float() + base.float()) + self.hc_eps
        return (pre.unsqueeze(-1) * x).sum(dim=2).to(x.dtype)
