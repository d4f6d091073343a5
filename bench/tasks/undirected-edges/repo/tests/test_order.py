import pytest
from routes import Graph
from routes.order import CycleError, components, topological_order


def test_topological_order():
    graph = Graph(directed=True)
    for a, b in [("shirt", "tie"), ("tie", "jacket"), ("trousers", "shoes"), ("trousers", "belt"),
                 ("belt", "jacket")]:
        graph.add_edge(a, b)
    order = topological_order(graph)
    assert order.index("shirt") < order.index("tie") < order.index("jacket")
    assert order.index("belt") < order.index("jacket")


def test_cycle_detected():
    graph = Graph(directed=True)
    graph.add_edge(1, 2)
    graph.add_edge(2, 1)
    with pytest.raises(CycleError):
        topological_order(graph)


def test_components():
    graph = Graph()
    graph.add_edge("a", "b")
    graph.add_edge("c", "b")
    graph.add_edge("x", "y")
    graph.add_node("alone")
    assert components(graph) == [{"a", "b", "c"}, {"x", "y"}, {"alone"}]
