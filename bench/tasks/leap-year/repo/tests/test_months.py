from datetime import date

import pytest
from calendarx.months import (
    add_months,
    days_in_month,
    end_of_month,
    is_leap_year,
    months_between,
)


@pytest.mark.parametrize(("year", "leap"), [(2023, False), (2024, True), (1900, False)])
def test_leap_years(year, leap):
    assert is_leap_year(year) is leap


def test_year_2000_is_leap():
    assert is_leap_year(2000)
    assert days_in_month(2000, 2) == 29


def test_days_in_month():
    assert days_in_month(2023, 2) == 28
    assert days_in_month(2023, 4) == 30
    with pytest.raises(ValueError):
        days_in_month(2023, 13)


def test_add_months_simple_and_across_years():
    assert add_months(date(2023, 5, 15), 1) == date(2023, 6, 15)
    assert add_months(date(2023, 11, 30), 3) == date(2024, 2, 29)
    assert add_months(date(2023, 1, 15), -2) == date(2022, 11, 15)


def test_add_months_clamps_day():
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2000, 1, 31), 1) == date(2000, 2, 29)


def test_end_of_month():
    assert end_of_month(date(2024, 2, 3)) == date(2024, 2, 29)


def test_months_between():
    assert months_between(date(2023, 1, 31), date(2023, 2, 28)) == 1
    assert months_between(date(2023, 1, 15), date(2023, 4, 15)) == 3
    assert months_between(date(2023, 4, 15), date(2023, 1, 16)) == -2
