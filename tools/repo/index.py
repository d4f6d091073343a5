"""Incremental repository index: files → blobs → definitions, references, spans.

An update lists the files, re-reads only those whose stat signature changed, re-parses
only content (git blob sha) the index has not seen, and writes everything in one
transaction: the full-text index is written with it when the update is large (a cold
index), or its changes are queued in that transaction for the next search when it is
small (an edit; see ``tools.repo.search_queue``).  A rename or a revert costs no parse.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tools.repo.extract import ExtractedFile, extract_all
from tools.repo.files import VENDORED, Discovery, FileOptions, RepoFile, discover
from tools.repo.fulltext import FullTextIndex, SearchIndexError, SpanDoc, SpanWriter
from tools.repo.search_queue import QueuedWriter, apply_pending, apply_queue
from tools.repo.store import (
    BLOB_TABLES,
    STATE_DIR,
    connect,
    db_path,
    open_for_write,
    remove_state,
    search_path,
    transaction,
    writer_lock,
)

# A file modified this recently may change again within the same mtime tick: do not
# trust its stat signature next time (git's "racy" rule).
RACY_NS = 2_000_000_000
# An update of an existing index changing fewer bytes than this queues its search-index
# changes for the next search (tools.repo.search_queue); a larger one writes them now.
QUEUE_MAX_BYTES = 1_000_000

ProgressFn = Callable[[int, int], None]


@dataclass(slots=True)
class IndexStats:
    """What an update did and what the index holds (``fathom index --json``)."""

    files: int
    definitions: int
    references: int
    languages: dict[str, int]
    parsed: int
    seconds: float
    skipped: int = 0
    decode_errors: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        """The JSON contract of ``fathom index``."""
        return asdict(self)


class RepoIndex:
    """The index of one repository root, stored in ``<root>/.fathom``."""

    def __init__(self, root: str | Path, options: FileOptions = FileOptions()) -> None:
        """Bind to the repository at ``root`` (nothing is read until ``update``)."""
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise FileNotFoundError(f"not a directory: {root}")
        self.options = options

    def update(self, progress: ProgressFn | None = None) -> IndexStats:
        """Bring the index up to date with the files on disk and return statistics."""
        started = time.perf_counter()
        with writer_lock(self.root):
            conn, warnings = open_for_write(self.root)
            try:
                parsed = self._update(conn, progress)
            except (sqlite3.DatabaseError, SearchIndexError) as error:
                conn.close()
                warnings.append(f"{self.root / STATE_DIR}: unusable index ({error}); rebuilding")
                remove_state(self.root)
                conn, _ = open_for_write(self.root)
                parsed = self._update(conn, progress)
            stats = _stats(conn, parsed, time.perf_counter() - started, warnings)
            conn.close()
        return stats

    def connect(self) -> sqlite3.Connection:
        """A read-only connection to the index (call ``update`` first)."""
        path = db_path(self.root)
        if not path.exists():
            raise FileNotFoundError(f"no index at {path}: run `fathom index {self.root}`")
        return connect(path, readonly=True)

    def fulltext(self) -> FullTextIndex:
        """The full-text (BM25) index of the repository, with queued changes applied."""
        fulltext = FullTextIndex(search_path(self.root))
        apply_pending(self.root, fulltext)
        return fulltext

    def _update(self, conn: sqlite3.Connection, progress: ProgressFn | None) -> int:
        """Run one update in ``conn``; return how many files were parsed."""
        rows = conn.execute("SELECT path, size, mtime_ns, skip_reason FROM files").fetchall()
        existing = {path: (size, mtime_ns) for path, size, mtime_ns, _ in rows}
        stored = conn.execute("SELECT value FROM meta WHERE key = 'options'").fetchone()
        same_options = stored is not None and stored[0] == repr(self.options)
        known = {path: reason == VENDORED for path, _, _, reason in rows} if same_options else {}
        listing = discover(self.root, self.options, known)
        changed = [f for f in listing.files if existing.get(f.path) != (f.size, f.mtime_ns)]
        shas = {sha for (sha,) in conn.execute("SELECT sha FROM blobs")}
        queue = bool(shas) and sum(f.size for f in changed) < QUEUE_MAX_BYTES
        extracted: list[ExtractedFile] = []
        with transaction(conn), self._search_writer(conn, bool(shas), queue) as search_writer:
            # Store each chunk while the workers extract the next.
            for part in extract_all(self.root, changed, shas, self.options, progress):
                docs = _write_blobs(conn, part)
                search_writer.delete({doc.sha for doc in docs})
                search_writer.add(docs)
                extracted += part
            _write_files(conn, listing, extracted, existing)
            search_writer.delete(_collect_garbage(conn))
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('options', ?)", (repr(self.options),))
        return sum(1 for e in extracted if e.blob is not None)

    @contextmanager
    def _search_writer(
        self, conn: sqlite3.Connection, indexed: bool, queue: bool
    ) -> Iterator[SpanWriter | QueuedWriter]:
        """Where an update sends its search-index changes: the queue, or tantivy directly
        (after replaying what an earlier update queued). The search index is opened either
        way, so a damaged one, or one missing while files are ``indexed``, is found (and
        rebuilt) by the update."""
        fulltext = FullTextIndex(search_path(self.root), create=not indexed)
        if queue:
            yield QueuedWriter(conn)
            return
        with fulltext.writer() as writer:
            apply_queue(conn, writer)
            yield writer


def _write_blobs(conn: sqlite3.Connection, extracted: list[ExtractedFile]) -> list[SpanDoc]:
    """Insert new blobs and their rows; return their full-text documents."""
    docs: list[SpanDoc] = []
    for item in extracted:
        blob = item.blob
        if blob is None:
            continue
        cursor = conn.execute(
            "INSERT INTO blobs(sha, language, lines, has_errors, secret, n_defs, n_refs) "
            "VALUES (?,?,?,?,?,?,?)",
            (blob.sha, blob.language, blob.lines, int(blob.has_errors), blob.secret,
             len(blob.definitions), sum(count for _, count in blob.references)),
        )
        blob_id = cursor.lastrowid
        conn.executemany(
            "INSERT INTO defs VALUES (?,?,?,?,?,?,?)",
            [(blob_id, d.name, d.kind, d.line, d.end_line, d.signature, d.scope)
             for d in blob.definitions],
        )
        conn.executemany(
            "INSERT INTO refs VALUES (?,?,?)", [(blob_id, n, c) for n, c in blob.references]
        )
        conn.executemany(
            "INSERT INTO spans VALUES (?,?,?,?)",
            [(blob_id, s.start, s.end, s.name) for s in blob.spans],
        )
        docs.extend(
            SpanDoc(blob.sha, s.start, s.end, text, grams, defines)
            for s, text, grams, defines in zip(
                blob.spans, blob.span_texts, blob.span_grams, blob.span_defines, strict=True
            )
        )
    return docs


def _write_files(
    conn: sqlite3.Connection,
    listing: Discovery,
    extracted: list[ExtractedFile],
    existing: dict[str, tuple[int, int]],
) -> None:
    """Upsert changed and skipped files; delete the rows of files that are gone."""
    now = time.time_ns()
    blob_ids = dict(conn.execute("SELECT sha, id FROM blobs"))
    rows = []
    for item in extracted:
        f: RepoFile = item.file
        mtime = -1 if now - f.mtime_ns < RACY_NS else f.mtime_ns
        blob_id = blob_ids.get(item.sha) if item.skip_reason is None else None
        rows.append(
            (f.path, blob_id, f.size, mtime, f.language, item.skip_reason, item.decode_errors)
        )
    rows += [(s.path, None, 0, -1, None, s.reason, 0) for s in listing.skipped]
    conn.executemany("INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?)", rows)
    present = {f.path for f in listing.files} | {s.path for s in listing.skipped}
    gone = [(path,) for path in existing if path not in present]
    conn.executemany("DELETE FROM files WHERE path = ?", gone)


def _collect_garbage(conn: sqlite3.Connection) -> list[str]:
    """Delete blobs no file refers to any more; return their shas."""
    orphans = conn.execute(
        "SELECT id, sha FROM blobs WHERE id NOT IN "
        "(SELECT blob_id FROM files WHERE blob_id IS NOT NULL)"
    ).fetchall()
    if not orphans:
        return []
    ids = [(blob_id,) for blob_id, _ in orphans]
    for table in BLOB_TABLES:
        conn.executemany(f"DELETE FROM {table} WHERE blob_id = ?", ids)
    conn.executemany("DELETE FROM blobs WHERE id = ?", ids)
    shas = [sha for _, sha in orphans]
    conn.executemany("DELETE FROM token_counts WHERE key >= ? AND key < ?",
                     [(sha, sha + "~") for sha in shas])
    return shas


def _stats(
    conn: sqlite3.Connection, parsed: int, seconds: float, warnings: list[str]
) -> IndexStats:
    """Summarise what the index holds now."""
    languages: Counter[str] = Counter()
    files = 0
    decode_errors: dict[str, int] = {}
    for path, language, errors in conn.execute(
        "SELECT path, language, decode_errors FROM files "
        "WHERE blob_id IS NOT NULL AND skip_reason IS NULL"
    ):
        files += 1
        languages[language or "other"] += 1
        if errors:
            decode_errors[path] = errors
    definitions, references = conn.execute(
        "SELECT coalesce(sum(n_defs), 0), coalesce(sum(n_refs), 0) FROM files "
        "JOIN blobs ON blobs.id = files.blob_id WHERE skip_reason IS NULL"
    ).fetchone()
    skipped = conn.execute("SELECT count(*) FROM files WHERE skip_reason IS NOT NULL")
    return IndexStats(
        files=files,
        definitions=definitions,
        references=references,
        languages=dict(sorted(languages.items())),
        parsed=parsed,
        seconds=round(seconds, 4),
        skipped=skipped.fetchone()[0],
        decode_errors=decode_errors,
        warnings=warnings,
    )
