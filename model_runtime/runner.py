"""Running a model for the engine: one forward pass over the work of a step, and the KV
caches of the sequences in it.

`Runner` runs any causal LM (anything with `forward(input_ids, positions, cache,
num_logits)` and `new_cache(batch_size, max_len)`) one sequence per forward call, each
sequence in its own cache: DeepSeek V4 (whose `V4Cache` rows share one length) and test
doubles. `LlamaRunner` (`model_runtime.llama_runner`) packs all sequences of a step into
one call. Runners that can save and restore cache blocks for the prefix cache implement
`SavesBlocks` as well.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor

Work = Sequence[tuple[Any, Sequence[int]]]  # per sequence: its cache and its new tokens


class CausalLM(Protocol):
    """What the engine needs from a model."""

    def forward(self, input_ids: Tensor, positions: Tensor | None = None,
                cache: Any = None, num_logits: int | None = None) -> Tensor:
        """Logits [B, T, vocab] (the last `num_logits` positions only when given); with a
        cache, continue the cached sequence."""
        ...

    def new_cache(self, batch_size: int, max_len: int) -> Any:
        """An empty decoding state for `batch_size` sequences of up to `max_len` tokens."""
        ...

    def parameters(self) -> Iterator[torch.nn.Parameter]:
        """The model's parameters (used to find its device)."""
        ...


@runtime_checkable
class SavesBlocks(Protocol):
    """A runner whose caches can be cut into blocks of `block_size` tokens for the prefix
    cache, and rebuilt from them.

    `needs_state`: a block's own payload does not hold everything a later token needs
    (DeepSeek V4: the window ring and the compressors' running state are not per token),
    so a restored prefix must end at a block that carries `export_state`'s snapshot.
    """

    block_size: int
    needs_state: bool

    def saveable(self, cache: Any) -> int:
        """How many tokens from the start of `cache` can be saved now (whole blocks only
        when `needs_state`)."""
        ...

    def export_block(self, cache: Any, index: int) -> tuple[Any, int]:
        """A copy of block `index` of `cache` and its size in bytes."""
        ...

    def export_state(self, cache: Any) -> tuple[Any, int]:
        """A copy of the state of `cache` at its length (a block boundary) and its bytes."""
        ...

    def restore(self, cache: Any, blocks: Sequence[Any], length: int, state: Any) -> None:
        """Fill the empty `cache` with the first `length` tokens the blocks hold (all of
        them when `needs_state`, with `state` the state after the last); its length
        becomes `length`."""
        ...


def tensor_bytes(obj: Any) -> int:
    """Bytes of every tensor in `obj`: a tensor, or dataclasses, lists, tuples and dicts
    holding them (anything else counts 0)."""
    if isinstance(obj, Tensor):
        return obj.nbytes
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return sum(tensor_bytes(getattr(obj, f.name)) for f in dataclasses.fields(obj))
    if isinstance(obj, (list, tuple)):
        return sum(tensor_bytes(item) for item in obj)
    if isinstance(obj, dict):
        return sum(tensor_bytes(item) for item in obj.values())
    return 0


def round_up(n: int, block: int) -> int:
    """`n` rounded up to a multiple of `block`."""
    return -(-n // block) * block


class Runner:
    """Runs any `CausalLM` one sequence per forward call, each in its own cache of
    `new_cache(1, max_len)`."""

    def __init__(self, model: CausalLM, block_size: int) -> None:
        """`block_size`: the unit caches are sized in (`allocate` rounds up to it)."""
        self.model = model
        self.block_size = block_size
        self.device = next(iter(model.parameters())).device
        # Cache bytes are affine in the blocks held: measure the constant and the slope.
        one, two = (tensor_bytes(self.allocate(n * block_size)) for n in (1, 2))
        self._per_block, self._fixed = two - one, 2 * one - two

    def allocate(self, max_len: int) -> Any:
        """An empty cache for one sequence of up to `max_len` tokens (rounded up to whole
        blocks)."""
        return self.model.new_cache(1, round_up(max_len, self.block_size))

    def bytes_for(self, max_len: int) -> int:
        """Bytes of `allocate(max_len)`'s cache, without allocating it."""
        return self._fixed + self._per_block * (round_up(max_len, self.block_size)
                                                // self.block_size)

    def cache_bytes(self, cache: Any) -> int:
        """Bytes a cache holds."""
        return tensor_bytes(cache)

    def forward(self, work: Work) -> Tensor:
        """Feed each sequence its new tokens; logits [S, vocab] of each one's last token."""
        rows = []
        for cache, tokens in work:
            ids = torch.tensor([list(tokens)], device=self.device)
            rows.append(self.model.forward(ids, cache=cache, num_logits=1)[0, -1])
        return torch.stack(rows)
