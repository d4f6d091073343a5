"""PageRank over the definition/reference graph, personalised by a query."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from tools.repo.index import RepoIndex
from tools.repo.rank import RankQuery, mentioned_identifiers, pagerank, rank


@pytest.fixture
def indexed(shop_repo: Path) -> RepoIndex:
    index = RepoIndex(shop_repo)
    index.update()
    return index


def test_pagerank_matches_networkx() -> None:
    rng = np.random.default_rng(7)
    n = 30
    source = rng.integers(0, n, 120)
    target = rng.integers(0, n, 120)
    keep = source != target
    source, target = source[keep], target[keep]
    weight = rng.random(len(source)) + 0.1
    restart = rng.random(n)
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    for s, t, w in zip(source.tolist(), target.tolist(), weight.tolist(), strict=True):
        if graph.has_edge(s, t):
            graph[s][t]["weight"] += w
        else:
            graph.add_edge(s, t, weight=w)
    personal = {i: float(restart[i]) for i in range(n)}
    expected = nx.pagerank(graph, weight="weight", personalization=personal, tol=1e-12)
    ours = pagerank(n, source, target, weight, restart)
    assert np.allclose(ours, [expected[i] for i in range(n)], atol=1e-8)
    assert ours.sum() == pytest.approx(1.0)


def test_most_referenced_code_ranks_first(indexed: RepoIndex) -> None:
    with indexed.connect() as conn:
        ranking = rank(conn)
    assert ranking.file_order()[0] == "shop/models.py"
    top = [d.name for d in ranking.definitions[:4]]
    assert {"Cart", "format_price"} <= set(top)


def test_query_mentions_lift_their_definitions(indexed: RepoIndex) -> None:
    with indexed.connect() as conn:
        ranking = rank(conn, RankQuery("why does checkout ignore the discount label?"))
    assert {"checkout", "discount_label"} <= ranking.mentioned
    assert ranking.definitions[0].name in {"checkout", "discount_label"}


def test_focus_personalises_the_walk(indexed: RepoIndex) -> None:
    with indexed.connect() as conn:
        plain = rank(conn)
        focused = rank(conn, RankQuery(focus=("web/app.js",)))
    assert focused.files["web/format.js"] > plain.files["web/format.js"]


def test_exclusion_and_determinism(indexed: RepoIndex) -> None:
    with indexed.connect() as conn:
        first = rank(conn, exclude={"shop/pricing.py"})
        second = rank(conn, exclude={"shop/pricing.py"})
    assert "shop/pricing.py" not in first.files
    assert first.file_order() == second.file_order()
    assert first.definitions == second.definitions


def test_mentioned_identifiers_by_words() -> None:
    names = {"ConnectionPool", "pool_timeout", "of", "run"}
    found = mentioned_identifiers("how does the connection pool handle pool timeout of run", names)
    assert found == {"ConnectionPool", "pool_timeout", "run"}
