"""One limiter per client key, created on first use, idle ones dropped."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from throttle.bucket import TokenBucket


@dataclass(frozen=True)
class Decision:
    """Whether a request is allowed and, if not, when to retry (HTTP Retry-After)."""

    allowed: bool
    retry_after: float


class KeyedLimiter:
    """A token bucket per key (API key, IP address), all with the same rate and burst."""

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._last_seen: dict[str, float] = {}

    def check(self, key: str, cost: float = 1.0) -> Decision:
        """Decide on one request from ``key``."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self._clock)
        self._last_seen[key] = self._clock()
        if bucket.allow(cost):
            return Decision(True, 0.0)
        return Decision(False, round(bucket.wait_time(cost), 3))

    def forget_idle(self, idle: float) -> list[str]:
        """Drop the buckets of keys not seen for ``idle`` seconds; their keys, sorted."""
        now = self._clock()
        stale = sorted(k for k, seen in self._last_seen.items() if now - seen >= idle)
        for key in stale:
            del self._buckets[key]
            del self._last_seen[key]
        return stale
