"""Days past due from the due schedule, walked on the time-skipping server: a payment that covers
the two oldest instalments moves the day the delinquency began, and with it the 120-day rule,
the CRR day-91 default and the days past due the database counts (12 CFR 1024.31)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlmodel import select

from arrears.db import Database
from models.cases import Case
from models.delinquency import case_days_past_due
from models.enums import CaseStage
from policies.delinquency import DELINQUENCY_RULE
from workflows.dto import CaseState


def _on_a_due_day(today: date, around: int) -> int:
    """Days past due near `around` whose oldest due date falls on a day every month has."""
    return next(d for d in range(around, around + 4) if (today - timedelta(days=d)).day <= 28)


async def _in_sql(db: Database, state: CaseState) -> tuple[date, int, date]:
    """The case row's delinquency start and days past due, and the database's today."""
    async with db.session() as session:
        row = await session.get(Case, state.case_id)
        assert row is not None
        days = (await session.exec(select(case_days_past_due()).where(Case.id == state.case_id))).one()
        today = (await session.exec(select(func.current_date()))).one()
    return row.delinquent_since, days, today


async def test_paying_the_two_oldest_moves_the_delinquency_and_the_120_day_rule(
    open_case: Any, time_env: Any, db: Database
) -> None:
    today = (await time_env.get_current_time()).date()
    dpd = _on_a_due_day(today, 100)
    oldest = today - timedelta(days=dpd)
    case = await open_case(days_past_due=dpd, arrears="4000.00", installment="1000.00", due_day=oldest.day)
    state = await case.state()
    assert state.schedule[0].due == oldest and len(state.schedule) == 4
    assert state.delinquent_since == oldest and state.days_past_due == dpd

    await case.pay("2000.00", external_id="P-two-oldest")
    state = await case.state()
    third = state.schedule[2].due
    assert [i.covered_by for i in state.schedule] == [("P-two-oldest",), ("P-two-oldest",), (), ()]
    assert state.delinquent_since == third
    assert state.days_past_due == (today - third).days
    # the read model counts from the same day
    since, days, db_today = await _in_sql(db, state)
    assert (since, days) == (third, (db_today - third).days)

    # day 121 counted from the reported day: no foreclosure, the case stays early
    await case.to(case.day(122))
    state = await case.state()
    assert state.stage == CaseStage.EARLY
    assert not [a for a in state.actions if a.foreclosure]
    # day 121 counted from the oldest unpaid instalment: the review may begin
    await case.to(third + timedelta(days=120), hour=23)
    assert (await case.state()).stage == CaseStage.EARLY
    await case.to(third + timedelta(days=121), hour=1)
    assert (await case.state()).stage == CaseStage.ENFORCEMENT
    await case.decide("scra_check", "not_active")
    assert await case.fired_on("foreclosure.attorney_referral") == [third + timedelta(days=121)]


async def test_a_partial_payment_leaves_the_delinquency_where_it_began(open_case: Any, time_env: Any) -> None:
    today = (await time_env.get_current_time()).date()
    dpd = _on_a_due_day(today, 40)
    oldest = today - timedelta(days=dpd)
    case = await open_case(days_past_due=dpd, arrears="2000.00", installment="1000.00", due_day=oldest.day)
    await case.pay("999.99")
    state = await case.state()
    assert state.delinquent_since == oldest and state.arrears == Decimal("1000.01")
    assert state.days_past_due == dpd


async def test_the_crr_default_counts_from_the_oldest_unpaid_instalment(
    open_case: Any, time_env: Any
) -> None:
    today = (await time_env.get_current_time()).date()
    dpd = _on_a_due_day(today, 80)
    oldest = today - timedelta(days=dpd)
    case = await open_case(
        "se_consumer", days_past_due=dpd, arrears="6000.00", installment="2000.00", due_day=oldest.day
    )
    await case.pay("2000.00")
    second = (await case.state()).delinquent_since
    assert second > oldest
    await case.to(case.day(95))
    assert (await case.state()).eba.defaulted_on is None  # day 95 from the reported day: not yet
    await case.to(second + timedelta(days=90))
    assert (await case.state()).eba.defaulted_on is None
    await case.to(second + timedelta(days=91))
    assert (await case.state()).eba.defaulted_on == second + timedelta(days=91)


def test_the_rule_cites_reg_x_and_the_crr() -> None:
    assert "12 CFR 1024.31" in DELINQUENCY_RULE.citation
    assert "CRR Art. 178" in DELINQUENCY_RULE.citation
