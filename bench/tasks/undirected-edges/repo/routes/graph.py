"""An adjacency-map graph with weighted edges, directed or not."""

from __future__ import annotations

from collections.abc import Hashable, Iterator

Node = Hashable


class Graph:
    """Weighted graph; in an undirected graph every edge can be walked both ways."""

    def __init__(self, directed: bool = False) -> None:
        self.directed = directed
        self._adj: dict[Node, dict[Node, float]] = {}

    def add_node(self, node: Node) -> None:
        """Add ``node`` if it is not there yet."""
        self._adj.setdefault(node, {})

    def add_edge(self, a: Node, b: Node, weight: float = 1.0) -> None:
        """Connect ``a`` to ``b`` (and back, when undirected); weights must not be negative."""
        if weight < 0:
            raise ValueError(f"negative weight on {a!r} -> {b!r}")
        self.add_node(a)
        self.add_node(b)
        self._adj[a][b] = weight

    def neighbours(self, node: Node) -> dict[Node, float]:
        """The nodes reachable in one step from ``node``, with edge weights."""
        try:
            return self._adj[node]
        except KeyError:
            raise KeyError(f"no node {node!r}") from None

    def nodes(self) -> Iterator[Node]:
        """Every node, in insertion order."""
        return iter(self._adj)

    def edge_count(self) -> int:
        """Edges, each undirected edge counted once."""
        total = sum(len(targets) for targets in self._adj.values())
        return total if self.directed else total // 2
