"""Common free time of several people, and booking it in the first free room."""

from __future__ import annotations

from agenda.intervals import Interval, free_slots, merge


def common_free_time(
    calendars: dict[str, list[Interval]], day: Interval, minimum: int
) -> list[Interval]:
    """Slots of at least ``minimum`` minutes when everybody in ``calendars`` is free."""
    everyone_busy = [slot for busy in calendars.values() for slot in busy]
    return free_slots(everyone_busy, day, minimum)


def first_slot(calendars: dict[str, list[Interval]], day: Interval, length: int) -> Interval | None:
    """The earliest ``length``-minute meeting everybody can attend, or None."""
    for slot in common_free_time(calendars, day, length):
        return Interval(slot.start, slot.start + length)
    return None


class Rooms:
    """Meeting rooms and their bookings."""

    def __init__(self, names: list[str]) -> None:
        self._bookings: dict[str, list[Interval]] = {name: [] for name in names}

    def book(self, slot: Interval) -> str | None:
        """Book the first room (in the order given) free for ``slot``; its name or None."""
        for name, booked in self._bookings.items():
            if not any(slot.overlaps(other) for other in booked):
                booked.append(slot)
                return name
        return None

    def busy_minutes(self, name: str) -> int:
        """Minutes the room is booked."""
        return sum(interval.length for interval in merge(self._bookings[name]))
