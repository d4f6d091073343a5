"""Search-index changes of small updates are queued and applied by the next search."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import tools.repo.index as index_module
from tools.repo.fulltext import FullTextIndex
from tools.repo.index import RepoIndex
from tools.repo.search import search
from tools.repo.search_queue import apply_queue
from tools.repo.store import db_path, search_path


def _queued(root: Path) -> int:
    with sqlite3.connect(db_path(root)) as conn:
        return conn.execute("SELECT count(*) FROM search_queue").fetchone()[0]


def _hits(index: RepoIndex, query: str) -> list[tuple[str, int, int]]:
    with index.connect() as conn:
        return [(h.path, h.line, h.end_line) for h in search(conn, index.fulltext(), query, 20)]


def _segments(root: Path) -> set[str]:
    return {p.name for p in search_path(root).iterdir()}


def _add_function(root: Path) -> None:
    models = root / "shop" / "models.py"
    models.write_text(models.read_text() + "\n\ndef gift_wrap(cart):\n    return 'ribbon'\n")


def test_a_cold_index_writes_the_search_index_directly(shop_repo: Path) -> None:
    RepoIndex(shop_repo).update()
    assert _queued(shop_repo) == 0


def test_an_edit_is_queued_then_applied_by_the_next_search(shop_repo: Path) -> None:
    index = RepoIndex(shop_repo)
    index.update()
    before = _segments(shop_repo)
    _add_function(shop_repo)
    assert index.update().parsed == 1
    assert _queued(shop_repo) > 0
    assert _segments(shop_repo) == before  # no tantivy commit during the update
    assert _hits(index, "gift_wrap")[0][0] == "shop/models.py"
    assert _queued(shop_repo) == 0


def test_a_deleted_file_leaves_search_at_the_next_search(shop_repo: Path) -> None:
    index = RepoIndex(shop_repo)
    index.update()
    assert any(p == "shop/checkout.py" for p, _, _ in _hits(index, "depot ships orders"))
    (shop_repo / "shop" / "checkout.py").unlink()
    index.update()
    assert all(p != "shop/checkout.py" for p, _, _ in _hits(index, "depot ships orders"))


def test_replaying_a_queue_twice_gives_the_same_documents(shop_repo: Path) -> None:
    index = RepoIndex(shop_repo)
    index.update()
    _add_function(shop_repo)
    index.update()
    # A stop after the tantivy commit but before the queue's removal was committed.
    conn = sqlite3.connect(db_path(shop_repo), isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    with FullTextIndex(search_path(shop_repo)).writer() as writer:
        assert apply_queue(conn, writer) > 0
    conn.execute("ROLLBACK")
    conn.close()
    assert _queued(shop_repo) > 0
    hits = _hits(index, "gift_wrap ribbon")
    assert hits.count(hits[0]) == 1 and hits[0][0] == "shop/models.py"
    assert _queued(shop_repo) == 0


def test_a_large_update_replays_the_queue_before_its_own_changes(
    shop_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = RepoIndex(shop_repo)
    index.update()
    checkout = shop_repo / "shop" / "checkout.py"
    text = checkout.read_text()
    checkout.unlink()
    index.update()  # queues the deletion of checkout.py's blob
    checkout.write_text(text)  # the same content (the same blob) comes back
    monkeypatch.setattr(index_module, "QUEUE_MAX_BYTES", 0)  # written directly
    index.update()
    assert _queued(shop_repo) == 0
    assert any(p == "shop/checkout.py" for p, _, _ in _hits(index, "depot ships orders"))


def test_repeated_edits_keep_only_the_last_version_queued(shop_repo: Path) -> None:
    index = RepoIndex(shop_repo)
    index.update()
    models = shop_repo / "shop" / "models.py"
    for n in range(3):
        models.write_text(models.read_text() + f"\n\ndef wrap_{n}(cart):\n    return {n}\n")
        index.update()
    with sqlite3.connect(db_path(shop_repo)) as conn:
        (sha,) = conn.execute(
            "SELECT b.sha FROM files f JOIN blobs b ON b.id = f.blob_id WHERE f.path = ?",
            ("shop/models.py",),
        ).fetchone()
        added = conn.execute(
            "SELECT DISTINCT sha FROM search_queue WHERE start IS NOT NULL"
        ).fetchall()
    assert added == [(sha,)]
    assert [p for p, _, _ in _hits(index, "wrap_2")][:1] == ["shop/models.py"]
