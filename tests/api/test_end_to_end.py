"""One case worked through the API alone, on the dev server with the embedded PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx

from api.routes.payments import SIGNATURE_HEADER, sign
from arrears.settings import Settings
from models.enums import Role
from tests.api.conftest import Auth
from tests.factories import delinquency

AGENT_TEAM = "collections-e2e"
T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T | None]], what: str, within: float = 60) -> T:
    """Poll until `probe` returns something: the workflow acts asynchronously."""
    try:
        async with asyncio.timeout(within):
            while (found := await probe()) is None:  # noqa: ASYNC110 - polling over HTTP
                await asyncio.sleep(0.25)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None
    return found


def signed(settings: Settings, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    secret = settings.payments_webhook_secret.get_secret_value()
    return body, {SIGNATURE_HEADER: sign(secret, body, int(time.time())), "Content-Type": "application/json"}


async def test_a_case_from_import_to_cure_through_the_api(
    client: httpx.AsyncClient, auth: Auth, settings: Settings
) -> None:
    agent = auth(Role.AGENT, subject="agent-ann", team=AGENT_TEAM)
    evaluator = auth(Role.AGENT, subject="agent-bob", team=AGENT_TEAM)
    compliance = auth(Role.COMPLIANCE, subject="compliance-cy")
    today = datetime.now(UTC).date()

    # 1. Import: the loan system's delinquency report opens the case.
    row = delinquency(team=AGENT_TEAM, days_past_due=10, as_of=today.isoformat(), arrears="1500.00")
    opened = await client.post("/v1/delinquencies", json={"records": [row]}, headers=auth(Role.SUPERVISOR))
    assert opened.status_code == 200, opened.text
    case_id = opened.json()["case_ids"][0]

    # 2. Its first task appears in the agent's queue.
    async def task_of(kind: str) -> dict[str, Any] | None:
        page = (await client.get("/v1/tasks", params={"kind": kind, "limit": 200}, headers=agent)).json()
        return next((t for t in page["items"] if t["case_id"] == case_id), None)

    contact = await eventually(lambda: task_of("live_contact"), "the live-contact task")
    assert (
        contact["priority"]["band"] in ("red", "amber", "green") and contact["policy_pack"] == "us_mortgage"
    )
    claimed = await client.post(f"/v1/tasks/{contact['id']}/claim", headers=agent)
    assert claimed.status_code == 200 and claimed.json()["assignee"] == "agent-ann"
    taken = await client.post(f"/v1/tasks/{contact['id']}/claim", headers=evaluator)
    assert taken.status_code == 409 and "agent-ann" in taken.json()["message"]
    mine = (await client.get("/v1/tasks", params={"mine": True}, headers=agent)).json()["items"]
    assert contact["id"] in {t["id"] for t in mine}
    wrong = await client.post(
        f"/v1/tasks/{contact['id']}/complete", json={"decision": "approve", "reason": "x"}, headers=agent
    )
    assert wrong.status_code == 409 and "live_contact takes one of" in wrong.json()["message"]
    done = await client.post(
        f"/v1/tasks/{contact['id']}/complete",
        json={"decision": "contacted", "reason": "spoke to the borrower"},
        headers=agent,
    )
    assert done.status_code == 200, done.text
    assert await task_of("live_contact") is None

    # 3. A promise to pay.
    promise = await client.post(
        f"/v1/cases/{case_id}/promises",
        json={"amount": "500.00", "due": str(today + timedelta(days=10)), "reason": "pays on payday"},
        headers=agent,
    )
    assert promise.status_code == 200, promise.text
    detail = (await client.get(f"/v1/cases/{case_id}", headers=agent)).json()
    assert detail["state"]["stage"] == "early"

    # 4. A complete loss-mitigation application: acknowledged, evaluated, approved, accepted.
    applied = await client.post(
        f"/v1/cases/{case_id}/applications",
        json={"received_on": str(today), "complete": True, "reason": "full package received"},
        headers=agent,
    )
    assert applied.status_code == 200, applied.text
    evaluation = await eventually(lambda: task_of("evaluation"), "the evaluation task")
    decided = await client.post(
        f"/v1/tasks/{evaluation['id']}/complete",
        json={
            "decision": "approve",
            "reason": "affordable on the borrower's income",
            "plan": {"kind": "repayment_plan", "months": 6, "amount": "250.00"},
        },
        headers=evaluator,
    )
    assert decided.status_code == 200, decided.text
    offer = await eventually(lambda: task_of("offer_acceptance"), "the offer-acceptance task")
    accepted = await client.post(
        f"/v1/tasks/{offer['id']}/complete",
        json={"decision": "accepted", "reason": "borrower signed the plan"},
        headers=agent,
    )
    assert accepted.status_code == 200, accepted.text

    # 5. Payments from the loan system cure the case; a replayed webhook changes nothing.
    payment = {
        "external_id": f"PAY-{case_id[:8]}",
        "loan_id": row["loan_id"],
        "amount": "1500.00",
        "currency": "USD",
        "received_at": datetime.now(UTC).isoformat(),
    }
    body, headers = signed(settings, payment)
    receipts = [(await client.post("/v1/payments", content=body, headers=headers)) for _ in range(3)]
    assert [r.status_code for r in receipts] == [200, 200, 200], receipts[0].text
    assert [r.json()["duplicate"] for r in receipts] == [False, True, True]

    async def cured() -> dict[str, Any] | None:
        case = (await client.get(f"/v1/cases/{case_id}", headers=agent)).json()["case"]
        return case if case["status"] == "closed" else None

    closed = await eventually(cured, "the cure")
    assert closed["outcome"] == "cured" and closed["arrears"] == "0.00"

    # 6. Compliance sees every step in the audit trail, and the chain verifies.
    trail = (
        await client.get("/v1/audit/events", params={"case_id": case_id, "limit": 200}, headers=compliance)
    ).json()
    actions = [e["action"] for e in trail["items"]]
    actors = {e["action"]: e["actor"] for e in trail["items"]}
    for expected in (
        "case.opened",
        "task.created",
        "task.claimed",
        "task.done",
        "promise.done",
        "case.stage_changed",
        "payment.received",
        "payment.applied",
        "case.closed",
        "pii.read",
    ):
        assert expected in actions, f"{expected} missing from {actions}"
    assert actions.count("payment.applied") == 1 and actions.count("payment.received") == 1
    assert actors["task.claimed"] == "agent-ann" and actors["promise.done"] == "agent-ann"
    roles = {e["action"]: e["role"] for e in trail["items"]}
    assert (
        roles["promise.done"] == "agent"
        and roles["task.done"] == "agent"
        and roles["case.opened"] == "supervisor"
    )
    assert any(e["action"] == "task.done" and e["actor"] == "agent-bob" for e in trail["items"])
    assert any("acknowledgment" in json.dumps(e["payload"]) for e in trail["items"])
    verify = (await client.get("/v1/audit/verify", headers=compliance)).json()
    assert verify["ok"] and verify["first_broken_seq"] is None
    timeline = (await client.get(f"/v1/cases/{case_id}/timeline", headers=agent)).json()
    assert [e["arrival"] for e in timeline["items"]] == sorted(e["arrival"] for e in timeline["items"])
