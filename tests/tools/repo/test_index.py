"""The SQLite index: incremental by content hash, robust to corruption and concurrency."""

from __future__ import annotations

import multiprocessing
import shutil
import sqlite3
from pathlib import Path

import git

from tools.repo.find import find_definitions
from tools.repo.index import RepoIndex
from tools.repo.search import search
from tools.repo.store import SCHEMA_VERSION, db_path


def _names(index: RepoIndex, name: str) -> list[tuple[str, int]]:
    with index.connect() as conn:
        return [(h.path, h.line) for h in find_definitions(conn, name)]


def test_cold_index_counts_everything(shop_repo: Path) -> None:
    stats = RepoIndex(shop_repo).update()
    assert stats.files == 9
    assert stats.parsed == 9
    assert stats.languages == {"javascript": 2, "other": 2, "python": 5}
    assert stats.definitions >= 15
    assert stats.references >= 20
    assert stats.warnings == []
    assert _names(RepoIndex(shop_repo), "apply_discount") == [("shop/pricing.py", 8)]


def test_noop_update_parses_nothing(shop_repo: Path) -> None:
    index = RepoIndex(shop_repo)
    first = index.update()
    second = index.update()
    assert second.parsed == 0
    assert (second.files, second.definitions, second.references) == (
        first.files, first.definitions, first.references,
    )


def test_edit_reparses_only_that_file(shop_repo: Path) -> None:
    index = RepoIndex(shop_repo)
    index.update()
    pricing = shop_repo / "shop" / "pricing.py"
    pricing.write_text(pricing.read_text() + "\n\ndef loyalty_bonus(cart):\n    return 1\n")
    stats = index.update()
    assert stats.parsed == 1
    assert _names(index, "loyalty_bonus") == [("shop/pricing.py", 20)]


def test_rename_reuses_the_parsed_blob(shop_repo: Path) -> None:
    index = RepoIndex(shop_repo)
    index.update()
    (shop_repo / "shop" / "pricing.py").rename(shop_repo / "shop" / "discounts.py")
    stats = index.update()
    assert stats.parsed == 0
    assert _names(index, "apply_discount") == [("shop/discounts.py", 8)]


def test_delete_removes_definitions_and_blob(shop_repo: Path) -> None:
    index = RepoIndex(shop_repo)
    index.update()
    (shop_repo / "shop" / "checkout.py").unlink()
    stats = index.update()
    assert stats.files == 8
    assert _names(index, "checkout") == []
    with index.connect() as conn:
        blobs = conn.execute("SELECT count(*) FROM blobs").fetchone()[0]
        live = conn.execute("SELECT count(DISTINCT blob_id) FROM files").fetchone()[0]
    assert blobs == live


def test_binary_huge_broken_and_non_utf8_files(make_tree) -> None:
    root = make_tree({
        "logo.png": b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
        "huge.py": "x = 1\n" * 400_000,
        "latin1.py": "# caf\xe9\ndef menu():\n    return 1\n".encode("latin-1"),
        "broken.py": "def good():\n    return 1\n\ndef bad(:\n    pass\n\nclass Still:\n    pass\n",
    })
    index = RepoIndex(root)
    stats = index.update()
    assert stats.files == 2
    assert stats.decode_errors == {"latin1.py": 1}
    with index.connect() as conn:
        reasons = dict(conn.execute(
            "SELECT path, skip_reason FROM files WHERE skip_reason IS NOT NULL"
        ))
    assert reasons["logo.png"] == "binary"
    assert reasons["huge.py"].startswith("too large")
    assert _names(index, "menu") == [("latin1.py", 2)]
    assert _names(index, "good") == [("broken.py", 1)]
    assert _names(index, "Still") == [("broken.py", 7)]


def test_index_directory_is_ignored_by_git(shop_repo: Path) -> None:
    RepoIndex(shop_repo).update()
    assert (shop_repo / ".fathom" / ".gitignore").read_text() == "*\n"
    assert not git.Repo(shop_repo).is_dirty(untracked_files=True)


def test_corrupt_database_is_reported_and_rebuilt(shop_repo: Path) -> None:
    index = RepoIndex(shop_repo)
    index.update()
    db_path(shop_repo).write_bytes(b"this is not an sqlite database" * 100)
    for suffix in ("-wal", "-shm"):
        Path(f"{db_path(shop_repo)}{suffix}").unlink(missing_ok=True)
    stats = index.update()
    assert any("corrupt index" in w for w in stats.warnings)
    assert stats.parsed == 9
    assert _names(index, "apply_discount") == [("shop/pricing.py", 8)]


def test_truncated_database_is_rebuilt(shop_repo: Path) -> None:
    index = RepoIndex(shop_repo)
    index.update()
    path = db_path(shop_repo)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    path.write_bytes(path.read_bytes()[:5000])
    stats = index.update()
    assert stats.warnings and "rebuilding" in stats.warnings[0]
    assert _names(index, "Cart") == [("shop/models.py", 19)]


def test_other_schema_version_is_rebuilt(shop_repo: Path) -> None:
    index = RepoIndex(shop_repo)
    index.update()
    with sqlite3.connect(db_path(shop_repo)) as conn:
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    stats = index.update()
    assert "schema version" in stats.warnings[0]
    assert stats.parsed == 9


def test_readers_see_a_consistent_index_while_a_writer_updates(shop_repo: Path) -> None:
    index = RepoIndex(shop_repo)
    index.update()
    reader = index.connect()
    reader.execute("BEGIN")
    before = reader.execute("SELECT count(*) FROM files").fetchone()[0]
    (shop_repo / "extra.py").write_text("def extra():\n    pass\n")
    index.update()
    assert reader.execute("SELECT count(*) FROM files").fetchone()[0] == before
    reader.execute("COMMIT")
    assert reader.execute("SELECT count(*) FROM files").fetchone()[0] == before + 1
    reader.close()


def _update_in_process(root: str) -> int:
    return RepoIndex(root).update().files


def test_concurrent_writers_take_turns(shop_repo: Path) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Pool(3) as pool:
        results = pool.map(_update_in_process, [str(shop_repo)] * 3)
    assert results == [9, 9, 9]
    assert RepoIndex(shop_repo).update().parsed == 0


def test_damaged_search_index_is_rebuilt(shop_repo: Path) -> None:
    index = RepoIndex(shop_repo)
    index.update()
    meta = shop_repo / ".fathom" / "search" / "meta.json"
    meta.write_text("{ not json")
    stats = index.update()
    assert "unusable index" in stats.warnings[0]
    assert stats.parsed == 9


def test_missing_search_index_is_rebuilt(shop_repo: Path) -> None:
    index = RepoIndex(shop_repo)
    index.update()
    shutil.rmtree(shop_repo / ".fathom" / "search")
    stats = index.update()
    assert "missing" in stats.warnings[0]
    assert stats.parsed == 9
    with index.connect() as conn:
        hits = search(conn, index.fulltext(), "Which depot ships the orders?", 1)
    assert hits[0].path == "shop/checkout.py"
