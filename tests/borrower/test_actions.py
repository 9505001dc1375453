"""What a borrower does on their page, over real HTTP, lands where staff's actions land: the
workflow's updates and validators, the audit trail with actor `borrower`, a staff task for a call
back, and engagement events that hold no personal data."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import psycopg
from sqlmodel import col, select

from models.audit import AuditEvent
from models.cases import Case
from models.engagement import EngagementEvent, EngagementKind
from models.tasks import Task
from tests.borrower.conftest import Portal, SignedIn, enter, form_token


async def _audit(portal: Portal, case_id: uuid.UUID, actor: str) -> list[AuditEvent]:
    async with portal.db.session() as session:
        rows = await session.exec(
            select(AuditEvent).where(col(AuditEvent.case_id) == case_id, col(AuditEvent.actor) == actor)
        )
        return list(rows.all())


async def test_a_promise_goes_through_the_staffs_validator_and_moves_the_next_step(
    portal: Portal, signed_in: SignedIn
) -> None:
    case_id, email = await portal.open_case()
    client = await signed_in(await portal.mail_link(email), email)
    before = await portal.state(case_id)
    page = await client.get("/me/case")
    form = form_token(page.text)
    # the workflow's own validator refuses a promise past its 60 days, shown on the page
    far = (datetime.now(UTC).date() + timedelta(days=90)).isoformat()
    refused = await client.post("/me/promise", data={"form": form, "amount": "1500.00", "due": far})
    assert refused.status_code == 409 and "at most 60 days" in refused.text
    due = datetime.now(UTC).date() + timedelta(days=12)
    done = await client.post("/me/promise", data={"form": form, "amount": "1500.00", "due": due.isoformat()})
    assert done.status_code == 303 and done.headers["location"] == "/me/case?done=promise"
    after = await portal.state(case_id)
    assert [a for a in after.actions if a.kind == "promise"]
    assert before.next_actions != after.next_actions and after.next_actions[0].due >= due
    shown = await client.get("/me/case?done=promise")
    assert "Your promise to pay is recorded" in shown.text
    actions = {e.action for e in await _audit(portal, case_id, "borrower")}
    assert {"promise.done", "borrower.promised", "borrower.signed_in", "borrower.code_sent"} <= actions
    assert all(e.role == "borrower" for e in await _audit(portal, case_id, "borrower"))


async def test_a_call_back_is_a_staff_task_and_not_a_call(portal: Portal, signed_in: SignedIn) -> None:
    case_id, email = await portal.open_case()
    client = await signed_in(await portal.mail_link(email), email)
    page = await client.get("/me/case")
    when = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT10:30")
    done = await client.post("/me/callback", data={"form": form_token(page.text), "at": when})
    assert done.status_code == 303, done.text
    async with portal.db.session() as session:
        for _ in range(100):
            tasks = (await session.exec(select(Task).where(col(Task.case_id) == case_id))).all()
            if any("callback" in t.idempotency_key for t in tasks):
                break
            await asyncio.sleep(0.1)
            session.expire_all()
        case = await session.get(Case, case_id)
    task = next(t for t in tasks if "callback" in t.idempotency_key)
    assert task.kind == "live_contact" and task.rule_id == "contact.callback_requested"
    assert case is not None and case.next_call_at is None  # no call was placed: nothing to space
    state = await portal.state(case_id)
    assert state.next_call.at is None  # staff may still call at once: no call was counted
    assert {"contact.done", "borrower.callback_requested"} <= {
        e.action for e in await _audit(portal, case_id, "borrower")
    }


async def test_a_dispute_is_the_staffs_hold_with_the_packs_effects(
    portal: Portal, signed_in: SignedIn
) -> None:
    case_id, email = await portal.open_case()
    client = await signed_in(await portal.mail_link(email), email)
    page = await client.get("/me/case")
    done = await client.post("/me/hold", data={"form": form_token(page.text), "kind": "dispute"})
    assert done.status_code == 303
    state = await portal.state(case_id)
    [hold] = [h for h in state.holds if h.kind == "dispute"]
    assert hold.rule_id == "hold.dispute" and "1692g(b)" in hold.citation
    shown = await client.get("/me/case?done=dispute")
    assert "Collection is paused on your case" in shown.text


async def test_an_se_borrower_asks_for_an_amorteringsplan_with_its_fee(portal: Portal) -> None:
    case_id, email = await portal.open_case(
        "se_consumer", days_past_due=20, arrears="3000.00", installment="1000.00", language="sv"
    )
    link = await portal.any_link(case_id)
    async with httpx.AsyncClient(base_url=portal.url, timeout=60) as client:
        await enter(client, portal, link, email)
        page = await client.get("/me/case")
        assert "170,00" in page.text and "4 §" in page.text  # the plan fee, with its law
        done = await client.post("/me/plan", data={"form": form_token(page.text), "months": "6"})
        assert done.status_code == 303, done.text
    for _ in range(100):
        state = await portal.state(case_id)
        fees = [a for a in state.actions if a.kind == "fee" and a.amount == Decimal("170.00")]
        if fees:
            break
        await asyncio.sleep(0.1)
    assert state.forbearance is not None and state.forbearance.reduced_amount == Decimal("500.00")
    assert state.forbearance.by == "borrower"
    assert fees and "ersättning för inkassokostnader" in fees[0].citation


async def test_questions_are_answered_from_the_case_and_the_rest_called_back(
    portal: Portal, signed_in: SignedIn
) -> None:
    case_id, email = await portal.open_case(arrears="1500.00")
    client = await signed_in(await portal.mail_link(email), email)
    form = form_token((await client.get("/me/case")).text)
    balance = await client.post("/me/ask", data={"form": form, "question": "How much do I owe?"})
    assert 'data-intent="balance"' in balance.text and "You owe $1,500.00" in balance.text
    still = await client.post("/me/ask", data={"form": form, "question": "do i still owe anything?"})
    assert 'data-intent="still_owe"' in still.text and "Yes. $1,500.00 is still to be paid" in still.text
    other = await client.post("/me/ask", data={"form": form, "question": "My dog ate the letter"})
    assert 'data-intent="other"' in other.text and "will call you back" in other.text
    async with portal.db.session() as session:
        tasks = (await session.exec(select(Task).where(col(Task.case_id) == case_id))).all()
    [task] = [t for t in tasks if "callback" in t.idempotency_key]  # a collector calls back
    assert task.kind == "live_contact"
    events = await _audit(portal, case_id, "borrower")
    assert "borrower.question_answered" in {e.action for e in events}
    assert not any("dog" in str(e.payload) or "dog" in e.reason for e in events)  # never the text


async def test_engagement_events_hold_no_personal_data(portal: Portal, signed_in: SignedIn) -> None:
    case_id, email = await portal.open_case(borrower_name="Personal Name", address="9 Private Road")
    client = await signed_in(await portal.mail_link(email), email)
    page = await client.get("/me/case")
    due = (datetime.now(UTC).date() + timedelta(days=5)).isoformat()
    await client.post("/me/promise", data={"form": form_token(page.text), "amount": "100.00", "due": due})
    async with portal.db.session() as session:
        events = (
            await session.exec(select(EngagementEvent).where(col(EngagementEvent.case_id) == case_id))
        ).all()
    kinds = {e.kind for e in events}
    assert {
        EngagementKind.DELIVERED,
        EngagementKind.LINK_CLICKED,
        EngagementKind.PAGE_VIEWED,
        EngagementKind.PROMISE_MADE,
    } <= kinds
    assert all(e.message_id is not None and e.template == "reminder_direct_debit" for e in events)
    # one click: the borrower opened the link once (asking for a code is not another click)
    assert [e.kind for e in events].count(EngagementKind.LINK_CLICKED) == 1
    with psycopg.connect(portal.settings.database_url or "") as conn:
        rows = conn.execute("SELECT * FROM engagement_events WHERE case_id = %s", (case_id,)).fetchall()
    text = repr(rows)
    for personal in (email, "Personal Name", "9 Private Road", "+1 212"):
        assert personal not in text
