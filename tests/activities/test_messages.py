"""The send activity on its own: a retry sends nothing twice, holds and bad addresses are recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import col, select

from activities.messages import MessageActivities
from arrears.channels import Channels, SmsGateway
from arrears.db import Database
from arrears.intake import IntakeService
from models.audit import AuditEvent
from models.cases import Case
from models.documents import Message
from models.enums import Channel, MessageStatus
from models.loans import Loan
from tests.factories import activity_env, delinquency, zone_at_local_hour
from tests.servers import SmsGatewayFake, SmtpSink
from workflows.dto import ActionRecord, SendRequest


async def _case(intake: IntakeService, db: Database, **row: Any) -> Case:
    record = delinquency("us_mortgage", as_of=datetime.now(UTC).date(), days_past_due=40, **row)
    result = await intake.ingest([(1, record)], source="test")
    assert result.opened == 1, result.errors
    async with db.session() as session:
        loan = (await session.exec(select(Loan).where(Loan.external_id == record["loan_id"]))).one()
        return (await session.exec(select(Case).where(Case.loan_id == loan.id))).one()


def _request(case: Case, channel: Channel, **extra: Any) -> SendRequest:
    return SendRequest(
        case_id=case.id,
        step="test.reminder",
        document="reminder",
        channel=channel,
        arrears=Decimal("1500.00"),
        fees=Decimal("0"),
        days_past_due=40,
        delinquent_since=datetime.now(UTC).date(),
        **extra,
    )


async def test_a_retried_send_finds_its_record_and_sends_nothing_twice(
    intake: IntakeService, db: Database, channels: Channels, smtp: SmtpSink
) -> None:
    now = datetime.now(UTC)
    case = await _case(intake, db, email="retry@example.org", timezone=zone_at_local_hour(11, now))
    send = MessageActivities(db, channels).send_document
    first = await activity_env(now).run(send, _request(case, Channel.EMAIL))
    second = await activity_env(now).run(send, _request(case, Channel.EMAIL))
    assert first.status == second.status == "sent"
    assert first.message_id == second.message_id and first.document_id == second.document_id
    assert len(smtp.for_address("retry@example.org")) == 1
    async with db.session() as session:
        rows = (await session.exec(select(Message).where(Message.case_id == case.id))).all()
        sent_events = (
            await session.exec(
                select(AuditEvent).where(AuditEvent.case_id == case.id, AuditEvent.action == "message.sent")
            )
        ).all()
    assert [(m.channel, m.status, m.attempts) for m in rows] == [(Channel.EMAIL, MessageStatus.SENT, 1)]
    assert len(sent_events) == 1


def _step_record(at: datetime) -> ActionRecord:
    return ActionRecord(
        key="test.reminder",
        kind="message",
        status="done",
        rule_id="reminder.second",
        citation="servicing policy",
        at=at,
        channel=Channel.EMAIL,
        document="reminder",
        detail="second reminder",
    )


async def _step_events(db: Database, case: Case) -> list[AuditEvent]:
    """The step records of the test's own sends (the case's workflow, running beside the test,
    writes its opening steps under the pack's rules: those are not counted)."""
    async with db.session() as session:
        return list(
            (
                await session.exec(
                    select(AuditEvent).where(
                        AuditEvent.case_id == case.id,
                        col(AuditEvent.action).in_(["message.done", "message.suppressed"]),
                        col(AuditEvent.rule_id).not_like("us_mortgage.%"),
                    )
                )
            ).all()
        )


async def test_the_step_record_is_written_with_the_send_once_across_retries(
    intake: IntakeService, db: Database, channels: Channels, smtp: SmtpSink
) -> None:
    now = datetime.now(UTC)
    case = await _case(intake, db, email="step@example.org", timezone=zone_at_local_hour(11, now))
    send = MessageActivities(db, channels).send_document
    request = _request(case, Channel.EMAIL, record=_step_record(now - timedelta(days=1)))
    first = await activity_env(now).run(send, request)
    retry = await activity_env(now + timedelta(seconds=30), first=now).run(send, request)
    assert first.record is not None and first.record == retry.record
    # the outcome and the first attempt's time, whatever the request's draft said
    assert first.record.at == now and first.record.status == "done"
    assert first.record.detail == "second reminder; reminder sent by email"
    events = await _step_events(db, case)
    assert [(e.action, e.reason, e.rule_id) for e in events] == [
        ("message.done", "second reminder; reminder sent by email", "reminder.second")
    ]
    assert len(smtp.for_address("step@example.org")) == 1


async def test_a_send_refused_for_now_writes_no_step_record(
    intake: IntakeService, db: Database, channels: Channels, smtp: SmtpSink
) -> None:
    now = datetime.now(UTC)
    case = await _case(intake, db, email="late@example.org", timezone=zone_at_local_hour(23, now))
    send = MessageActivities(db, channels).send_document
    result = await activity_env(now).run(send, _request(case, Channel.EMAIL, record=_step_record(now)))
    assert result.status == "refused" and result.retry_at is not None
    assert result.record is None and await _step_events(db, case) == []
    assert smtp.for_address("late@example.org") == []


async def test_a_hold_that_arrives_with_the_send_suppresses_it(
    intake: IntakeService, db: Database, channels: Channels, smtp: SmtpSink
) -> None:
    now = datetime.now(UTC)
    case = await _case(intake, db, email="held@example.org", timezone=zone_at_local_hour(11, now))
    send = MessageActivities(db, channels).send_document
    result = await activity_env(now).run(send, _request(case, Channel.EMAIL, holds=["stay"]))
    assert result.status == "suppressed" and result.citation == "11 U.S.C. 362(a)(6)"
    assert smtp.for_address("held@example.org") == []
    # suppressed is final for this message: a retry does not send it either
    again = await activity_env(now).run(send, _request(case, Channel.EMAIL))
    assert again.status == "suppressed" and smtp.for_address("held@example.org") == []


async def test_no_email_address_sends_a_letter_and_says_so(
    intake: IntakeService, db: Database, channels: Channels
) -> None:
    case = await _case(intake, db, email=None)
    result = await activity_env(datetime.now(UTC)).run(
        MessageActivities(db, channels).send_document, _request(case, Channel.EMAIL)
    )
    assert result.status == "batched" and result.channel is Channel.LETTER
    assert result.reason == "no e-mail address: sent as a letter"


async def test_a_gateway_refusal_is_recorded_as_failed_not_retried_forever(
    intake: IntakeService, db: Database, sms_gateway: SmsGatewayFake
) -> None:
    now = datetime.now(UTC)
    case = await _case(intake, db, phone="+1 718 555 0123", timezone=zone_at_local_hour(11, now))
    refusing = SmsGatewayFake(status=422)
    with refusing:
        send = MessageActivities(db, Channels(mailer=None, sms=SmsGateway(url=refusing.url))).send_document
        result = await activity_env(now).run(send, _request(case, Channel.SMS))
    assert result.status == "failed" and "422" in result.reason
    assert len(refusing.requests) == 1
