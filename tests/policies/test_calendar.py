"""Business-day calendars: weekends, each country's holidays, and counting."""

from datetime import date, timedelta

import pytest

from policies.calendar import (
    add_business_days,
    add_months,
    be_holidays,
    easter_sunday,
    is_business_day,
    next_business_day,
    nl_holidays,
    se_holidays,
    us_holidays,
)

YEARS = range(2024, 2033)
EASTER = {
    2024: date(2024, 3, 31),
    2025: date(2025, 4, 20),
    2026: date(2026, 4, 5),
    2027: date(2027, 3, 28),
    2028: date(2028, 4, 16),
    2029: date(2029, 4, 1),
    2030: date(2030, 4, 21),
    2031: date(2031, 4, 13),
    2032: date(2032, 3, 28),
}


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
    assert date(2025, 5, 5) in nl_holidays(2025) and date(2026, 5, 5) in nl_holidays(2026)
    assert date(2026, 6, 19) in se_holidays(2026)  # Midsommarafton, a Friday
    assert date(2026, 4, 6) in se_holidays(2026) and date(2026, 4, 6) in nl_holidays(2026)


def test_five_business_days_skip_weekends_and_holidays() -> None:
    assert add_business_days(date(2026, 11, 16), 5, "US") == date(2026, 11, 23)  # a weekend only
    assert add_business_days(date(2026, 11, 23), 5, "US") == date(2026, 12, 1)  # + Thanksgiving
    assert add_business_days(date(2026, 12, 22), 5, "SE") == date(2027, 1, 4)  # Christmas, New Year


def test_add_months_clamps_to_the_month_end() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


def test_easter_over_the_years() -> None:
    assert {y: easter_sunday(y) for y in YEARS} == EASTER


# ---- US (5 U.S.C. 6103)


@pytest.mark.parametrize(
    ("new_year", "observed"),
    [(date(2022, 1, 1), date(2021, 12, 31)), (date(2028, 1, 1), date(2027, 12, 31))],
)
def test_us_new_year_on_a_saturday_is_observed_the_friday_before(new_year: date, observed: date) -> None:
    # 6103(b)(1): the Friday before, which lies in the year before
    assert observed in us_holidays(observed.year)
    assert not is_business_day(observed, "US")
    assert new_year not in us_holidays(new_year.year) and observed not in us_holidays(new_year.year)
    assert add_business_days(observed - timedelta(days=1), 1, "US") == observed + timedelta(days=3)


def test_us_observed_days_across_the_years() -> None:
    assert date(2023, 1, 2) in us_holidays(2023)  # New Year's Day on a Sunday: Monday
    assert date(2022, 12, 26) in us_holidays(2022)  # Christmas on a Sunday: Monday
    assert date(2032, 12, 24) in us_holidays(2032)  # Christmas on a Saturday: Friday
    assert date(2027, 6, 18) in us_holidays(2027)  # Juneteenth on a Saturday: Friday
    assert date(2027, 7, 5) in us_holidays(2027)  # Independence Day on a Sunday: Monday
    assert date(2028, 11, 10) in us_holidays(2028)  # Veterans Day on a Saturday: Friday
    for year in YEARS:
        h = us_holidays(year)
        assert len(h) == 11 - (date(year, 1, 1).weekday() == 5) + (date(year + 1, 1, 1).weekday() == 5)
        assert all(d.year == year and d.weekday() < 5 for d in h)


def test_us_business_days_across_the_year_end() -> None:
    # 2027: Christmas observed Fri 24 Dec, New Year's Day 2028 observed Fri 31 Dec
    assert add_business_days(date(2027, 12, 23), 1, "US") == date(2027, 12, 27)
    assert add_business_days(date(2027, 12, 27), 5, "US") == date(2028, 1, 4)
    assert next_business_day(date(2027, 12, 31), "US") == date(2028, 1, 3)
    # New Year's Day 2030 on a Tuesday, 2031 on a Wednesday
    assert add_business_days(date(2029, 12, 28), 2, "US") == date(2030, 1, 2)
    assert add_business_days(date(2030, 12, 31), 1, "US") == date(2031, 1, 2)
    # 2023: New Year's Day on a Sunday, observed Monday 2 January
    assert add_business_days(date(2022, 12, 30), 1, "US") == date(2023, 1, 3)


# ---- NL (Algemene termijnenwet art. 3)


@pytest.mark.parametrize("year", YEARS)
def test_nl_atw_holidays_every_year(year: int) -> None:
    h = nl_holidays(year)
    easter = EASTER[year]
    assert date(year, 5, 5) in h  # art. 3(1): 5 May every year, not every fifth
    assert easter - timedelta(days=2) in h  # Goede Vrijdag, art. 3(2)
    assert easter + timedelta(days=1) in h  # Tweede Paasdag
    assert easter + timedelta(days=39) in h  # Hemelvaartsdag
    assert easter + timedelta(days=50) in h  # Tweede Pinksterdag
    assert {date(year, 1, 1), date(year, 12, 25), date(year, 12, 26)} <= h
    assert len(h) == 9


