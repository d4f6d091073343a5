"""Plan key moves when the set of servers changes."""

from __future__ import annotations

from collections.abc import Iterable

from shardmap.ring import HashRing


def moves(before: HashRing, after: HashRing, keys: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Keys whose owner changes: key → (old node, new node)."""
    planned = {}
    for key in keys:
        old, new = before.node_for(key), after.node_for(key)
        if old != new:
            planned[key] = (old, new)
    return planned


def with_node(ring: HashRing, node: str) -> HashRing:
    """A copy of ``ring`` with ``node`` added."""
    grown = HashRing(sorted(ring.nodes()), ring.replicas)
    grown.add(node)
    return grown
