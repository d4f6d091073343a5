from agenda.intervals import Interval
from agenda.planner import Rooms, common_free_time, first_slot

DAY = Interval(540, 1020)


def test_common_free_time():
    calendars = {"ann": [Interval(540, 600)], "bob": [Interval(660, 720)]}
    assert common_free_time(calendars, DAY, 30) == [Interval(600, 660), Interval(720, 1020)]


def test_first_slot_and_none():
    calendars = {"ann": [Interval(540, 600)], "bob": [Interval(610, 1020)]}
    assert first_slot(calendars, DAY, 10) == Interval(600, 610)
    assert first_slot(calendars, DAY, 30) is None


def test_rooms_book_first_free():
    rooms = Rooms(["small", "large"])
    assert rooms.book(Interval(600, 660)) == "small"
    assert rooms.book(Interval(630, 700)) == "large"
    assert rooms.book(Interval(660, 720)) == "small"
    assert rooms.book(Interval(640, 650)) is None


def test_busy_minutes_counts_back_to_back_bookings_once():
    rooms = Rooms(["a"])
    rooms.book(Interval(600, 630))
    rooms.book(Interval(630, 660))
    assert rooms.busy_minutes("a") == 60
