"""The scalar metadata of a GGUF file, read from its header alone.

`gguf.GGUFReader` parses every array of the header up front — for a small model's
vocabulary and merges that is seconds — and imports numpy. Knowing a model's context
length (to plan a prompt before any weight is loaded) needs one integer, so this reader
walks the header with `struct` over a memory map, keeps the scalars and skips arrays by
their sizes. Layout (GGUF v2 and v3, little-endian): magic `GGUF`, version u32, tensor
count u64, key-value count u64, then each key (a u64-length string), its value type
(u32) and value; an array value is an element type (u32), a count (u64) and the elements.
"""

from __future__ import annotations

import mmap
import struct
from pathlib import Path

# Value types: struct format of the fixed-size ones.
_FIXED = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q",
          12: "d"}
_STRING, _ARRAY = 8, 9

Scalar = int | float | bool | str


class GGUFHeaderError(ValueError):
    """A file whose header is not a readable GGUF header."""


def gguf_scalars(path: str | Path) -> dict[str, Scalar]:
    """Every scalar key-value pair of the GGUF file at `path` (arrays are skipped)."""
    try:
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0,
                                                   access=mmap.ACCESS_READ) as data:
            return _Header(data, str(path)).scalars()
    except (OSError, ValueError) as err:
        if isinstance(err, GGUFHeaderError):
            raise
        raise GGUFHeaderError(f"{path}: cannot read GGUF header: {err}") from err


class _Header:
    """A cursor over a GGUF header."""

    def __init__(self, data: mmap.mmap, where: str) -> None:
        self.data, self.where, self.at = data, where, 0

    def _take(self, fmt: str) -> Scalar:
        size = struct.calcsize("<" + fmt)
        if self.at + size > len(self.data):
            raise GGUFHeaderError(f"{self.where}: the GGUF header ends early at byte {self.at}")
        (value,) = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += size
        return value

    def _string(self) -> str:
        length = int(self._take("Q"))
        raw = self.data[self.at:self.at + length]
        if len(raw) < length:
            raise GGUFHeaderError(f"{self.where}: a string runs past the end of the file")
        self.at += length
        return raw.decode("utf-8", "replace")

    def _value(self, kind: int) -> Scalar | None:
        """The value of type `kind` at the cursor (None for an array, skipped)."""
        if kind in _FIXED:
            return self._take(_FIXED[kind])
        if kind == _STRING:
            return self._string()
        if kind == _ARRAY:
            self._skip_array()
            return None
        raise GGUFHeaderError(f"{self.where}: unknown GGUF value type {kind} at byte {self.at}")

    def _skip_array(self) -> None:
        kind, count = int(self._take("I")), int(self._take("Q"))
        if kind in _FIXED:
            self.at += count * struct.calcsize("<" + _FIXED[kind])
            return
        for _ in range(count):
            self._value(kind)

    def scalars(self) -> dict[str, Scalar]:
        if self.data[:4] != b"GGUF":
            raise GGUFHeaderError(f"{self.where}: not a GGUF file (no GGUF magic)")
        self.at = 4
        version = int(self._take("I"))
        if version not in (2, 3):
            raise GGUFHeaderError(f"{self.where}: GGUF version {version} is not supported")
        self._take("Q")  # tensor count
        found: dict[str, Scalar] = {}
        for _ in range(int(self._take("Q"))):
            key = self._string()
            value = self._value(int(self._take("I")))
            if value is not None:
                found[key] = value
        return found
