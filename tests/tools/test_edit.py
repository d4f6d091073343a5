"""Edits on real files in tmp git repositories: formats, match tiers, safety, atomicity."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import init_repo
from tools.edit import (
    EditBlock,
    EditError,
    EditMatchError,
    EditPathError,
    EditWriteError,
    apply_blocks,
    resolve_repo_path,
)
from tools.edit_formats import EditParseError, SearchReplaceFormat, apply_edit, get_format

CART = """\
class Cart:
    def __init__(self):
        self.items = []

    def add(self, item):
        self.items.append(item)

    def total(self):
        return sum(item.price for item in self.items)
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "cart.py").write_text(CART)
    (root / "README.md").write_text("# Shop\n")
    init_repo(root)
    return root


def sr(path: str, search: str, replace: str) -> str:
    return f"{path}\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.parts}


def test_search_replace_exact_edit(repo: Path) -> None:
    text = "Here is the fix:\n\n```python\n" + sr(
        "shop/cart.py",
        "    def total(self):\n        return sum(item.price for item in self.items)\n",
        "    def total(self):\n        return sum(i.price * i.qty for i in self.items)\n",
    ) + "```\n"
    result = apply_edit(repo, "search_replace", text)
    assert result.changed == ["shop/cart.py"] and result.created == []
    assert [(b.match, b.line, b.end_line) for b in result.blocks] == [("exact", 8, 9)]
    assert "i.price * i.qty" in (repo / "shop/cart.py").read_text()
    assert json.loads(json.dumps(result.to_json()))["blocks"][0]["match"] == "exact"


def test_whitespace_tolerant_match_reindents_replacement(repo: Path) -> None:
    text = sr("shop/cart.py", "def add(self, item):\n    self.items.append(item)\n",
              "def add(self, item):\n    if item:\n        self.items.append(item)\n")
    result = apply_edit(repo, "search_replace", text)
    assert result.blocks[0].match == "whitespace"
    assert ("    def add(self, item):\n        if item:\n            self.items.append(item)\n"
            in (repo / "shop/cart.py").read_text())


def test_fuzzy_match_above_threshold(repo: Path) -> None:
    text = sr("shop/cart.py",
              "    def total(self):\n        return sum(item.price for item in self.item)\n",
              "    def total(self):\n        return 0\n")
    result = apply_edit(repo, "search_replace", text)
    assert result.blocks[0].match == "fuzzy" and result.blocks[0].score >= 0.9
    assert "        return 0\n" in (repo / "shop/cart.py").read_text()


def test_not_found_says_which_block_and_did_you_mean(repo: Path) -> None:
    before = snapshot(repo)
    text = (sr("README.md", "# Shop\n", "# The Shop\n")
            + sr("shop/cart.py",
                 "    def totals(this, cart):\n        return sum(x.cost for x in cart)\n",
                 "x\n"))
    with pytest.raises(EditMatchError) as info:
        apply_edit(repo, "search_replace", text)
    message = str(info.value)
    assert "block 2 (shop/cart.py): SEARCH text not found" in message
    assert "Did you mean lines 8-9" in message and "    8|     def total(self):" in message
    assert [f.index for f in info.value.failures] == [1]
    assert snapshot(repo) == before  # the good first block was not written either


def test_ambiguous_search_is_refused(repo: Path) -> None:
    (repo / "dup.py").write_text("x = 1\ny = 2\nx = 1\n")
    with pytest.raises(EditMatchError, match="occurs 2 times"):
        apply_edit(repo, "search_replace", sr("dup.py", "x = 1\n", "x = 3\n"))


def test_blocks_apply_in_order_and_create_files(repo: Path) -> None:
    text = (sr("pkg/new.py", "", "def f():\n    return 1\n")
            + sr("pkg/new.py", "    return 1\n", "    return 2\n"))
    result = apply_edit(repo, "search_replace", text)
    assert result.created == ["pkg/new.py"] and result.changed == []
    assert [b.match for b in result.blocks] == ["create", "exact"]
    assert (repo / "pkg/new.py").read_text() == "def f():\n    return 2\n"
    assert os.stat(repo / "pkg/new.py").st_mode & 0o777 == 0o644


def test_empty_search_on_existing_file_is_refused(repo: Path) -> None:
    with pytest.raises(EditMatchError, match="file exists and is not empty"):
        apply_edit(repo, "search_replace", sr("README.md", "", "new\n"))


def test_missing_file_needs_empty_search(repo: Path) -> None:
    with pytest.raises(EditMatchError, match="file does not exist"):
        apply_edit(repo, "search_replace", sr("nope.py", "a\n", "b\n"))


