"""The work queue's order and filters, and the claim rules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlmodel import col, select

from arrears.db import Database
from models.enums import Role, TaskStatus
from models.tasks import Task
from tests.api.conftest import Auth
from tests.factories import delinquency

TODAY = datetime.now(UTC).date()


async def _case(client: httpx.AsyncClient, auth: Auth, team: str, dpd: int, arrears: str) -> uuid.UUID:
    row = delinquency(team=team, days_past_due=dpd, as_of=TODAY.isoformat(), arrears=arrears)
    response = await client.post("/v1/delinquencies", json={"records": [row]}, headers=auth(Role.SUPERVISOR))
    assert response.status_code == 200, response.text
    return uuid.UUID(response.json()["case_ids"][0])


async def _task(db: Database, case_id: uuid.UUID, name: str, due_in: timedelta) -> str:
    async with db.session() as session:
        task = Task(
            case_id=case_id,
            kind="queue_probe",
            rule_id=name,
            citation="test",
            idempotency_key=f"{case_id}:probe.{name}",
            due_at=datetime.now(UTC) + due_in,
        )
        session.add(task)
    return name


async def test_most_urgent_red_on_top_then_risk_then_arrears_then_deadline(
    client: httpx.AsyncClient, auth: Auth, db: Database
) -> None:
    team = f"queue-{uuid.uuid4().hex[:6]}"
    shallow = await _case(client, auth, team, dpd=10, arrears="1500.00")
    deep = await _case(client, auth, team, dpd=95, arrears="4500.00")
    large = await _case(client, auth, team, dpd=12, arrears="9000.00")
    day = timedelta(days=1)
    await _task(db, shallow, "green-shallow", 5 * day)
    await _task(db, deep, "green-deep", 5 * day)
    await _task(db, shallow, "red-shallow-older", -day)
    await _task(db, deep, "red-deep-recent", -timedelta(hours=2))
    await _task(db, shallow, "amber-shallow", timedelta(hours=10))
    await _task(db, large, "green-large", 6 * day)

    agent = auth(Role.AGENT, team=team)
    page = (await client.get("/v1/tasks", params={"kind": "queue_probe"}, headers=agent)).json()
    assert [t["rule_id"] for t in page["items"]] == [
        "red-deep-recent",  # red beats everything; within red, the deeper delinquency
        "red-shallow-older",
        "amber-shallow",  # due within 48 hours
        "green-deep",  # then the risk tier
        "green-large",  # then arrears
        "green-shallow",
    ]
    first = page["items"][0]
    assert first["overdue"] and first["priority"] == {"band": "red", "risk": 3, "rank": 1}
    assert page["total"] == 6

    overdue = (
        await client.get("/v1/tasks", params={"kind": "queue_probe", "overdue": True}, headers=agent)
    ).json()
    assert [t["rule_id"] for t in overdue["items"]] == ["red-deep-recent", "red-shallow-older"]
    second = (
        await client.get("/v1/tasks", params={"kind": "queue_probe", "limit": 2, "offset": 2}, headers=agent)
    ).json()
    assert [t["priority"]["rank"] for t in second["items"]] == [3, 4]
    outsider = auth(Role.AGENT, team="another-team")
    hidden = (await client.get("/v1/tasks", params={"kind": "queue_probe"}, headers=outsider)).json()
    assert not [t for t in hidden["items"] if t["team"] == team]


async def test_claim_release_and_mine(client: httpx.AsyncClient, auth: Auth, db: Database) -> None:
    team = f"claim-{uuid.uuid4().hex[:6]}"
    case_id = await _case(client, auth, team, dpd=10, arrears="1500.00")
    await _task(db, case_id, "claimable", timedelta(days=1))
    ann, bob = auth(Role.AGENT, subject="ann", team=team), auth(Role.AGENT, subject="bob", team=team)
    boss = auth(Role.SUPERVISOR, subject="boss")
    listed = (await client.get("/v1/tasks", params={"kind": "queue_probe", "team": team}, headers=ann)).json()
    task_id = listed["items"][0]["id"]

    assert (await client.post(f"/v1/tasks/{task_id}/claim", headers=ann)).status_code == 200
    assert (await client.post(f"/v1/tasks/{task_id}/claim", headers=ann)).status_code == 200  # idempotent
    refused = await client.post(f"/v1/tasks/{task_id}/claim", headers=bob)
    assert refused.status_code == 409 and refused.json()["message"] == "the task is claimed by ann"
    assert (await client.post(f"/v1/tasks/{task_id}/release", headers=bob)).status_code == 409
    mine = (await client.get("/v1/tasks", params={"mine": True, "kind": "queue_probe"}, headers=ann)).json()
    assert [t["id"] for t in mine["items"]] == [task_id]
    assert (await client.get("/v1/tasks", params={"mine": True, "kind": "queue_probe"}, headers=bob)).json()[
        "items"
    ] == []
    released = await client.post(f"/v1/tasks/{task_id}/release", headers=boss)
    assert released.status_code == 200 and released.json()["assignee"] is None
    assert (await client.post(f"/v1/tasks/{task_id}/claim", headers=bob)).status_code == 200
    async with db.session() as session:
        session.add(
            Task(
                case_id=case_id,
                kind="queue_probe",
                status=TaskStatus.ESCALATED,
                rule_id="escalated",
                citation="test",
                idempotency_key=f"{case_id}:probe.escalated",
                due_at=datetime.now(UTC) - timedelta(days=1),
                escalated_at=datetime.now(UTC),
            )
        )
    queue = (await client.get("/v1/tasks", params={"kind": "queue_probe"}, headers=boss)).json()["items"]
    escalated = next(t for t in queue if t["rule_id"] == "escalated")
    assert escalated["status"] == "escalated" and escalated["priority"]["band"] == "red"
    refused = await client.post(f"/v1/tasks/{escalated['id']}/claim", headers=ann)
    assert refused.status_code == 409 and "supervisor takes it" in refused.json()["message"]
    taken = await client.post(f"/v1/tasks/{escalated['id']}/claim", headers=boss)
    assert taken.status_code == 200 and taken.json()["assignee"] == "boss"

    missing = await client.post(f"/v1/tasks/{uuid.uuid4()}/claim", headers=bob)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


async def test_page_size_is_capped(client: httpx.AsyncClient, auth: Auth) -> None:
    response = await client.get("/v1/tasks", params={"limit": 201}, headers=auth(Role.SUPERVISOR))
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "query.limit"


async def test_a_user_named_supervisor_cannot_pass_for_an_escalation(
    client: httpx.AsyncClient, auth: Auth, db: Database
) -> None:
    """Escalation is a mark on the task, not an assignee: an agent whose name is `supervisor`
    neither sees an escalated task as theirs, nor claims, nor decides it; a supervisor does."""
    from temporalio.testing import ActivityEnvironment

    from activities.tasks import TaskActivities
    from workflows.dto import TaskOutcome

    team = f"esc-{uuid.uuid4().hex[:6]}"
    case_id = await _case(client, auth, team, dpd=10, arrears="1500.00")
    await _task(db, case_id, "to-escalate", -timedelta(days=1))
    escalated_at = datetime.now(UTC)
    await ActivityEnvironment().run(
        TaskActivities(db).finish_task,
        TaskOutcome(case_id=case_id, key="probe.to-escalate", status="escalated", at=escalated_at),
    )
    async with db.session() as session:
        row = (await session.exec(select(Task).where(col(Task.rule_id) == "to-escalate"))).one()
        assert row.status is TaskStatus.ESCALATED and row.assignee is None
    task_id = str(row.id)

    impostor = auth(Role.AGENT, subject="supervisor", team=team)
    mine = (
        await client.get("/v1/tasks", params={"mine": True, "kind": "queue_probe"}, headers=impostor)
    ).json()
    assert mine["items"] == []
    queue = (
        await client.get("/v1/tasks", params={"kind": "queue_probe", "team": team}, headers=impostor)
    ).json()
    [listed] = queue["items"]
    assert listed["status"] == "escalated" and listed["assignee"] is None
    refused = await client.post(f"/v1/tasks/{task_id}/claim", headers=impostor)
    assert refused.status_code == 409 and "supervisor takes it" in refused.json()["message"]
    decision = {"decision": "contacted", "reason": "as if it were mine"}
    undecided = await client.post(f"/v1/tasks/{task_id}/complete", json=decision, headers=impostor)
    assert undecided.status_code == 409 and "supervisor takes it" in undecided.json()["message"]
    assert (await client.post(f"/v1/tasks/{task_id}/release", headers=impostor)).status_code == 409

    boss = auth(Role.SUPERVISOR, subject="boss-esc")
    taken = await client.post(f"/v1/tasks/{task_id}/claim", headers=boss)
    assert taken.status_code == 200 and taken.json()["assignee"] == "boss-esc"
    refused = await client.post(f"/v1/tasks/{task_id}/claim", headers=impostor)
    assert refused.status_code == 409 and refused.json()["message"] == "the task is claimed by boss-esc"
    other_boss = auth(Role.SUPERVISOR, subject="supervisor")
    held = await client.post(f"/v1/tasks/{task_id}/claim", headers=other_boss)
    assert held.status_code == 409 and "boss-esc" in held.json()["message"]
