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
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path

from tools.repo.files import FileOptions, RepoFile, content_skip_reason, decode_text
from tools.repo.grams import gram_key, identifier_grams, phrase_grams, words
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
    span_grams: list[list[str]] = field(default_factory=list)  # lookup keys, parallel to spans
    span_defines: list[list[str]] = field(default_factory=list)  # keys of names defined there


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
    blob.span_texts = ["\n".join(lines[s.start - 1 : s.end]) for s in blob.spans]
    blob.span_grams = _span_grams(blob, references, literals)
    blob.span_defines = _span_defines(blob)
    return blob


def _span_grams(
    blob: BlobData, references: list[tuple[str, int]], literals: list[tuple[str, int]]
) -> list[list[str]]:
    """Lookup keys of every identifier and literal gram, per span."""
    starts = [s.start for s in blob.spans]
    keys: list[set[str]] = [set() for _ in starts]
    names = {(d.name, d.line) for d in blob.definitions} | set(references)
    for name, line in names:
        keys[bisect_right(starts, line) - 1].update(_identifier_keys(name))
    for literal, line in literals:
        keys[bisect_right(starts, line) - 1].update(_phrase_keys(literal))
    return [sorted(k) for k in keys]


def _span_defines(blob: BlobData) -> list[list[str]]:
    """Lookup keys of the names defined in each span."""
    starts = [s.start for s in blob.spans]
    keys: list[set[str]] = [set() for _ in starts]
    for d in blob.definitions:
        keys[bisect_right(starts, d.line) - 1].update(_identifier_keys(d.name))
    return [sorted(k) for k in keys]


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
    if len(words(text)) > MAX_LITERAL_WORDS:
        return ()
    return tuple(gram_key(g) for g in phrase_grams(text))


def extract_all(
    root: Path,
    files: Sequence[RepoFile],
    known: set[str],
    options: FileOptions,
    progress: Callable[[int, int], None] | None = None,
) -> list[ExtractedFile]:
    """Extract many files, in worker processes when the work is large enough.

    ``progress(done_bytes, total_bytes)`` is called as chunks of files complete.
    """
    total = sum(f.size for f in files)
    workers = min(os.cpu_count() or 1, 8)
    if workers < 2 or total < PARALLEL_MIN_BYTES:
        chunks = [list(files)]
        results = [_extract_chunk((root, chunks[0], frozenset(known), options))]
    else:
        # Interleave by size so chunks carry similar shares of bytes.
        ordered = sorted(files, key=lambda f: f.size, reverse=True)
        chunks = [ordered[i :: workers * 4] for i in range(workers * 4)]
        frozen = frozenset(known)
        with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
            results = []
            done = 0
            jobs = [(root, c, frozen, options) for c in chunks]
            for chunk, part in zip(chunks, pool.map(_extract_chunk, jobs), strict=True):
                results.append(part)
                done += sum(f.size for f in chunk)
                if progress:
                    progress(done, total)
    if progress:
        progress(total, total)
    return _drop_duplicate_blobs([r for part in results for r in part])


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


def _drop_duplicate_blobs(results: list[ExtractedFile]) -> list[ExtractedFile]:
    """Keep one BlobData per sha when identical files were analysed more than once."""
    seen: set[str] = set()
    for result in results:
        if result.blob is not None:
            if result.blob.sha in seen:
                result.blob = None
            else:
                seen.add(result.blob.sha)
    return results
