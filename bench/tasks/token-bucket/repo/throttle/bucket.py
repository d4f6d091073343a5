"""The token bucket: a steady refill rate with bounded bursts."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """Holds up to ``capacity`` tokens, refilled at ``rate`` tokens per second.

    A request costs tokens; it is allowed when enough are left. A full bucket allows a
    burst of ``capacity`` requests, never more, however long it stayed idle.
    """

    def __init__(
        self, rate: float, capacity: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or capacity <= 0:
            raise ValueError("rate and capacity must be positive")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self.tokens = capacity
        self._updated = clock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self.tokens = self.tokens + elapsed * self.rate
        self._updated = now

    def allow(self, cost: float = 1.0) -> bool:
        """Take ``cost`` tokens if there are enough; whether the request may go ahead."""
        if cost > self.capacity:
            raise ValueError(f"a request costing {cost} can never be allowed")
        self._refill()
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False

    def wait_time(self, cost: float = 1.0) -> float:
        """Seconds until a request costing ``cost`` would be allowed (0 if now)."""
        self._refill()
        missing = cost - self.tokens
        return max(0.0, missing / self.rate)
