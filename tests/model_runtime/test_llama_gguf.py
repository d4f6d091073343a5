"""The llama model and its loaders: SmolLM2-135M-Instruct against transformers, tiny GGUF
files, and a safetensors directory written by transformers."""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import numpy as np
import pytest
import torch

from model_runtime import load_model
from model_runtime.chat import Message, encode_chatml
from model_runtime.config import LlamaConfig
from model_runtime.generate import generate
from model_runtime.gguf_loader import (
    GGUFLoadError,
    load_gguf_model,
    load_gguf_with_tokenizer,
)
from model_runtime.loader import LoadError
from model_runtime.models.llama import LlamaForCausalLM
from model_runtime.tokenizer import Tokenizer, gguf_path_of_smollm2

N_TOKENS = 32


@pytest.fixture(scope="module")
def ours() -> tuple[LlamaForCausalLM, Tokenizer]:
    return load_gguf_with_tokenizer(gguf_path_of_smollm2())


@pytest.fixture(scope="module")
def reference() -> torch.nn.Module:
    """transformers' LlamaForCausalLM with the GGUF dequantised by transformers' own code.

    `from_pretrained(dir, gguf_file=...)` runs exactly this conversion but insists on the
    `accelerate` package, which Fathom does not otherwise need; we call the same
    `load_gguf_checkpoint` it uses and load the result ourselves.
    """
    from transformers import LlamaConfig, LlamaForCausalLM
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    path = str(gguf_path_of_smollm2())
    meta = load_gguf_checkpoint(path)["config"]
    config = LlamaConfig(**{k: v for k, v in meta.items() if k != "model_type"})
    model = LlamaForCausalLM(config)
    tensors = load_gguf_checkpoint(path, return_tensors=True, model_to_load=model)["tensors"]
    result = model.load_state_dict(tensors, strict=False)
    assert result.missing_keys == ["lm_head.weight"] and not result.unexpected_keys  # tied
    model.tie_weights()
    return model.eval()


def _prompt(tokenizer: Tokenizer) -> list[int]:
    text = encode_chatml([Message("user", "Write a short poem about the sea.")])
    return tokenizer.encode(text)


def test_prefill_logits_match_transformers(ours: tuple[LlamaForCausalLM, Tokenizer],
                                           reference: torch.nn.Module) -> None:
    model, tokenizer = ours
    ids = torch.tensor([_prompt(tokenizer)])
    with torch.no_grad():
        diff = (model(ids) - reference(ids).logits).abs().max().item()
    assert diff < 1e-4, diff
    print(f"SmolLM2 max |Δlogit| vs transformers: {diff:.2e}")


def test_greedy_continuation_matches_transformers(ours: tuple[LlamaForCausalLM, Tokenizer],
                                                  reference: torch.nn.Module) -> None:
    model, tokenizer = ours
    prompt = _prompt(tokenizer)
    got = [e.token_id for e in generate(model, tokenizer, prompt, N_TOKENS)]
    with torch.no_grad():
        out = reference.generate(torch.tensor([prompt]), max_new_tokens=N_TOKENS,
                                 do_sample=False)
    expected = out[0, len(prompt):].tolist()
    assert len(got) == N_TOKENS, tokenizer.decode(got)  # the poem is longer than 32 tokens
    assert got == expected, (tokenizer.decode(got), tokenizer.decode(expected))


# -- tiny synthetic GGUF files --------------------------------------------------------------

HIDDEN, FFN, HEADS, KV_HEADS, VOCAB, LAYERS = 64, 96, 4, 2, 40, 2


