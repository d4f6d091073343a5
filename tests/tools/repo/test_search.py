"""Search: BM25 fused with exact identifier and literal lookup, kept incremental."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.repo.index import RepoIndex
from tools.repo.search import exact_lookup, search


@pytest.fixture
def index(shop_repo: Path) -> RepoIndex:
    index = RepoIndex(shop_repo)
    index.update()
    return index


def _top(index: RepoIndex, query: str, limit: int = 3) -> list[tuple[str, int, int]]:
    with index.connect() as conn:
        return [(h.path, h.line, h.end_line) for h in search(conn, index.fulltext(), query, limit)]


def test_identifier_finds_its_definition_span(index: RepoIndex) -> None:
    assert _top(index, "apply_discount")[0] == ("shop/pricing.py", 6, 13)


def test_words_of_an_identifier_find_it(index: RepoIndex) -> None:
    assert _top(index, "discount label")[0] == ("shop/pricing.py", 14, 17)
    assert _top(index, "CartView")[0][0] == "web/app.js"
    assert _top(index, "how is the cart view rendered?")[0][0] == "web/app.js"


def test_string_literal_phrase_is_found_exactly(index: RepoIndex) -> None:
    exact = exact_lookup(index.fulltext(), "unknown discount code", 5)
    assert exact and exact[0].start == 6, "the literal's phrase is in the lookup index"
    assert _top(index, "where is 'unknown discount code' raised?")[0] == ("shop/pricing.py", 6, 13)


def test_natural_language_question_finds_a_comment(index: RepoIndex) -> None:
    hit = _top(index, "Which depot ships the orders?")[0]
    assert hit[0] == "shop/checkout.py" and hit[1] <= 11 <= hit[2]


def test_search_follows_edits_and_deletes(index: RepoIndex, shop_repo: Path) -> None:
    models = shop_repo / "shop" / "models.py"
    models.write_text(models.read_text() + "\n\ndef gift_wrap(cart):\n    return 'ribbon'\n")
    (shop_repo / "shop" / "checkout.py").unlink()
    index.update()
    assert _top(index, "gift_wrap")[0][0] == "shop/models.py"
    assert all(path != "shop/checkout.py" for path, _, _ in _top(index, "depot ships orders", 10))


def test_secret_files_are_never_returned(shop_repo: Path) -> None:
    (shop_repo / "settings.py").write_text("AWS_KEY = 'AKIAIOSFODNN7EXAMPLE'\nREGION = 'depot'\n")
    index = RepoIndex(shop_repo)
    index.update()
    assert all(path != "settings.py" for path, _, _ in _top(index, "AWS_KEY region", 10))


def test_empty_and_stopword_queries(index: RepoIndex) -> None:
    assert _top(index, "") == []
    assert _top(index, "the of and") == []
