"""Load a model from a checkpoint directory (config.json + safetensors) or a GGUF file.

DeepSeek V4 checkpoints come with two tensor namings, both accepted:

* **reference** (DeepSeek's inference code and the published weights):
  ``layers.3.attn.wq_a.weight``, ``layers.3.ffn.experts.17.w1.weight`` (+ ``.scale`` for
  FP8/FP4), ``layers.3.hc_attn_fn``, ``embed.weight``, ``head.weight``, ``mtp.0.e_proj.weight``;
* **Hugging Face** module names (``model.layers.3.self_attn.q_a_proj.weight``, stacked
  ``mlp.experts.gate_up_proj``, ...) and the mixture ``transformers`` writes with
  ``save_pretrained`` (``model.layers.3.attn.wq_a.weight`` next to ``model.embed_tokens``).

Every name is rewritten to the reference name, which is also our module's parameter name.
The model is built on the meta device and filled block by block straight from the memory-
mapped shards, so peak memory stays near one block above the loaded weights. FP8/FP4
weights of linear layers stay quantised by default: the ``nn.Linear`` becomes an
``Fp8Linear``/``Fp4Linear`` holding the stored bytes and scales (same names), which
dequantises as it computes; with ``quantized="dequantize"`` (and always for the few
weights the model reads directly, such as ``wo_a``) they are dequantised one tensor at a
time. Anything that does not fit — a missing, extra, mis-shaped or truncated tensor —
raises :class:`LoadError` naming the tensor and the file.

A ``llama`` directory (Hugging Face names, which are our llama module's names) loads too;
``.gguf`` files go to ``gguf_loader``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import struct
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from torch import nn

from model_runtime.config import DeepseekV4Config, LlamaConfig, load_config
from model_runtime.models.deepseek_v4 import DeepseekV4ForCausalLM
from model_runtime.models.llama import LlamaForCausalLM
from model_runtime.models.quant_linear import Fp4Linear, Fp8Linear, QuantLinear
from model_runtime.quant import FP4_GROUP, QuantFormatError, dequantize_fp4, dequantize_fp8

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
_PACKED = {"F4", "U8", "I8"}
QUANTIZED_MODES = ("keep", "dequantize")
# Parameters DeepSeek keeps in fp32 whatever the activation dtype.
_FP32_PARAMS = re.compile(
    r"(hc_\w+_(fn|base|scale)|attn_sink|\.ape|gate\.bias|norm\.weight"
    r"|compressor\.(wkv|wgate)\.weight)$"
)
# Linear weights the model reads directly rather than through ``linear()`` (the grouped
# output projection's bmm); FP8 storage of these is dequantised at load, as DeepSeek's own
# convert.py does for ``wo_a``. The fp32 compressor projections above are too.
_READ_DIRECTLY = re.compile(r"\.wo_a\.weight$")
# Hugging Face module names -> reference names, applied in order after dropping "model.".
_RENAMES = [
    (r"^embed_tokens\.", "embed."),
    (r"^lm_head\.", "head."),
    (r"^hc_head\.hc_(fn|base|scale)$", r"hc_head_\1"),
    (r"\.self_attn\.", ".attn."),
    (r"\.mlp\.", ".ffn."),
    (r"\.input_layernorm\.", ".attn_norm."),
    (r"\.post_attention_layernorm\.", ".ffn_norm."),
    (r"\.(attn|ffn)_hc\.(fn|base|scale)$", r".hc_\1_\2"),
    (r"\.attn\.sinks$", ".attn.attn_sink"),
    (r"\.compressor\.indexer\.scorer\.weights_proj\.", ".indexer.weights_proj."),
    (r"\.compressor\.indexer\.q_b_proj\.", ".indexer.wq_b."),
    (r"\.compressor\.indexer\.", ".indexer.compressor."),
    (r"\.shared_experts\.gate_proj\.", ".shared_experts.w1."),
    (r"\.shared_experts\.down_proj\.", ".shared_experts.w2."),
    (r"\.shared_experts\.up_proj\.", ".shared_experts.w3."),
    (r"\.compressor\.kv_proj\.", ".compressor.wkv."),
    (r"\.compressor\.gate_proj\.", ".compressor.wgate."),
    (r"\.compressor\.position_bias$", ".compressor.ape"),
    (r"\.compressor\.kv_norm\.", ".compressor.norm."),
    (r"^((?:layers|mtp)\.\d+\.attn)\.norm\.", r"\1.kv_norm."),
    (r"\.q_a_proj\.", ".wq_a."),
    (r"\.q_a_norm\.", ".q_norm."),
    (r"\.q_b_proj\.", ".wq_b."),
    (r"\.attn\.kv_proj\.", ".attn.wkv."),
    (r"\.o_a_proj\.", ".wo_a."),
    (r"\.o_b_proj\.", ".wo_b."),
    (r"\.gate\.e_score_correction_bias$", ".gate.bias"),
    (r"\.weight_scale_inv$", ".scale"),
]
_STACKED = re.compile(r"^(.*\.ffn\.experts)\.(gate_up_proj|down_proj)$")


class LoadError(RuntimeError):
    """A checkpoint that does not match its model; the message names tensor and file."""


@dataclass(frozen=True)
class TensorEntry:
    """Where one stored tensor lives and what its header says.

    Attributes:
        file: shard holding it.
        key: name inside the shard.
        dtype: safetensors dtype string (``F32``, ``F8_E4M3``, ``F4``, ...).
        shape: shape from the header (logical, so ``F4`` counts values, not bytes).
        offset: byte offset of the tensor's data in the file.
    """

    file: Path
    key: str
    dtype: str
    shape: tuple[int, ...]
    offset: int


@dataclass(frozen=True)
class Source:
    """A model tensor's origin: a stored tensor, possibly a slice of a stacked one.

    Attributes:
        entry: the stored tensor.
        expert: for stacked HF experts, the expert index.
        half: for stacked ``gate_up_proj``, 0 (gate, ``w1``) or 1 (up, ``w3``).
    """

    entry: TensorEntry
    expert: int | None = None
    half: int | None = None


def load_model(
    path: str | Path,
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
    quantized: str = "keep",
) -> nn.Module:
    """Load a checkpoint directory (HF or reference names, sharded or not) or a ``.gguf``.

    The directory's ``config.json`` decides the model: DeepSeek V4 (any spelling) or llama.

    ``dtype`` is the activation/weight dtype (default: the checkpoint's ``dtype`` if it names
    one, else float32). ``quantized`` says what becomes of FP8/FP4 linear weights: ``"keep"``
    stores them as they are (``Fp8Linear``/``Fp4Linear`` layers computing in ``dtype``),
    ``"dequantize"`` converts them to ``dtype`` at load. Dense checkpoints ignore it. Returns
    the model in eval mode with gradients disabled.

    Raises:
        LoadError: missing files, or missing/extra/mis-shaped/truncated tensors.
        ConfigError: an unusable config.json.
        ValueError: an unknown ``quantized`` mode.
    """
    if quantized not in QUANTIZED_MODES:
        raise ValueError(f"quantized must be one of {QUANTIZED_MODES}, got {quantized!r}")
    path = Path(path)
    if path.suffix == ".gguf":
        from model_runtime.gguf_loader import load_gguf_model

        return load_gguf_model(path, device=device, dtype=dtype)
    if not path.is_dir():
        raise LoadError(f"{path}: not a checkpoint directory or .gguf file")
    config = load_config(path)
    entries = index_checkpoint(path)
    if isinstance(config, LlamaConfig):
        return _load_llama(path, config, entries, torch.device(device), dtype)
    sources = map_names(entries)
    if config.num_mtp_layers and not any(name.startswith("mtp.") for name in sources):
        config = dataclasses.replace(config, num_mtp_layers=0)  # HF checkpoints drop MTP
    if dtype is None:
        dtype = _DTYPES.get(config.torch_dtype or "float32", torch.float32)
    with torch.device("meta"):
        model = DeepseekV4ForCausalLM(config)
    computed = {}
    if config.engram is not None and "engram_vocab" not in sources:
        computed["engram_vocab"] = _engram_vocab_from_tokenizer(path, config)
    _check_names(model, sources, path, set(computed))
    with ExitStack() as stack:
        reader = _Reader(stack, torch.device(device), dtype)
        for group in _groups(model):
            for name in group:
                if name in computed:
                    value = computed[name].to(device)
                elif name.endswith(".engram.table"):
                    value = reader.mapped(name, sources, _target(model, name))
                elif quantized == "keep" and _stays_quantised(model, name, sources):
                    layer = reader.quant_linear(name, sources, _target(model, name))
                    model.set_submodule(name.removesuffix(".weight"), layer)
                    continue
                else:
                    value = reader.read(name, sources, _target(model, name))
                _assign(model, name, value)
    if config.tie_word_embeddings:
        model.head.weight = model.embed.weight
    return model.eval().requires_grad_(False)


def _load_llama(
    path: Path,
    config: LlamaConfig,
    entries: dict[str, TensorEntry],
    device: torch.device,
    dtype: torch.dtype | None,
) -> LlamaForCausalLM:
    """A llama model from Hugging Face-named safetensors (our parameter names are theirs)."""
    dtype = dtype or _DTYPES.get(config.torch_dtype or "float32", torch.float32)
    with torch.device("meta"):
        model = LlamaForCausalLM(config)
    expected = dict(model.named_parameters())  # a tied lm_head.weight is listed once, as embed
    missing = sorted(set(expected) - set(entries))
    if missing:
        raise LoadError(f"{path}: tensor {missing[0]} is missing from the checkpoint")
    with ExitStack() as stack:
        handles: dict[Path, Any] = {}
        for key, entry in sorted(entries.items()):
            if key not in expected:
                if key == "lm_head.weight" and config.tie_word_embeddings:
                    continue  # some tied checkpoints store the head anyway; it is the embedding
                raise LoadError(f"{entry.file}: unexpected tensor {key} (no such llama parameter)")
            if entry.shape != tuple(expected[key].shape):
                raise LoadError(f"{entry.file}: tensor {key} has shape {entry.shape}, "
                                f"expected {tuple(expected[key].shape)}")
            if entry.dtype not in ("F32", "F16", "BF16"):
                raise LoadError(f"{entry.file}: tensor {key} is {entry.dtype}; llama weights "
                                "must be F32, F16 or BF16")
            if entry.file not in handles:
                handles[entry.file] = stack.enter_context(safe_open(str(entry.file), "pt"))
            value = handles[entry.file].get_tensor(key).to(device=device, dtype=dtype)
            _assign(model, key, value)
    if config.tie_word_embeddings:
        model.lm_head.weight = model.model.embed_tokens.weight
    return model.eval().requires_grad_(False)


def index_checkpoint(directory: Path) -> dict[str, TensorEntry]:
    """All stored tensors of a checkpoint directory, by stored name.

    Uses ``model.safetensors.index.json`` when present, else every ``*.safetensors`` file.
    """
    index_path = directory / "model.safetensors.index.json"
    if index_path.exists():
        try:
            weight_map = json.loads(index_path.read_text(encoding="utf-8"))["weight_map"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise LoadError(f"{index_path}: not a safetensors index ({exc})") from exc
        files = sorted({directory / f for f in weight_map.values()})
    else:
        weight_map = None
        files = sorted(directory.glob("*.safetensors"))
        if not files:
            raise LoadError(f"{directory}: no *.safetensors files")
    entries: dict[str, TensorEntry] = {}
    for file in files:
        if not file.exists():
            missing = next(k for k, v in weight_map.items() if directory / v == file)
            raise LoadError(f"{file}: shard listed in the index (for tensor {missing}) is missing")
        for key, entry in read_header(file).items():
            if key in entries:
                raise LoadError(f"{file}: tensor {key} is also stored in {entries[key].file}")
            if weight_map is not None and directory / weight_map.get(key, "") != file:
                raise LoadError(f"{file}: tensor {key} is not listed for this shard in the index")
            entries[key] = entry
    if weight_map is not None:
        for key, name in weight_map.items():
            if key not in entries:
                raise LoadError(f"{directory / name}: tensor {key} listed in the index is absent")
    return entries


def read_header(file: Path) -> dict[str, TensorEntry]:
    """Parse a safetensors header and check that every tensor's bytes are in the file.

    safetensors itself only reports "incomplete metadata" for a truncated file; reading the
    header here lets the error name the first tensor whose data is cut off.
    """
    size = file.stat().st_size
    with file.open("rb") as handle:
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise LoadError(f"{file}: truncated before the safetensors header")
        (header_len,) = struct.unpack("<Q", prefix)
        if 8 + header_len > size:
            raise LoadError(f"{file}: truncated inside the safetensors header")
        try:
            header = json.loads(handle.read(header_len))
        except json.JSONDecodeError as exc:
            raise LoadError(f"{file}: corrupt safetensors header ({exc})") from exc
    data_size = size - 8 - header_len
    entries = {}
    for key, info in header.items():
        if key == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        if end > data_size:
            raise LoadError(
                f"{file}: tensor {key} is truncated (needs bytes {begin}..{end}, "
                f"file has {data_size})"
            )
        offset = 8 + header_len + begin
        entries[key] = TensorEntry(file, key, info["dtype"], tuple(info["shape"]), offset)
    return entries


def reference_name(name: str) -> str:
    """Rewrite a Hugging Face or mixed tensor name to DeepSeek's reference name."""
    name = name.removeprefix("model.")
    for pattern, replacement in _RENAMES:
        name = re.sub(pattern, replacement, name)
    return name


