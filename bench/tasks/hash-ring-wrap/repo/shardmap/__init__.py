"""Spread keys over servers with a consistent-hash ring; few keys move on change."""

from shardmap.ring import HashRing

__all__ = ["HashRing"]
