"""Load a llama-family model from a GGUF file (llama.cpp's format) with the `gguf` package.

Config comes from the `llama.*` metadata keys; tensors are dequantised by
`gguf.quants.dequantize` (Q4_1, Q8_0, F16, F32 and every other type it knows) into the
requested dtype. llama.cpp's converter permutes the rows of the Q and K projections so
its RoPE can rotate adjacent pairs; we permute them back to the half-split layout
`models.llama` (and Hugging Face) use.
"""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
import torch

from model_runtime.config import ConfigError, LlamaConfig
from model_runtime.models.llama import LlamaForCausalLM
from model_runtime.tokenizer import Tokenizer


class GGUFLoadError(ValueError):
    """A GGUF file that is unreadable, or describes a model we cannot build."""


_LAYER_TENSORS = {
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}
_GLOBAL_TENSORS = {
    "token_embd": "model.embed_tokens",
    "output_norm": "model.norm",
    "output": "lm_head",
}


def read_gguf_config(reader: gguf.GGUFReader, path: Path) -> LlamaConfig:
    """The `LlamaConfig` described by a GGUF file's metadata."""

    def get(key: str, default: object = None) -> object:
        fld = reader.fields.get(key)
        if fld is None:
            if default is None:
                raise GGUFLoadError(f"{path}: metadata key {key!r} is missing")
            return default
        return fld.contents()

    arch = get("general.architecture")
    if arch != "llama":
        raise GGUFLoadError(f"{path}: general.architecture is {arch!r}; only 'llama' is supported")
    if reader.fields.get("llama.rope.scaling.type") is not None:
        raise GGUFLoadError(f"{path}: llama.rope.scaling.type is set; RoPE scaling is not "
                            "supported")
    hidden = int(get("llama.embedding_length"))
    heads = int(get("llama.attention.head_count"))
    tokens = reader.fields.get("tokenizer.ggml.tokens")
    vocab_default = len(tokens.data) if tokens is not None else None
    names = {t.name for t in reader.tensors}
    optional = {key: int(reader.fields[f"tokenizer.ggml.{key}"].contents())
                for key in ("bos_token_id", "eos_token_id")
                if f"tokenizer.ggml.{key}" in reader.fields}
    if heads < 1 or hidden % heads:
        raise GGUFLoadError(f"{path}: llama.attention.head_count ({heads}) does not divide "
                            f"llama.embedding_length ({hidden})")
    try:
        return LlamaConfig(
            vocab_size=int(get("llama.vocab_size", vocab_default)),
            hidden_size=hidden,
            intermediate_size=int(get("llama.feed_forward_length")),
            num_layers=int(get("llama.block_count")),
            num_heads=heads,
            num_kv_heads=int(get("llama.attention.head_count_kv", heads)),
            head_dim=int(get("llama.rope.dimension_count", hidden // heads)),
            rms_norm_eps=float(get("llama.attention.layer_norm_rms_epsilon")),
            rope_theta=float(get("llama.rope.freq_base", 10000.0)),
            max_position_embeddings=int(get("llama.context_length", 2048)),
            tie_word_embeddings="output.weight" not in names,
            **optional,
        )
    except ConfigError as err:
        raise GGUFLoadError(f"{path}: inconsistent model shape: {err}") from err


def _hf_name(gguf_name: str, n_layers: int) -> str | None:
    """The `LlamaForCausalLM` parameter name for a GGUF tensor name, or None if unknown."""
    stem, _, suffix = gguf_name.rpartition(".")
    if suffix != "weight":
        return None
    if stem in _GLOBAL_TENSORS:
        return f"{_GLOBAL_TENSORS[stem]}.weight"
    parts = stem.split(".")
    if len(parts) == 3 and parts[0] == "blk" and parts[1].isdigit() and parts[2] in _LAYER_TENSORS:
        layer = int(parts[1])
        if layer < n_layers:
            return f"model.layers.{layer}.{_LAYER_TENSORS[parts[2]]}.weight"
    return None


def unpermute_qk(weight: np.ndarray, n_heads: int) -> np.ndarray:
    """Undo llama.cpp's Q/K row permutation (pairwise RoPE layout -> half-split layout)."""
    rows = weight.shape[0]
    return (weight.reshape(n_heads, rows // n_heads // 2, 2, *weight.shape[1:])
            .swapaxes(1, 2).reshape(weight.shape))


def open_gguf(path: str | Path) -> gguf.GGUFReader:
    """Open a GGUF file (memory-mapped); `GGUFLoadError` if it is not one."""
    try:
        return gguf.GGUFReader(Path(path))
    except (OSError, ValueError) as err:
        raise GGUFLoadError(f"{path}: cannot read GGUF file: {err}") from err


def load_gguf_with_tokenizer(path: str | Path, device: str | torch.device = "cpu",
                             dtype: torch.dtype | None = None
                             ) -> tuple[LlamaForCausalLM, Tokenizer]:
    """The model and the tokenizer of one GGUF file, reading its metadata once."""
    reader = open_gguf(path)
    model = load_gguf_model(path, device=device, dtype=dtype, reader=reader)
    return model, Tokenizer.from_gguf(path, reader=reader)


def load_gguf_model(path: str | Path, device: str | torch.device = "cpu",
                    dtype: torch.dtype | None = None,
                    reader: gguf.GGUFReader | None = None) -> LlamaForCausalLM:
    """Build a `LlamaForCausalLM` from a GGUF file; `dtype` defaults to float32.

    Every tensor must map to a parameter with the expected shape, and every parameter
    must be present; otherwise a `GGUFLoadError` names the file and the tensor.
    Pass `reader` to reuse an already open file.
    """
    path = Path(path)
    dtype = dtype or torch.float32
    reader = reader or open_gguf(path)
    cfg = read_gguf_config(reader, path)
    with torch.device("meta"):
        model = LlamaForCausalLM(cfg)
    expected = {name: tuple(p.shape) for name, p in model.named_parameters(remove_duplicate=False)}
    if cfg.tie_word_embeddings:
        expected.pop("lm_head.weight")
    state: dict[str, torch.Tensor] = {}
    for tensor in reader.tensors:
        name = _hf_name(tensor.name, cfg.num_layers)
        if name is None or name not in expected:
            raise GGUFLoadError(f"{path}: unexpected tensor {tensor.name!r} "
                                f"(shape {list(tensor.shape)})")
        try:
            array = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
        except (NotImplementedError, ValueError) as err:
            raise GGUFLoadError(f"{path}: tensor {tensor.name!r} of type "
                                f"{tensor.tensor_type.name} cannot be dequantised: {err}") from err
        if tuple(array.shape) != expected[name]:
            raise GGUFLoadError(f"{path}: tensor {tensor.name!r} has shape {list(array.shape)}, "
                                f"expected {list(expected[name])}")
        if name.endswith("q_proj.weight"):
            array = unpermute_qk(array, cfg.num_heads)
        elif name.endswith("k_proj.weight"):
            array = unpermute_qk(array, cfg.num_kv_heads)
        if not array.flags.writeable:  # F32/F16 tensors come back as views of the mapped file
            array = array.copy()
        state[name] = torch.from_numpy(np.ascontiguousarray(array)).to(device=device, dtype=dtype)
    missing = sorted(set(expected) - set(state))
    if missing:
        raise GGUFLoadError(f"{path}: no tensor for parameter(s) {', '.join(missing[:5])}"
                            + (" …" if len(missing) > 5 else ""))
    # The meta-device parameters are replaced by the loaded tensors; nothing else is allocated.
    model.load_state_dict(state, strict=not cfg.tie_word_embeddings, assign=True)
    if cfg.tie_word_embeddings:
        model.lm_head.weight = model.model.embed_tokens.weight
    return model.requires_grad_(False).eval()
