"""The repository map fits its token budget exactly and shows enclosing scopes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.repo.index import RepoIndex
from tools.repo.rank import RankQuery, rank
from tools.repo.repomap import render_map
from tools.repo.tokens import count_tokens


@pytest.fixture
def ranking(shop_repo: Path):
    index = RepoIndex(shop_repo)
    index.update()
    with index.connect() as conn:
        return rank(conn, RankQuery("cart total"))


@pytest.mark.parametrize("budget", [0, 1, 7, 20, 50, 120, 400, 5000])
def test_map_never_exceeds_and_counts_exactly(ranking, budget: int) -> None:
    repo_map = render_map(ranking, budget)
    assert repo_map.tokens <= budget
    assert count_tokens(repo_map.text) == repo_map.tokens


def test_bigger_budget_shows_more_and_all_fits_eventually(ranking) -> None:
    small, large = render_map(ranking, 60), render_map(ranking, 5000)
    assert small.definitions < large.definitions == len(ranking.definitions)
    assert large.tokens < 5000


def test_methods_are_shown_inside_their_class(ranking) -> None:
    text = render_map(ranking, 5000).text
    lines = text.splitlines()
    assert "shop/models.py:" in lines
    cls = lines.index("19│class Cart:")
    assert lines.index("25│    def total(self) -> int:") > cls
    assert "14│function mountCart(root, cart)" in lines
    assert not any(line.startswith("3│") for line in lines)  # imports are not definitions


def test_negative_budget_is_an_error(ranking) -> None:
    with pytest.raises(ValueError, match="budget"):
        render_map(ranking, -1)
