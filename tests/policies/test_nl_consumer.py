"""nl_consumer: the 14-dagenbrief's receipt and last day, on the post's delivery days and the Atw."""

from dataclasses import replace
from datetime import date, timedelta

import pytest

from models.enums import Channel
from policies.nl_consumer import NL_CONSUMER

# days from posting to receipt and to the last day, by weekday posted (Monday first), in a week
# without holidays: the post delivers Tuesday to Saturday
_RECEIPT = (2, 2, 2, 2, 4, 4, 3)
_LAST_DAY = (16, 16, 16, 18, 18, 18, 17)


@pytest.mark.parametrize("year", range(2024, 2033))
def test_letters_posted_on_each_weekday(year: int) -> None:
    monday = date(year, 9, 14) + timedelta(days=(-date(year, 9, 14).weekday()) % 7)
    for weekday in range(7):
        posted = monday + timedelta(days=weekday)
        assert NL_CONSUMER.receipt(posted) == posted + timedelta(days=_RECEIPT[weekday])
        assert NL_CONSUMER.letter_deadline(posted) == posted + timedelta(days=_LAST_DAY[weekday])


@pytest.mark.parametrize(
    ("posted", "receipt", "last_day"),
    [
        # Goede Vrijdag and Tweede Paasdag: no delivery
        (date(2027, 3, 25), date(2027, 3, 30), date(2027, 4, 13)),
        (date(2028, 4, 13), date(2028, 4, 18), date(2028, 5, 2)),
        (date(2024, 3, 28), date(2024, 4, 2), date(2024, 4, 16)),  # Mon 1 April: Tweede Paasdag
        # the 14th day on Koningsdag
        (date(2027, 4, 9), date(2027, 4, 13), date(2027, 4, 28)),
        (date(2028, 4, 11), date(2028, 4, 13), date(2028, 4, 28)),
        (date(2029, 4, 11), date(2029, 4, 13), date(2029, 4, 30)),  # Fri 27 April, then the weekend
        # the 14th day on 5 May (6 May 2027 is Hemelvaartsdag too)
        (date(2026, 4, 17), date(2026, 4, 21), date(2026, 5, 6)),
        (date(2027, 4, 19), date(2027, 4, 21), date(2027, 5, 7)),
        (date(2028, 4, 19), date(2028, 4, 21), date(2028, 5, 8)),
        # Christmas and New Year
        (date(2026, 12, 9), date(2026, 12, 11), date(2026, 12, 28)),
        (date(2027, 12, 9), date(2027, 12, 11), date(2027, 12, 27)),
        (date(2028, 12, 8), date(2028, 12, 12), date(2028, 12, 27)),
        (date(2027, 12, 16), date(2027, 12, 18), date(2028, 1, 3)),
        (date(2028, 12, 14), date(2028, 12, 16), date(2029, 1, 2)),
        (date(2030, 12, 23), date(2030, 12, 27), date(2031, 1, 10)),  # delivered 24 and 27 Dec
    ],
)
def test_letters_around_holidays(posted: date, receipt: date, last_day: date) -> None:
    assert NL_CONSUMER.receipt(posted) == receipt
    assert NL_CONSUMER.letter_deadline(posted) == last_day


def test_an_email_is_received_the_day_it_is_sent() -> None:
    assert NL_CONSUMER.receipt(date(2027, 9, 17), Channel.EMAIL) == date(2027, 9, 17)
    assert NL_CONSUMER.letter_deadline(date(2027, 9, 17), Channel.EMAIL) == date(2027, 10, 1)  # a Friday
    assert NL_CONSUMER.letter_deadline(date(2027, 9, 18), Channel.EMAIL) == date(2027, 10, 4)  # Sat: Monday
    assert NL_CONSUMER.letter_deadline(date(2027, 4, 21), Channel.EMAIL) == date(2027, 5, 7)  # 5 and 6 May


def test_the_plan_states_the_last_day_and_advances_the_day_after() -> None:
    from decimal import Decimal

    from models.enums import Segment

    steps = NL_CONSUMER.early_letters(
        segment=Segment.BAD,
        delinquent_since=date(2027, 10, 1),
        arrears=Decimal("600.00"),
        today=date(2027, 12, 9),
        taken={},
    )
    letter, assessment, advance = steps
    assert letter.day == date(2027, 12, 9) and letter.deadline == date(2027, 12, 27)
    assert "pay by 2027-12-27" in (letter.detail or "")
    assert assessment.day == date(2027, 12, 20) and assessment.sla_due == date(2027, 12, 27)
    assert advance.day == date(2027, 12, 28)
    assert "ECLI:NL:HR:2016:2704" in advance.rule.citation


def test_runs_planned_before_receipt_was_counted_keep_posting_plus_sixteen_days() -> None:
    legacy = replace(NL_CONSUMER, letter_rules=1)
    assert legacy.letter_deadline(date(2027, 12, 9)) == date(2027, 12, 25)
    assert legacy.letter_deadline(date(2027, 12, 10)) == date(2027, 12, 26)
