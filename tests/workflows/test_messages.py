"""Messages from running cases reach real servers: SMTP on loopback and an SMS gateway over HTTP."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from arrears import print_batch
from arrears.channels import message_id
from arrears.db import Database
from models.audit import AuditEvent
from models.documents import Document, Message
from models.enums import Channel, MessageStatus
from tests.factories import zone_at_local_hour
from tests.servers import SmsGatewayFake, SmtpSink
from workflows.case import CaseWorkflow
from workflows.dto import BankruptcyFiling, HoldChange


async def _messages(db: Database, case_id: Any) -> list[Message]:
    async with db.session() as session:
        rows = await session.exec(
            select(Message).where(Message.case_id == case_id).order_by(col(Message.created_at))
        )
        return list(rows.all())


async def _open_at_local(open_case: Any, time_env: Any, hour: int, **row: Any) -> Any:
    tz = zone_at_local_hour(hour, await time_env.get_current_time())
    return await open_case("us_mortgage", timezone=tz, **row)


async def test_email_reminder_reaches_the_smtp_server_once_with_its_letter(
    open_case: Any, time_env: Any, smtp: SmtpSink, db: Database
) -> None:
    # a forgetful payer first seen on day 10 gets the day-10 e-mail at once
    case = await _open_at_local(open_case, time_env, 12, days_past_due=10, email="noon@example.org")
    state = await case.state()
    mails = smtp.for_address("noon@example.org")
    assert len(mails) == 1
    [msg] = [m for m in await _messages(db, state.case_id) if m.requested_channel == "email"]
    assert msg.status is MessageStatus.SENT and msg.channel is Channel.EMAIL
    key = f"{state.case_id}:reminder.forgetful.2:0"
    assert msg.idempotency_key == key
    assert mails[0].message_id == msg.message_id == message_id(key, "arrears.test")
    assert "Your direct debit could not be collected" in str(mails[0].message["Subject"])
    [attachment] = list(mails[0].message.iter_attachments())
    pdf = attachment.get_content()
    async with db.session() as session:
        doc = await session.get(Document, msg.document_id)
        assert doc is not None
        # the stored document is the one delivered, byte for byte
        assert doc.pdf == pdf and doc.sha256 == hashlib.sha256(pdf).hexdigest()
        assert doc.template == "letters/common/en/reminder_direct_debit.html.j2"
        events = (
            await session.exec(
                select(AuditEvent).where(
                    AuditEvent.case_id == state.case_id, AuditEvent.action == "message.sent"
                )
            )
        ).all()
    assert len(events) == 1 and events[0].payload["message_id"] == msg.message_id
    assert "noon@example.org" not in str(events[0].payload)  # no personal data in the trail
    [action] = await case.actions("reminder.forgetful.2")
    assert action.status == "done" and "sent by email" in action.detail


async def test_sms_goes_through_the_http_gateway(
    open_case: Any, time_env: Any, sms_gateway: SmsGatewayFake, db: Database
) -> None:
    case = await _open_at_local(open_case, time_env, 15, days_past_due=3, phone="+1 646 555 0142")
    [request] = sms_gateway.to("+1 646 555 0142")
    state = await case.state()
    [msg] = [m for m in await _messages(db, state.case_id) if m.channel is Channel.SMS]
    assert request["headers"]["Idempotency-Key"] == msg.message_id
    assert "$1,500.00" in request["body"]["text"]
    assert msg.status is MessageStatus.SENT and msg.gateway_reference is not None


async def test_a_message_due_at_22_00_local_waits_until_08_00(
    open_case: Any, time_env: Any, smtp: SmtpSink, db: Database
) -> None:
    case = await _open_at_local(open_case, time_env, 22, days_past_due=10, email="late@example.org")
    tz = ZoneInfo(zone_at_local_hour(22, await case.now() - timedelta(seconds=5)))
    assert smtp.for_address("late@example.org") == []
    [refusal] = await case.actions("reminder.forgetful.2.refused", status="refused")
    assert refusal.citation == "12 CFR 1006.6(b)(1)(i)"
    [msg] = [m for m in await _messages(db, (await case.state()).case_id) if m.channel is Channel.EMAIL]
    assert msg.status is MessageStatus.REFUSED and msg.retry_at is not None
    assert msg.retry_at.astimezone(tz).hour == 8
    await time_env.sleep(msg.retry_at - await case.now() + timedelta(minutes=5))
    assert len(smtp.for_address("late@example.org")) == 1
    [msg] = [m for m in await _messages(db, msg.case_id) if m.channel is Channel.EMAIL]
    assert msg.status is MessageStatus.SENT and msg.sent_at is not None
    assert msg.sent_at.astimezone(tz).hour == 8 and msg.refusals == 1
    [sent] = await case.actions("reminder.forgetful.2", status="done")
    assert sent.at.astimezone(tz).hour == 8


async def test_nothing_goes_out_during_a_stay(
    open_case: Any, time_env: Any, smtp: SmtpSink, sms_gateway: SmsGatewayFake, db: Database
) -> None:
    # forgetful payer on day 1: SMS on day 3, e-mail on day 10, letter on day 16 would follow
    case = await _open_at_local(
        open_case, time_env, 12, days_past_due=1, email="stay@example.org", phone="+1 646 555 0199"
    )
    filed = await case.today()
    await case.handle.execute_update(
        CaseWorkflow.record_bankruptcy,
        BankruptcyFiling(by="alice", reason="petition", court_case="26-55501", filed_on=filed),
    )
    before = {m.idempotency_key for m in await _messages(db, (await case.state()).case_id)}
    await case.to(case.day(60))
    assert smtp.for_address("stay@example.org") == []
    assert sms_gateway.to("+1 646 555 0199") == []
    after = await _messages(db, (await case.state()).case_id)
    # nothing but the modified early-intervention notice a chapter 13 debtor is owed, which
    # carries no request for payment (12 CFR 1024.39(c)), and goes by letter
    new = [m for m in after if m.idempotency_key not in before]
    assert all(".bankruptcy." in m.idempotency_key and m.channel is Channel.LETTER for m in new), new
    async with db.session() as session:
        cover = (
            await session.exec(
                select(Document)
                .where(col(Document.idempotency_key).contains("proof_of_claim.cover"))
                .where(Document.case_id == (await case.state()).case_id)
            )
        ).one()
    assert (
        cover.template == "letters/us_mortgage/en/proof_of_claim_cover.html.j2"
    )  # stored for staff, not sent


async def test_cease_communication_suppresses_reminders_and_says_why(
    open_case: Any, time_env: Any, smtp: SmtpSink, db: Database
) -> None:
    case = await _open_at_local(open_case, time_env, 12, days_past_due=4, email="cease@example.org")
    await case.handle.execute_update(
        CaseWorkflow.set_hold, HoldChange(by="alice", reason="borrower letter", kind="cease", active=True)
    )
    await case.to(case.day(11))
    assert smtp.for_address("cease@example.org") == []
    [suppressed] = await case.actions("reminder.forgetful.2", status="suppressed")
    assert "cease" in suppressed.detail


async def test_letters_go_into_one_daily_print_batch(open_case: Any, time_env: Any, db: Database) -> None:
    case = await _open_at_local(open_case, time_env, 12, days_past_due=10)
    state = await case.state()
    [letter] = [m for m in await _messages(db, state.case_id) if m.channel is Channel.LETTER]
    assert letter.status is MessageStatus.BATCHED and letter.print_date == await case.today()
    async with db.session() as session:
        batch = await print_batch.build(session, await case.today())
    async with db.session() as session:
        again = await print_batch.build(session, await case.today())
    assert again.id == batch.id  # built once per day
    entries = [e for e in batch.manifest["letters"] if e["message"] == str(letter.id)]
    assert len(entries) == 1 and entries[0]["pages"] >= 1
    assert batch.pdf.startswith(b"%PDF-") and batch.sha256 == hashlib.sha256(batch.pdf).hexdigest()
    [letter] = [m for m in await _messages(db, state.case_id) if m.channel is Channel.LETTER]
    assert letter.status is MessageStatus.PRINTED and letter.print_batch_id == batch.id
