"""A consistent-hash ring with virtual nodes."""

from __future__ import annotations

from bisect import bisect_right, insort
from collections import Counter
from collections.abc import Iterable

from shardmap.hashing import hash64, point_names


class HashRing:
    """Each node owns ``replicas`` points; a key belongs to the first point clockwise."""

    def __init__(self, nodes: Iterable[str] = (), replicas: int = 16) -> None:
        if replicas < 1:
            raise ValueError("replicas must be at least 1")
        self.replicas = replicas
        self._points: list[int] = []
        self._owner: dict[int, str] = {}
        for node in nodes:
            self.add(node)

    def add(self, node: str) -> None:
        """Place ``node`` on the ring."""
        if node in self.nodes():
            raise ValueError(f"{node!r} is already on the ring")
        for name in point_names(node, self.replicas):
            point = hash64(name)
            self._owner[point] = node
            insort(self._points, point)

    def remove(self, node: str) -> None:
        """Take ``node`` off the ring; its keys move to the next nodes clockwise."""
        if node not in self.nodes():
            raise KeyError(node)
        self._points = [p for p in self._points if self._owner[p] != node]
        self._owner = {p: n for p, n in self._owner.items() if n != node}

    def nodes(self) -> set[str]:
        """The nodes on the ring."""
        return set(self._owner.values())

    def node_for(self, key: str) -> str:
        """The node responsible for ``key``."""
        if not self._points:
            raise LookupError("the ring is empty")
        index = bisect_right(self._points, hash64(key))
        return self._owner[self._points[index]]

    def distribution(self, keys: Iterable[str]) -> Counter[str]:
        """How many of ``keys`` each node would hold."""
        return Counter(self.node_for(key) for key in keys)
