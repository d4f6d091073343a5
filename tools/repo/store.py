"""The SQLite database under ``.fathom/``: schema, opening, and recovery.

One writer at a time (an advisory lock on ``.fathom/index.lock``), any number of
readers (WAL mode: readers see the last committed update).  ``PRAGMA user_version``
holds the schema version; a database of another version, or one SQLite cannot read,
is reported and rebuilt from scratch — its contents are never trusted.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA_VERSION = 7  # also covers the search index's schema and what the tags queries extract
STATE_DIR = ".fathom"
DB_NAME = "index.sqlite"
SEARCH_DIR = "search"

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE blobs(
    id INTEGER PRIMARY KEY, sha TEXT NOT NULL UNIQUE, language TEXT, lines INTEGER NOT NULL,
    has_errors INTEGER NOT NULL, secret TEXT,
    n_defs INTEGER NOT NULL, n_refs INTEGER NOT NULL);  -- totals, for statistics
CREATE TABLE files(
    path TEXT PRIMARY KEY, blob_id INTEGER REFERENCES blobs(id), size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL, language TEXT, skip_reason TEXT,
    decode_errors INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE INDEX files_blob ON files(blob_id);
CREATE TABLE defs(
    blob_id INTEGER NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, line INTEGER NOT NULL,
    end_line INTEGER NOT NULL, signature TEXT NOT NULL, scope TEXT);
CREATE INDEX defs_blob ON defs(blob_id);
CREATE INDEX defs_name ON defs(name COLLATE NOCASE);
CREATE TABLE refs(blob_id INTEGER NOT NULL, name TEXT NOT NULL, count INTEGER NOT NULL);
CREATE INDEX refs_blob ON refs(blob_id);
CREATE TABLE spans(
    blob_id INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, name TEXT,
    PRIMARY KEY(blob_id, start)) WITHOUT ROWID;
CREATE TABLE token_counts(key TEXT PRIMARY KEY, tokens INTEGER NOT NULL) WITHOUT ROWID;
-- Search-index changes not yet applied (tools.repo.search_queue): a row without start
-- deletes every document of sha; a row with one adds that span document.
CREATE TABLE search_queue(
    seq INTEGER PRIMARY KEY, sha TEXT NOT NULL, start INTEGER, end INTEGER, body TEXT,
    grams TEXT, defines TEXT);
CREATE INDEX search_queue_sha ON search_queue(sha);
"""
BLOB_TABLES = ("defs", "refs", "spans")


def state_dir(root: Path) -> Path:
    """``<root>/.fathom``, created with a ``.gitignore`` that keeps it out of git."""
    path = root / STATE_DIR
    path.mkdir(exist_ok=True)
    ignore = path / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n", encoding="utf-8")
    return path


def db_path(root: Path) -> Path:
    """Where the index database of ``root`` lives."""
    return root / STATE_DIR / DB_NAME


def search_path(root: Path) -> Path:
    """Where the full-text search index of ``root`` lives."""
    return root / STATE_DIR / SEARCH_DIR


def connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    """Open the database with the pragmas every connection needs."""
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    else:
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def open_for_write(root: Path) -> tuple[sqlite3.Connection, list[str]]:
    """Open (creating or rebuilding as needed) the database; return it and any warnings."""
    state_dir(root)
    path = db_path(root)
    warnings: list[str] = []
    if path.exists():
        try:
            conn = connect(path)
            version = check_readable(conn)
            if version == SCHEMA_VERSION:
                return conn, warnings
            conn.close()
            warnings.append(
                f"{path}: schema version {version}, expected {SCHEMA_VERSION}; rebuilding"
            )
        except sqlite3.DatabaseError as error:
            warnings.append(f"{path}: corrupt index ({error}); rebuilding")
        remove_state(root)
    conn = connect(path)
    conn.executescript(SCHEMA)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    return conn, warnings


def check_readable(conn: sqlite3.Connection) -> int:
    """Raise sqlite3.DatabaseError unless the database reads; return its schema version."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    if version == SCHEMA_VERSION:
        conn.execute("SELECT count(*) FROM meta").fetchone()
    return int(version)


def integrity_errors(conn: sqlite3.Connection) -> list[str]:
    """Full consistency check of every page (slow on big indexes; `fathom index --check`)."""
    rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
    return [] if rows == ["ok"] else rows


def remove_state(root: Path) -> None:
    """Delete the database (with its WAL files) and the search index."""
    path = db_path(root)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(search_path(root), ignore_errors=True)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction (``BEGIN IMMEDIATE``): committed at the end of the block,
    rolled back if anything in it raises."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


@contextmanager
def writer_lock(root: Path) -> Iterator[None]:
    """Hold the single-writer lock of ``root``'s index (blocks while another writer runs)."""
    lock_path = state_dir(root) / "index.lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
