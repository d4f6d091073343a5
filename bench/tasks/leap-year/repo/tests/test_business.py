from datetime import date

from calendarx.business import add_business_days, business_days_between, is_business_day

NEW_YEAR = date(2024, 1, 1)


def test_weekend_is_not_business_day():
    assert not is_business_day(date(2024, 1, 6))
    assert is_business_day(date(2024, 1, 5))
    assert not is_business_day(NEW_YEAR, [NEW_YEAR])


def test_add_business_days_skips_weekend_and_holiday():
    assert add_business_days(date(2023, 12, 29), 1, [NEW_YEAR]) == date(2024, 1, 2)
    assert add_business_days(date(2024, 1, 2), -1, [NEW_YEAR]) == date(2023, 12, 29)
    assert add_business_days(date(2024, 1, 3), 0) == date(2024, 1, 3)


def test_business_days_between():
    assert business_days_between(date(2024, 1, 1), date(2024, 1, 8)) == 5
    assert business_days_between(date(2024, 1, 8), date(2024, 1, 1), [NEW_YEAR]) == -4
