import pytest
from routes import Graph


def test_directed_edge_one_way():
    graph = Graph(directed=True)
    graph.add_edge("a", "b", 2)
    assert graph.neighbours("a") == {"b": 2}
    assert graph.neighbours("b") == {}
    assert graph.edge_count() == 1


def test_undirected_edge_both_ways():
    graph = Graph()
    graph.add_edge("a", "b", 2)
    assert graph.neighbours("b") == {"a": 2}
    assert graph.edge_count() == 1


def test_negative_weight_rejected():
    with pytest.raises(ValueError):
        Graph().add_edge("a", "b", -1)


def test_unknown_node():
    with pytest.raises(KeyError):
        Graph().neighbours("x")
