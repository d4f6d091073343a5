"""Search-index changes queued in the index database, applied before the next search.

A one-file update writes its SQLite rows in a few milliseconds, but a tantivy commit
costs 30–60 ms (a new segment, deletions applied to every segment, fsyncs): the largest
part of re-indexing an edited file. So an update of an index that already exists queues
its search-index changes in the same SQLite transaction as its rows — nothing is lost or
half-applied if it stops — and the next search applies the whole queue in one tantivy
commit (``apply_pending``, which ``RepoIndex.fulltext`` calls). An edit-and-test loop
that re-indexes after every edit pays one commit per search, not one per edit, and a
search never sees a stale index.

Replaying a queue twice (a stop between the tantivy commit and the queue's removal)
gives the same documents: every addition of a blob's spans is queued after a deletion
of all of that blob's documents.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from tools.repo.fulltext import FullTextIndex, SpanDoc, SpanWriter
from tools.repo.store import connect, db_path, transaction, writer_lock


class QueuedWriter:
    """Queues span documents to add and blobs to delete (the ``SpanWriter`` interface)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        """Queue into ``conn``, inside the caller's transaction."""
        self._conn = conn

    def add(self, docs: Iterable[SpanDoc]) -> None:
        """Queue documents (the caller queues the deletion of their blobs first)."""
        self._conn.executemany(
            "INSERT INTO search_queue(sha, start, end, body, grams, defines) "
            "VALUES (?,?,?,?,?,?)",
            [(d.sha, d.start, d.end, d.text, d.grams, d.defines) for d in docs],
        )

    def delete(self, shas: Iterable[str]) -> None:
        """Queue the deletion of every document of these blobs.

        What the queue already holds for them is dropped first: a file edited a hundred
        times between two searches leaves the documents of its last version only.
        """
        rows = [(sha,) for sha in sorted(set(shas))]
        self._conn.executemany("DELETE FROM search_queue WHERE sha = ?", rows)
        self._conn.executemany("INSERT INTO search_queue(sha) VALUES (?)", rows)


def apply_pending(root: Path, fulltext: FullTextIndex) -> None:
    """Apply what updates of ``root``'s index queued to ``fulltext``, if anything, in one
    tantivy commit (taking the index's writer lock while it does)."""
    if not _has_queued(root):
        return
    with writer_lock(root):
        conn = connect(db_path(root))
        try:
            with transaction(conn), fulltext.writer() as writer:
                apply_queue(conn, writer)
        finally:
            conn.close()


def _has_queued(root: Path) -> bool:
    """Whether changes wait (False for an index that does not exist yet, or one of another
    schema, which the next update rebuilds)."""
    path = db_path(root)
    if not path.exists():
        return False
    conn = connect(path, readonly=True)
    try:
        return conn.execute("SELECT 1 FROM search_queue LIMIT 1").fetchone() is not None
    except sqlite3.DatabaseError:
        return False
    finally:
        conn.close()


def apply_queue(conn: sqlite3.Connection, writer: SpanWriter) -> int:
    """Replay the queue, in order, into ``writer`` and remove it from the database.

    The removal is part of the caller's SQLite transaction; commit it only after the
    writer's tantivy commit. Returns how many changes were replayed.
    """
    rows = conn.execute(
        "SELECT seq, sha, start, end, body, grams, defines FROM search_queue ORDER BY seq"
    ).fetchall()
    for _, sha, start, end, body, grams, defines in rows:
        if start is None:
            writer.delete([sha])
        else:
            writer.add([SpanDoc(sha, start, end, body, grams, defines)])
    if rows:
        conn.execute("DELETE FROM search_queue WHERE seq <= ?", (rows[-1][0],))
    return len(rows)
