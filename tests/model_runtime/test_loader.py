"""Checkpoint loading: namings, sharding, FP8/FP4 tensors and every kind of broken file."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from model_runtime import load_model
from model_runtime.checkpoint import reference_name
from model_runtime.config import parse_config
from model_runtime.loader import LoadError
from model_runtime.models.deepseek_v4 import DeepseekV4ForCausalLM
from model_runtime.models.quant_linear import Fp4Linear, Fp8Linear, QuantLinear
from model_runtime.quant import (
    E2M1_VALUES,
    dequantize_fp4,
    dequantize_fp8,
    e8m0_to_float,
    quantize_fp4,
    quantize_fp8,
)
from tests.model_runtime.v4_checkpoints import random_hf_model, save_reference_checkpoint

pytest.importorskip("transformers")

# DeepSeek's reference inference/config.json spelling, with FP8 weights and FP4 experts.
REFERENCE_CONFIG = {
    "vocab_size": 512, "dim": 64, "moe_inter_dim": 32, "n_layers": 3, "n_hash_layers": 1,
    "n_mtp_layers": 1, "n_heads": 4, "n_routed_experts": 4, "n_shared_experts": 1,
    "n_activated_experts": 2, "score_func": "sqrtsoftplus", "route_scale": 1.5,
    "swiglu_limit": 10.0, "q_lora_rank": 32, "head_dim": 32, "rope_head_dim": 8,
    "norm_eps": 1e-6, "o_groups": 2, "o_lora_rank": 16, "window_size": 16,
    "compress_ratios": [0, 4, 16, 0], "compress_rope_theta": 160000.0, "original_seq_len": 64,
    "rope_theta": 10000.0, "rope_factor": 4, "beta_fast": 32, "beta_slow": 1,
    "index_n_heads": 16, "index_head_dim": 16, "index_topk": 8, "hc_mult": 4,
    "hc_sinkhorn_iters": 20, "hc_eps": 1e-6, "dtype": "fp8", "scale_fmt": "ue8m0",
    "expert_dtype": "fp4", "max_batch_size": 4, "max_seq_len": 4096,
}
FP8_LEAVES = ("wq_a", "wq_b", "wkv", "wo_b", "shared_experts.w1", "shared_experts.w2",
              "shared_experts.w3", "e_proj", "h_proj")


def _fp8_formula(weight: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    blocks = torch.kron(e8m0_to_float(scale), torch.ones(128, 128))
    return weight.float() * blocks[: weight.shape[0], : weight.shape[1]]


def _fp4_formula(packed: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    raw = packed.view(torch.uint8).long()
    codes = torch.stack((raw & 15, raw >> 4), dim=-1).flatten(1)
    groups = e8m0_to_float(scale).repeat_interleave(32, dim=1)
    return torch.tensor(E2M1_VALUES)[codes] * groups


@pytest.fixture(scope="module")
def quantised(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    """(FP8/FP4 reference checkpoint, the same values stored dense, expected values)."""
    torch.manual_seed(0)
    with torch.device("meta"):
        shapes = DeepseekV4ForCausalLM(parse_config(REFERENCE_CONFIG)).state_dict()
    stored: dict[str, torch.Tensor] = {}
    expected: dict[str, torch.Tensor] = {}
    for name, meta in shapes.items():
        if meta.dtype == torch.long:
            value = torch.randint(0, 4, tuple(meta.shape))
        elif name.endswith("norm.weight"):
            value = 1 + 0.1 * torch.randn(meta.shape)
        else:
            value = 0.2 * torch.randn(meta.shape)
        prefix = name.removesuffix(".weight")
        if ".experts." in name and ".shared_experts." not in name:
            packed, scale = quantize_fp4(value)
            stored[name], stored[prefix + ".scale"] = packed, scale
            expected[name] = _fp4_formula(packed, scale)
        elif name.endswith(".weight") and prefix.endswith(FP8_LEAVES):
            weight, scale = quantize_fp8(value, scale_fmt="ue8m0")
            stored[name], stored[prefix + ".scale"] = weight, scale
            expected[name] = _fp8_formula(weight, scale)
        elif name == "embed.weight":
            stored[name] = value.to(torch.bfloat16)
            expected[name] = stored[name].float()
        else:
            stored[name] = expected[name] = value
    root = tmp_path_factory.mktemp("quantised")
    quant_dir = save_reference_checkpoint(root / "fp8", stored, REFERENCE_CONFIG)
    dense_config = {**REFERENCE_CONFIG, "dtype": "bf16", "expert_dtype": None}
    dense_dir = save_reference_checkpoint(root / "dense", dict(expected), dense_config)
    return quant_dir, dense_dir, expected


def test_fp8_and_fp4_tensors_load_to_their_exact_dequantised_values(quantised: tuple) -> None:
    quant_dir, _, expected = quantised
    model = load_model(quant_dir, quantized="dequantize")
    state = model.state_dict()
    assert set(state) == set(expected)
    for name, value in expected.items():
        assert torch.equal(state[name], value.to(state[name].dtype)), name
    fp4 = sum(".experts." in n and ".shared_" not in n for n in expected)
    assert fp4 == 3 * 4 * 4  # w1/w2/w3 of 4 experts in 3 layers and the MTP block


def test_quantised_checkpoint_runs_like_its_dense_twin(quantised: tuple) -> None:
    quant_dir, dense_dir, _ = quantised
    ids = torch.randint(0, 512, (1, 80), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        quant, dense = load_model(quant_dir), load_model(dense_dir)
        assert torch.equal(quant(ids), dense(ids))
        mtp = quant.mtp_logits(ids)
    assert len(mtp) == 1 and mtp[0].shape == (1, 79, 512)
    assert torch.isfinite(mtp[0]).all()


@pytest.fixture(scope="module")
def hf_model_and_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    model = random_hf_model("plain_rope_sigmoid", seed=7)
    directory = tmp_path_factory.mktemp("hf")
    model.save_pretrained(directory)
    return model, directory


def _copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def _rewrite(directory: Path, change: dict[str, torch.Tensor | None]) -> None:
    tensors = load_file(str(directory / "model.safetensors"))
    for key, value in change.items():
        if value is None:
            del tensors[key]
        else:
            tensors[key] = value
    save_file(tensors, str(directory / "model.safetensors"))


def _logits(model: torch.nn.Module, ids: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        out = model(ids)
    return out if isinstance(out, torch.Tensor) else out.logits


def test_hf_module_names_with_stacked_experts_load(hf_model_and_dir: tuple, tmp_path: Path) -> None:
    hf_model, saved = hf_model_and_dir
    directory = _copy(saved, tmp_path / "modules")
    (directory / "model.safetensors").unlink()
    # transformers' in-memory names: self_attn.q_a_proj, mlp.experts.gate_up_proj [E, 2I, d], ...
    state = {k: v.contiguous() for k, v in hf_model.state_dict().items()}
    assert "model.layers.0.mlp.experts.gate_up_proj" in state
    save_file(state, str(directory / "model.safetensors"))
    ids = torch.randint(0, 512, (1, 100), generator=torch.Generator().manual_seed(2))
    assert (_logits(load_model(directory), ids) - _logits(hf_model, ids)).abs().max() <= 1e-4


def test_sharded_checkpoint_with_index(hf_model_and_dir: tuple, tmp_path: Path) -> None:
    hf_model, saved = hf_model_and_dir
    directory = _copy(saved, tmp_path / "sharded")
    tensors = load_file(str(directory / "model.safetensors"))
    (directory / "model.safetensors").unlink()
    names = sorted(tensors)
    shards = {"model-00001-of-00002.safetensors": names[::2],
              "model-00002-of-00002.safetensors": names[1::2]}
    weight_map = {}
    for file, keys in shards.items():
        save_file({k: tensors[k] for k in keys}, str(directory / file))
        weight_map.update(dict.fromkeys(keys, file))
    index = {"metadata": {}, "weight_map": weight_map}
    (directory / "model.safetensors.index.json").write_text(json.dumps(index))
    ids = torch.randint(0, 512, (1, 60), generator=torch.Generator().manual_seed(3))
    assert (_logits(load_model(directory), ids) - _logits(hf_model, ids)).abs().max() <= 1e-4

    (directory / "model-00002-of-00002.safetensors").unlink()
    with pytest.raises(LoadError, match="model-00002-of-00002.safetensors.*missing"):
        load_model(directory)


def test_missing_tensor_is_named(hf_model_and_dir: tuple, tmp_path: Path) -> None:
    directory = _copy(hf_model_and_dir[1], tmp_path / "missing")
    _rewrite(directory, {"model.layers.1.attn.wq_a.weight": None})
    with pytest.raises(LoadError, match=r"missing.*layers\.1\.attn\.wq_a\.weight|"
                                        r"layers\.1\.attn\.wq_a\.weight.*missing") as err:
        load_model(directory)
    assert str(directory) in str(err.value)


def test_extra_tensor_is_named(hf_model_and_dir: tuple, tmp_path: Path) -> None:
    directory = _copy(hf_model_and_dir[1], tmp_path / "extra")
    _rewrite(directory, {"model.layers.0.attn.bogus.weight": torch.zeros(3)})
    with pytest.raises(LoadError, match=r"model\.safetensors: unexpected tensor "
                                        r"model\.layers\.0\.attn\.bogus\.weight"):
        load_model(directory)


def test_misshaped_tensor_is_named(hf_model_and_dir: tuple, tmp_path: Path) -> None:
    directory = _copy(hf_model_and_dir[1], tmp_path / "shape")
    _rewrite(directory, {"model.layers.2.ffn.gate.weight": torch.zeros(4, 63)})
    with pytest.raises(LoadError, match=r"model\.safetensors: tensor "
                                        r"model\.layers\.2\.ffn\.gate\.weight: shape \(4, 63\)"):
        load_model(directory)


def test_truncated_file_names_the_cut_tensor(hf_model_and_dir: tuple, tmp_path: Path) -> None:
    directory = _copy(hf_model_and_dir[1], tmp_path / "truncated")
    file = directory / "model.safetensors"
    file.write_bytes(file.read_bytes()[:-100])
    with pytest.raises(LoadError, match=r"model\.safetensors: tensor \S+ is truncated"):
        load_model(directory)


def test_quantised_weight_without_scale_is_named(quantised: tuple, tmp_path: Path) -> None:
    directory = _copy(quantised[0], tmp_path / "noscale")
    _rewrite(directory, {"layers.0.attn.wq_a.scale": None})
    with pytest.raises(LoadError, match=r"layers\.0\.attn\.wq_a\.weight.*no scale"):
        load_model(directory)


def test_partial_mtp_block_is_missing_tensors(quantised: tuple, tmp_path: Path) -> None:
    directory = _copy(quantised[0], tmp_path / "mtp")
    _rewrite(directory, {"mtp.0.e_proj.weight": None, "mtp.0.e_proj.scale": None})
    with pytest.raises(LoadError, match=r"mtp\.0\.e_proj\.weight is missing"):
        load_model(directory)


def test_reference_and_hf_names_agree() -> None:
    pairs = {
        "model.layers.3.self_attn.q_a_proj.weight": "layers.3.attn.wq_a.weight",
        "model.layers.3.self_attn.kv_norm.weight": "layers.3.attn.kv_norm.weight",
        "model.layers.3.attn.norm.weight": "layers.3.attn.kv_norm.weight",
        "model.layers.3.self_attn.compressor.kv_norm.weight":
            "layers.3.attn.compressor.norm.weight",
        "model.layers.3.self_attn.compressor.indexer.position_bias":
            "layers.3.attn.indexer.compressor.ape",
        "model.layers.3.self_attn.compressor.indexer.scorer.weights_proj.weight":
            "layers.3.attn.indexer.weights_proj.weight",
        "model.layers.3.self_attn.sinks": "layers.3.attn.attn_sink",
        "model.layers.3.mlp.gate.e_score_correction_bias": "layers.3.ffn.gate.bias",
        "model.layers.3.mlp.shared_experts.up_proj.weight": "layers.3.ffn.shared_experts.w3.weight",
        "model.layers.3.attn_hc.fn": "layers.3.hc_attn_fn",
        "model.hc_head.hc_scale": "hc_head_scale",
        "model.embed_tokens.weight": "embed.weight",
        "lm_head.weight": "head.weight",
        "layers.3.ffn.experts.17.w1.scale": "layers.3.ffn.experts.17.w1.scale",
        "mtp.0.attn.wq_a.weight_scale_inv": "mtp.0.attn.wq_a.scale",
    }
    assert {k: reference_name(k) for k in pairs} == pairs


def test_gguf_paths_go_to_the_gguf_loader(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import model_runtime.gguf_loader as gguf_loader

    calls = []
    monkeypatch.setattr(gguf_loader, "load_gguf_model",
                        lambda path, device, dtype: calls.append((path, device, dtype)) or "m")
    assert load_model(tmp_path / "x.gguf", dtype=torch.float16) == "m"
    assert calls == [(tmp_path / "x.gguf", "cpu", torch.float16)]


def test_not_a_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="not a checkpoint directory"):
        load_model(tmp_path / "nothing-here")


# The same model in the hub's config.json spelling (HF-style keys, compress_ratios list).
HUB_CONFIG = {
    "model_type": "deepseek_v4", "vocab_size": 512, "hidden_size": 64,
    "moe_intermediate_size": 32, "num_hidden_layers": 3, "num_hash_layers": 1,
    "num_nextn_predict_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 1,
    "n_routed_experts": 4, "n_shared_experts": 1, "num_experts_per_tok": 2,
    "scoring_func": "sqrtsoftplus", "routed_scaling_factor": 1.5, "swiglu_limit": 10.0,
    "q_lora_rank": 32, "head_dim": 32, "qk_rope_head_dim": 8, "rms_norm_eps": 1e-6,
    "o_groups": 2, "o_lora_rank": 16, "sliding_window": 16, "compress_ratios": [0, 4, 16, 0],
    "compress_rate_hca": 16, "compress_rope_theta": 160000.0, "rope_theta": 10000.0,
    "rope_scaling": {"type": "yarn", "factor": 4, "original_max_position_embeddings": 64,
                     "beta_fast": 32, "beta_slow": 1},
    "index_n_heads": 16, "index_head_dim": 16, "index_topk": 8, "hc_mult": 4,
    "hc_sinkhorn_iters": 20, "hc_eps": 1e-6, "expert_dtype": "fp4", "torch_dtype": "bfloat16",
    "quantization_config": {"quant_method": "fp8", "fmt": "e4m3", "scale_fmt": "ue8m0",
                            "weight_block_size": [128, 128]},
}


def test_hub_spelling_with_fp4_experts_stored_as_int8(quantised: tuple, tmp_path: Path) -> None:
    quant_dir, _, expected = quantised
    directory = _copy(quant_dir, tmp_path / "hub")
    (directory / "config.json").write_text(json.dumps(HUB_CONFIG))
    tensors = load_file(str(directory / "model.safetensors"))
    fp4 = torch.float4_e2m1fn_x2
    packed = {k: v.view(torch.int8) for k, v in tensors.items() if v.dtype == fp4}
    assert packed and all(v.shape[1] * 2 == expected[k].shape[1] for k, v in packed.items())
    _rewrite(directory, packed)
    model = load_model(directory, dtype=torch.float32, quantized="dequantize")
    assert parse_config(HUB_CONFIG) == model.config
    state = model.state_dict()
    for name, value in expected.items():
        assert torch.equal(state[name], value), name
    kept = load_model(directory, dtype=torch.float32).state_dict()
    for name, value in packed.items():
        assert torch.equal(kept[name], value.view(torch.uint8)), name


# -- FP8/FP4 weights kept quantised (the default) ------------------------------------------


def _quant_layers(model: torch.nn.Module) -> dict[str, QuantLinear]:
    return {n: m for n, m in model.named_modules() if isinstance(m, QuantLinear)}


def _nbytes(tensors: list[torch.Tensor]) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def test_quantised_layers_hold_the_stored_bytes(quantised: tuple) -> None:
    quant_dir, _, expected = quantised
    stored = load_file(str(quant_dir / "model.safetensors"))
    layers = _quant_layers(load_model(quant_dir))
    fp4 = {n for n, m in layers.items() if isinstance(m, Fp4Linear)}
    assert len(fp4) == 3 * 4 * 4  # every routed expert's w1/w2/w3
    fp8 = {n for n, m in layers.items() if isinstance(m, Fp8Linear)}
    # compressor.wkv is stored FP8 here but read as an fp32 matrix: dequantised at load
    assert fp8 == {n.removesuffix(".weight") for n, v in stored.items()
                   if v.dtype == torch.float8_e4m3fn and ".compressor." not in n}
    for name, layer in layers.items():
        weight, scale = stored[f"{name}.weight"], stored[f"{name}.scale"]
        if name in fp4:
            assert torch.equal(layer.weight, weight.view(torch.uint8)), name
            assert torch.equal(layer.scale, scale.view(torch.uint8)), name
            restored = dequantize_fp4(layer.weight, layer.scale)
        else:
            assert torch.equal(layer.weight.view(torch.uint8), weight.view(torch.uint8)), name
            assert torch.equal(layer.scale, e8m0_to_float(scale)), name
            restored = dequantize_fp8(layer.weight, layer.scale)
        assert torch.equal(restored, expected[f"{name}.weight"]), name


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_kept_and_dequantised_weights_give_the_same_logits(
    quantised: tuple, dtype: torch.dtype
) -> None:
    quant_dir = quantised[0]
    ids = torch.randint(0, 512, (2, 40), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        kept = load_model(quant_dir, dtype=dtype)
        dense = load_model(quant_dir, dtype=dtype, quantized="dequantize")
        pairs = [(kept(ids), dense(ids)), (kept.mtp_logits(ids)[0], dense.mtp_logits(ids)[0])]
    tolerance = 1e-5 if dtype == torch.float32 else 2e-2
    for a, b in pairs:
        assert a.dtype == dtype
        assert (a.float() - b.float()).abs().max() <= tolerance * b.float().abs().max()


def test_kept_weights_take_the_checkpoint_bytes(quantised: tuple) -> None:
    quant_dir = quantised[0]
    stored = load_file(str(quant_dir / "model.safetensors"))
    kept = load_model(quant_dir, dtype=torch.bfloat16)
    layers = _quant_layers(kept)
    on_disk = _nbytes([stored[f"{n}.{leaf}"] for n in layers for leaf in ("weight", "scale")])
    in_memory = _nbytes([t for m in layers.values() for t in (m.weight, m.scale)])
    # the only difference: FP8 ue8m0 scales (one per 128x128 block) are held as fp32
    assert on_disk <= in_memory <= 1.01 * on_disk
    assert _nbytes(list(kept.state_dict().values())) <= (
        quant_dir / "model.safetensors").stat().st_size
    dense = load_model(quant_dir, dtype=torch.bfloat16, quantized="dequantize").state_dict()
    assert _nbytes([dense[f"{n}.weight"] for n in layers]) >= 2 * on_disk


@pytest.mark.parametrize(("name", "shape"), [("layers.0.attn.wq_a.scale", (1, 2)),
                                              ("layers.1.ffn.experts.2.w2.scale", (64, 2))])
def test_misshaped_scale_of_a_kept_weight_is_named(
    quantised: tuple, tmp_path: Path, name: str, shape: tuple[int, int]
) -> None:
    directory = _copy(quantised[0], tmp_path / "badscale")
    _rewrite(directory, {name: torch.full(shape, 127, dtype=torch.uint8)})
    weight = re.escape(name.removesuffix(".scale") + ".weight")
    with pytest.raises(LoadError, match=rf"model\.safetensors: tensor {weight} / "
                                        rf"{re.escape(name)}: scale shape \(.*\) does not"):
        load_model(directory)


def test_fp8_wo_a_is_dequantised_even_when_kept(quantised: tuple, tmp_path: Path) -> None:
    directory = _copy(quantised[0], tmp_path / "wo_a")
    value = load_file(str(directory / "model.safetensors"))["layers.0.attn.wo_a.weight"]
    weight, scale = quantize_fp8(value, scale_fmt="ue8m0")
    _rewrite(directory, {"layers.0.attn.wo_a.weight": weight, "layers.0.attn.wo_a.scale": scale})
    wo_a = load_model(directory).layers[0].attn.wo_a
    assert type(wo_a) is torch.nn.Linear
    assert torch.equal(wo_a.weight, _fp8_formula(weight, scale))


def test_unknown_quantized_mode(quantised: tuple) -> None:
    with pytest.raises(ValueError, match="quantized must be one of"):
        load_model(quantised[0], quantized="fp16")
