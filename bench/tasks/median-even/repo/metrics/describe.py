"""Descriptive statistics over a list of numbers."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def _require(values: Sequence[float]) -> None:
    if not values:
        raise ValueError("no values")


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean."""
    _require(values)
    return math.fsum(values) / len(values)


def median(values: Sequence[float]) -> float:
    """The middle value; for an even count, the mean of the two middle values."""
    _require(values)
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle] + ordered[middle + 1]) / 2


def variance(values: Sequence[float], sample: bool = True) -> float:
    """Sample variance (n - 1) by default, population variance (n) otherwise."""
    _require(values)
    if sample and len(values) < 2:
        raise ValueError("sample variance needs at least two values")
    centre = mean(values)
    squares = math.fsum((value - centre) ** 2 for value in values)
    return squares / (len(values) - 1 if sample else len(values))


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100) with linear interpolation between ranks."""
    _require(values)
    if not 0 <= p <= 100:
        raise ValueError(f"percentile out of range: {p}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Summary:
    """The numbers a latency report shows."""

    count: int
    mean: float
    median: float
    p95: float
    maximum: float


def summarise(values: Sequence[float]) -> Summary:
    """Count, mean, median, 95th percentile and maximum."""
    return Summary(len(values), mean(values), median(values), percentile(values, 95), max(values))