def map_names(entries: dict[str, TensorEntry]) -> dict[str, Source]:
    """Model parameter name (reference naming) -> where its data is stored."""
    sources: dict[str, Source] = {}

    def put(name: str, source: Source) -> None:
        if name in sources:
            raise LoadError(
                f"{source.entry.file}: tensor {source.entry.key} and "
                f"{sources[name].entry.key} ({sources[name].entry.file}) both provide {name}"
            )
        sources[name] = source

    for key, entry in entries.items():
        name = reference_name(key)
        stacked = _STACKED.match(name)
        if stacked is None:
            put(name, Source(entry))
            continue
        prefix, kind = stacked.groups()
        for e in range(entry.shape[0] if entry.shape else 0):
            if kind == "down_proj":
                put(f"{prefix}.{e}.w2.weight", Source(entry, expert=e))
            else:
                put(f"{prefix}.{e}.w1.weight", Source(entry, expert=e, half=0))
                put(f"{prefix}.{e}.w3.weight", Source(entry, expert=e, half=1))
    return sources


def _expected(model: nn.Module) -> set[str]:
    """Names a checkpoint must provide: parameters and persistent buffers."""
    names = {n for n, _ in model.named_parameters()} | set(model.state_dict().keys())
    if model.config.tie_word_embeddings:
        names.discard("head.weight")
    return names


