"""A slow mail relay or SMS gateway stalls no one: a send holds no lock and keeps no transaction
open while it talks to the outside, and still delivers each message once."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, update
from sqlmodel import col, select

from activities.messages import MessageActivities
from arrears import audit
from arrears.channels import Channels, Mailer, SmsGateway
from arrears.db import Database
from arrears.intake import IntakeService
from models.audit import AuditEvent
from models.cases import Case
from models.documents import Message
from models.enums import Channel, MessageStatus
from models.loans import Loan
from tests.factories import activity_env, delinquency, zone_at_local_hour
from tests.servers import SmsGatewayFake, SmtpServer, SmtpSink
from workflows.dto import SendRequest

STALL = 10.0  # seconds a slow relay sits on a message before it answers


async def _case(intake: IntakeService, db: Database, hour: int = 11) -> tuple[Case, dict[str, Any]]:
    """A case whose borrower's clock reads `hour` o'clock now."""
    now = datetime.now(UTC)
    record = delinquency(
        "us_mortgage", as_of=now.date(), days_past_due=40, timezone=zone_at_local_hour(hour, now)
    )
    result = await intake.ingest([(1, record)], source="test")
    assert result.opened == 1, result.errors
    async with db.session() as session:
        loan = (await session.exec(select(Loan).where(Loan.external_id == record["loan_id"]))).one()
        return (await session.exec(select(Case).where(Case.loan_id == loan.id))).one(), record


def _request(case: Case, channel: Channel) -> SendRequest:
    return SendRequest(
        case_id=case.id,
        step="test.slow_relay",
        document="reminder",
        channel=channel,
        arrears=Decimal("1500.00"),
        fees=Decimal("0"),
        days_past_due=40,
        delinquent_since=datetime.now(UTC).date(),
    )


def _channels(sink: SmtpSink, gateway: SmsGatewayFake) -> Channels:
    return Channels(
        mailer=Mailer(host="127.0.0.1", port=sink.port, sender="servicing@arrears.test"),
        sms=SmsGateway(url=gateway.url),
        message_id_domain="arrears.test",
    )


async def _long_transactions(database_url: str, older_than: float) -> list[str]:
    """The queries of transactions open on the database for longer than `older_than` seconds."""
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cursor = await conn.execute(
            "SELECT state || ': ' || query FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND xact_start < clock_timestamp() - make_interval(secs => %s)",
            (older_than,),
        )
        return [row[0] for row in await cursor.fetchall()]


async def _outcome(db: Database, key: str) -> tuple[Message, list[AuditEvent]]:
    async with db.session() as session:
        message = (await session.exec(select(Message).where(Message.idempotency_key == key))).one()
        events = (
            await session.exec(select(AuditEvent).where(AuditEvent.idempotency_key == f"{key}:sent"))
        ).all()
    return message, list(events)


@pytest.mark.parametrize("channel", [Channel.EMAIL, Channel.SMS])
async def test_a_stalled_relay_stalls_no_audited_write_and_the_send_completes_once(
    channel: Channel, intake: IntakeService, db: Database, database_url: str
) -> None:
    case, row = await _case(intake, db)
    request = _request(case, channel)
    sink, gateway = SmtpSink(delay=STALL), SmsGatewayFake(delay=STALL)
    with SmtpServer(sink), gateway:
        send = MessageActivities(db, _channels(sink, gateway)).send_document
        sending = asyncio.create_task(activity_env(datetime.now(UTC)).run(send, request))
        reached = sink.data_started if channel is Channel.EMAIL else gateway.request_started
        assert await asyncio.to_thread(reached.wait, 30), "the send never reached the server"
        await asyncio.sleep(1.5)  # well into the stall

        # an audited write elsewhere (a staff member reading another case) goes straight through
        started = time.monotonic()
        async with db.session() as session:
            await audit.append(
                session,
                actor=audit.Actor(name="alice", role="agent"),
                action="pii.read",
                reason="case read while a relay stalls",
            )
        waited = time.monotonic() - started
        open_meanwhile = await _long_transactions(database_url, older_than=1.0)
        still_stalled = not sending.done()

        result = await sending
    assert waited < 1.0, f"an audited write waited {waited:.1f}s behind a stalled relay"
    assert still_stalled, "the relay answered before the write was measured"
    assert open_meanwhile == [], "a transaction stayed open across the delivery"
    # and the send completed, once
    assert result.status == "sent" and result.channel is channel
    delivered = (
        [r.message_id for r in sink.for_address(row["email"])]
        if channel is Channel.EMAIL
        else [r["headers"]["Idempotency-Key"] for r in gateway.to(row["phone"])]
    )
    message, events = await _outcome(db, request.idempotency_key)
    assert delivered == [message.message_id] == [result.message_id]
    assert message.status is MessageStatus.SENT and message.attempts == 1 and message.sent_at is not None
    assert len(events) == 1


async def test_two_attempts_at_once_deliver_once(intake: IntakeService, db: Database) -> None:
    case, row = await _case(intake, db)
    request = _request(case, Channel.EMAIL)
    sink = SmtpSink(delay=2)
    with SmtpServer(sink), SmsGatewayFake() as gateway:
        send = MessageActivities(db, _channels(sink, gateway)).send_document
        now = datetime.now(UTC)
        first, second = await asyncio.gather(
            activity_env(now).run(send, request), activity_env(now + timedelta(seconds=1)).run(send, request)
        )
    assert first.status == second.status == "sent" and first.message_id == second.message_id
    assert [r.message_id for r in sink.for_address(row["email"])] == [first.message_id]
    message, events = await _outcome(db, request.idempotency_key)
    assert message.attempts == 1 and len(events) == 1


async def test_an_attempt_that_died_mid_delivery_is_delivered_again_with_the_same_message_id(
    intake: IntakeService, db: Database
) -> None:
    case, row = await _case(intake, db)
    request = _request(case, Channel.EMAIL)
    sink = SmtpSink(delay=STALL)
    with SmtpServer(sink), SmsGatewayFake() as gateway:
        send = MessageActivities(db, _channels(sink, gateway)).send_document
        dying = asyncio.create_task(activity_env(datetime.now(UTC)).run(send, request))
        assert await asyncio.to_thread(sink.data_started.wait, 30)
        dying.cancel()  # the server has the message; its answer never reaches the sender
        with pytest.raises(asyncio.CancelledError):
            await dying
        sink.delay = 0
        result = await activity_env(datetime.now(UTC)).run(send, request)
    received = [r.message_id for r in sink.for_address(row["email"])]
    assert result.status == "sent" and received == [result.message_id] * 2  # the one allowed repeat
    message, events = await _outcome(db, request.idempotency_key)
    assert message.status is MessageStatus.SENT and message.attempts == 2 and len(events) == 1


async def test_a_claim_left_by_a_dead_worker_is_taken_over_when_its_lease_runs_out(
    intake: IntakeService, db: Database
) -> None:
    case, row = await _case(intake, db, hour=23)
    request = _request(case, Channel.EMAIL)
    sink = SmtpSink()
    with SmtpServer(sink), SmsGatewayFake() as gateway:
        send = MessageActivities(db, _channels(sink, gateway)).send_document
        now = datetime.now(UTC)
        # 23:00 for the borrower: the intent is recorded, and the send refused until the morning
        refused = await activity_env(now).run(send, request)
        assert refused.status == "refused" and refused.retry_at is not None
        # in the morning a worker claimed it and died in the middle of the exchange, 2 s of its
        # lease to go
        async with db.session() as session:
            await session.exec(
                update(Message)
                .where(col(Message.idempotency_key) == request.idempotency_key)
                .values(
                    status=MessageStatus.SENDING,
                    attempts=1,
                    claimed_by="dead-worker",
                    claimed_until=func.clock_timestamp() + timedelta(seconds=2),
                )
            )
        started = time.monotonic()
        result = await activity_env(refused.retry_at + timedelta(minutes=1), first=now).run(send, request)
        waited = time.monotonic() - started
    assert result.status == "sent" and 1.5 < waited < 10, waited
    assert [r.message_id for r in sink.for_address(row["email"])] == [result.message_id]
    message, events = await _outcome(db, request.idempotency_key)
    assert message.status is MessageStatus.SENT and message.attempts == 2 and len(events) == 1
