"""Small in-memory caches: least-recently-used, time-to-live, and memoisation on top."""

from cachekit.lru import LRUCache
from cachekit.memo import memoize
from cachekit.ttl import TTLCache

__all__ = ["LRUCache", "TTLCache", "memoize"]
