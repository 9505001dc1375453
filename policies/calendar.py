"""Business-day calendars with public holidays, computed (no tables to go stale). Pure."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month = (h + l_ - 7 * m + 114) // 31
    day = (h + l_ - 7 * m + 114) % 31 + 1
    return date(year, month, day)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th (1-based; -1 = last) given weekday (Mon=0) of a month."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = (date(year, month % 12 + 1, 1) if month < 12 else date(year + 1, 1, 1)) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: date) -> date:
    """US federal rule: a Saturday holiday is observed Friday, a Sunday one Monday."""
    if day.weekday() == 5:
        return day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


@lru_cache(maxsize=256)
def us_holidays(year: int) -> frozenset[date]:
    """US federal holidays as observed (5 U.S.C. 6103), the days that fall in `year`.

    New Year's Day on a Saturday is observed on Friday 31 December (6103(b)(1)): that day belongs
    to the year before, and the year whose 1 January it is has no New Year's holiday of its own.
    """
    days = {
        _observed(date(year, 1, 1)),
        _observed(date(year + 1, 1, 1)),
        _nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        _nth_weekday(year, 5, 0, -1),  # Memorial Day
        _observed(date(year, 6, 19)),  # Juneteenth
        _observed(date(year, 7, 4)),
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 10, 0, 2),  # Columbus Day
        _observed(date(year, 11, 11)),  # Veterans Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
        _observed(date(year, 12, 25)),
    }
    return frozenset(d for d in days if d.year == year)


@lru_cache(maxsize=256)
def nl_holidays(year: int) -> frozenset[date]:
    """Algemeen erkende feestdagen (Algemene termijnenwet art. 3): lid 1, 5 May every year
    included, and Goede Vrijdag (lid 2). Days equated by decree under lid 3 are not included."""
    easter = easter_sunday(year)
    kings_day = date(year, 4, 27)
    if kings_day.weekday() == 6:
        kings_day -= timedelta(days=1)
    days = {
        date(year, 1, 1),
        easter - timedelta(days=2),  # Goede Vrijdag
        easter + timedelta(days=1),  # Tweede Paasdag
        kings_day,
        easter + timedelta(days=39),  # Hemelvaartsdag
        easter + timedelta(days=50),  # Tweede Pinksterdag
        date(year, 5, 5),  # Bevrijdingsdag: a holiday under the Atw every year, not every fifth
        date(year, 12, 25),
        date(year, 12, 26),
    }
    return frozenset(days)


@lru_cache(maxsize=256)
def se_holidays(year: int) -> frozenset[date]:
    """Swedish public holidays (lag 1989:253) plus Midsommarafton, Julafton and Nyårsafton."""
    easter = easter_sunday(year)
    midsummer_eve = date(year, 6, 19) + timedelta(days=(4 - date(year, 6, 19).weekday()) % 7)
    return frozenset(
        {
            date(year, 1, 1),
            date(year, 1, 6),
            easter - timedelta(days=2),  # Långfredagen
            easter + timedelta(days=1),  # Annandag påsk
            date(year, 5, 1),
            easter + timedelta(days=39),  # Kristi himmelsfärdsdag
            date(year, 6, 6),
            midsummer_eve,
            midsummer_eve + timedelta(days=1),  # Midsommardagen
            # Alla helgons dag: the Saturday between 31 Oct and 6 Nov (a weekend day anyway)
            date(year, 12, 24),
            date(year, 12, 25),
            date(year, 12, 26),
            date(year, 12, 31),
        }
    )


@lru_cache(maxsize=256)
def be_holidays(year: int) -> frozenset[date]:
    """Belgian legal public holidays (wet van 4 januari 1974 betreffende de feestdagen, art. 1;
    loi du 4 janvier 1974 relative aux jours fériés; KB/AR 18 april 1974, art. 1): a holiday on a
    Sunday stays on the Sunday for the calendar (the replacement day is an employer's, not the
    law's); regional and community days (11 July, 27 September, 15 November) are not legal ones."""
    easter = easter_sunday(year)
    return frozenset(
        {
            date(year, 1, 1),  # Nieuwjaar / Nouvel An
            easter + timedelta(days=1),  # Paasmaandag / lundi de Pâques
            date(year, 5, 1),  # Feest van de Arbeid / fête du Travail
            easter + timedelta(days=39),  # O.L.H.-Hemelvaart / Ascension
            easter + timedelta(days=50),  # Pinkstermaandag / lundi de Pentecôte
            date(year, 7, 21),  # Nationale feestdag / fête nationale
            date(year, 8, 15),  # O.L.V.-Hemelvaart / Assomption
            date(year, 11, 1),  # Allerheiligen / Toussaint
            date(year, 11, 11),  # Wapenstilstand / Armistice
            date(year, 12, 25),  # Kerstmis / Noël
        }
    )


_CALENDARS = {"US": us_holidays, "NL": nl_holidays, "SE": se_holidays, "BE": be_holidays}


def is_business_day(day: date, country: str) -> bool:
    """Monday to Friday and not a public holiday of the country."""
    return day.weekday() < 5 and day not in _CALENDARS[country](day.year)


def add_business_days(start: date, days: int, country: str) -> date:
    """The `days`-th business day after `start` (start itself not counted)."""
    current, left = start, days
    while left > 0:
        current += timedelta(days=1)
        if is_business_day(current, country):
            left -= 1
    return current


def next_business_day(day: date, country: str) -> date:
    """`day` itself if it is a business day, else the next one."""
    while not is_business_day(day, country):
        day += timedelta(days=1)
    return day


def add_months(start: date, months: int) -> date:
    """Same day-of-month `months` later, clamped to the month's end."""
    month0 = start.month - 1 + months
    year, month = start.year + month0 // 12, month0 % 12 + 1
    for day in (start.day, 30, 29, 28):
        try:
            return date(year, month, min(start.day, day))
        except ValueError:
            continue
    raise AssertionError("unreachable")
