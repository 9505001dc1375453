"""CaseWorkflow on the time-skipping server, with the real activities writing to PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import col, select
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from arrears.db import Database
from arrears.intake import IntakeService
from arrears.temporal import build_worker
from models.audit import AuditEvent
from models.cases import Case
from models.enums import CaseOutcome, CaseStage, CaseStatus
from models.payments import Payment
from tests.factories import delinquency
from workflows.case import CaseWorkflow
from workflows.dto import CaseState, PaymentSignal


@pytest.fixture(scope="module")
async def skipping_intake(time_env: WorkflowEnvironment, db: Database) -> AsyncIterator[IntakeService]:
    queue = f"ts-{uuid.uuid4()}"
    async with build_worker(time_env.client, db, task_queue=queue):
        yield IntakeService(db, time_env.client, task_queue=queue)


async def _open(
    intake: IntakeService, env: WorkflowEnvironment, **row: Any
) -> WorkflowHandle[CaseWorkflow, CaseState]:
    today = (await env.get_current_time()).date()
    record = delinquency(as_of=today, **row)
    result = await intake.ingest([(1, record)], source="test")
    assert result.opened == 1, result.errors
    return env.client.get_workflow_handle_for(CaseWorkflow.run, f"loan-{record['loan_id']}")


def _payment(amount: str, external_id: str | None = None) -> PaymentSignal:
    from datetime import UTC, datetime

    return PaymentSignal(
        external_id=external_id or f"P-{uuid.uuid4().hex[:10]}",
        amount=Decimal(amount),
        currency="USD",
        received_at=datetime.now(UTC),
    )


async def _state(handle: WorkflowHandle[CaseWorkflow, CaseState]) -> CaseState:
    return await handle.query(CaseWorkflow.state)


async def test_case_reaches_early_and_answers_state(
    skipping_intake: IntakeService, time_env: WorkflowEnvironment
) -> None:
    handle = await _open(skipping_intake, time_env, days_past_due=20)
    state = await _state(handle)
    assert state.stage == CaseStage.EARLY
    assert state.arrears == Decimal("1500.00")
    assert state.days_past_due == 20
    assert [h.stage for h in state.history] == [CaseStage.EARLY]


async def test_days_past_due_follow_the_clock(
    skipping_intake: IntakeService, time_env: WorkflowEnvironment
) -> None:
    handle = await _open(skipping_intake, time_env, days_past_due=20, arrears="1500.00")
    today = (await time_env.get_current_time()).date()
    assert (await _state(handle)).delinquent_since == today - timedelta(days=20)
    await time_env.sleep(timedelta(days=30))
    await handle.signal(CaseWorkflow.payment, _payment("100.00"))
    await time_env.sleep(timedelta(minutes=1))
    state = await _state(handle)
    assert state.days_past_due == 50
    assert state.as_of.date() >= today + timedelta(days=30)


async def test_full_payment_cures_the_case_and_the_row_follows(
    skipping_intake: IntakeService, time_env: WorkflowEnvironment, db: Database
) -> None:
    handle = await _open(skipping_intake, time_env, arrears="1500.00")
    await handle.signal(CaseWorkflow.payment, _payment("600.00"))
    await handle.signal(CaseWorkflow.payment, _payment("900.00"))
    final = await handle.result()

    assert final.outcome == CaseOutcome.CURED
    assert final.stage == CaseStage.CLOSED
    assert final.arrears == 0
    async with db.session() as session:
        case = (await session.exec(select(Case).where(Case.id == final.case_id))).one()
        payments = (await session.exec(select(Payment).where(Payment.case_id == case.id))).all()
        actions = (
            await session.exec(
                select(AuditEvent.action).where(AuditEvent.case_id == case.id).order_by(col(AuditEvent.seq))
            )
        ).all()
    assert (case.status, case.stage, case.outcome) == (
        CaseStatus.CLOSED,
        CaseStage.CLOSED,
        CaseOutcome.CURED,
    )
    assert case.closed_at is not None
    assert case.arrears == 0
    assert sorted(p.amount for p in payments) == [Decimal("600.00"), Decimal("900.00")]
    assert actions == [
        "case.opened",
        "case.stage_changed",
        "payment.applied",
        "payment.applied",
        "case.stage_changed",
        "case.closed",
    ]


async def test_partial_payment_keeps_the_case_open(
    skipping_intake: IntakeService, time_env: WorkflowEnvironment
) -> None:
    handle = await _open(skipping_intake, time_env, arrears="1500.00")
    await handle.signal(CaseWorkflow.payment, _payment("1499.99"))
    await time_env.sleep(timedelta(days=1))
    state = await _state(handle)
    assert state.arrears == Decimal("0.01")
    assert state.stage == CaseStage.EARLY
    assert state.outcome is None


async def test_a_payment_sent_twice_is_applied_once(
    skipping_intake: IntakeService, time_env: WorkflowEnvironment, db: Database
) -> None:
    handle = await _open(skipping_intake, time_env, arrears="1500.00")
    payment = _payment("1000.00", external_id=f"DUP-{uuid.uuid4().hex[:8]}")
    await handle.signal(CaseWorkflow.payment, payment)
    await handle.signal(CaseWorkflow.payment, payment)
    await time_env.sleep(timedelta(hours=1))
    state = await _state(handle)
    assert state.arrears == Decimal("500.00")
    assert state.payments_applied == [payment.external_id]
    async with db.session() as session:
        stored = (await session.exec(select(Payment).where(Payment.external_id == payment.external_id))).all()
    assert len(stored) == 1
