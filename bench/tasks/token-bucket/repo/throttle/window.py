"""A sliding-window log: at most ``limit`` events in any ``window`` seconds."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    """Remembers event times and allows a new one while fewer than ``limit`` are recent."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window positive")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: deque[float] = deque()

    def _expire(self, now: float) -> None:
        while self._events and self._events[0] <= now - self.window:
            self._events.popleft()

    def allow(self) -> bool:
        """Record an event now if the window has room; whether it was allowed."""
        now = self._clock()
        self._expire(now)
        if len(self._events) < self.limit:
            self._events.append(now)
            return True
        return False

    def retry_after(self) -> float:
        """Seconds until the oldest recent event leaves the window (0 if there is room)."""
        now = self._clock()
        self._expire(now)
        if len(self._events) < self.limit:
            return 0.0
        return self._events[0] + self.window - now
