"""Half-open time intervals [start, end) in minutes since midnight."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Interval:
    """[start, end) in minutes; empty or reversed intervals are refused."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"empty interval {self.start}-{self.end}")

    @property
    def length(self) -> int:
        """Minutes covered."""
        return self.end - self.start

    def overlaps(self, other: Interval) -> bool:
        """Whether the two share at least one minute."""
        return self.start < other.end and other.start < self.end


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint intervals covering the same minutes; touching ones become one."""
    merged: list[Interval] = []
    for interval in sorted(intervals):
        if merged and interval.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = Interval(last.start, max(last.end, interval.end))
        else:
            merged.append(interval)
    return merged


def free_slots(busy: Iterable[Interval], day: Interval, minimum: int = 1) -> list[Interval]:
    """Gaps of at least ``minimum`` minutes inside ``day`` not covered by ``busy``."""
    slots = []
    cursor = day.start
    for interval in merge(busy):
        if interval.end <= day.start or interval.start >= day.end:
            continue
        if interval.start - cursor >= minimum:
            slots.append(Interval(cursor, interval.start))
        cursor = max(cursor, interval.end)
    if day.end - cursor >= minimum:
        slots.append(Interval(cursor, day.end))
    return slots


def parse_hhmm(text: str) -> int:
    """``"09:30"`` → 570."""
    hours, _, minutes = text.partition(":")
    value = int(hours) * 60 + int(minutes or 0)
    if not 0 <= value <= 24 * 60:
        raise ValueError(f"not a time of day: {text!r}")
    return value


def format_hhmm(minutes: int) -> str:
    """570 → ``"09:30"``."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
