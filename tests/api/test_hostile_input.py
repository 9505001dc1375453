"""Malformed, oversized and hostile input to every write route: a clear 4xx, never a 500, and the
database exactly as it was.

The routes come from the app's own OpenAPI document, so a new write route is covered (and must
hold up) without anyone remembering to add it here.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import uuid
from typing import Any

import httpx
from sqlmodel import func, select

from arrears.db import Database
from arrears.settings import Settings
from models.base import metadata
from models.enums import Role
from tests.api.conftest import Auth
from tests.factories import delinquency

HOSTILE_VALUES: list[Any] = [
    "'; DROP TABLE cases; --",
    "\x00\x1b[31m",
    "../../../../etc/passwd",
    "A" * 100_000,
    "NaN",
    "-1e309",
    "9999-99-99",
    -(10**40),
    {"$ne": None},
    [[[[[]]]]],
    None,
]
FIELDS = [
    "reason", "amount", "due", "decision", "kind", "channel", "outcome", "received_on", "months",
    "chapter", "court_case", "filed_on", "on", "new_amount", "effective_on", "incurred_on",
    "external_id", "loan_id", "currency", "received_at", "period_start", "period_end", "records",
]  # fmt: skip


def _bodies(max_bytes: int) -> list[tuple[str, bytes, str]]:
    """(what, raw body, content type): each is wrong in a different way."""
    out: list[tuple[str, bytes, str]] = [
        ("truncated JSON", b'{"reason": "x', "application/json"),
        ("a JSON array", b"[]", "application/json"),
        ("a JSON string", b'"hello"', "application/json"),
        ("not UTF-8", b"\xff\xfe\xfd", "application/json"),
        ("nested 100,000 deep", b"[" * 100_000 + b"]" * 100_000, "application/json"),
        ("empty", b"", "application/json"),
        ("form data", b"reason=x&amount=1", "application/x-www-form-urlencoded"),
        ("over the size limit", b'{"reason": "' + b"x" * (max_bytes + 10) + b'"}', "application/json"),
    ]
    for value in HOSTILE_VALUES:
        import json

        body = {field: value for field in FIELDS}
        out.append((f"every field {str(value)[:30]!r}", json.dumps(body).encode(), "application/json"))
    return out


async def _row_counts(db: Database) -> dict[str, int]:
    async with db.session() as session:
        return {
            table.name: (await session.exec(select(func.count()).select_from(table))).one()
            for table in metadata.sorted_tables
        }


async def _quiet(db: Database) -> dict[str, int]:
    """The row counts once they have stopped moving (the workflow's opening steps are done)."""
    counts = await _row_counts(db)
    for _ in range(60):
        await asyncio.sleep(1)
        again = await _row_counts(db)
        if again == counts:
            return counts
        counts = again
    raise AssertionError("the database never settled")


def _signed(settings: Settings, raw: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    key = settings.payments_webhook_secret.get_secret_value().encode()
    digest = hmac.new(key, stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return {"Arrears-Signature": f"t={stamp},v1={digest}"}


async def test_every_write_route_refuses_hostile_input_cleanly(
    client: httpx.AsyncClient, auth: Auth, db: Database, settings: Settings
) -> None:
    team = f"team-{uuid.uuid4().hex[:6]}"
    opened = await client.post(
        "/v1/delinquencies",
        json={"records": [delinquency(team=team, days_past_due=40)]},
        headers=auth(Role.SUPERVISOR),
    )
    assert opened.status_code == 200, opened.text
    ids = {
        "case_id": opened.json()["case_ids"][0],
        "task_id": str(uuid.uuid4()),
        "report_id": str(uuid.uuid4()),
    }
    spec = (await client.get("/openapi.json")).json()
    routes = [path for path, operations in spec["paths"].items() if "post" in operations]
    assert len(routes) >= 17, routes
    # roles allowed on each route, so that the body, not the role, is what gets judged
    role = {"/v1/reports": Role.COMPLIANCE, "/v1/delinquencies": Role.SUPERVISOR}

    # the case's workflow writes its opening steps in the background: count once it is idle
    before = await _quiet(db)
    problems: list[str] = []
    for template in routes:
        path = template.format(**ids)
        for what, raw, content_type in _bodies(settings.max_request_bytes):
            headers = {"Content-Type": content_type, **auth(role.get(template, Role.SUPERVISOR), team=team)}
            if template == "/v1/payments":
                headers.update(_signed(settings, raw))
            response = await client.post(path, content=raw, headers=headers)
            if not 400 <= response.status_code < 500:
                problems.append(f"POST {template} with {what}: {response.status_code} {response.text[:200]}")
                continue
            error = response.json()
            if not (error.get("code") and error.get("message")):
                problems.append(f"POST {template} with {what}: no error shape {response.text[:200]}")
            if what == "over the size limit" and response.status_code != 413:
                problems.append(f"POST {template} over the size limit: {response.status_code}, not 413")
    assert not problems, "\n".join(problems)
    assert await _row_counts(db) == before


async def test_a_token_whose_names_do_not_fit_the_records_is_401_at_the_door(
    client: httpx.AsyncClient, settings: Settings, auth: Auth
) -> None:
    """A subject longer than the columns that record who acted (audit actor, case and task
    assignee), or a team longer than the team column, or either blank or with control characters,
    is refused on every route before anything is read or written."""
    import jwt
    import pytest

    from arrears.auth import issue_token

    def token(subject: str, team: str | None = None, role: Role = Role.SUPERVISOR) -> dict[str, str]:
        claims: dict[str, Any] = {
            "sub": subject,
            "role": role.value,
            "iss": settings.jwt_issuer,
            "aud": settings.jwt_audience,
            "exp": int(time.time()) + 600,
        }
        if team is not None:
            claims["team"] = team
        signed = jwt.encode(claims, settings.jwt_signing_key.get_secret_value(), algorithm="HS256")
        return {"Authorization": f"Bearer {signed}"}

    team = f"team-{uuid.uuid4().hex[:6]}"
    opened = await client.post(
        "/v1/delinquencies",
        json={"records": [delinquency(team=team, days_past_due=40)]},
        headers=auth(Role.SUPERVISOR),
    )
    case_id = opened.json()["case_ids"][0]
    refused = {
        "subject": token("s" * 101),
        "team": token("ann", team="t" * 65, role=Role.AGENT),
        "subject control": token("ann\x00"),
        "subject blank": token(" "),
        "team control": token("ann", team="t\x1b[31m", role=Role.AGENT),
    }
    contact = {"channel": "call", "outcome": "no_answer", "reason": "x"}
    for what, headers in refused.items():
        for method, path, body in (
            ("GET", "/v1/cases", None),
            ("GET", f"/v1/cases/{case_id}", None),
            ("POST", f"/v1/cases/{case_id}/contacts", contact),
        ):
            response = await client.request(method, path, json=body, headers=headers)
            assert response.status_code == 401, (what, path, response.status_code, response.text)
            error = response.json()
            assert error["code"] == "unauthorized" and what.split()[0] in error["message"], error
    fits = token("s" * 100, team="t" * 64)
    assert (await client.get("/v1/cases", headers=fits)).status_code == 200
    with pytest.raises(ValueError, match="subject is longer than 100"):
        issue_token(settings, role=Role.AGENT, subject="s" * 101)
