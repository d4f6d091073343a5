"""A tiny CausalLM-shaped model that loops, and a byte-level tokenizer for it: for tests of
the decode loop's repeat controls and loop stop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tokenizers
import torch
from tokenizers import AddedToken, decoders, models, pre_tokenizers
from torch import Tensor

from model_runtime.tokenizer import Tokenizer

EOS = "<|eos|>"


def byte_tokenizer(order: Callable[[str], Any] | None = None) -> Tokenizer:
    """Byte-level, one token per character of plain ASCII text, and an EOS token; ids
    follow the byte-level alphabet sorted by `order` (by character when None)."""
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet(), key=order)
    backend = tokenizers.Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(alphabet)},
                                              merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens([AddedToken(EOS, special=True)])
    return Tokenizer(backend, bos_token=None, eos_token=EOS)


class Cycle(torch.nn.Module):
    """Repeats `text` forever: after each of its tokens it predicts the next one (the last
    wraps to the first) with logit 4, the `escape` token with logit 3, and after `escape`
    EOS. Any other token leads into the cycle, so every prompt does."""

    def __init__(self, tokenizer: Tokenizer, text: str, escape: str = "!") -> None:
        """`text` must be one distinct token per character (plain ASCII, no repeats)."""
        super().__init__()
        ids = tokenizer.encode(text)
        if not len(set(ids)) == len(ids) == len(text):
            raise ValueError(f"Cycle needs one distinct token per character, got {text!r}")
        (bang,) = tokenizer.encode(escape)
        table = torch.zeros(tokenizer.vocab_size, tokenizer.vocab_size)
        table[:, ids[0]] = 4.0
        for token, following in zip(ids, ids[1:] + ids[:1], strict=True):
            table[token] = 0.0
            table[token, following] = 4.0
            table[token, bang] = 3.0
        table[bang] = 0.0
        table[bang, tokenizer.eos_id] = 4.0
        self.table = torch.nn.Parameter(table, requires_grad=False)

    def forward(self, input_ids: Tensor, positions: Tensor | None = None,
                cache: Any = None, num_logits: int | None = None) -> Tensor:
        """Logits [B, T, vocab]: each position's row of the table."""
        logits = self.table[input_ids]
        return logits if num_logits is None else logits[:, -num_logits:]

    def new_cache(self, batch_size: int, max_len: int) -> None:
        """No state: the next token depends on the last one only."""
        return None