def _engram_vocab_from_tokenizer(path: Path, config: DeepseekV4Config) -> torch.Tensor:
    """Token -> compressed id table built from the checkpoint's ``tokenizer.json``."""
    from tokenizers import Tokenizer

    from model_runtime.models.engram import build_compressed_vocab

    file = path / "tokenizer.json"
    if not file.exists():
        raise LoadError(
            f"{path}: tensor engram_vocab is missing and there is no tokenizer.json to build it"
        )
    tokenizer = Tokenizer.from_file(str(file))
    lookup, size = build_compressed_vocab(
        lambda t: tokenizer.decode([t], skip_special_tokens=False),
        lambda t: tokenizer.id_to_token(t) or "",
        config.vocab_size,
    )
    if size != config.engram.compressed_vocab_size:
        raise LoadError(
            f"{file}: compresses to {size} ids, config says {config.engram.compressed_vocab_size}"
        )
    return lookup


def _check_names(
    model: nn.Module, sources: dict[str, Source], path: Path, computed: set[str]
) -> None:
    """Every expected tensor present, nothing left over (``.scale`` pairs with a weight)."""
    expected = _expected(model)
    for name in sorted(expected - computed):
        if name not in sources:
            raise LoadError(f"{path}: tensor {name} is missing from the checkpoint")
    optional = {"head.weight"} if model.config.tie_word_embeddings else set()
    for name, source in sorted(sources.items()):
        if name in expected or name in optional:
            continue
        if name.endswith(".scale") and name.removesuffix(".scale") + ".weight" in expected:
            continue
        raise LoadError(
            f"{source.entry.file}: unexpected tensor {source.entry.key} "
            f"(no parameter {name} in this model)"
        )


