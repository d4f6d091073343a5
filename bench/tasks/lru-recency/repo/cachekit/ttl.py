"""A cache whose entries expire a fixed number of seconds after they were stored."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any


class TTLCache:
    """Entries live ``ttl`` seconds; ``clock`` returns the current time in seconds."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self.ttl = ttl
        self._clock = clock
        self._data: dict[Hashable, tuple[float, Any]] = {}

    def put(self, key: Hashable, value: Any) -> None:
        """Store ``value``; it expires ``ttl`` seconds from now."""
        self._data[key] = (self._clock() + self.ttl, value)

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The live value for ``key``, or ``default`` if absent or expired."""
        entry = self._data.get(key)
        if entry is None:
            return default
        expires, value = entry
        if self._clock() >= expires:
            del self._data[key]
            return default
        return value

    def purge(self) -> int:
        """Remove every expired entry and return how many were removed."""
        now = self._clock()
        expired = [key for key, (expires, _) in self._data.items() if now >= expires]
        for key in expired:
            del self._data[key]
        return len(expired)

    def __len__(self) -> int:
        return len(self._data)
