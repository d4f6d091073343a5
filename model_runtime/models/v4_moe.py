"""DeepSeek V4 mixture of experts (paper §2.1).

Router scores are ``sqrt(softplus(x @ W_g))`` (or sigmoid / softmax). On ``moe`` layers the
top-k experts are chosen on ``score + bias`` — the bias balances load and is used for the
*selection only*; on the first ``hash_moe`` layers a frozen table ``tid2eid[token]`` names
the experts. Either way the weights are the chosen *unbiased* scores, renormalised and
multiplied by ``routed_scaling_factor``. Experts are SwiGLU FFNs with clamped
pre-activations; one shared expert sees every token.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from model_runtime.config import HASH_MOE, DeepseekV4Config
from model_runtime.models.v4_layers import linear


class Expert(nn.Module):
    """SwiGLU FFN ``w2(silu(clamp(w1 x)) * clamp(w3 x))`` computed in fp32."""

    def __init__(self, dim: int, inter_dim: int, swiglu_limit: float) -> None:
        super().__init__()
        self.w1 = nn.Linear(dim, inter_dim, bias=False)
        self.w2 = nn.Linear(inter_dim, dim, bias=False)
        self.w3 = nn.Linear(dim, inter_dim, bias=False)
        self.limit = swiglu_limit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, dim] -> [N, dim]``."""
        gate = linear(x, self.w1).float()
        up = linear(x, self.w3).float()
        if self.limit > 0:
            gate = gate.clamp(max=self.limit)
            up = up.clamp(min=-self.limit, max=self.limit)
        return linear((F.silu(gate) * up).to(x.dtype), self.w2)


class Gate(nn.Module):
    """Router: expert ids ``[N, k]`` and their weights ``[N, k]`` for each token."""

    def __init__(self, config: DeepseekV4Config, is_hash: bool) -> None:
        super().__init__()
        self.topk = config.num_experts_per_tok
        self.score_func = config.scoring_func
        self.normalize = config.norm_topk_prob
        self.route_scale = config.routed_scaling_factor
        self.is_hash = is_hash
        self.weight = nn.Parameter(torch.zeros(config.n_routed_experts, config.hidden_size))
        if is_hash:
            self.register_buffer(
                "tid2eid", torch.zeros(config.vocab_size, self.topk, dtype=torch.long)
            )
        else:
            self.bias = nn.Parameter(torch.zeros(config.n_routed_experts, dtype=torch.float32))

    def forward(
        self, x: torch.Tensor, input_ids: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``x``: ``[N, dim]``, ``input_ids``: ``[N]`` -> ``(weights fp32, indices)``."""
        logits = F.linear(x.float(), self.weight.float())
        if self.score_func == "softmax":
            scores = logits.softmax(dim=-1)
        elif self.score_func == "sigmoid":
            scores = logits.sigmoid()
        else:
            scores = F.softplus(logits).sqrt()
        if self.is_hash:
            indices = self.tid2eid[input_ids].long()
        else:
            indices = (scores + self.bias.float()).topk(self.topk, dim=-1).indices
        weights = scores.gather(1, indices)
        if self.normalize:
            weights = weights / (weights.sum(dim=-1, keepdim=True) + 1e-20)
        return weights * self.route_scale, indices


class MoE(nn.Module):
    """Routed experts plus one shared expert."""

    def __init__(self, config: DeepseekV4Config, mlp_type: str) -> None:
        super().__init__()
        self.gate = Gate(config, is_hash=mlp_type == HASH_MOE)
        self.experts = nn.ModuleList(
            Expert(config.hidden_size, config.moe_intermediate_size, config.swiglu_limit)
            for _ in range(config.n_routed_experts)
        )
        self.shared_experts = Expert(
            config.hidden_size, config.moe_intermediate_size, config.swiglu_limit
        )

    def forward(self, x: torch.Tensor, input_ids: torch.Tensor) -> torch.Tensor:
        """``x``: ``[B, T, dim]``, ``input_ids``: ``[B, T]`` -> ``[B, T, dim]``."""
        shape = x.shape
        flat = x.reshape(-1, shape[-1])
        weights, indices = self.gate(flat, input_ids.reshape(-1))
        routed = torch.zeros_like(flat)
        counts = torch.bincount(indices.flatten(), minlength=len(self.experts)).tolist()
        for e, count in enumerate(counts):
            if count == 0:
                continue
            token, slot = torch.where(indices == e)
            y = self.experts[e](flat[token]) * weights[token, slot, None]
            routed.index_add_(0, token, y.to(routed.dtype))
        return (routed + self.shared_experts(flat)).view(shape)
