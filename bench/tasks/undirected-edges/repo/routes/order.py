"""Topological order and connected components."""

from __future__ import annotations

from collections import deque

from routes.graph import Graph, Node


class CycleError(ValueError):
    """A directed graph has a cycle, so it has no topological order."""


def topological_order(graph: Graph) -> list[Node]:
    """Kahn's algorithm; ties are broken by insertion order."""
    if not graph.directed:
        raise ValueError("topological order needs a directed graph")
    indegree = {node: 0 for node in graph.nodes()}
    for node in graph.nodes():
        for target in graph.neighbours(node):
            indegree[target] += 1
    ready = deque(node for node, degree in indegree.items() if degree == 0)
    order = []
    while ready:
        node = ready.popleft()
        order.append(node)
        for target in graph.neighbours(node):
            indegree[target] -= 1
            if indegree[target] == 0:
                ready.append(target)
    if len(order) != len(indegree):
        raise CycleError("graph has a cycle")
    return order


def components(graph: Graph) -> list[set[Node]]:
    """Connected components of an undirected graph, in order of their first node."""
    seen: set[Node] = set()
    result = []
    for start in graph.nodes():
        if start in seen:
            continue
        component = {start}
        stack = [start]
        while stack:
            for neighbour in graph.neighbours(stack.pop()):
                if neighbour not in component:
                    component.add(neighbour)
                    stack.append(neighbour)
        seen |= component
        result.append(component)
    return result