def _llama_cpp_permute(w: np.ndarray, n_heads: int) -> np.ndarray:
    """llama.cpp's convert_hf_to_gguf.py permutation of Q/K rows (what the loader undoes)."""
    return (w.reshape(n_heads, 2, w.shape[0] // n_heads // 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def _hf_weights(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    head_dim = HIDDEN // HEADS
    shapes = {"model.embed_tokens.weight": (VOCAB, HIDDEN), "model.norm.weight": (HIDDEN,)}
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        shapes |= {
            p + "input_layernorm.weight": (HIDDEN,),
            p + "post_attention_layernorm.weight": (HIDDEN,),
            p + "self_attn.q_proj.weight": (HEADS * head_dim, HIDDEN),
            p + "self_attn.k_proj.weight": (KV_HEADS * head_dim, HIDDEN),
            p + "self_attn.v_proj.weight": (KV_HEADS * head_dim, HIDDEN),
            p + "self_attn.o_proj.weight": (HIDDEN, HEADS * head_dim),
            p + "mlp.gate_proj.weight": (FFN, HIDDEN),
            p + "mlp.up_proj.weight": (FFN, HIDDEN),
            p + "mlp.down_proj.weight": (HIDDEN, FFN),
        }
    return {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}


_TO_GGUF = {
    "model.embed_tokens": "token_embd", "model.norm": "output_norm",
    "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}


def _gguf_name(hf: str) -> str:
    stem = hf.removesuffix(".weight")
    if stem in _TO_GGUF:
        return _TO_GGUF[stem] + ".weight"
    _, _, layer, rest = stem.split(".", 3)
    return f"blk.{layer}.{_TO_GGUF[rest]}.weight"


def _write(path: Path, weights: dict[str, np.ndarray], arch: str = "llama",
           extra: dict[str, np.ndarray] | None = None, skip: str = "") -> None:
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_block_count(LAYERS)
    writer.add_context_length(128)
    writer.add_embedding_length(HIDDEN)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_freq_base(10000.0)
    writer.add_vocab_size(VOCAB)
    for hf, w in weights.items():
        name = _gguf_name(hf)
        if name == skip:
            continue
        if "attn_q" in name:
            w = _llama_cpp_permute(w, HEADS)
        elif "attn_k" in name:
            w = _llama_cpp_permute(w, KV_HEADS)
        if name.startswith("blk.0.ffn_") and "norm" not in name:  # quantised, half precision
            q = gguf.GGMLQuantizationType.Q8_0
            writer.add_tensor(name, gguf.quants.quantize(w, q), raw_dtype=q)
        elif name.startswith("blk.1.attn_v"):
            writer.add_tensor(name, w.astype(np.float16))
        else:
            writer.add_tensor(name, w)
    for name, w in (extra or {}).items():
        writer.add_tensor(name, w)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_tiny_gguf_loads_back_to_the_original_weights(tmp_path: Path) -> None:
    weights = _hf_weights()
    path = tmp_path / "tiny.gguf"
    _write(path, weights)
    model = load_gguf_model(path)
    assert model.config.tie_word_embeddings and model.config.head_dim == HIDDEN // HEADS
    state = model.state_dict()
    for name, w in weights.items():
        got = state[name].numpy()
        if ".mlp." in name and ".layers.0." in name:
            np.testing.assert_allclose(got, w, atol=np.abs(w).max() / 100, err_msg=name)
        elif "layers.1.self_attn.v_proj" in name:
            np.testing.assert_array_equal(got, w.astype(np.float16).astype(np.float32))
        else:
            np.testing.assert_array_equal(got, w, err_msg=name)
    assert model.lm_head.weight is model.model.embed_tokens.weight
    bf16 = load_gguf_model(path, dtype=torch.bfloat16)
    assert bf16.lm_head.weight.dtype == torch.bfloat16
    assert bf16(torch.tensor([[1, 2, 3]])).shape == (1, 3, VOCAB)


def test_loader_errors_name_the_file_and_tensor(tmp_path: Path) -> None:
    weights = _hf_weights()
    missing = tmp_path / "missing.gguf"
    _write(missing, weights, skip="blk.1.ffn_up.weight")
    with pytest.raises(GGUFLoadError, match=r"missing\.gguf.*layers\.1\.mlp\.up_proj"):
        load_gguf_model(missing)
    extra = tmp_path / "extra.gguf"
    _write(extra, weights, extra={"blk.0.attn_q.bias": np.zeros(HIDDEN, np.float32)})
    with pytest.raises(GGUFLoadError, match=r"extra\.gguf.*'blk\.0\.attn_q\.bias'"):
        load_gguf_model(extra)
    shaped = tmp_path / "shaped.gguf"
    bad = dict(weights)
    bad["model.layers.0.self_attn.o_proj.weight"] = np.zeros((HIDDEN, 32), np.float32)
    _write(shaped, bad)
    with pytest.raises(GGUFLoadError, match=r"shaped\.gguf.*'blk\.0\.attn_output\.weight'.*"
                                            r"shape \[64, 32\], expected \[64, 64\]"):
        load_gguf_model(shaped)
    other = tmp_path / "other.gguf"
    _write(other, weights, arch="qwen2")
    with pytest.raises(GGUFLoadError, match=r"other\.gguf.*'qwen2'"):
        load_gguf_model(other)
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"GGUF but not really")
    with pytest.raises(GGUFLoadError, match="junk.gguf"):
        load_gguf_model(junk)
    truncated = tmp_path / "truncated.gguf"
    _write(truncated, weights)
    truncated.write_bytes(truncated.read_bytes()[:-1000])
    with pytest.raises(GGUFLoadError, match="truncated.gguf"):
        load_gguf_model(truncated)


def test_transformers_llama_directory_loads_with_the_same_logits(tmp_path: Path) -> None:
    """config.json as transformers 5 writes it (RoPE base inside rope_parameters), tied head."""
    from transformers import LlamaConfig as HFLlamaConfig
    from transformers import LlamaForCausalLM as HFLlama

    torch.manual_seed(0)
    reference = HFLlama(HFLlamaConfig(
        vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=FFN, num_hidden_layers=LAYERS,
        num_attention_heads=HEADS, num_key_value_heads=KV_HEADS, rope_theta=500.0,
        tie_word_embeddings=True, rms_norm_eps=1e-5)).eval()
    reference.save_pretrained(tmp_path)
    model = load_model(tmp_path)
    assert isinstance(model.config, LlamaConfig) and model.config.rope_theta == 500.0
    assert model.lm_head.weight is model.model.embed_tokens.weight
    ids = torch.randint(0, VOCAB, (2, 24), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        diff = (model(ids) - reference(ids).logits).abs().max().item()
    assert diff < 1e-5, diff


def test_llama_directory_errors_name_the_tensor(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    config = {"model_type": "llama", "vocab_size": VOCAB, "hidden_size": HIDDEN,
              "intermediate_size": FFN, "num_hidden_layers": LAYERS,
              "num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS,
              "tie_word_embeddings": True}
    weights = {k: torch.from_numpy(v) for k, v in _hf_weights().items()}
    cases = {
        "missing": ({k: v for k, v in weights.items() if "layers.1.mlp.up" not in k},
                    r"tensor model\.layers\.1\.mlp\.up_proj\.weight is missing"),
        "extra": (weights | {"model.layers.0.self_attn.q_proj.bias": torch.zeros(HIDDEN)},
                  r"unexpected tensor model\.layers\.0\.self_attn\.q_proj\.bias"),
        "shaped": (weights | {"model.norm.weight": torch.ones(HIDDEN + 1)},
                   r"tensor model\.norm\.weight has shape \(65,\), expected \(64,\)"),
    }
    for name, (tensors, message) in cases.items():
        directory = tmp_path / name
        directory.mkdir()
        (directory / "config.json").write_text(json.dumps(config))
        save_file(tensors, str(directory / "model.safetensors"))
        with pytest.raises(LoadError, match=message):
            load_model(directory)
