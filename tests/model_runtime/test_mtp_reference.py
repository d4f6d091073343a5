"""Our multi-token prediction (MTP) against DeepSeek's reference formula on transformers' parts.

DeepSeek's reference inference code (``inference/model.py`` of the V4 release,
``class MTPBlock(Block)``) defines one MTP step on hyper-connection streams
``x [B, S, n, d]`` and token ids::

    e = enorm(embed(input_ids))                    # the main model's embedding
    x = e_proj(e).unsqueeze(2) + h_proj(hnorm(x))  # the same e for each of the n streams
    x = Block.forward(x, start_pos, input_ids)     # a full decoder block: mHC, attention, MoE
    logits = head(x, hc_head_fn, hc_head_scale, hc_head_base, norm)
           # = shared head weight @ norm(sigmoid-weighted collapse of the n streams)

Block ``i`` is built with layer id ``n_layers + i``: its attention ratio is
``compress_ratios[n_layers + i]`` (V4-Flash ships a 0 there: sliding window) and its MoE
never hash-routes (hash layers are those with id < ``n_hash_layers``). The pairing is the
caller's: the V3 paper's MTP (which the V4 report keeps) joins the representation at
position ``t`` with the embedding of token ``t+1`` at depth 1 and with token ``t+k+1`` at
depth ``k+1``, whose input representation is depth ``k``'s output. So row ``t`` of block
``k`` predicts token ``t+k+2``.

transformers 5.24's ``DeepseekV4ForCausalLM`` ignores ``mtp.*`` tensors, so the reference
here is assembled from its parts: the main streams are the input of its final ``hc_head``;
each MTP block is its ``DeepseekV4DecoderLayer`` (built for layer index ``n_layers + i`` of
the config with the MTP layer types appended), its ``DeepseekV4RMSNorm`` for enorm / hnorm /
norm and its ``DeepseekV4HyperHead`` holding the block's ``hc_head_*`` weights. Only the
composition (projections, sum, chaining) is written here, as the formula above.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from model_runtime import load_model
from tests.model_runtime.v4_checkpoints import CSA, HCA, SLIDING, random_hf_model, randomize_

pytest.importorskip("transformers")

SEQ_LEN = 320  # wraps every sliding window (16, 24) many times and fills CSA/HCA blocks
TOLERANCE = 1e-4

# name -> (tiny config of v4_checkpoints, MTP compress ratios). yarn_hash_topk: a sliding
# MTP block as in V4-Flash, then a CSA one (with indexer) chained on it, 4 streams;
# plain_rope_sigmoid: one HCA block (ratio 32), 2 streams, sigmoid routing.
CASES: dict[str, tuple[str, tuple[int, ...]]] = {
    "two_blocks_sliding_csa": ("yarn_hash_topk", (0, 4)),
    "one_block_hca": ("plain_rope_sigmoid", (32,)),
}


class ReferenceMTP(nn.Module):
    """One MTP block made of transformers' modules, with DeepSeek's extra weights."""

    def __init__(self, config: Any, layer_idx: int) -> None:
        from transformers.models.deepseek_v4.modeling_deepseek_v4 import (
            DeepseekV4DecoderLayer,
            DeepseekV4HyperHead,
            DeepseekV4RMSNorm,
        )

        super().__init__()
        dim, eps = config.hidden_size, config.rms_norm_eps
        self.layer = DeepseekV4DecoderLayer(config, layer_idx)
        self.e_proj = nn.Linear(dim, dim, bias=False)
        self.h_proj = nn.Linear(dim, dim, bias=False)
        self.enorm = DeepseekV4RMSNorm(dim, eps)
        self.hnorm = DeepseekV4RMSNorm(dim, eps)
        self.norm = DeepseekV4RMSNorm(dim, eps)
        self.hc_head = DeepseekV4HyperHead(config)

    def checkpoint_tensors(self, index: int) -> dict[str, torch.Tensor]:
        """Tensors under ``mtp.{index}.``: the decoder layer in transformers' names (as its
        main layers are saved), the MTP weights in DeepSeek's names (``e_proj``, ``hc_head_fn``)."""
        out = {}
        for name, value in self.state_dict().items():
            key = name.removeprefix("layer.").replace("hc_head.hc_", "hc_head_")
            out[f"mtp.{index}.{key}"] = value.detach().clone().contiguous()
        return out


def mtp_layer_type(hf_config: Any, ratio: int) -> str:
    """transformers' attention type for a ``compress_ratios`` entry (0 = sliding window)."""
    if ratio == 0:
        return SLIDING
    kinds = [kind for kind in (CSA, HCA) if hf_config.compress_rates[kind] == ratio]
    assert len(kinds) == 1, f"ratio {ratio} is not one of {hf_config.compress_rates}"
    return kinds[0]


def build_reference_blocks(hf: Any, ratios: tuple[int, ...]) -> list[ReferenceMTP]:
    """Random MTP blocks: transformers layers at indices ``n_layers + i`` of an extended config."""
    config = copy.deepcopy(hf.config)
    n = config.num_hidden_layers
    config.layer_types = list(config.layer_types) + [mtp_layer_type(config, r) for r in ratios]
    config.mlp_layer_types = list(config.mlp_layer_types) + ["moe"] * len(ratios)  # never hash
    config.num_hidden_layers = n + len(ratios)
    blocks = [ReferenceMTP(config, n + i).eval() for i in range(len(ratios))]
    for block in blocks:
        randomize_(block, config)
    return blocks


