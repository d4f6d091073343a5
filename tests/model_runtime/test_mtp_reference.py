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
import math
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

from model_runtime import load_model
from model_runtime.models import v4_moe
from model_runtime.models.v4_layers import linear
from tests.model_runtime.causality import LEAK_MARGIN, assert_causal, leaks, v4_row_checks
from tests.model_runtime.v4_checkpoints import CSA, HCA, SLIDING, random_hf_model, randomize_

pytest.importorskip("transformers")

SEQ_LEN = 320  # wraps every sliding window (16, 24) many times and fills CSA/HCA blocks
TOLERANCE = 1e-4
LEAK_SEQ_LEN = 64  # the causality checks' sequence: past a block edge of every ratio

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


def changed_positions(model: Any) -> list[int]:
    """Tokens the causality checks change, one at a time: around ``edge``, a block boundary
    of every compression ratio (a multiple of their least common multiple), the last one
    with room after it in ``LEAK_SEQ_LEN`` tokens (so the rows before it wrap the windows).

    A one-token leak through a compressed entry shows only at block edges: a row sees an
    entry once its block is complete, so only the token at the edge (or just before it) can
    leak into the row before it. Output ``k`` (the main logits, then MTP block ``k``) is
    shifted by ``o = 0`` (main) or ``k + 1`` (its row ``t`` pairs position ``t`` with token
    ``t + k + 1``): tokens ``edge + o - 1`` and ``edge + o`` hit its edges, so the tokens
    ``edge - 1 .. edge + n_mtp`` cover every output.
    """
    ratios = [block.attn.ratio for block in [*model.layers, *model.mtp] if block.attn.ratio]
    step = math.lcm(*ratios)
    edge = (LEAK_SEQ_LEN - len(model.mtp) - 2) // step * step
    assert edge > model.config.sliding_window, "too short a sequence for the ratios"
    return list(range(edge - 1, edge + len(model.mtp) + 1))


def test_row_t_of_block_k_sees_tokens_up_to_t_plus_k_plus_1(case: dict) -> None:
    """Row ``t`` of block ``k`` depends on tokens ``0..t+k+1`` and on no later one: it is
    the prediction of token ``t+k+2``. The main logits are checked the same way (row ``t``
    sees ``0..t``). Rows that cannot see the changed token keep their logits up to
    rounding, not bit for bit (see ``causality``: the MoE's expert groups change size)."""
    model = load_model(case["dir"])
    ids = case["ids"][:, :LEAK_SEQ_LEN]
    checks = v4_row_checks(model, ids, changed_positions(model))
    for check in checks:
        print(check.describe())
    assert len(checks) == len(changed_positions(model)) * (1 + len(model.mtp))
    assert_causal(checks)


