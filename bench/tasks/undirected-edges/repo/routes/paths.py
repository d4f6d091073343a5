"""Dijkstra's shortest paths."""

from __future__ import annotations

import heapq
from itertools import count

from routes.graph import Graph, Node


class NoPath(LookupError):
    """The target cannot be reached from the source."""


def distances(graph: Graph, source: Node) -> tuple[dict[Node, float], dict[Node, Node]]:
    """Shortest distance to every reachable node, and each node's predecessor."""
    best: dict[Node, float] = {source: 0.0}
    previous: dict[Node, Node] = {}
    tie = count()
    queue = [(0.0, next(tie), source)]
    done: set[Node] = set()
    while queue:
        dist, _, node = heapq.heappop(queue)
        if node in done:
            continue
        done.add(node)
        for neighbour, weight in graph.neighbours(node).items():
            candidate = dist + weight
            if candidate < best.get(neighbour, float("inf")):
                best[neighbour] = candidate
                previous[neighbour] = node
                heapq.heappush(queue, (candidate, next(tie), neighbour))
    return best, previous


def shortest_path(graph: Graph, source: Node, target: Node) -> tuple[float, list[Node]]:
    """The cost and the nodes of a cheapest path from ``source`` to ``target``."""
    best, previous = distances(graph, source)
    if target not in best:
        raise NoPath(f"{target!r} is not reachable from {source!r}")
    path = [target]
    while path[-1] != source:
        path.append(previous[path[-1]])
    path.reverse()
    return best[target], path
