"""The workbench's pages over HTTP: sign-in, the queue, the case, actions, roles, CSRF, languages."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from arrears.db import Database
from models.audit import AuditEvent
from models.tasks import Task
from tests.web.conftest import SignIn, csrf_of

Open = Callable[..., Awaitable[uuid.UUID]]


async def _tasks(db: Database, case_id: uuid.UUID, at_least: int = 1) -> list[Task]:
    for _ in range(100):
        async with db.session() as session:
            rows = list((await session.exec(select(Task).where(Task.case_id == case_id))).all())
        if len(rows) >= at_least:
            return rows
        await asyncio.sleep(0.2)
    raise AssertionError(f"case {case_id} has no task")


async def test_an_agent_signs_in_and_the_queue_explains_each_position(
    sign_in: SignIn, open_case: Open, db: Database
) -> None:
    team = f"web-{uuid.uuid4().hex[:6]}"
    case_id = await open_case(team, days_past_due=20)
    await _tasks(db, case_id)
    agent = await sign_in("agent", team=team)
    page = await agent.get("/web/queue")
    assert page.status_code == 200
    html = page.text
    assert f"/web/cases/{case_id}" in html
    assert "risk tier" in html and "12 CFR 1024.39" in html  # why the task is here, and its rule
    assert "Content-Security-Policy" in page.headers and "no-store" in page.headers["cache-control"]


async def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    sign_in: SignIn, open_case: Open, db: Database
) -> None:
    team = f"web-{uuid.uuid4().hex[:6]}"
    case_id = await open_case(team, days_past_due=20)
    task = (await _tasks(db, case_id))[0]
    agent = await sign_in("agent", team=team)
    refused = await agent.post(f"/web/tasks/{task.id}/claim", data={})
    assert refused.status_code == 403 and "did not come from this site" in refused.text
    forged = await agent.post(f"/web/tasks/{task.id}/claim", data={"csrf": "forged"})
    assert forged.status_code == 403
    async with db.session() as session:
        assert (await session.get(Task, task.id)).assignee is None  # type: ignore[union-attr]
    token = csrf_of((await agent.get("/web/queue")).text)
    claimed = await agent.post(f"/web/tasks/{task.id}/claim", data={"csrf": token})
    assert claimed.status_code == 303
    async with db.session() as session:
        assert (await session.get(Task, task.id)).assignee is not None  # type: ignore[union-attr]


async def test_a_promise_from_the_case_page_moves_the_next_step_and_a_refusal_shows_why(
    sign_in: SignIn, open_case: Open
) -> None:
    team = f"web-{uuid.uuid4().hex[:6]}"
    case_id = await open_case(team, days_past_due=20)
    agent = await sign_in("agent", team=team)
    page = await agent.get(f"/web/cases/{case_id}")
    assert page.status_code == 200 and "What happens next" in page.text
    token = csrf_of(page.text)
    today = datetime.now(UTC).date()
    refused = await agent.post(
        f"/web/cases/{case_id}/actions/promise",
        data={
            "csrf": token,
            "amount": "500.00",
            "due": (today + timedelta(days=90)).isoformat(),
            "reason": "call",
        },
    )
    assert refused.status_code == 409
    assert "a promise may run at most 60 days" in refused.text  # the workflow's own reason, inline
    due = today + timedelta(days=10)
    accepted = await agent.post(
        f"/web/cases/{case_id}/actions/promise",
        data={"csrf": token, "amount": "500.00", "due": due.isoformat(), "reason": "borrower called"},
    )
    assert accepted.status_code == 303
    after = await agent.get(accepted.headers["location"])
    assert "Recorded." in after.text and "promised 500.00" in after.text


async def test_the_borrower_is_masked_for_compliance_and_an_unmasked_read_is_audited(
    sign_in: SignIn, open_case: Open, db: Database
) -> None:
    team = f"web-{uuid.uuid4().hex[:6]}"
    case_id = await open_case(team, days_past_due=20, borrower_name="Ada Lovelace")
    compliance = await sign_in("compliance", team=None)
    masked = await compliance.get(f"/web/cases/{case_id}")
    assert "Ada Lovelace" not in masked.text and "A*** L***" in masked.text
    agent = await sign_in("agent", team=team, name="agent-reads")
    assert "Ada Lovelace" in (await agent.get(f"/web/cases/{case_id}")).text
    async with db.session() as session:
        reads = (
            await session.exec(
                select(AuditEvent).where(
                    col(AuditEvent.case_id) == case_id, col(AuditEvent.action) == "pii.read"
                )
            )
        ).all()
    assert [r.actor for r in reads] == ["agent-reads"]


async def test_an_agent_of_another_team_sees_no_such_case(sign_in: SignIn, open_case: Open) -> None:
    case_id = await open_case(f"web-{uuid.uuid4().hex[:6]}", days_past_due=20)
    stranger = await sign_in("agent", team="someone-else")
    assert (await stranger.get(f"/web/cases/{case_id}")).status_code == 404


async def test_a_regulator_sees_the_reports_and_nothing_else(sign_in: SignIn, open_case: Open) -> None:
    case_id = await open_case(f"web-{uuid.uuid4().hex[:6]}", days_past_due=20)
    regulator = await sign_in("regulator", team=None)
    home = await regulator.get("/web")
    assert home.headers["location"] == "/web/reports"
    reports = await regulator.get("/web/reports")
    assert (
        reports.status_code == 200 and "/web/queue" not in reports.text and "/web/audit" not in reports.text
    )
    for path in ("/web/queue", "/web/cases", f"/web/cases/{case_id}", "/web/audit"):
        assert (await regulator.get(path)).status_code == 403, path


async def test_sign_out_ends_the_session_even_for_a_copied_cookie(sign_in: SignIn) -> None:
    supervisor = await sign_in("supervisor")
    copied = dict(supervisor.cookies)
    token = csrf_of((await supervisor.get("/web/queue")).text)
    out = await supervisor.post("/web/sign-out", data={"csrf": token})
    assert out.status_code == 303 and "arrears_session" not in supervisor.cookies
    supervisor.cookies.update(copied)  # someone kept the cookie
    again = await supervisor.get("/web/queue")
    assert again.status_code == 303 and again.headers["location"].startswith("/web/sign-in")


async def test_the_session_cookie_is_httponly_and_samesite(sign_in: SignIn, settings: object) -> None:
    agent = await sign_in("agent")
    response = await agent.post("/web/sign-in", data={"name": "again", "role": "agent", "team": "default"})
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # on 127.0.0.1 only; elsewhere Secure (tests/web/test_sessions.py)


async def test_each_language_renders(sign_in: SignIn) -> None:
    for language, words in (("en", "Work queue"), ("nl", "Werkvoorraad"), ("sv", "Arbetskö")):
        agent = await sign_in("agent", Accept_Language=language)
        page = await agent.get("/web/queue")
        assert page.status_code == 200
        assert f'<html lang="{language}">' in page.text and words in page.text, language


async def test_the_api_docs_load_their_assets_from_this_server(sign_in: SignIn) -> None:
    browser = await sign_in("agent")
    docs = await browser.get("/docs")
    assert docs.status_code == 200
    assert "/docs/assets/swagger-ui-bundle.js" in docs.text and "cdn" not in docs.text.lower()
    script = await browser.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000


async def test_a_supervisor_reassigns_a_task_and_the_new_holder_finds_it_in_their_queue(
    sign_in: SignIn, open_case: Open, db: Database
) -> None:
    team = f"web-{uuid.uuid4().hex[:6]}"
    case_id = await open_case(team, days_past_due=20)
    task = (await _tasks(db, case_id))[0]
    supervisor = await sign_in("supervisor", team=team, name="sup-1")
    token = csrf_of((await supervisor.get("/web/queue")).text)
    moved = await supervisor.post(
        f"/web/tasks/{task.id}/assign", data={"csrf": token, "assignee": "agent-b", "reason": "holiday cover"}
    )
    assert moved.status_code == 303
    agent_b = await sign_in("agent", team=team, name="agent-b")
    mine = await agent_b.get("/web/queue", params={"mine": "true"})
    assert f"#task-{task.id}" in mine.text
    async with db.session() as session:
        event = (
            await session.exec(
                select(AuditEvent).where(
                    col(AuditEvent.case_id) == case_id, col(AuditEvent.action) == "task.assigned"
                )
            )
        ).one()
    assert (event.actor, event.reason, event.payload["to"]) == ("sup-1", "holiday cover", "agent-b")
    # an agent may not reassign
    agent_token = csrf_of(mine.text)
    refused = await agent_b.post(
        f"/web/tasks/{task.id}/assign", data={"csrf": agent_token, "assignee": "agent-c", "reason": "x"}
    )
    assert refused.status_code == 403


async def test_an_evaluation_is_decided_with_its_plan_terms_from_the_case_page(
    sign_in: SignIn, open_case: Open, db: Database
) -> None:
    team = f"web-{uuid.uuid4().hex[:6]}"
    case_id = await open_case(team, days_past_due=50)
    agent = await sign_in("agent", team=team)
    token = csrf_of((await agent.get(f"/web/cases/{case_id}")).text)
    today = datetime.now(UTC).date().isoformat()
    applied = await agent.post(
        f"/web/cases/{case_id}/actions/application",
        data={"csrf": token, "received_on": today, "complete": "on", "reason": "complete package"},
    )
    assert applied.status_code == 303, applied.text
    evaluation = None
    for _ in range(50):
        async with db.session() as session:
            evaluation = (
                await session.exec(select(Task).where(Task.case_id == case_id, Task.kind == "evaluation"))
            ).first()
        if evaluation is not None:
            break
        await asyncio.sleep(0.2)
    assert evaluation is not None
    refused = await agent.post(
        f"/web/cases/{case_id}/tasks/{evaluation.id}",
        data={"csrf": token, "decision": "approve", "reason": "affordable"},
    )
    assert refused.status_code == 409 and "an approval needs plan terms" in refused.text
    approved = await agent.post(
        f"/web/cases/{case_id}/tasks/{evaluation.id}",
        data={
            "csrf": token,
            "decision": "approve",
            "reason": "affordable",
            "plan_kind": "repayment_plan",
            "plan_months": "6",
            "plan_amount": "250.00",
        },
    )
    assert approved.status_code == 303, approved.text
    page = await agent.get(f"/web/cases/{case_id}")
    assert f"/web/cases/{case_id}/tasks/{evaluation.id}" not in page.text  # decided: no longer open


async def test_text_from_a_request_is_escaped_on_every_page(sign_in: SignIn, settings: object) -> None:
    browser = await sign_in("agent")
    injected = '<img src=x onerror="alert(1)"> 20 % %(x)s'
    page = await browser.get("/web/sign-in", params={"reason": injected})
    assert page.status_code == 200
    assert "<img src=x" not in page.text and "&lt;img src=x" in page.text
    refused = await browser.get("/web/oidc/callback", params={"error": injected})
    assert "<img src=x" not in refused.text
