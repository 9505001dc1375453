"""se_consumer: inkassokrav with its fee and payment period, then Kronofogden."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from models.enums import CaseStage


async def test_inkassokrav_fee_period_then_payment_order_and_attachment(open_case: Any) -> None:
    case = await open_case("se_consumer", days_past_due=1)
    await case.to(case.day(19))
    assert await case.fired_on("inkasso.inkassokrav") == []
    await case.to(case.day(20))
    demand = (await case.actions("inkasso.inkassokrav"))[0]
    assert demand.at.date() == case.day(20) and demand.citation == "Inkassolag (1974:182) 5 §"
    assert f"pay by {case.day(28).isoformat()}" in demand.detail  # eight days to pay
    assert (await case.state()).fees == Decimal("180.00")
    await case.to(case.day(23))
    await case.decide("forbearance_assessment", "not_appropriate")
    await case.to(case.day(28), hour=23)
    assert (await case.state()).stage == CaseStage.EARLY
    await case.to(case.day(29), hour=1)
    state = await case.state()
    assert state.stage == CaseStage.ENFORCEMENT
    assert await case.fired_on("kronofogden.betalningsforelaggande") == [case.day(29)]
    assert state.fees == Decimal("480.00")  # 180 kr inkassokrav + 300 kr payment order
    await case.to(case.day(58))
    assert await case.fired_on("kronofogden.utmatning") == []
    await case.to(case.day(59))
    attachment = (await case.actions("kronofogden.utmatning"))[0]
    assert attachment.at.date() == case.day(59)
    assert "the home last" in attachment.detail


async def test_payment_plan_carries_the_statutory_170_kr_fee(open_case: Any) -> None:
    from workflows.case import CaseWorkflow
    from workflows.dto import ForbearanceRequest

    case = await open_case("se_consumer", days_past_due=10)
    await case.handle.execute_update(
        CaseWorkflow.request_forbearance,
        ForbearanceRequest(
            by="agent", reason="hardship", kind="reduced", months=3, reduced_amount=Decimal("500")
        ),
    )
    await case.settle()
    state = await case.state()
    assert state.stage == CaseStage.FORBEARANCE and state.fees == Decimal("170.00")
    assert state.eba.forborne and state.eba.cure_period_ends is not None


async def test_default_needs_more_than_sek_1000_past_due(open_case: Any) -> None:
    # fees count as past due: 400 kr plus at most the 180 kr and 300 kr fees stays under 1,000 kr
    small = await open_case("se_consumer", days_past_due=80, arrears="400.00", balance="5000.00")
    large = await open_case("se_consumer", days_past_due=80, arrears="4000.00", balance="20000.00")
    await large.to(large.day(91), hour=1)
    assert (await large.state()).eba.defaulted_on == large.day(91)
    assert (await small.state()).eba.defaulted_on is None  # under the absolute threshold
    state = await small.state()
    assert state.arrears + state.fees <= Decimal("1000")


FEES_LAW = "Lag (1981:739) om ersättning för inkassokostnader m.m. 4 §"


async def test_the_reminder_fee_is_charged_on_the_reminder_day_only_where_agreed(open_case: Any) -> None:
    agreed = await open_case("se_consumer", days_past_due=1, reminder_fee_agreed=True)
    silent = await open_case("se_consumer", days_past_due=1)
    reminder_day = agreed.day(3)  # a forgetful payer's first reminder
    await agreed.to(reminder_day - timedelta(days=1), hour=23)
    assert (await agreed.state()).fees == Decimal("0")
    await agreed.to(reminder_day, hour=12)
    assert await agreed.fired_on("reminder.") == [reminder_day]
    fee = (await agreed.actions("fees.reminder"))[0]
    assert (fee.at.date(), fee.amount) == (reminder_day, Decimal("60.00"))
    assert fee.citation == f"{FEES_LAW}: 60 kr, where agreed when the debt arose"
    await agreed.to(agreed.day(9))  # the second reminder carries no second fee
    assert len(await agreed.fired_on("reminder.")) == 2
    assert (await agreed.state()).fees == Decimal("60.00")
    assert await silent.fired_on("reminder.") == [reminder_day, silent.day(8)]
    assert await silent.actions("fees.reminder") == [] and (await silent.state()).fees == Decimal("0")


async def test_every_fee_cites_the_lag_not_the_repealed_forordning(open_case: Any) -> None:
    case = await open_case("se_consumer", days_past_due=19)
    await case.to(case.day(20))
    fee = (await case.actions("fees.inkassokrav"))[0]
    assert fee.citation == f"{FEES_LAW}: 180 kr" and fee.amount == Decimal("180.00")
    from policies.se_consumer import R

    assert R["plan_fee"].citation == f"{FEES_LAW}: 170 kr"
    assert not any("1981:1057" in rule.citation for rule in R.values())
