"""Read one file and extract everything the index stores about its content.

This is the per-file work of an index update, run in worker processes for a cold index:
read the bytes, hash them as git does, skip binaries and generated files, decode, look
for secrets, parse with tree-sitter, cut search spans and hash lookup grams.  It is pure
(no database), so its results can be computed anywhere and written in one transaction.
"""

from __future__ import annotations

import gc
import hashlib
import os
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from tools.repo.files import FileOptions, RepoFile, content_skip_reason, decode_text
from tools.repo.fulltext import camel_words, is_camel
from tools.repo.grams import gram_key, identifier_grams, word_grams, words
from tools.repo.languages import TAGGED_LANGUAGES
from tools.repo.parse import Definition, parse_source
from tools.repo.secrets import secret_reason
from tools.repo.spans import Span, cut_spans

# Below this much work a worker pool costs more than it saves.
PARALLEL_MIN_BYTES = 2_000_000
# String literals longer than this many words are not given lookup grams.
MAX_LITERAL_WORDS = 12


@dataclass(slots=True)
class BlobData:
    """What the index keeps about one distinct content (git blob)."""

    sha: str
    language: str | None
    lines: int
    has_errors: bool
    secret: str | None
    definitions: list[Definition] = field(default_factory=list)
    references: list[tuple[str, int]] = field(default_factory=list)  # (name, count)
    spans: list[Span] = field(default_factory=list)
    span_texts: list[str] = field(default_factory=list)  # parallel to spans
    span_grams: list[str] = field(default_factory=list)  # lookup keys, space-separated, per span
    span_defines: list[str] = field(default_factory=list)  # keys of names defined there


@dataclass(slots=True)
class ExtractedFile:
    """One file after reading: its blob sha, or why it was skipped, and new blob data."""

    file: RepoFile
    sha: str | None = None
    skip_reason: str | None = None
    decode_errors: int = 0
    blob: BlobData | None = None  # None when the blob was already known or skipped


def git_blob_sha(data: bytes) -> str:
    """The SHA-1 git gives ``data`` as a blob (``git hash-object``)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def extract_file(
    root: Path, file: RepoFile, known: frozenset[str] | set[str], options: FileOptions
) -> ExtractedFile:
    """Read and analyse one file; parse it only if its blob is not in ``known``."""
    result = ExtractedFile(file)
    try:
        data = (root / file.path).read_bytes()
    except OSError as error:
        result.skip_reason = f"unreadable: {error.strerror or error}"
        return result
    result.sha = git_blob_sha(data)
    result.skip_reason = content_skip_reason(data, options)
    if result.skip_reason is not None:
        return result
    text, result.decode_errors = decode_text(data)
    if result.sha not in known:
        result.blob = analyse_blob(result.sha, file.path, file.language, data, text)
    return result


def analyse_blob(sha: str, path: str, language: str | None, data: bytes, text: str) -> BlobData:
    """Parse a decoded blob and derive its spans and lookup grams."""
    lines = text.splitlines()
    blob = BlobData(sha, language, len(lines), False, secret_reason(path, data))
    if blob.secret is not None:
        return blob  # nothing of a secret's content is kept
    references: list[tuple[str, int]] = []
    literals: list[tuple[str, int]] = []
    if language in TAGGED_LANGUAGES:
        parsed = parse_source(data, language)
        blob.has_errors = parsed.has_errors
        blob.definitions = parsed.definitions
        references = [(r.name, r.line) for r in parsed.references]
        blob.references = sorted(Counter(name for name, _ in references).items())
        literals = [(s.text, s.line) for s in parsed.strings]
    qualified = [
        (d.line, d.end_line, f"{d.scope}.{d.name}" if d.scope else d.name)
        for d in blob.definitions
    ]
    blob.spans = cut_spans(len(lines), qualified)
    blob.span_texts = _span_texts(blob, lines, references)
    blob.span_grams = _span_grams(blob, references, literals)
    blob.span_defines = _span_defines(blob)
    return blob


def _span_texts(
    blob: BlobData, lines: list[str], references: list[tuple[str, int]]
) -> list[str]:
    """Each span's text, followed by the words of the CamelCase identifiers it holds."""
    starts = [s.start for s in blob.spans]
    camel: list[set[str]] = [set() for _ in starts]
    pairs = {(d.name, d.line) for d in blob.definitions} | set(references)
    names = {name for name, _ in pairs}
    camel_names = {name for name in names if is_camel(name)}
    for name, line in pairs:
        if name in camel_names:
            camel[bisect_right(starts, line) - 1].add(name)
    return [
        "\n".join(lines[s.start - 1 : s.end])
        + ("\n" + camel_words(" ".join(sorted(names))) if names else "")
        for s, names in zip(blob.spans, camel, strict=True)
    ]


