"""nl_consumer: the 14-dagenbrief, the WIK costs and the hand-off, walked day by day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from models.enums import CaseStage
from policies.nl_consumer import NL_CONSUMER, wik_costs


def test_wik_scale_bands_minimum_and_maximum() -> None:
    assert wik_costs(Decimal("100")) == Decimal("40.00")  # minimum
    assert wik_costs(Decimal("2500")) == Decimal("375.00")  # 15% of the first 2,500
    assert wik_costs(Decimal("5000")) == Decimal("625.00")  # + 10% of the next 2,500
    assert wik_costs(Decimal("10000")) == Decimal("875.00")  # + 5% of the next 5,000
    assert wik_costs(Decimal("200000")) == Decimal("2775.00")  # + 1% of the next 190,000
    assert wik_costs(Decimal("1000000")) == Decimal("6775.00")  # 0.5% above, capped at 6,775


# Posted in a week without holidays: the post delivers Tuesday to Saturday, so a letter counts as
# received on the second delivery day after posting; the 14 days run from the day after receipt,
# and an end on a Saturday or Sunday runs on to the Monday (Algemene termijnenwet art. 1).
# (weekday posted, days from posting to receipt, days from posting to the last day)
_WEEKDAYS = [
    ("monday", 2, 16),  # received Wednesday, last day Wednesday two weeks on
    ("tuesday", 2, 16),
    ("wednesday", 2, 16),
    ("thursday", 2, 18),  # received Saturday: the 14th day is a Saturday, so Monday
    ("friday", 4, 18),  # no delivery on Sunday or Monday: received Tuesday
    ("saturday", 4, 18),  # received Wednesday
    ("sunday", 3, 17),  # received Wednesday
]


async def _skip_to(env: WorkflowEnvironment, day: date, hour: int = 10) -> None:
    """Move the clock of a fresh server to `day`, in steps the test server handles well."""
    left = datetime.combine(day, time(hour), UTC) - await env.get_current_time()
    assert left > timedelta(0)
    while left > timedelta(0):
        step = min(left, timedelta(days=30))
        await env.sleep(step)
        left -= step


async def _walk_to_enforcement(case: Any, posted: date, last_day: date) -> None:
    """The letter went out on `posted` stating `last_day`; nothing follows until the day after."""
    letter = (await case.actions("wik.veertiendagenbrief"))[0]
    assert letter.at.date() == posted
    assert f"pay by {last_day.isoformat()}" in letter.detail
    advance = next(a for a in (await case.state()).next_actions if a.key == "early.advance")
    assert advance.due == last_day + timedelta(days=1)
    assert "ECLI:NL:HR:2016:2704" in advance.citation and "termijnenwet art. 1" in advance.citation
    # the assessment opens eleven days after posting and is due on the last day
    await case.to(posted + timedelta(days=11))
    assessment = next(t for t in (await case.state()).open_tasks if t.kind == "forbearance_assessment")
    assert assessment.due == last_day
    await case.decide("forbearance_assessment", "not_appropriate")
    await case.to(last_day, hour=23)
    state = await case.state()
    assert state.stage == CaseStage.EARLY and state.fees == 0
    await case.to(last_day + timedelta(days=1), hour=1)
    state = await case.state()
    assert state.stage == CaseStage.ENFORCEMENT
    assert await case.fired_on("wik.collection_costs") == [last_day + timedelta(days=1)]
    assert await case.fired_on("enforcement.legal_collection") == [last_day + timedelta(days=1)]
    assert state.fees == Decimal("90.00")


@pytest.mark.parametrize(("weekday", "to_receipt", "to_last_day"), _WEEKDAYS, ids=[w[0] for w in _WEEKDAYS])
async def test_14_day_letter_posted_on_each_weekday(
    open_case: Any, time_env: WorkflowEnvironment, weekday: str, to_receipt: int, to_last_day: int
) -> None:
    now = (await time_env.get_current_time()).date()
    # a Monday in the second half of September, no Dutch holiday within five weeks
    year = now.year + 1
    monday = date(year, 9, 14) + timedelta(days=(-date(year, 9, 14).weekday()) % 7)
    posted = monday + timedelta(days=[w[0] for w in _WEEKDAYS].index(weekday))
    assert NL_CONSUMER.receipt(posted) == posted + timedelta(days=to_receipt)
    # the cadence posts the letter on day 21 of delinquency
    await _skip_to(time_env, posted - timedelta(days=20))
    case = await open_case("nl_consumer", days_past_due=1, arrears="600.00")
    await case.to(case.day(20))
    assert await case.fired_on("wik.veertiendagenbrief") == []
    await case.to(case.day(21))
    letter = (await case.actions("wik.veertiendagenbrief"))[0]
    assert letter.amount == Decimal("90.00") == wik_costs(Decimal("600.00"))
    assert letter.citation == "art. 6:96 lid 6 BW"
    await _walk_to_enforcement(case, posted, posted + timedelta(days=to_last_day))


# (scenario, posted, last day stated in the letter); the first year still ahead of the clock runs.
_AROUND_HOLIDAYS = [
    # no delivery on Goede Vrijdag, on Monday or on Tweede Paasdag: received Tue 30 March
    ("easter", date(2027, 3, 25), date(2027, 4, 13)),
    ("easter", date(2028, 4, 13), date(2028, 5, 2)),
    # the 14th day is Koningsdag (Tue 27 April 2027, Thu 27 April 2028)
    ("kings_day", date(2027, 4, 9), date(2027, 4, 28)),
    ("kings_day", date(2028, 4, 11), date(2028, 4, 28)),
    # the 14th day is 5 May, a holiday under the Atw every year; 6 May 2027 is Hemelvaartsdag
    ("fifth_of_may", date(2027, 4, 19), date(2027, 5, 7)),
    ("fifth_of_may", date(2028, 4, 19), date(2028, 5, 8)),
    # the 14th day is Christmas Day on a Saturday (2027) or Tweede Kerstdag (2028)
    ("christmas", date(2027, 12, 9), date(2027, 12, 27)),
    ("christmas", date(2028, 12, 8), date(2028, 12, 27)),
    # the 14th day is New Year's Day on a Saturday (2028) or the Saturday before it (2028-12-30)
    ("new_year", date(2027, 12, 16), date(2028, 1, 3)),
    ("new_year", date(2028, 12, 14), date(2029, 1, 2)),
]


@pytest.mark.parametrize("scenario", sorted({s[0] for s in _AROUND_HOLIDAYS}))
async def test_14_day_letter_around_holidays(
    open_case: Any, time_env: WorkflowEnvironment, scenario: str
) -> None:
    now = (await time_env.get_current_time()).date()
    ahead = [(p, last) for name, p, last in _AROUND_HOLIDAYS if name == scenario and p > now]
    assert ahead, f"add the {scenario} scenario of a year after {now.year}"
    posted, last_day = ahead[0]
    await _skip_to(time_env, posted)
    # first seen at 70 days past due: the letter goes out at once
    case = await open_case("nl_consumer", days_past_due=70, arrears="600.00")
    await _walk_to_enforcement(case, posted, last_day)


async def test_bad_payer_gets_the_letter_at_once_even_mid_life(open_case: Any) -> None:
    case = await open_case("nl_consumer", days_past_due=130, arrears="6000.00", balance="9000.00")
    state = await case.state()
    assert state.segment == "bad" and state.stage == CaseStage.EARLY  # the letter must come first
    assert await case.fired_on("wik.veertiendagenbrief") == [await case.today()]


async def test_no_legal_collection_until_forbearance_was_considered(open_case: Any) -> None:
    case = await open_case("nl_consumer", days_past_due=1, arrears="600.00")
    await case.to(case.day(45))
    state = await case.state()
    assert state.stage == CaseStage.EARLY  # CCD2 Art. 35: forbearance first
    assert next(t for t in state.open_tasks if t.kind == "forbearance_assessment").status == "escalated"
    await case.decide("forbearance_assessment", "declined_by_borrower")
    assert (await case.state()).stage == CaseStage.ENFORCEMENT
    assert await case.fired_on("enforcement.legal_collection") == [case.day(45)]


async def test_more_than_90_days_on_a_material_amount_is_a_default_on_day_91(open_case: Any) -> None:
    # EUR 600 past due on a EUR 10,000 exposure: above EUR 100 and above 1 %
    case = await open_case("nl_consumer", days_past_due=1, arrears="600.00", balance="10000.00")
    await case.to(case.day(90), hour=23)
    assert (await case.state()).eba.defaulted_on is None
    await case.to(case.day(91), hour=1)
    state = await case.state()
    assert state.eba.defaulted_on == case.day(91) and state.eba.non_performing
    [action] = await case.actions("eba.default")
    assert action.citation.startswith("CRR Art. 178(1)(b)") and "2018/171" in action.citation


async def test_arrears_below_one_percent_of_the_exposure_are_not_material(open_case: Any) -> None:
    # EUR 600 past due on EUR 150,000: above EUR 100 but below 1 % (EUR 1,500)
    case = await open_case("nl_consumer", days_past_due=1, arrears="600.00", balance="150000.00")
    await case.to(case.day(130))
    state = await case.state()
    assert state.eba.defaulted_on is None and not state.eba.non_performing
