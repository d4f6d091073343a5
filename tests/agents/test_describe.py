"""The `describe` graph's pieces: reading a model's title and body, and the fallback."""

from __future__ import annotations

from agents.graphs.describe.graph import TITLE_CHARS, fallback_description, parse_description
from tools.git import FileStat


def test_a_reply_gives_its_title_and_body() -> None:
    assert parse_description("Title: Add a cache\n\nFaster lookups.\n- `a.py`") == (
        "Add a cache", "Faster lookups.\n- `a.py`")
    assert parse_description("**Title:** `Speed up search`\nBody") == ("Speed up search", "Body")
    assert parse_description("# Rename the index\n\nWhy.") == ("Rename the index", "Why.")
    assert parse_description("   \n") is None
    long = parse_description("Title: " + "x" * 200)
    assert long is not None and len(long[0]) == TITLE_CHARS


def test_without_a_model_the_commits_and_files_describe_the_change() -> None:
    files = [FileStat("a.py", 3, 1), FileStat("logo.png", None, None)]
    title, body = fallback_description(["Add a cache", "Tune it"], files, "no model")
    assert title == "Add a cache"
    assert "- Add a cache\n- Tune it" in body and "`a.py` (+3 -1)" in body
    assert "`logo.png` (binary)" in body and body.startswith("*Not written by a model (no model)")
    assert fallback_description([], files, "x")[0] == "Change 2 files"
