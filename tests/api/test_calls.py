"""Reg F call frequency through the API: a call placed over the frequency is recorded and says
which rule and when, and the work queue and the case show when the next call is allowed."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from arrears.db import Database
from models.enums import Role
from models.tasks import Task
from tests.api.conftest import Auth
from tests.factories import delinquency

CAP = "us_mortgage.reg_f.call_frequency"


async def _case(client: httpx.AsyncClient, auth: Auth, team: str) -> str:
    row = delinquency(team=team, days_past_due=10, as_of=datetime.now(UTC).date().isoformat())
    response = await client.post("/v1/delinquencies", json={"records": [row]}, headers=auth(Role.SUPERVISOR))
    assert response.status_code == 200, response.text
    case_id: str = response.json()["case_ids"][0]
    return case_id


async def test_an_eighth_call_is_recorded_flagged_and_the_queue_shows_when_to_call_again(
    client: httpx.AsyncClient, auth: Auth, db: Database
) -> None:
    team = f"calls-{uuid.uuid4().hex[:6]}"
    case_id = await _case(client, auth, team)
    agent = auth(Role.AGENT, "ann", team=team)
    today = datetime.now(ZoneInfo("America/New_York")).date()
    call = {"channel": "call", "outcome": "no_answer", "reason": "collection call"}
    for _ in range(7):
        placed = await client.post(f"/v1/cases/{case_id}/contacts", json=call, headers=agent)
        assert placed.status_code == 200, placed.text
    # the borrower's own call is not one staff placed
    inbound = {**call, "direction": "inbound", "outcome": "left_message"}
    assert (
        await client.post(f"/v1/cases/{case_id}/contacts", json=inbound, headers=agent)
    ).status_code == 200

    # staff report the eighth call they dialled: it happened, so it is recorded, and flagged
    over = await client.post(f"/v1/cases/{case_id}/contacts", json=call, headers=agent)
    assert over.status_code == 200, over.text
    result = over.json()["result"]
    allowed = today + timedelta(days=7)
    assert result.startswith("recorded over the call frequency")
    assert CAP in result and "12 CFR 1006.14(b)(2)(i)(A)" in result
    assert f"next call allowed on {allowed.isoformat()}" in result

    case = (await client.get(f"/v1/cases/{case_id}", headers=agent)).json()
    assert case["case"]["next_call_rule"] == CAP
    assert _local_day(case["case"]["next_call_at"]) == allowed
    assert f"next call allowed on {allowed.isoformat()}" in case["case"]["next_call_reason"]
    assert case["state"]["next_call"]["rule_id"] == CAP

    async with db.session() as session:
        session.add(
            Task(
                case_id=uuid.UUID(case_id),
                kind="call_probe",
                rule_id="probe",
                citation="test",
                idempotency_key=f"{case_id}:probe.call",
                due_at=datetime.now(UTC) + timedelta(days=1),
            )
        )
    queue = (await client.get("/v1/tasks", params={"kind": "call_probe"}, headers=agent)).json()
    item = next(t for t in queue["items"] if t["case_id"] == case_id)
    assert item["next_call_rule"] == CAP and _local_day(item["next_call_at"]) == allowed


async def test_a_call_in_the_future_is_refused_and_other_packs_have_no_call_limit(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    team = f"calls-{uuid.uuid4().hex[:6]}"
    case_id = await _case(client, auth, team)
    agent = auth(Role.AGENT, "ann", team=team)
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    call = {"channel": "call", "outcome": "no_answer", "reason": "collection call", "at": later}
    refused = await client.post(f"/v1/cases/{case_id}/contacts", json=call, headers=agent)
    assert refused.status_code == 409 and "future" in refused.json()["message"]
    naive = {**call, "at": datetime.now(UTC).replace(tzinfo=None).isoformat()}
    assert (await client.post(f"/v1/cases/{case_id}/contacts", json=naive, headers=agent)).status_code == 422

    row = delinquency(
        "nl_consumer",
        team=team,
        days_past_due=10,
        as_of=datetime.now(UTC).date().isoformat(),
        arrears="600.00",
        installment="300.00",
        language="nl",
    )
    opened = await client.post("/v1/delinquencies", json={"records": [row]}, headers=auth(Role.SUPERVISOR))
    nl_case = opened.json()["case_ids"][0]
    plain = {"channel": "call", "outcome": "reached", "reason": "collection call"}
    for _ in range(9):
        placed = await client.post(f"/v1/cases/{nl_case}/contacts", json=plain, headers=agent)
        assert placed.status_code == 200, placed.text
    shown = (await client.get(f"/v1/cases/{nl_case}", headers=agent)).json()
    assert shown["case"]["next_call_at"] is None and shown["state"]["next_call"]["at"] is None


def _local_day(instant: str) -> date:
    return datetime.fromisoformat(instant).astimezone(ZoneInfo("America/New_York")).date()
