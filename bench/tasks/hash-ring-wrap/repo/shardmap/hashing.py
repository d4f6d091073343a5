"""Stable 64-bit hashes (Python's hash() changes between runs)."""

from __future__ import annotations

import hashlib


def hash64(text: str) -> int:
    """The first 8 bytes of the MD5 of ``text``, as an unsigned integer."""
    return int.from_bytes(hashlib.md5(text.encode()).digest()[:8], "big")


def point_names(node: str, replicas: int) -> list[str]:
    """The labels hashed to place ``node``'s virtual points on the ring."""
    return [f"{node}#{index}" for index in range(replicas)]
