"""A case is its run: a loan's closed case never reads or changes the loan's newer case."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlmodel import col, select
from temporalio.client import Client, WorkflowExecutionStatus

from arrears.db import Database
from arrears.intake import IntakeService
from arrears.settings import Settings
from models.audit import AuditEvent
from models.cases import Case
from models.enums import CaseOutcome, CaseStatus, Role
from tests.api.conftest import Auth
from tests.api.test_end_to_end import eventually, signed
from tests.factories import delinquency
from workflows.dto import CaseState

TEAM_A = "team-runs-a"
TEAM_B = "team-runs-b"


async def _row(db: Database, case_id: str | uuid.UUID) -> Case:
    async with db.session() as session:
        row = await session.get(Case, uuid.UUID(str(case_id)))
    assert row is not None
    return row


async def _import(client: httpx.AsyncClient, auth: Auth, row: dict[str, Any]) -> str:
    response = await client.post("/v1/delinquencies", json={"records": [row]}, headers=auth(Role.SUPERVISOR))
    assert response.status_code == 200, response.text
    assert response.json()["opened"] == 1, response.text
    case_id: str = response.json()["case_ids"][0]
    return case_id


async def _live_case_id(temporal: Client, workflow_id: str) -> uuid.UUID:
    """The case the loan's running execution works on, asked of the execution itself."""
    state: CaseState = await temporal.get_workflow_handle(workflow_id).query("state", result_type=CaseState)
    return state.case_id


async def test_a_cured_case_cannot_read_or_change_the_loans_next_case(
    client: httpx.AsyncClient, auth: Auth, settings: Settings, db: Database, dev_client: Client
) -> None:
    today = datetime.now(UTC).date()
    agent_a = auth(Role.AGENT, subject="agent-runs-a", team=TEAM_A)
    supervisor = auth(Role.SUPERVISOR, subject="sup-runs")
    first = delinquency(team=TEAM_A, days_past_due=10, as_of=(today - timedelta(days=1)).isoformat())
    old_case = await _import(client, auth, first)

    # The borrower pays everything: the case cures, its row closes and its run ends.
    payment = {
        "external_id": f"P-{uuid.uuid4().hex[:10]}",
        "loan_id": first["loan_id"],
        "amount": first["arrears"],
        "currency": "USD",
        "received_at": datetime.now(UTC).isoformat(),
    }
    body, headers = signed(settings, payment)
    assert (await client.post("/v1/payments", content=body, headers=headers)).status_code == 200

    async def closed() -> Case | None:
        row = await _row(db, old_case)
        return row if row.status is CaseStatus.CLOSED else None

    old_row = await eventually(closed, "the cure to close the case")
    assert old_row.outcome is CaseOutcome.CURED

    # The loan defaults again and goes to another team: a new case with a run of its own.
    again = {**first, "team": TEAM_B, "as_of": today.isoformat(), "days_past_due": 5}
    new_case = await _import(client, auth, again)
    new_row = await _row(db, new_case)
    assert new_row.run_id is not None and new_row.run_id != old_row.run_id
    assert await _live_case_id(dev_client, new_row.workflow_id) == new_row.id

    # Team A's agent, through the old case's routes, sees the old case's own final state ...
    detail = await client.get(f"/v1/cases/{old_case}", headers=agent_a)
    assert detail.status_code == 200, detail.text
    assert detail.json()["state"]["case_id"] == old_case
    assert detail.json()["state"]["outcome"] == "cured"
    # ... and cannot change anything: the old case is closed, and nothing reaches the new one.
    hold = await client.post(
        f"/v1/cases/{old_case}/holds",
        json={"kind": "cease", "active": True, "reason": "borrower asked to stop"},
        headers=agent_a,
    )
    assert hold.status_code == 409, hold.text
    assert hold.json()["code"] == "case_closed"
    promise = await client.post(
        f"/v1/cases/{old_case}/promises",
        json={"amount": "100.00", "due": (today + timedelta(days=5)).isoformat(), "reason": "phone call"},
        headers=agent_a,
    )
    assert promise.status_code == 409 and promise.json()["code"] == "case_closed"
    # The old payment delivered again is a duplicate of the old case's: the new case's arrears stay.
    replay = await client.post("/v1/payments", content=body, headers=signed(settings, payment)[1])
    assert replay.status_code == 200 and replay.json()["duplicate"] is True
    assert (await client.get(f"/v1/cases/{new_case}", headers=agent_a)).status_code == 404

    await asyncio.sleep(1)  # a misdirected hold or payment would have reached the workflow by now
    current = (await client.get(f"/v1/cases/{new_case}", headers=supervisor)).json()
    assert current["state"]["case_id"] == new_case
    assert current["state"]["holds"] == []
    assert current["state"]["payments_applied"] == []
    assert current["case"]["team"] == TEAM_B


async def test_intake_waits_for_the_previous_run_to_finish_instead_of_joining_it(
    client: httpx.AsyncClient, auth: Auth, db: Database, dev_client: Client
) -> None:
    """The window between a case row closing and its run completing: a new case gets its own run."""
    today = datetime.now(UTC).date()
    first = delinquency(team=TEAM_A, days_past_due=10, as_of=(today - timedelta(days=1)).isoformat())
    old_case = await _import(client, auth, first)
    old_row = await _row(db, old_case)
    # The closing activity has committed (the row is closed) and the run is finishing.
    async with db.session() as session:
        row = await session.get(Case, old_row.id)
        assert row is not None
        row.status, row.outcome, row.closed_at = CaseStatus.CLOSED, CaseOutcome.CURED, datetime.now(UTC)
    finishing = dev_client.get_workflow_handle(old_row.workflow_id, run_id=old_row.run_id)

    async def finish_later() -> None:
        await asyncio.sleep(1.5)
        await finishing.terminate(reason="test: the previous run completes")

    again = {**first, "team": TEAM_B, "as_of": today.isoformat()}
    new_case, _ = await asyncio.gather(_import(client, auth, again), finish_later())

    new_row = await _row(db, new_case)
    assert new_row.run_id is not None and new_row.run_id != old_row.run_id
    assert (await finishing.describe()).status == WorkflowExecutionStatus.TERMINATED
    assert await _live_case_id(dev_client, new_row.workflow_id) == new_row.id


async def test_an_open_case_whose_run_ended_is_restarted(
    client: httpx.AsyncClient, auth: Auth, db: Database, dev_client: Client, intake: IntakeService
) -> None:
    row = delinquency(team=TEAM_A, days_past_due=10, as_of=datetime.now(UTC).date().isoformat())
    case_id = await _import(client, auth, row)
    before = await _row(db, case_id)
    await dev_client.get_workflow_handle(before.workflow_id, run_id=before.run_id).terminate(reason="test")

    async def restarted() -> int | None:
        # visibility lists a terminated run a moment after it ends
        return await intake.runs.restart_orphans() or None

    assert await eventually(restarted, "the orphaned case to be restarted") >= 1
    after = await _row(db, case_id)
    assert after.run_id is not None and after.run_id != before.run_id
    assert await _live_case_id(dev_client, after.workflow_id) == after.id
    async with db.session() as session:
        events = (
            await session.exec(
                select(AuditEvent).where(
                    col(AuditEvent.case_id) == after.id, col(AuditEvent.action) == "case.restarted"
                )
            )
        ).all()
    assert [e.payload["previous_run_id"] for e in events] == [before.run_id]