def main_streams(hf: Any, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(transformers' final hyper-connection streams [B, T, n, d] — the input of its
    ``hc_head`` — and its logits)."""
    captured = []
    hook = hf.model.hc_head.register_forward_pre_hook(lambda _m, args: captured.append(args[0]))
    try:
        logits = hf(ids, use_cache=False).logits
    finally:
        hook.remove()
    return captured[0], logits


def reference_mtp_step(
    hf: Any, block: ReferenceMTP, streams: torch.Tensor, next_ids: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """DeepSeek's ``MTPBlock.forward`` on streams [B, S, n, d] at positions 0..S-1 and the
    token ids ``next_ids`` [B, S] one step ahead -> (logits [B, S, vocab], output streams)."""
    from transformers.masking_utils import create_sliding_window_causal_mask

    positions = torch.arange(next_ids.shape[1]).unsqueeze(0)
    e = block.enorm(hf.model.embed_tokens(next_ids))
    x = block.e_proj(e).unsqueeze(2) + block.h_proj(block.hnorm(streams))
    rope = {kind: hf.model.rotary_emb(e, positions, layer_type=kind)
            for kind in ("main", "compress")}
    mask = create_sliding_window_causal_mask(
        config=hf.config, inputs_embeds=e, attention_mask=None, cache=None, position_ids=positions
    )
    x = block.layer(
        x, input_ids=next_ids, position_embeddings=rope, position_ids=positions,
        attention_mask=mask, cache=None,
    )
    logits = hf.lm_head(block.norm(block.hc_head(x)))  # the head is the main model's
    return logits, x


def write_checkpoint(
    directory: Path, hf: Any, blocks: list[ReferenceMTP], ratios: tuple[int, ...]
) -> None:
    """transformers' checkpoint plus a shard with the ``mtp.*`` tensors and their config keys."""
    hf.save_pretrained(directory)
    tensors: dict[str, torch.Tensor] = {}
    for i, block in enumerate(blocks):
        tensors.update(block.checkpoint_tensors(i))
    save_file(tensors, str(directory / "mtp.safetensors"))
    config_path = directory / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    rates = config["compress_rates"]
    per_layer = [0 if t == SLIDING else rates[t] for t in config["layer_types"]]
    config["compress_ratios"] = per_layer + list(ratios)  # DeepSeek's spelling: MTP appended
    config["num_nextn_predict_layers"] = len(ratios)
    config_path.write_text(json.dumps(config), encoding="utf-8")


@pytest.fixture(scope="module", params=list(CASES))
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Checkpoint, ids, transformers' main logits and the reference MTP logits of one case."""
    name, ratios = CASES[request.param]
    seed = list(CASES).index(request.param)
    hf = random_hf_model(name, seed=10 + seed)
    blocks = build_reference_blocks(hf, ratios)
    directory = tmp_path_factory.mktemp(request.param)
    write_checkpoint(directory, hf, blocks, ratios)
    ids = torch.randint(0, hf.config.vocab_size, (2, SEQ_LEN),
                        generator=torch.Generator().manual_seed(200 + seed))
    with torch.no_grad():
        streams, logits = main_streams(hf, ids)
        expected = []
        x = streams
        for k, block in enumerate(blocks):
            # Depth k: representation at t (main streams, or depth k-1's output) with token t+k+1.
            step_logits, x = reference_mtp_step(hf, block, x[:, :-1], ids[:, k + 1 :])
            expected.append(step_logits)
    return {"dir": directory, "ids": ids, "logits": logits, "mtp": expected, "ratios": ratios}


def test_mtp_logits_match_reference_formula(case: dict) -> None:
    model = load_model(case["dir"])
    ids = case["ids"]
    assert [block.attn.ratio for block in model.mtp] == list(case["ratios"])
    with torch.no_grad():
        main = model(ids)
        mtp = model.mtp_logits(ids)
    assert (main - case["logits"]).abs().max().item() <= TOLERANCE  # the extra shard left it be
    assert len(mtp) == len(case["mtp"])
    for k, (ours, expected) in enumerate(zip(mtp, case["mtp"], strict=True)):
        delta = (ours - expected).abs().max().item()
        print(f"MTP block {k} (ratio {case['ratios'][k]}): max |dlogit| = {delta:.3g} "
              f"(logit scale {expected.abs().max().item():.3g})")
        assert ours.shape == (2, SEQ_LEN - 1 - k, model.config.vocab_size)
        assert expected.abs().max() > 1.0  # the comparison is not between near-zero numbers
        assert delta <= TOLERANCE


def test_row_t_of_block_k_sees_tokens_up_to_t_plus_k_plus_1(case: dict) -> None:
    """Row ``t`` of block ``k`` depends on tokens ``0..t+k+1`` and on no later one: it is
    the prediction of token ``t+k+2``."""
    model = load_model(case["dir"])
    ids = case["ids"][:, :64]
    s = 40  # the token changed
    changed = ids.clone()
    changed[:, s] = (changed[:, s] + 1) % model.config.vocab_size
    with torch.no_grad():
        before, after = model.mtp_logits(ids), model.mtp_logits(changed)
    for k, (a, b) in enumerate(zip(before, after, strict=True)):
        diff = (a - b).abs().amax(dim=(0, 2))  # per row
        first = s - k - 1  # the first row whose inputs include token s
        assert diff[:first].max().item() <= 1e-6
        assert diff[first].item() > 1e-3
