"""A priority queue of jobs: lower number first, first-in first-out among equals."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any


@dataclass
class Job:
    """A unit of work: a callable, its arguments, and bookkeeping for retries."""

    name: str
    action: Callable[..., Any]
    args: tuple[Any, ...] = ()
    priority: int = 10
    attempts: int = 0
    not_before: float = 0.0
    errors: list[str] = field(default_factory=list)


class JobQueue:
    """Jobs ordered by (not_before, priority, insertion)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, int, Job]] = []
        self._order = count()

    def push(self, job: Job) -> None:
        """Queue ``job``; it will not be handed out before ``job.not_before``."""
        heapq.heappush(self._heap, (job.not_before, job.priority, next(self._order), job))

    def pop_ready(self, now: float) -> Job | None:
        """The best job that may run at ``now``, or None."""
        if self._heap and self._heap[0][0] <= now:
            return heapq.heappop(self._heap)[3]
        return None

    def next_time(self) -> float | None:
        """When the earliest queued job becomes ready."""
        return self._heap[0][0] if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)