def _span_grams(
    blob: BlobData, references: list[tuple[str, int]], literals: list[tuple[str, int]]
) -> list[str]:
    """Lookup keys of identifier and literal grams, per span, space-separated.

    A one-word reference (``session``, ``value``) adds nothing BM25 does not already
    know from the span's text, so only references of several words are kept; the
    names a span defines have their own field.
    """
    starts = [s.start for s in blob.spans]
    keys: list[set[str]] = [set() for _ in starts]
    for name, line in set(references):
        if _is_compound(name):
            keys[bisect_right(starts, line) - 1].update(_identifier_keys(name))
    for literal, line in literals:
        keys[bisect_right(starts, line) - 1].update(_phrase_keys(literal))
    return [" ".join(sorted(k)) for k in keys]


def _span_defines(blob: BlobData) -> list[str]:
    """Lookup keys of the names defined in each span, space-separated."""
    starts = [s.start for s in blob.spans]
    keys: list[set[str]] = [set() for _ in starts]
    for d in blob.definitions:
        keys[bisect_right(starts, d.line) - 1].update(_identifier_keys(d.name))
    return [" ".join(sorted(k)) for k in keys]


@lru_cache(maxsize=1 << 16)
def _is_compound(name: str) -> bool:
    """Whether an identifier is made of several words (snake_case, CamelCase)."""
    return len(words(name)) > 1


@lru_cache(maxsize=1 << 16)
def _identifier_keys(name: str) -> tuple[str, ...]:
    """Lookup keys of an identifier (cached: names repeat across a repository)."""
    return tuple(gram_key(g) for g in identifier_grams(name))


@lru_cache(maxsize=1 << 16)
def _phrase_keys(text: str) -> tuple[str, ...]:
    """Lookup keys of a short string literal's word n-grams.

    Prose (docstrings, long messages) is left to BM25: its n-grams would multiply the
    table for little gain in exactness.
    """
    parts = words(text)
    if len(parts) > MAX_LITERAL_WORDS:
        return ()
    return tuple(gram_key(g) for g in word_grams(parts))


def extract_all(
    root: Path,
    files: Sequence[RepoFile],
    known: set[str],
    options: FileOptions,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[list[ExtractedFile]]:
    """Extract many files in chunks, in worker processes when the work is large enough.

    Chunks are yielded in a fixed order as they complete, so the caller can store one
    while workers extract the next; a blob shared by several files is analysed once.
    ``progress(done_bytes, total_bytes)`` is called after each chunk.
    """
    total = sum(f.size for f in files)
    workers = min(os.cpu_count() or 1, 8)
    seen = set(known)
    frozen = frozenset(known)
    if workers < 2 or total < PARALLEL_MIN_BYTES:
        chunks = [list(files)]
        parts: Iterator[list[ExtractedFile]] = iter(
            [_extract_chunk((root, chunks[0], frozen, options))]
        )
        yield from _emit(chunks, parts, seen, total, progress)
        return
    # Imported here: a small update (the common case) never starts a pool.
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    # Interleave by size so chunks carry similar shares of bytes.
    ordered = sorted(files, key=lambda f: f.size, reverse=True)
    chunks = [ordered[i :: workers * 4] for i in range(workers * 4)]
    with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
        jobs = [(root, c, frozen, options) for c in chunks]
        yield from _emit(chunks, pool.map(_extract_chunk, jobs), seen, total, progress)


def _emit(
    chunks: list[list[RepoFile]],
    parts: Iterator[list[ExtractedFile]],
    seen: set[str],
    total: int,
    progress: Callable[[int, int], None] | None,
) -> Iterator[list[ExtractedFile]]:
    """Yield each chunk's results, keeping one BlobData per sha, reporting progress."""
    done = 0
    for chunk, part in zip(chunks, parts, strict=True):
        for result in part:
            if result.blob is not None:
                if result.blob.sha in seen:
                    result.blob = None
                else:
                    seen.add(result.blob.sha)
        done += sum(f.size for f in chunk)
        if progress:
            progress(done, total)
        yield part


def _extract_chunk(
    args: tuple[Path, list[RepoFile], frozenset[str], FileOptions],
) -> list[ExtractedFile]:
    """Worker entry point: extract one chunk of files."""
    root, files, known, options = args
    # Results are kept until the chunk returns: the cyclic collector would only re-scan
    # them (half a second on a large repository) and find nothing to free.
    gc.disable()
    try:
        return [extract_file(root, f, known, options) for f in files]
    finally:
        gc.enable()
