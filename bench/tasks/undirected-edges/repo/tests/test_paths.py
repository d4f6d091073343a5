import pytest
from routes import Graph
from routes.paths import NoPath, shortest_path


def road_map(directed):
    graph = Graph(directed=directed)
    for a, b, w in [("home", "mall", 4), ("home", "park", 1), ("park", "mall", 2),
                    ("mall", "work", 5), ("park", "work", 9)]:
        graph.add_edge(a, b, w)
    return graph


def test_directed_shortest_path():
    assert shortest_path(road_map(True), "home", "work") == (8, ["home", "park", "mall", "work"])


def test_path_to_self():
    assert shortest_path(road_map(True), "park", "park") == (0, ["park"])


def test_unreachable_in_directed_graph():
    with pytest.raises(NoPath):
        shortest_path(road_map(True), "work", "home")


def test_undirected_path_runs_backwards():
    assert shortest_path(road_map(False), "work", "home") == (8, ["work", "mall", "park", "home"])
