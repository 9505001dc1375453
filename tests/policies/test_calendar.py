"""Business-day calendars: weekends, each country's holidays, and counting."""

from datetime import date

from policies.calendar import (
    add_business_days,
    add_months,
    easter_sunday,
    nl_holidays,
    se_holidays,
    us_holidays,
)


def test_easter() -> None:
    assert [easter_sunday(y) for y in (2025, 2026, 2027)] == [
        date(2025, 4, 20),
        date(2026, 4, 5),
        date(2027, 3, 28),
    ]


def test_us_federal_holidays_with_observed_days() -> None:
    h = us_holidays(2026)
    assert date(2026, 11, 26) in h  # Thanksgiving, fourth Thursday
    assert date(2026, 7, 3) in h  # 4 July is a Saturday: observed Friday
    assert date(2026, 5, 25) in h  # Memorial Day, last Monday of May
    assert date(2027, 12, 24) in us_holidays(2027)  # Christmas 2027 is a Saturday


def test_dutch_and_swedish_holidays() -> None:
    assert date(2025, 4, 26) in nl_holidays(2025)  # Koningsdag on a Sunday moves to Saturday
    assert date(2025, 5, 5) in nl_holidays(2025) and date(2026, 5, 5) not in nl_holidays(2026)
    assert date(2026, 6, 19) in se_holidays(2026)  # Midsommarafton, a Friday
    assert date(2026, 4, 6) in se_holidays(2026) and date(2026, 4, 6) in nl_holidays(2026)


def test_five_business_days_skip_weekends_and_holidays() -> None:
    assert add_business_days(date(2026, 11, 16), 5, "US") == date(2026, 11, 23)  # a weekend only
    assert add_business_days(date(2026, 11, 23), 5, "US") == date(2026, 12, 1)  # + Thanksgiving
    assert add_business_days(date(2026, 12, 22), 5, "SE") == date(2027, 1, 4)  # Christmas, New Year


def test_add_months_clamps_to_the_month_end() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
