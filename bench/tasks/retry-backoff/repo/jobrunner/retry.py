"""Retry policy: exponential backoff with a cap and a maximum number of attempts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """Wait ``base`` seconds after the first failure, doubling each time, at most ``cap``."""

    max_attempts: int = 5
    base: float = 1.0
    cap: float = 300.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if attempt < 1:
            raise ValueError("attempts are counted from 1")
        return min(self.cap, self.base * 2**attempt)

    def should_retry(self, attempt: int) -> bool:
        """Whether another attempt is allowed after ``attempt`` failed."""
        return attempt < self.max_attempts