def test_row_count_dependent_rounding_is_not_taken_for_a_leak(
    case: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's failure, on any CPU: the experts' matmuls rounded as a BLAS whose blocking
    depends on the row count would (rows of a product whose row count is not a multiple of
    4 sum their K products in two halves). Changing a token changes the expert groups' row
    counts, so earlier rows move by rounding: past the old bit-identity bound (1e-6), well
    inside the rounding tolerance, and the check reports no leak."""

    def row_count_blocked(x: torch.Tensor, layer: nn.Linear) -> torch.Tensor:
        if x.reshape(-1, x.shape[-1]).shape[0] % 4 == 0:
            return linear(x, layer)
        half = layer.weight.shape[1] // 2
        w = layer.weight
        return F.linear(x[..., :half], w[:, :half]) + F.linear(x[..., half:], w[:, half:])

    model = load_model(case["dir"])
    monkeypatch.setattr(v4_moe, "linear", row_count_blocked)
    checks = v4_row_checks(model, case["ids"][:, :LEAK_SEQ_LEN], changed_positions(model))
    assert max(check.worst_early for check in checks) > 1e-6
    assert max(check.worst_early / check.tolerance for check in checks) < 0.5
    assert_causal(checks)


def _one_token_ahead(ids_or_x: torch.Tensor) -> torch.Tensor:
    """Each position replaced by the next one (the last kept): ``[B, T, ...]``."""
    return torch.cat([ids_or_x[:, 1:], ids_or_x[:, -1:]], dim=1)


def inject_leak(model: Any, where: str, kind: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """Give ``model`` a one-token causal leak of ``kind`` in ``where`` ("main": every main
    layer of the kind; "mtp0", "mtp1": that MTP block). Returns the number of places changed.

    * ``sliding_mask``: the window mask one position ahead, so row ``t`` attends to
      ``t + 1`` (a zero key stands past the last token);
    * ``csa_compressor`` / ``hca_compressor``: the compressor pools each window one token
      late: entry ``i`` holds tokens ``i*r+1 .. (i+1)*r``, and row ``(i+1)*r-1``, which may
      use it, sees token ``(i+1)*r`` (for CSA the indexer's compressor too);
    * ``csa_indexer``: the indexer counts an entry visible one token early: row
      ``(i+1)*r-2`` may select entry ``i``, which token ``(i+1)*r-1`` completes;
    * ``mtp_pairing``: MTP block ``k`` pairs position ``t`` with token ``t+k+2``.
    """
    if kind == "mtp_pairing":
        block = model.mtp[int(where.removeprefix("mtp"))]
        predict = block.predict

        def paired_late(streams: torch.Tensor, next_ids: torch.Tensor, *rest: Any) -> Any:
            return predict(streams, _one_token_ahead(next_ids), *rest)

        monkeypatch.setattr(block, "predict", paired_late)
        return 1
    blocks = model.layers if where == "main" else [model.mtp[int(where.removeprefix("mtp"))]]
    layer_type = {"sliding_mask": SLIDING, "csa_compressor": CSA, "hca_compressor": HCA,
                  "csa_indexer": CSA}[kind]
    changed = 0
    for attn in (block.attn for block in blocks if block.attn.layer_type == layer_type):
        changed += 1
        if kind == "sliding_mask":
            attend = attn._attend

            def attend_ahead(q: torch.Tensor, positions: torch.Tensor, keys: torch.Tensor,
                             *rest: Any, attend: Any = attend) -> torch.Tensor:
                past_end = keys.new_zeros(keys.shape[0], 1, keys.shape[2])
                return attend(q, positions + 1, torch.cat([keys, past_end], dim=1), *rest)

            monkeypatch.setattr(attn, "_attend", attend_ahead)
        elif kind == "csa_indexer":
            select = attn.indexer.select

            def select_early(x: torch.Tensor, qr: torch.Tensor, positions: torch.Tensor,
                             *rest: Any, select: Any = select) -> torch.Tensor:
                return select(x, qr, positions + 1, *rest)

            monkeypatch.setattr(attn.indexer, "select", select_early)
        else:
            compressors = [attn.compressor] + ([attn.indexer.compressor] if attn.indexer else [])
            for compressor in compressors:
                forward = compressor.forward

                def pool_late(x: torch.Tensor, *rest: Any, forward: Any = forward) -> Any:
                    return forward(_one_token_ahead(x), *rest)

                monkeypatch.setattr(compressor, "forward", pool_late)
    return changed


# (case, where, kind): every attention kind of the main layers and of each MTP block, and
# the MTP pairing, each given a one-token leak.
LEAKS = [
    ("two_blocks_sliding_csa", "main", "sliding_mask"),
    ("two_blocks_sliding_csa", "main", "csa_compressor"),
    ("two_blocks_sliding_csa", "main", "csa_indexer"),
    ("two_blocks_sliding_csa", "main", "hca_compressor"),
    ("two_blocks_sliding_csa", "mtp0", "sliding_mask"),
    ("two_blocks_sliding_csa", "mtp0", "mtp_pairing"),
    ("two_blocks_sliding_csa", "mtp1", "csa_compressor"),
    ("two_blocks_sliding_csa", "mtp1", "csa_indexer"),
    ("two_blocks_sliding_csa", "mtp1", "mtp_pairing"),
    ("one_block_hca", "main", "hca_compressor"),
    ("one_block_hca", "mtp0", "hca_compressor"),
    ("one_block_hca", "mtp0", "mtp_pairing"),
]


@pytest.mark.parametrize(("case", "where", "kind"), LEAKS, indirect=["case"],
                         ids=["-".join(leak) for leak in LEAKS])
def test_an_injected_one_token_leak_is_reported(
    case: dict, where: str, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The causality check on a model with a one-token leak: it fails, names the output
    with the leak and only that one, and the leaked row stands far above rounding."""
    model = load_model(case["dir"])
    assert inject_leak(model, where, kind, monkeypatch) > 0
    ids = case["ids"][:, :LEAK_SEQ_LEN]
    checks = v4_row_checks(model, ids, changed_positions(model))
    with pytest.raises(AssertionError, match="causal leak"):
        assert_causal(checks)
    leaked = leaks(checks)
    output = "main logits" if where == "main" else f"MTP block {where.removeprefix('mtp')}"
    assert {check.name.split(",")[0] for check in leaked} == {output}
    for check in leaked:
        print(check.describe())
        # Structured: exactly the row just before the first allowed one, and by far more
        # than rounding explains.
        assert check.leaked_rows == [check.first - 1]
        assert check.changes[check.first - 1].item() > LEAK_MARGIN * check.tolerance
