"""nl_consumer: the 14-dagenbrief, the WIK costs and the hand-off, walked day by day."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from models.enums import CaseStage
from policies.nl_consumer import wik_costs


def test_wik_scale_bands_minimum_and_maximum() -> None:
    assert wik_costs(Decimal("100")) == Decimal("40.00")  # minimum
    assert wik_costs(Decimal("2500")) == Decimal("375.00")  # 15% of the first 2,500
    assert wik_costs(Decimal("5000")) == Decimal("625.00")  # + 10% of the next 2,500
    assert wik_costs(Decimal("10000")) == Decimal("875.00")  # + 5% of the next 5,000
    assert wik_costs(Decimal("200000")) == Decimal("2775.00")  # + 1% of the next 190,000
    assert wik_costs(Decimal("1000000")) == Decimal("6775.00")  # 0.5% above, capped at 6,775


async def test_14_day_letter_states_the_costs_and_the_handoff_waits_for_the_period(open_case: Any) -> None:
    case = await open_case("nl_consumer", days_past_due=1, arrears="600.00")
    await case.to(case.day(20))
    assert await case.fired_on("wik.veertiendagenbrief") == []
    await case.to(case.day(21))
    letter = (await case.actions("wik.veertiendagenbrief"))[0]
    assert letter.at.date() == case.day(21)
    assert letter.amount == Decimal("90.00") == wik_costs(Decimal("600.00"))
    assert letter.citation == "art. 6:96 lid 6 BW"
    # posted on day 21, received day 23; the 14 days run from day 24 to day 37 inclusive
    assert f"pay by {case.day(37).isoformat()}" in letter.detail
    await case.to(case.day(32))
    assessment = next(t for t in (await case.state()).open_tasks if t.kind == "forbearance_assessment")
    assert assessment.due == case.day(37) and assessment.citation == "Directive (EU) 2023/2225 Art. 35(1)"
    await case.decide("forbearance_assessment", "not_appropriate")
    await case.to(case.day(37), hour=23)
    state = await case.state()
    assert state.stage == CaseStage.EARLY and state.fees == 0
    await case.to(case.day(38), hour=1)
    state = await case.state()
    assert state.stage == CaseStage.ENFORCEMENT
    assert await case.fired_on("wik.collection_costs") == [case.day(38)]
    assert await case.fired_on("enforcement.legal_collection") == [case.day(38)]
    assert state.fees == Decimal("90.00")


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