def test_nl_kings_day_on_a_sunday_is_kept_on_the_saturday_before() -> None:
    assert date(2025, 4, 26) in nl_holidays(2025) and date(2025, 4, 27) not in nl_holidays(2025)
    assert date(2031, 4, 26) in nl_holidays(2031)  # 27 April 2031 is a Sunday too
    assert date(2027, 4, 27) in nl_holidays(2027) and date(2028, 4, 27) in nl_holidays(2028)


def test_nl_fifth_of_may_is_no_business_day_in_any_year() -> None:
    assert not is_business_day(date(2026, 5, 5), "NL")  # Tuesday
    assert not is_business_day(date(2027, 5, 5), "NL")  # Wednesday
    assert add_business_days(date(2027, 5, 4), 1, "NL") == date(2027, 5, 7)  # 6 May: Hemelvaartsdag
    assert add_business_days(date(2028, 5, 4), 1, "NL") == date(2028, 5, 8)  # Friday 5 May


def test_nl_business_days_across_the_year_end() -> None:
    assert add_business_days(date(2026, 12, 24), 1, "NL") == date(2026, 12, 28)
    assert add_business_days(date(2027, 12, 31), 1, "NL") == date(2028, 1, 3)
    assert add_business_days(date(2029, 12, 31), 1, "NL") == date(2030, 1, 2)  # Tuesday 1 January
    assert add_business_days(date(2030, 12, 23), 5, "NL") == date(2031, 1, 2)
    assert next_business_day(date(2032, 1, 1), "NL") == date(2032, 1, 2)


# ---- SE (lag 1989:253, with the eves counted as holidays)


@pytest.mark.parametrize("year", YEARS)
def test_se_holidays_every_year(year: int) -> None:
    h = se_holidays(year)
    easter = EASTER[year]
    assert {easter - timedelta(days=2), easter + timedelta(days=1), easter + timedelta(days=39)} <= h
    assert {
        date(year, m, d) for m, d in ((1, 1), (1, 6), (5, 1), (6, 6), (12, 24), (12, 25), (12, 26), (12, 31))
    } <= h
    [eve] = [d for d in h if d.month == 6 and 19 <= d.day <= 25 and d.weekday() == 4]  # Midsommarafton
    assert eve + timedelta(days=1) in h


def test_se_business_days_across_the_year_end() -> None:
    assert add_business_days(date(2029, 12, 21), 1, "SE") == date(2029, 12, 27)
    assert add_business_days(date(2030, 12, 30), 1, "SE") == date(2031, 1, 2)
    assert add_business_days(date(2031, 1, 3), 1, "SE") == date(2031, 1, 7)  # Trettondedag jul, a Monday
    assert add_business_days(date(2024, 12, 23), 3, "SE") == date(2025, 1, 2)  # 27 Dec, 30 Dec, 2 Jan


# ---- BE (wet van 4 januari 1974 betreffende de feestdagen, art. 1)


@pytest.mark.parametrize("year", YEARS)
def test_be_legal_holidays_every_year(year: int) -> None:
    h = be_holidays(year)
    easter = EASTER[year]
    assert {easter + timedelta(days=1), easter + timedelta(days=39), easter + timedelta(days=50)} <= h
    assert {date(year, m, d) for m, d in ((1, 1), (5, 1), (7, 21), (8, 15), (11, 1), (11, 11), (12, 25))} <= h
    assert len(h) == 10
    assert date(year, 12, 26) not in h and date(year, 7, 11) not in h  # not legal holidays in Belgium
    assert easter - timedelta(days=2) not in h  # Good Friday is a working day


def test_be_business_days_across_the_year_end() -> None:
    assert add_business_days(date(2024, 12, 24), 1, "BE") == date(2024, 12, 26)  # 26 Dec is no holiday
    assert add_business_days(date(2025, 12, 31), 1, "BE") == date(2026, 1, 2)
    assert add_business_days(date(2027, 12, 31), 1, "BE") == date(2028, 1, 3)  # Friday, then the weekend
    assert add_business_days(date(2029, 12, 31), 1, "BE") == date(2030, 1, 2)  # Tuesday 1 January
    assert add_business_days(date(2030, 12, 20), 5, "BE") == date(2030, 12, 30)  # 25 Dec a Wednesday
    assert add_business_days(date(2031, 12, 31), 3, "BE") == date(2032, 1, 6)
    assert next_business_day(date(2032, 1, 1), "BE") == date(2032, 1, 2)


def test_be_holidays_that_move_a_working_day_count() -> None:
    assert add_business_days(date(2026, 7, 20), 1, "BE") == date(2026, 7, 22)  # 21 July, a Tuesday
    assert add_business_days(date(2028, 8, 14), 1, "BE") == date(2028, 8, 16)  # 15 August, a Tuesday
    assert add_business_days(date(2027, 10, 29), 3, "BE") == date(2027, 11, 4)  # 1 Nov a Monday
    assert add_business_days(date(2026, 11, 10), 1, "BE") == date(2026, 11, 12)  # 11 Nov, a Wednesday
    assert not is_business_day(date(2026, 5, 14), "BE")  # Ascension 2026
    assert is_business_day(date(2026, 4, 3), "BE")  # Good Friday
