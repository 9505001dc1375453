"""Faults on the real servers: Temporal and PostgreSQL restarted in the middle of a run.

Each test owns the server it restarts (its own Temporal dev server on a persistent file, or its
own PostgreSQL), so the rest of the suite never sees the outage.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlmodel import col, func, select
from temporalio.client import Client, WorkflowHandle

from arrears import audit, migrate
from arrears.db import Database
from arrears.embedded import EmbeddedPostgres, TemporalDevServer, free_port
from arrears.intake import IntakeService
from arrears.runtime import wait_for_temporal
from arrears.temporal import build_worker
from models.audit import AuditEvent
from models.cases import Case
from models.documents import Message
from models.enums import CaseOutcome, CaseStage, CaseStatus
from models.payments import Payment
from tests.factories import delinquency
from workflows.case import CaseWorkflow
from workflows.dto import CaseState, PaymentSignal

CASES = 8


async def _open(intake: IntakeService, count: int) -> list[str]:
    """US cases 40 days past due as of today: the opening letters and reminders go to work at once."""
    today = datetime.now(UTC).date()
    rows = [delinquency(as_of=today, days_past_due=40, arrears="3000.00") for _ in range(count)]
    result = await intake.ingest(enumerate(rows, start=1), source="test")
    assert result.opened == count, result.errors
    return [f"loan-{r['loan_id']}" for r in rows]


async def _idle(client: Client, workflow_ids: list[str], within: float = 180) -> None:
    """Wait until every case is at rest: no activity or workflow task pending, and its history
    unchanged across two looks (local activities run inside workflow tasks)."""
    deadline = asyncio.get_running_loop().time() + within
    last: dict[str, int] = {}
    while True:
        busy = 0
        for wid in workflow_ids:
            raw = (await client.get_workflow_handle(wid).describe()).raw_description
            length = raw.workflow_execution_info.history_length
            if raw.pending_activities or raw.HasField("pending_workflow_task") or last.get(wid) != length:
                busy += 1
            last[wid] = length
        if busy == 0:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{busy} cases still busy after {within}s")
        await asyncio.sleep(1)


async def _timers(handle: WorkflowHandle[Any, Any]) -> dict[str, datetime]:
    """The timers a workflow is waiting on, with the instant each will fire."""
    started: dict[str, datetime] = {}
    async for event in handle.fetch_history_events():
        if event.HasField("timer_started_event_attributes"):
            attrs = event.timer_started_event_attributes
            started[attrs.timer_id] = (
                event.event_time.ToDatetime(UTC) + attrs.start_to_fire_timeout.ToTimedelta()
            )
        elif event.HasField("timer_fired_event_attributes"):
            started.pop(event.timer_fired_event_attributes.timer_id, None)
        elif event.HasField("timer_canceled_event_attributes"):
            started.pop(event.timer_canceled_event_attributes.timer_id, None)
    return started


def _audit_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM audit_events").fetchone()
        return int(row[0]) if row else 0


async def _pay(client: Client, wid: str, external_id: str, amount: str) -> None:
    payment = PaymentSignal(
        external_id=external_id, amount=Decimal(amount), currency="USD", received_at=datetime.now(UTC)
    )
    await client.get_workflow_handle(wid).signal(CaseWorkflow.payment, payment)


async def _state(client: Client, wid: str) -> CaseState:
    return await client.get_workflow_handle(wid).query(CaseWorkflow.state)


async def test_temporal_restart_mid_run_every_case_resumes_with_its_timers(
    db: Database, tmp_path: Path
) -> None:
    server = TemporalDevServer(
        db_file=tmp_path / "temporal.db", port=free_port(), ui_port=None, log_file=tmp_path / "log"
    )
    server.start()
    try:
        client = await wait_for_temporal(server.address, "default")
        queue = f"faults-{uuid.uuid4()}"
        intake = IntakeService(db, client, task_queue=queue)
        async with build_worker(client, db, task_queue=queue):
            workflow_ids = await _open(intake, CASES)
            await _idle(client, workflow_ids)
            before = {wid: await _state(client, wid) for wid in workflow_ids}
            timers = {wid: await _timers(client.get_workflow_handle(wid)) for wid in workflow_ids}
            assert all(timers.values()), "each case waits on a timer (its next step)"

            # a partial payment to every case, and the server killed while they are applied
            for wid in workflow_ids:
                await _pay(client, wid, f"part-{wid}", "1000.00")
            server.stop(kill=True)
            await asyncio.sleep(2)
            server.start()
            await wait_for_temporal(server.address, "default")

            await _idle(client, workflow_ids)
            for wid in workflow_ids:
                after = await _state(client, wid)
                assert after.stage == before[wid].stage == CaseStage.EARLY
                assert after.arrears == Decimal("2000.00")  # the payment applied, once
                assert after.next_actions == before[wid].next_actions
                # every timer still pending fires at the instant it was set for
                still = await _timers(client.get_workflow_handle(wid))
                assert still == timers[wid]
            # and the cases go on: a second payment cures each one, the case row follows
            for wid in workflow_ids:
                await _pay(client, wid, f"rest-{wid}", "2000.00")
            for wid in workflow_ids:
                result = await client.get_workflow_handle(wid, result_type=CaseState).result()
                assert result.outcome == CaseOutcome.CURED
        async with db.session() as session:
            payments = Counter(
                (
                    await session.exec(
                        select(Payment.external_id).where(col(Payment.external_id).like("part-loan-%"))
                    )
                ).all()
            )
            cases = (await session.exec(select(Case).where(col(Case.workflow_id).in_(workflow_ids)))).all()
        assert sum(1 for wid in workflow_ids if payments[f"part-{wid}"] == 1) == CASES
        assert {c.status for c in cases} == {CaseStatus.CLOSED} and len(cases) == CASES
    finally:
        server.stop()


@pytest.fixture
def own_postgres(tmp_path: Path) -> Any:
    server = EmbeddedPostgres(tmp_path / "pg", delete_on_stop=False)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(tmp_path / "pg", ignore_errors=True)


async def test_postgres_restart_mid_run_activities_retry_and_nothing_is_lost_or_doubled(
    own_postgres: EmbeddedPostgres, dev_client: Client
) -> None:
    url = own_postgres.ensure_database("faults")
    migrate.upgrade(url)
    db = Database(url)
    queue = f"faults-{uuid.uuid4()}"
    intake = IntakeService(db, dev_client, task_queue=queue)
    try:
        async with build_worker(dev_client, db, task_queue=queue):
            workflow_ids = await _open(intake, CASES)
            # the opening steps (stage, letters, tasks, audit) are under way: pull the database away
            at_outage = _audit_count(url)
            own_postgres.stop()
            await asyncio.sleep(3)
            own_postgres.start()
            await _idle(dev_client, workflow_ids)
            states = {wid: await _state(dev_client, wid) for wid in workflow_ids}
        # the cases had work left when the database went: it was done after it came back
        assert _audit_count(url) > at_outage, "the outage caught no work: it was not mid-run"
        async with db.session() as session:
            result = await audit.verify(session)
            cases = {c.workflow_id: c for c in (await session.exec(select(Case))).all()}
            messages = (await session.exec(select(Message))).all()
            opened = (
                await session.exec(
                    select(AuditEvent.case_id, func.count())
                    .where(AuditEvent.action == "case.opened")
                    .group_by(col(AuditEvent.case_id))
                )
            ).all()
    finally:
        await db.dispose()
    assert result.ok, result
    assert {case_id: n for case_id, n in opened} == {c.id: 1 for c in cases.values()}
    per_key = Counter(m.idempotency_key for m in messages)
    assert per_key and max(per_key.values()) == 1
    for wid, state in states.items():
        case = cases[wid]
        assert case.stage == state.stage == CaseStage.EARLY and case.run_id is not None
        # every message the workflow counts as sent is in the database, once; none beyond them
        sent = {a.key for a in state.actions if a.kind == "message" and a.status == "done"}
        stored = {m.idempotency_key.split(":", 1)[1] for m in messages if m.case_id == case.id}
        assert sent and {k.rsplit(":", 1)[0] for k in stored} == sent, (sent, stored)
