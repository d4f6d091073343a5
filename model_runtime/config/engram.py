"""The V4.1 Engram keys (``engram_*``) of a DeepSeek V4 config, parsed into :class:`EngramConfig`.

The same keys appear in the Hugging Face and in the reference spelling.
"""

from __future__ import annotations

from dataclasses import dataclass

from model_runtime.config.reader import ConfigReader

ENGRAM_KEYS = frozenset({
    "engram_layer_ids", "engram_num_embeddings", "engram_max_ngram_size", "engram_n_heads",
    "engram_head_dim", "engram_vocab_size", "engram_pad_token_id",
    "engram_compressed_vocab_size", "engram_kernel_size", "engram_seed",
})


@dataclass(frozen=True)
class EngramConfig:
    """V4.1 Engram conditional memory: hashed n-gram embeddings gated into the streams.

    Attributes:
        layer_ids: decoder layers that carry an Engram module.
        num_embeddings: total hash-table rows of each of those layers (all heads, all orders).
        max_ngram_size: longest n-gram hashed; orders 2..max_ngram_size are used.
        n_heads: hash heads per n-gram order, each with its own prime table size.
        head_dim: width of one head's embedding row.
        ngram_vocab_sizes: per n-gram order, the size the first head's prime search starts at.
        compressed_vocab_size: size of the compressed-tokenizer vocabulary (None: unknown).
        pad_token_id: token id hashed for positions before the sequence start.
        kernel_size: width of the short causal depthwise convolution over the memory.
        seed: seed of the per-layer odd hash multipliers.
    """

    layer_ids: tuple[int, ...]
    num_embeddings: tuple[int, ...]
    max_ngram_size: int
    n_heads: int
    head_dim: int
    ngram_vocab_sizes: tuple[int, ...]
    compressed_vocab_size: int | None
    pad_token_id: int
    kernel_size: int = 4
    seed: int = 0


def read_engram(reader: ConfigReader) -> EngramConfig | None:
    """The Engram settings of a config, or ``None`` when it names no Engram layers.

    Raises:
        ConfigError: inconsistent Engram keys (table sizes, n-gram orders, vocab sizes).
    """
    layer_ids = reader.int_list("engram_layer_ids")
    reader.used.update(ENGRAM_KEYS)
    if not layer_ids:
        return None
    sizes = reader.int_list("engram_num_embeddings")
    if sizes is None or len(sizes) != len(layer_ids):
        raise reader.error("engram_num_embeddings", "needs one table size per Engram layer")
    max_ngram = reader.get("engram_max_ngram_size", int, 3)
    if max_ngram < 2:
        raise reader.error("engram_max_ngram_size", "Engram hashes n-grams of order 2 and up")
    vocab = reader.raw.get("engram_vocab_size")
    if isinstance(vocab, int) and not isinstance(vocab, bool):
        vocab = [vocab] * (max_ngram - 1)
    if (
        not isinstance(vocab, list)
        or len(vocab) != max_ngram - 1
        or not all(isinstance(v, int) and v > 1 for v in vocab)
    ):
        raise reader.error(
            "engram_vocab_size", f"expected an int or {max_ngram - 1} ints > 1, got {vocab!r}"
        )
    return EngramConfig(
        layer_ids=layer_ids,
        num_embeddings=sizes,
        max_ngram_size=max_ngram,
        n_heads=reader.get("engram_n_heads", int, 8),
        head_dim=reader.get("engram_head_dim", int, 64),
        ngram_vocab_sizes=tuple(vocab),
        compressed_vocab_size=reader.get("engram_compressed_vocab_size", int, None),
        pad_token_id=reader.get("engram_pad_token_id", int, 2),
        kernel_size=reader.get("engram_kernel_size", int, 4),
        seed=reader.get("engram_seed", int, 0),
    )
