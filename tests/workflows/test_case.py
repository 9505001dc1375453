"""CaseWorkflow basics: the early stage, the state query, payments and cure."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import col, select

from arrears.db import Database
from models.audit import AuditEvent
from models.cases import Case
from models.enums import CaseOutcome, CaseStage, CaseStatus
from models.payments import Payment


async def test_case_reaches_early_and_answers_state(open_case: Any) -> None:
    case = await open_case(days_past_due=20)
    state = await case.state()
    assert state.stage == CaseStage.EARLY
    assert state.arrears == Decimal("1500.00")
    assert state.days_past_due == 20
    assert state.delinquent_since == case.day(0)
    assert [h.stage for h in state.history] == [CaseStage.EARLY]
    assert state.next_actions, "the state shows what comes next"
    assert all(a.rule_id and a.citation for a in state.next_actions)


async def test_days_past_due_follow_the_clock(open_case: Any) -> None:
    case = await open_case(days_past_due=20, arrears="1500.00")
    await case.to(case.day(50))
    await case.pay("100.00")
    assert (await case.state()).days_past_due == 50


async def test_full_payment_cures_the_case_and_the_row_follows(open_case: Any, db: Database) -> None:
    case = await open_case(arrears="1500.00")
    await case.pay("600.00")
    await case.pay("900.00")
    final = await case.handle.result()

    assert final.outcome == CaseOutcome.CURED
    assert final.stage == CaseStage.CLOSED
    assert final.arrears == 0
    async with db.session() as session:
        row = (await session.exec(select(Case).where(Case.id == final.case_id))).one()
        payments = (await session.exec(select(Payment).where(Payment.case_id == row.id))).all()
        actions = (
            await session.exec(
                select(AuditEvent.action)
                .where(AuditEvent.case_id == row.id)
                .order_by(col(AuditEvent.arrival))
            )
        ).all()
    assert (row.status, row.stage, row.outcome) == (CaseStatus.CLOSED, CaseStage.CLOSED, CaseOutcome.CURED)
    assert row.closed_at is not None and row.arrears == 0
    assert sorted(p.amount for p in payments) == [Decimal("600.00"), Decimal("900.00")]
    lifecycle = [a for a in actions if a.startswith(("case.", "payment."))]
    assert lifecycle == [
        "case.opened",
        "case.stage_changed",
        "payment.applied",
        "payment.applied",
        "case.stage_changed",
        "case.closed",
    ]
    # the US live-contact and personnel tasks opened with the case are cancelled when it closes
    assert actions.count("task.created") == 2 and actions.count("task.cancelled") == 2


async def test_partial_payment_keeps_the_case_open(open_case: Any) -> None:
    case = await open_case(arrears="1500.00")
    await case.pay("1499.99")
    state = await case.state()
    assert state.arrears == Decimal("0.01")
    assert state.stage == CaseStage.EARLY and state.outcome is None


async def test_a_payment_sent_twice_is_applied_once(open_case: Any, db: Database, time_env: Any) -> None:
    case = await open_case(arrears="1500.00")
    external_id = f"DUP-{uuid.uuid4().hex[:8]}"
    await case.pay("1000.00", external_id)
    await case.pay("1000.00", external_id)
    await time_env.sleep(timedelta(hours=1))
    state = await case.state()
    assert state.arrears == Decimal("500.00")
    assert state.payments_applied == [external_id]
    async with db.session() as session:
        stored = (await session.exec(select(Payment).where(Payment.external_id == external_id))).all()
    assert len(stored) == 1