@pytest.mark.parametrize(("path", "why"), [
    ("/etc/passwd", "absolute"),
    ("../outside.txt", "outside the repository"),
    ("shop/../../outside.txt", "outside the repository"),
    (".git/config", ".git/"),
    ("sub/.GIT/hooks/pre-commit", ".git/"),
    (".fathom/index.db", ".fathom/"),
    (".env", "secret file"),
    ("config/prod.pem", "secret file"),
    ("shop\\cart.py", "forward slashes"),
    ("", "empty path"),
])
def test_refused_paths(repo: Path, path: str, why: str) -> None:
    with pytest.raises(EditPathError, match=why):
        resolve_repo_path(repo, path)


def test_symlinks_that_escape_are_refused_and_inner_ones_followed(repo: Path,
                                                                  tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep\n")
    (repo / "escape.txt").symlink_to(outside)
    (repo / "linkdir").symlink_to(tmp_path)
    (repo / "alias.py").symlink_to(repo / "shop" / "cart.py")
    (repo / "gitlink").symlink_to(repo / ".git")
    for path in ("escape.txt", "linkdir/outside.txt"):
        with pytest.raises(EditMatchError, match="symlink that leaves the repository"):
            apply_edit(repo, "search_replace", sr(path, "keep\n", "gone\n"))
    with pytest.raises(EditMatchError, match="never edited"):
        apply_edit(repo, "search_replace", sr("gitlink/HEAD", "", "x\n"))
    assert outside.read_text() == "keep\n"
    result = apply_edit(repo, "search_replace", sr("alias.py", "class Cart:\n", "class Basket:\n"))
    assert result.changed == ["shop/cart.py"]
    assert (repo / "alias.py").is_symlink()
    assert (repo / "shop/cart.py").read_text().startswith("class Basket:\n")


def test_files_holding_secrets_are_refused(repo: Path) -> None:
    (repo / "settings.py").write_text("TOKEN = 'ghp_" + "a" * 36 + "'\n")
    with pytest.raises(EditMatchError, match="GitHub token"):
        apply_edit(repo, "search_replace", sr("settings.py", "TOKEN\n", "X\n"))


def test_line_endings_bom_and_mode_are_kept(repo: Path) -> None:
    script = repo / "run.sh"
    script.write_bytes(b"\xef\xbb\xbf#!/bin/sh\r\necho one\r\necho two\r\n")
    script.chmod(0o755)
    apply_edit(repo, "search_replace", sr("run.sh", "echo one\n", "echo 1\n"))
    assert script.read_bytes() == b"\xef\xbb\xbf#!/bin/sh\r\necho 1\r\necho two\r\n"
    assert os.stat(script).st_mode & 0o777 == 0o755


def test_dry_run_validates_without_writing(repo: Path) -> None:
    before = snapshot(repo)
    result = apply_edit(repo, "search_replace", sr("README.md", "# Shop\n", "# S\n"), dry_run=True)
    assert result.dry_run and result.changed == ["README.md"]
    assert snapshot(repo) == before


def test_failed_rename_restores_replaced_files(repo: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(repo)
    real_replace = os.replace
    calls = []

    def flaky_replace(src: str | Path, dst: str | Path) -> None:
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky_replace)
    text = sr("README.md", "# Shop\n", "# S\n") + sr("shop/cart.py", "class Cart:\n", "class C:\n")
    with pytest.raises(EditWriteError, match="No space left"):
        apply_edit(repo, "search_replace", text)
    assert snapshot(repo) == before
    assert not list(repo.rglob("*.fathom-edit"))


UDIFF = """\
```diff
--- a/shop/cart.py
+++ b/shop/cart.py
@@ -1,3 +1,3 @@
-class Cart:
+class Basket:
     def __init__(self):
         self.items = []
@@ -8,2 +8,3 @@
     def total(self):
-        return sum(item.price for item in self.items)
+        total = sum(item.price for item in self.items)
+        return round(total, 2)
--- /dev/null
+++ b/shop/money.py
@@ -0,0 +1,2 @@
+def cents(x):
+    return int(x * 100)
```
"""


def test_unified_diff_edits_and_creates(repo: Path) -> None:
    result = apply_edit(repo, "udiff", UDIFF)
    assert result.changed == ["shop/cart.py"] and result.created == ["shop/money.py"]
    cart = (repo / "shop/cart.py").read_text()
    assert cart.startswith("class Basket:\n") and "return round(total, 2)\n" in cart
    assert (repo / "shop/money.py").read_text() == "def cents(x):\n    return int(x * 100)\n"


def test_unified_diff_with_wrong_counts_and_bare_headers(repo: Path) -> None:
    diff = ("--- a/shop/cart.py\n+++ b/shop/cart.py\n@@ -5,9 +5,1 @@\n"
            "     def add(self, item):\n-        self.items.append(item)\n"
            "+        self.items.insert(0, item)\n\n     def total(self):\n"
            "@@ @@\n-class Cart:\n+class Basket:\n")
    result = apply_edit(repo, "udiff", diff)
    assert [b.match for b in result.blocks] == ["exact", "exact"]
    assert "insert(0, item)" in (repo / "shop/cart.py").read_text()


def test_unified_diff_line_numbers_pick_between_repeats(repo: Path) -> None:
    (repo / "dup.py").write_text("a = 1\nb = 2\na = 1\n")
    diff = "--- a/dup.py\n+++ b/dup.py\n@@ -3,1 +3,1 @@\n-a = 1\n+a = 3\n"
    apply_edit(repo, "udiff", diff)
    assert (repo / "dup.py").read_text() == "a = 1\nb = 2\na = 3\n"


@pytest.mark.parametrize(("diff", "why"), [
    ("--- a/README.md\n+++ /dev/null\n@@ -1 +0,0 @@\n-# Shop\n", "deleting files"),
    ("--- a/README.md\n+++ b/DOCS.md\n@@ -1 +1 @@\n-# Shop\n+# Docs\n", "renaming files"),
    ("just some prose\n", "no hunks found"),
    ("--- a/README.md\n+++ b/README.md\n@@ -1,0 +1,1 @@\n+top\n", "no context"),
])
def test_unified_diff_refusals(repo: Path, diff: str, why: str) -> None:
    with pytest.raises(EditParseError, match=why):
        apply_edit(repo, "udiff", diff)


@pytest.mark.parametrize(("text", "why"), [
    ("<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n", "without a file path"),
    ("x.py\n<<<<<<< SEARCH\na\n=======\nb\n", "not closed"),
    ("x.py\n<<<<<<< SEARCH\na\n<<<<<<< SEARCH\n", "where '=======' was expected"),
    ("x.py\n=======\n", "outside a SEARCH/REPLACE block"),
    ("nothing to see\n", "no SEARCH/REPLACE blocks"),
])
def test_search_replace_parse_errors(text: str, why: str) -> None:
    with pytest.raises(EditParseError, match=why):
        SearchReplaceFormat().parse(text)


def test_unknown_format_and_empty_edit(repo: Path) -> None:
    with pytest.raises(EditParseError, match="search_replace, udiff"):
        get_format("wholefile")
    with pytest.raises(EditError, match="no blocks"):
        apply_blocks(repo, [])


def test_path_lines_as_models_decorate_them(repo: Path) -> None:
    text = ("### `README.md`:\n```markdown\n<<<<<<< SEARCH\n# Shop\n=======\n# Store\n"
            ">>>>>>> REPLACE\n```\n**shop/cart.py**\n<<<<<<< SEARCH\nclass Cart:\n=======\n"
            "class Basket:\n>>>>>>> REPLACE\n")
    blocks = SearchReplaceFormat().parse(text)
    assert [b.path for b in blocks] == ["README.md", "shop/cart.py"]


def test_block_without_path_reuses_previous_path(repo: Path) -> None:
    text = (sr("README.md", "# Shop\n", "# Shop!\n")
            + "<<<<<<< SEARCH\n# Shop!\n=======\n# Shop?\n>>>>>>> REPLACE\n")
    apply_edit(repo, "search_replace", text)
    assert (repo / "README.md").read_text() == "# Shop?\n"


def test_edit_block_paths_are_checked_per_block(repo: Path) -> None:
    blocks = [EditBlock("README.md", "# Shop\n", "# S\n", 0), EditBlock("../x", "", "y\n", 1)]
    with pytest.raises(EditMatchError, match=r"block 2 \(\.\./x\)"):
        apply_blocks(repo, blocks)
    assert (repo / "README.md").read_text() == "# Shop\n"


_PIECES = st.sampled_from([
    "<<<<<<< SEARCH", "=======", ">>>>>>> REPLACE", "a.py", "b/c.py", "../evil.py",
    "/etc/passwd", ".git/config", "x = 1", "    x = 1", "", "```", "--- a/a.py",
    "+++ b/a.py", "@@ -1,2 +1,2 @@", "@@ @@", "-x = 1", "+x = 2", " y = 2", "--- /dev/null",
    "+++ /dev/null", ".env",
])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fmt=st.sampled_from(["search_replace", "udiff"]),
       lines=st.lists(st.one_of(_PIECES, st.text(max_size=12)), max_size=14))
def test_fuzzed_edits_never_crash_or_write_partially(fmt: str, lines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        root = base / "repo"
        (root / "b").mkdir(parents=True)
        (root / "a.py").write_text("x = 1\ny = 2\n")
        (root / "b" / "c.py").write_text("x = 1\n")
        (base / "evil.py").write_text("safe\n")
        before = snapshot(base)
        try:
            result = apply_edit(root, fmt, "\n".join(lines))
        except EditError:
            assert snapshot(base) == before
            return
        after = snapshot(base)
        assert after["evil.py"] == before["evil.py"]
        touched = {f"repo/{p}" for p in result.changed + result.created}
        assert {k for k in after if after[k] != before.get(k)} <= touched
