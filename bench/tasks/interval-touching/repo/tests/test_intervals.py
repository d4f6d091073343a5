import pytest
from agenda.intervals import Interval, format_hhmm, free_slots, merge, parse_hhmm


def test_interval_rejects_empty():
    with pytest.raises(ValueError):
        Interval(10, 10)


def test_overlaps_is_half_open():
    assert Interval(0, 10).overlaps(Interval(5, 15))
    assert not Interval(0, 10).overlaps(Interval(10, 20))


def test_merge_overlapping_and_nested():
    assert merge([Interval(5, 8), Interval(0, 6), Interval(1, 2)]) == [Interval(0, 8)]


def test_merge_keeps_gaps():
    assert merge([Interval(10, 20), Interval(0, 5)]) == [Interval(0, 5), Interval(10, 20)]


def test_merge_touching_intervals():
    assert merge([Interval(0, 30), Interval(30, 60)]) == [Interval(0, 60)]


def test_free_slots():
    day = Interval(540, 1020)
    busy = [Interval(600, 660), Interval(630, 700), Interval(1000, 1100)]
    assert free_slots(busy, day, minimum=30) == [Interval(540, 600), Interval(700, 1000)]


def test_hhmm():
    assert parse_hhmm("09:30") == 570
    assert format_hhmm(570) == "09:30"
    with pytest.raises(ValueError):
        parse_hhmm("25:00")
