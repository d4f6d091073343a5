"""What a safetensors checkpoint directory holds and what its tensors are called.

DeepSeek V4 checkpoints come with two tensor namings, both accepted:

* **reference** (DeepSeek's inference code and the published weights):
  ``layers.3.attn.wq_a.weight``, ``layers.3.ffn.experts.17.w1.weight`` (+ ``.scale`` for
  FP8/FP4), ``layers.3.hc_attn_fn``, ``embed.weight``, ``head.weight``, ``mtp.0.e_proj.weight``;
* **Hugging Face** module names (``model.layers.3.self_attn.q_a_proj.weight``, stacked
  ``mlp.experts.gate_up_proj``, ...) and the mixture ``transformers`` writes with
  ``save_pretrained`` (``model.layers.3.attn.wq_a.weight`` next to ``model.embed_tokens``).

Every name is rewritten to the reference name, which is also our module's parameter name.
Indexing reads only the shards' headers; a missing shard, a duplicated or truncated tensor
raises :class:`LoadError` naming the tensor and the file.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from pathlib import Path

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