def _groups(model: nn.Module) -> Iterator[list[str]]:
    """Expected names grouped by block (embedding, each layer, each MTP block, the rest)."""
    by_group: dict[str, list[str]] = {}
    for name in sorted(_expected(model)):
        parts = name.split(".")
        key = ".".join(parts[:2]) if parts[0] in ("layers", "mtp") else parts[0]
        by_group.setdefault(key, []).append(name)
    yield from by_group.values()


def _stays_quantised(model: nn.Module, name: str, sources: dict[str, Source]) -> bool:
    """Whether ``name`` is an FP8/FP4-stored weight of a layer applied through ``linear()``."""
    dtype = sources[name].entry.dtype
    if dtype != "F8_E4M3" and dtype not in _PACKED:
        return False
    if _READ_DIRECTLY.search(name) or _FP32_PARAMS.search(name) or not name.endswith(".weight"):
        return False
    return type(model.get_submodule(name.removesuffix(".weight"))) is nn.Linear


def _target(model: nn.Module, name: str) -> torch.Tensor:
    """The (meta) parameter or buffer ``name`` refers to."""
    module_name, _, leaf = name.rpartition(".")
    module = model.get_submodule(module_name) if module_name else model
    return getattr(module, leaf)


def _assign(model: nn.Module, name: str, tensor: torch.Tensor) -> None:
    """Replace the meta parameter/buffer ``name`` by ``tensor``."""
    module_name, _, leaf = name.rpartition(".")
    module = model.get_submodule(module_name) if module_name else model
    if leaf in module._buffers:
        module._buffers[leaf] = tensor
    else:
        module._parameters[leaf] = nn.Parameter(tensor, requires_grad=False)


