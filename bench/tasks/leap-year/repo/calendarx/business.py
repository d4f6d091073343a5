"""Business days: weekdays that are not holidays."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta


def is_business_day(day: date, holidays: Iterable[date] = ()) -> bool:
    """Monday to Friday and not in ``holidays``."""
    return day.weekday() < 5 and day not in set(holidays)


def add_business_days(day: date, count: int, holidays: Iterable[date] = ()) -> date:
    """The business day ``count`` business days after ``day`` (before, when negative)."""
    off = set(holidays)
    step = timedelta(days=1 if count >= 0 else -1)
    remaining = abs(count)
    current = day
    while remaining:
        current += step
        if is_business_day(current, off):
            remaining -= 1
    return current


def business_days_between(start: date, end: date, holidays: Iterable[date] = ()) -> int:
    """Business days in the half-open range [start, end)."""
    if end < start:
        return -business_days_between(end, start, holidays)
    off = set(holidays)
    total = 0
    current = start
    while current < end:
        if is_business_day(current, off):
            total += 1
        current += timedelta(days=1)
    return total
