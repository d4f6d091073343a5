"""The prefix cache: saved KV blocks of earlier sequences, found again by their tokens.

A sequence's tokens are cut into blocks of `block_size`; block `i` is keyed by a hash
chain, ``key_i = blake2b(key_{i-1} || tokens of block i)``, so a key names the block's
tokens and every token before them. A new request walks its prompt's keys and restores
the longest run of cached blocks, then prefills only the rest. What a block holds is the
runner's business (`runner.SavesBlocks`): keys and values for llama, compressed entries
for DeepSeek V4, whose cached prefix must also end at a block carrying a snapshot of the
fixed-size state (`needs_state`). Where no state is needed (llama, whose key and value
at a position depend only on the tokens up to it) a sequence's last, partial block is
cached too, and a match also takes the leading positions of the best partly matching
next block: a prompt reuses its whole common prefix with an earlier sequence, not just
the whole blocks of it.

Blocks form a tree (a block's parent is the block before it). Eviction is least recently
used among leaves only, so a cached block always has its whole prefix cached; a lookup
or insertion touches every block of its chain. The cache holds at most `capacity_bytes`
(payloads and states, counted exactly); eviction scans the leaves, linear in the blocks
held, which is a few thousand at most.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

KEY_BYTES = 16


@dataclass(eq=False)
class CachedBlock:
    """One cached block: its tokens and payload, the state after it (when one was
    saved), its parent block and the cached blocks that continue it."""

    key: bytes
    tokens: tuple[int, ...]
    parent: CachedBlock | None
    payload: Any
    nbytes: int
    state: Any = None
    state_bytes: int = 0
    children: dict[bytes, CachedBlock] = field(default_factory=dict)
    last_used: int = 0


@dataclass(frozen=True)
class Match:
    """A cached prefix: `blocks` in order and how many tokens of them are used (all of
    every block but possibly the last)."""

    blocks: list[CachedBlock]
    tokens: int


def block_key(parent: bytes, tokens: Sequence[int]) -> bytes:
    """The key of a block of `tokens` after the block keyed `parent` (b"" at the start)."""
    return hashlib.blake2b(parent + array("q", tokens).tobytes(), digest_size=KEY_BYTES).digest()


def chain_keys(tokens: Sequence[int], block_size: int) -> list[bytes]:
    """The hash-chain keys of the whole blocks of `tokens`."""
    keys, key = [], b""
    for start in range(0, len(tokens) - block_size + 1, block_size):
        key = block_key(key, tokens[start:start + block_size])
        keys.append(key)
    return keys


class PrefixCache:
    """Blocks of earlier sequences, keyed by hash chain, within a byte budget."""

    def __init__(self, capacity_bytes: int, block_size: int, needs_state: bool) -> None:
        """At most `capacity_bytes` of blocks of `block_size` tokens; `needs_state`: a
        usable prefix must end at a block with a saved state."""
        self.capacity_bytes = capacity_bytes
        self.block_size = block_size
        self.needs_state = needs_state
        self.bytes_cached = 0
        self._blocks: dict[bytes, CachedBlock] = {}
        self._roots: dict[bytes, CachedBlock] = {}  # blocks that start a sequence
        self._clock = 0

    @property
    def blocks_cached(self) -> int:
        """How many blocks are held."""
        return len(self._blocks)

    def match(self, tokens: Sequence[int]) -> Match:
        """The longest usable cached prefix of `tokens` (its blocks marked as just used):
        whole blocks, ending at one with a state when `needs_state`, else followed by the
        common leading tokens of the best partly matching next block."""
        self._clock += 1
        chain: list[CachedBlock] = []
        usable = 0
        for key in chain_keys(tokens, self.block_size):
            block = self._blocks.get(key)
            if block is None:
                break
            block.last_used = self._clock
            chain.append(block)
            if block.state is not None or not self.needs_state:
                usable = len(chain)
        used = usable * self.block_size
        if self.needs_state or usable < len(chain):
            return Match(chain[:usable], used)
        following = tokens[used:used + self.block_size]
        candidates = (chain[-1].children if chain else self._roots).values()
        best, common = None, 0
        for block in candidates:
            n = _common_prefix(block.tokens, following)
            if n > common:
                best, common = block, n
        if best is None:
            return Match(chain, used)
        best.last_used = self._clock
        return Match([*chain, best], used + common)

    def insert(self, tokens: Sequence[int], export_block: Callable[[int], tuple[Any, int]],
               export_state: Callable[[], tuple[Any, int]]) -> None:
        """Cache `tokens` (a sequence's cached tokens from its start) as blocks: the whole
        ones, and when no state is needed the partial last one. `export_block(i)` copies
        block i (as much of it as `tokens` covers) out of the sequence's cache; it is
        called only for blocks not cached yet. `export_state()` copies the state after
        the last block (called when that block has none). Then evict down to the budget."""
        self._clock += 1
        size = self.block_size
        end = len(tokens) if not self.needs_state else len(tokens) // size * size
        parent: CachedBlock | None = None
        for index, at in enumerate(range(0, end, size)):
            part = tuple(tokens[at:at + size])
            siblings = parent.children if parent is not None else self._roots
            key = block_key(parent.key if parent is not None else b"", part)
            block = self._blocks.get(key)
            if block is None and len(part) < size:  # a partial tail: new unless covered
                block = next((s for s in siblings.values() if s.tokens[:len(part)] == part),
                             None)
            if block is None:
                for shorter in [s for s in siblings.values()
                                if len(s.tokens) < len(part) and part[:len(s.tokens)] == s.tokens]:
                    self._remove(shorter)  # a partial tail this block covers
                payload, nbytes = export_block(index)
                block = CachedBlock(key, part, parent, payload, nbytes)
                self._blocks[key] = block
                self.bytes_cached += nbytes
                siblings[key] = block
            block.last_used = self._clock
            parent = block
        if parent is not None and parent.state is None:
            parent.state, parent.state_bytes = export_state()
            self.bytes_cached += parent.state_bytes
        self._evict()

    def clear(self) -> None:
        """Drop every block."""
        self._blocks.clear()
        self._roots.clear()
        self.bytes_cached = 0

    def _evict(self) -> None:
        """Drop least recently used leaves until the blocks fit the budget."""
        while self.bytes_cached > self.capacity_bytes:
            self._remove(min((b for b in self._blocks.values() if not b.children),
                             key=lambda b: b.last_used))

    def _remove(self, block: CachedBlock) -> None:
        """Drop a leaf block."""
        del self._blocks[block.key]
        self.bytes_cached -= block.nbytes + block.state_bytes
        siblings = block.parent.children if block.parent is not None else self._roots
        del siblings[block.key]


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading tokens `a` and `b` share."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