class _Reader:
    """Reads, dequantises and converts tensors from open shards."""

    def __init__(self, stack: ExitStack, device: torch.device, dtype: torch.dtype) -> None:
        self.stack = stack
        self.device = device
        self.dtype = dtype
        self.handles: dict[Path, object] = {}

    def _raw(self, entry: TensorEntry) -> torch.Tensor:
        handle = self.handles.get(entry.file)
        if handle is None:
            handle = self.stack.enter_context(safe_open(str(entry.file), framework="pt"))
            self.handles[entry.file] = handle
        return handle.get_tensor(entry.key)

    def read(self, name: str, sources: dict[str, Source], target: torch.Tensor) -> torch.Tensor:
        """The value of model tensor ``name``, shaped and typed like ``target``."""
        source = sources[name]
        entry = source.entry
        where = f"{entry.file}: tensor {entry.key}"
        if target.dtype == torch.long:  # tid2eid
            if entry.dtype not in ("I64", "I32", "I16", "U8", "I8"):
                raise LoadError(f"{where}: expected integer expert ids, got {entry.dtype}")
            value = self._raw(entry)
        elif entry.dtype == "F8_E4M3" or entry.dtype in _PACKED:
            value = self._dequantize(name, sources, target, where)
        else:
            value = self._raw(entry)
            if source.expert is not None:
                value = value[source.expert]
                if source.half is not None:
                    value = value.chunk(2, dim=0)[source.half]
        if tuple(value.shape) != tuple(target.shape):
            raise LoadError(
                f"{where}: shape {tuple(value.shape)} does not fit {name} {tuple(target.shape)}"
            )
        dtype = target.dtype if target.dtype == torch.long else self.dtype
        if _FP32_PARAMS.search(name):
            dtype = torch.float32
        return value.to(device=self.device, dtype=dtype)

    def mapped(self, name: str, sources: dict[str, Source], target: torch.Tensor) -> torch.Tensor:
        """A memory-mapped, copy-on-write view of a (large) table, in its stored dtype.

        Nothing is read until rows are gathered; it stays in host memory whatever the device.
        """
        entry = sources[name].entry
        kinds = {"F32": (np.float32, None), "F16": (np.float16, None),
                 "BF16": (np.uint16, torch.bfloat16)}
        if entry.dtype not in kinds:
            raise LoadError(f"{entry.file}: tensor {entry.key}: cannot map {entry.dtype} tables")
        if entry.shape != tuple(target.shape):
            raise LoadError(
                f"{entry.file}: tensor {entry.key}: shape {entry.shape} does not fit "
                f"{name} {tuple(target.shape)}"
            )
        np_dtype, view = kinds[entry.dtype]
        array = np.memmap(entry.file, dtype=np_dtype, mode="c", offset=entry.offset,
                          shape=entry.shape)
        table = torch.from_numpy(array)
        return table.view(view) if view is not None else table

    def quant_linear(
        self, name: str, sources: dict[str, Source], target: torch.Tensor
    ) -> QuantLinear:
        """The FP8/FP4 weight ``name`` and its scale as a layer that keeps them quantised."""
        entry = sources[name].entry
        where = f"{entry.file}: tensor {entry.key}"
        weight, scale, scale_name = self._quantised(name, sources, target, where)
        weight, scale = weight.to(self.device), scale.to(self.device)
        try:
            if entry.dtype in _PACKED:
                return Fp4Linear(weight, scale, self.dtype)
            return Fp8Linear(weight, scale, self.dtype)
        except QuantFormatError as exc:
            raise LoadError(f"{where} / {scale_name}: {exc}") from exc

    def _dequantize(
        self, name: str, sources: dict[str, Source], target: torch.Tensor, where: str
    ) -> torch.Tensor:
        weight, scale, scale_name = self._quantised(name, sources, target, where)
        try:
            if sources[name].entry.dtype in _PACKED:
                return dequantize_fp4(weight, scale, self.dtype)
            return dequantize_fp8(weight, scale, self.dtype)
        except QuantFormatError as exc:
            raise LoadError(f"{where} / {scale_name}: {exc}") from exc

    def _quantised(
        self, name: str, sources: dict[str, Source], target: torch.Tensor, where: str
    ) -> tuple[torch.Tensor, torch.Tensor, str]:
        """A quantised weight's stored bytes, its scale and the scale's name, after checks."""
        entry = sources[name].entry
        scale_name = name.removesuffix(".weight") + ".scale"
        if sources[name].expert is not None:
            raise LoadError(f"{where}: stacked expert tensors must be stored unquantised")
        if scale_name not in sources:
            raise LoadError(f"{where}: quantised ({entry.dtype}) but has no scale {scale_name}")
        if target.dim() != 2:
            raise LoadError(f"{where}: {entry.dtype} storage for non-matrix {name}")
        rows, cols = target.shape
        packed = entry.dtype in _PACKED
        stored = (rows, cols // 2) if entry.dtype in ("U8", "I8") else (rows, cols)
        if entry.shape != stored:
            raise LoadError(
                f"{where}: shape {entry.shape} does not fit {name} {(rows, cols)}"
            )
        if packed and cols % FP4_GROUP:
            raise LoadError(f"{where} / {scale_name}: {cols} columns are not groups of "
                            f"{FP4_GROUP}")
        return self._raw(entry), self._raw(sources[scale_name].entry), scale_name

