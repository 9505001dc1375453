"""Every role, route and object (own or foreign), against real cases on the dev server.

The expected matrix is written out here on its own, not imported from the app, so that a
change to the app's access rules fails this test until someone changes the policy on purpose.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx
from sqlmodel import col, select

from arrears.db import Database
from models.audit import AuditEvent
from models.cases import Case
from models.documents import Document
from models.enums import ReportFormat, ReportKind, Role
from models.reports import Report, ReportFile
from models.tasks import Task
from tests.api.conftest import Auth
from tests.factories import delinquency

AGENT, SUPERVISOR, COMPLIANCE, REGULATOR, ADMIN = (
    Role.AGENT,
    Role.SUPERVISOR,
    Role.COMPLIANCE,
    Role.REGULATOR,
    Role.ADMIN,
)
ROLES = (AGENT, SUPERVISOR, COMPLIANCE, REGULATOR, ADMIN)
WORKERS = {AGENT, SUPERVISOR}
READERS = {AGENT, SUPERVISOR, COMPLIANCE, ADMIN}
DOC_READERS = {AGENT, SUPERVISOR, COMPLIANCE}
REPORT_READERS = {REGULATOR, COMPLIANCE, ADMIN}


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # {case}, {task}, {document} are filled with the own or the foreign object
    allowed: frozenset[Role]
    body: dict[str, object] | None = None

    @property
    def has_object(self) -> bool:
        return "{" in self.path


def _r(method: str, path: str, allowed: set[Role], body: dict[str, object] | None = None) -> Route:
    return Route(method, path, frozenset(allowed), body)


TODAY = datetime.now(UTC).date()
WHY: dict[str, object] = {"reason": "role matrix"}
ROUTES = [
    _r("GET", "/v1/tasks", WORKERS),
    _r("GET", "/v1/cases", READERS),
    _r("GET", "/v1/cases/{case}", READERS),
    _r("GET", "/v1/cases/{case}/timeline", READERS),
    _r("GET", "/v1/cases/{case}/documents", DOC_READERS),
    _r("GET", "/v1/cases/{case}/documents/{document}/pdf", DOC_READERS),
    _r("GET", "/v1/cases/{case}/messages", DOC_READERS),
    _r("GET", "/v1/audit/events", {COMPLIANCE}),
    _r("GET", "/v1/audit/verify", {COMPLIANCE}),
    _r("GET", "/v1/audit/export?format=csv", {COMPLIANCE}),
    _r("GET", "/v1/reports", REPORT_READERS),
    _r("GET", "/v1/reports/{report}", REPORT_READERS),
    _r("GET", "/v1/reports/{report}/files/csv", REPORT_READERS),
    _r(
        "POST",
        "/v1/reports",
        {COMPLIANCE, ADMIN},
        {"kind": "bankruptcy_enforcement", "period_start": "2026-01-01", "period_end": "2026-01-31"},
    ),
    _r("POST", "/v1/tasks/{task}/claim", WORKERS),
    _r("POST", "/v1/tasks/{task}/release", WORKERS),
    _r("POST", "/v1/tasks/{task}/assign", {SUPERVISOR}, {"assignee": "agent-b", **WHY}),
    _r("POST", "/v1/tasks/{task}/complete", WORKERS, {"decision": "contacted", **WHY}),
    _r("POST", "/v1/cases/{case}/contacts", WORKERS, {"channel": "call", "outcome": "no_answer", **WHY}),
    _r(
        "POST",
        "/v1/cases/{case}/promises",
        WORKERS,
        {"amount": "10.00", "due": str(TODAY + timedelta(7)), **WHY},
    ),
    _r("POST", "/v1/cases/{case}/holds", WORKERS, {"kind": "dispute", "active": False, **WHY}),
    _r("POST", "/v1/cases/{case}/appeals", WORKERS, WHY),
    _r(
        "POST",
        "/v1/cases/{case}/applications",
        WORKERS,
        {"received_on": str(TODAY), "complete": False, **WHY},
    ),
    _r("POST", "/v1/cases/{case}/forbearance", WORKERS, {"kind": "pause", "months": 3, **WHY}),
    _r(
        "POST",
        "/v1/cases/{case}/bankruptcy/resolution",
        WORKERS,
        {"kind": "relief", "on": str(TODAY), **WHY},
    ),
    _r(
        "POST",
        "/v1/cases/{case}/bankruptcy/facts",
        WORKERS,
        {"on": str(TODAY), "surrender": True, **WHY},
    ),
    _r(
        "POST",
        "/v1/cases/{case}/bankruptcy/case-end",
        WORKERS,
        {"kind": "closed", "on": str(TODAY), **WHY},
    ),
    _r(
        "POST",
        "/v1/cases/{case}/bankruptcy/orders",
        WORKERS,
        {"kind": "extend", "on": str(TODAY), **WHY},
    ),
    _r(
        "POST",
        "/v1/cases/{case}/bankruptcy/payment-changes",
        WORKERS,
        {"new_amount": "900.00", "effective_on": str(TODAY + timedelta(30)), **WHY},
    ),
    _r(
        "POST",
        "/v1/cases/{case}/bankruptcy/fees",
        WORKERS,
        {"amount": "50.00", "incurred_on": str(TODAY), "description": "inspection", **WHY},
    ),
    _r(
        "POST",
        "/v1/cases/{case}/bankruptcy",
        WORKERS,
        {"chapter": 13, "court_case": "26-10001", "filed_on": str(TODAY), **WHY},
    ),
    _r("POST", "/v1/cases/{case}/close", {SUPERVISOR}, {"outcome": "transferred", **WHY}),
]


async def _objects(db: Database, case_id: uuid.UUID) -> dict[str, str]:
    """A task and a document on the case (the lifecycle itself is tested elsewhere)."""
    async with db.session() as session:
        task = Task(
            case_id=case_id,
            kind="live_contact",
            rule_id="matrix",
            citation="matrix",
            idempotency_key=f"{case_id}:matrix.live_contact",
            due_at=datetime.now(UTC) + timedelta(days=2),
        )
        document = Document(
            case_id=case_id,
            idempotency_key=f"{case_id}:matrix:0",
            template="us_mortgage/en/reminder",
            template_version="matrix",
            language="en",
            html="<p>matrix</p>",
            pdf=b"%PDF-1.7 matrix",
            sha256="0" * 64,
            html_sha256="0" * 64,
        )
        report = Report(
            kind=ReportKind.DELINQUENCY,
            period_start=date(2026, 1, 1),
            period_end=date(2026, 1, 31),
            as_of=datetime(2026, 1, 31, 23, 59, tzinfo=UTC),
            trigger="on_demand",
            requested_by="matrix",
            idempotency_key=f"matrix:{case_id}",
        )
        session.add(task)
        session.add(document)
        session.add(report)
        await session.flush()
        session.add(
            ReportFile(
                report_id=report.id,
                format=ReportFormat.CSV,
                media_type="text/csv",
                size=1,
                sha256="0" * 64,
                content=b"x",
            )
        )
    return {
        "case": str(case_id),
        "task": str(task.id),
        "document": str(document.id),
        "report": str(report.id),
    }


async def _open(client: httpx.AsyncClient, auth: Auth, team: str) -> uuid.UUID:
    row = delinquency(team=team, days_past_due=5, as_of=TODAY.isoformat())
    response = await client.post("/v1/delinquencies", json={"records": [row]}, headers=auth(SUPERVISOR))
    assert response.status_code == 200, response.text
    return uuid.UUID(response.json()["case_ids"][0])


async def test_every_role_route_and_object(client: httpx.AsyncClient, auth: Auth, db: Database) -> None:
    team = f"team-{uuid.uuid4().hex[:6]}"
    own = await _objects(db, await _open(client, auth, team))
    foreign = await _objects(db, await _open(client, auth, "someone-else"))
    wrong: list[str] = []
    accepted: set[tuple[str, Role]] = set()

    for route in ROUTES:
        targets = {"own": own, "foreign": foreign} if route.has_object else {"own": own}
        for which, objects in targets.items():
            path = route.path.format(**objects)
            anonymous = await client.request(route.method, path, json=route.body)
            if anonymous.status_code != 401:
                wrong.append(f"{route.method} {path} without token: {anonymous.status_code}")
            for role in ROLES:
                headers = auth(role, team=team if role is AGENT else None)
                response = await client.request(route.method, path, json=route.body, headers=headers)
                expected: set[int]
                if role not in route.allowed:
                    expected = {403}
                elif which == "foreign" and role is AGENT:
                    expected = {404}
                else:
                    expected = {200, 201, 409}  # 409: allowed, and the workflow said why not now
                if response.status_code not in expected:
                    wrong.append(
                        f"{route.method} {route.path} {which} as {role.value}: "
                        f"{response.status_code} (expected {sorted(expected)}) {response.text[:160]}"
                    )
                if response.status_code == 200 and which == "own":
                    accepted.add((route.path, role))
                if response.status_code >= 400:
                    assert "code" in response.json(), response.text
    assert not wrong, "\n".join(wrong)
    # The actions really reached the workflow and were accepted, not merely let through.
    # (A second promise while one is pending is refused by the workflow, so one of each will do.)
    for path in ("/v1/cases/{case}/contacts", "/v1/cases/{case}/promises", "/v1/tasks/{task}/claim"):
        assert (path, AGENT) in accepted, path
    assert ("/v1/cases/{case}/close", SUPERVISOR) in accepted


async def test_agent_sees_team_and_assigned_cases_only(
    client: httpx.AsyncClient, auth: Auth, db: Database
) -> None:
    team = f"team-{uuid.uuid4().hex[:6]}"
    mine = await _open(client, auth, team)
    other = await _open(client, auth, "another-team")
    assigned = await _open(client, auth, "another-team")
    me = f"agent-{uuid.uuid4().hex[:6]}"
    async with db.session() as session:
        row = await session.get(Case, assigned)
        assert row is not None
        row.assignee = me

    headers = auth(AGENT, subject=me, team=team)
    listed = await client.get("/v1/cases", params={"limit": 200}, headers=headers)
    ids = {c["id"] for c in listed.json()["items"]}
    assert {str(mine), str(assigned)} <= ids and str(other) not in ids
    assert (await client.get(f"/v1/cases/{other}", headers=headers)).status_code == 404
    assert (await client.get(f"/v1/cases/{assigned}", headers=headers)).status_code == 200

    teamless = auth(AGENT, subject=me)
    alone = await client.get("/v1/cases", headers=teamless)
    assert [c["id"] for c in alone.json()["items"]] == [str(assigned)]


async def test_personal_data_is_masked_for_roles_that_do_not_contact_borrowers(
    client: httpx.AsyncClient, auth: Auth, db: Database
) -> None:
    team = f"team-{uuid.uuid4().hex[:6]}"
    row = delinquency(team=team, days_past_due=5, as_of=TODAY.isoformat(), borrower_name="Maria Jansen")
    opened = await client.post("/v1/delinquencies", json={"records": [row]}, headers=auth(SUPERVISOR))
    case_id = opened.json()["case_ids"][0]

    seen = {}
    for role in (AGENT, SUPERVISOR, COMPLIANCE, ADMIN):
        detail = await client.get(f"/v1/cases/{case_id}", headers=auth(role, team=team))
        assert detail.status_code == 200, detail.text
        seen[role] = detail.json()["borrower"]
    for role in (AGENT, SUPERVISOR):
        assert (seen[role]["name"], seen[role]["email"], seen[role]["masked"]) == (
            "Maria Jansen",
            row["email"],
            False,
        )
    for role in (COMPLIANCE, ADMIN):
        masked = seen[role]
        assert masked["masked"] and masked["name"] == "M*** J***"
        assert (
            row["email"] not in str(masked)
            and row["phone"] not in str(masked)
            and "Test Street" not in str(masked)
        )
    assert (await client.get(f"/v1/cases/{case_id}", headers=auth(REGULATOR))).status_code == 403

    # Each unmasked read is in the audit trail with who read it; the masked ones are not.
    async with db.session() as session:
        reads = (
            await session.exec(
                select(AuditEvent.actor).where(
                    col(AuditEvent.case_id) == uuid.UUID(case_id), col(AuditEvent.action) == "pii.read"
                )
            )
        ).all()
    assert sorted(reads) == ["agent-user", "supervisor-user"]
