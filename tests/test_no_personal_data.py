"""No personal data in the audit trail, the message records, a case's state or the logs.

Mail servers and SMS gateways echo the recipient in their refusals ("550 <ann@example.org>:
unknown user", a 400 whose body repeats the number). Cases run here through e-mail, SMS and
letters against servers that refuse like that; afterwards nothing the system keeps or logs about
them (documents aside: a letter carries the name and address it is sent to) names a borrower.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import traceback
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import col, select
from temporalio.client import Client, WorkflowHandle

from arrears.channels import Channels, DeliveryError, Email, Mailer, SmsGateway
from arrears.db import Database
from arrears.embedded import free_port
from arrears.intake import IntakeService
from arrears.temporal import build_worker
from models.audit import AuditEvent
from models.cases import Case
from models.documents import Message
from models.enums import Channel, MessageStatus
from models.loans import Loan
from tests.factories import delinquency, zone_at_local_hour
from tests.servers import SmsGatewayFake, SmtpServer, SmtpSink
from workflows.case import CaseWorkflow
from workflows.dto import CaseState

FINAL = (MessageStatus.FAILED, MessageStatus.BATCHED, MessageStatus.SENT)


def _rcpt_reply(address: str) -> str | None:
    if address.startswith("refuse-"):
        return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in local table"
    if address.startswith("busy-"):
        return f"451 4.2.0 <{address}>: Recipient address rejected: mailbox busy, try {address} later"
    return None


def _data_reply(recipients: list[str]) -> str | None:
    if any(r.startswith("spam-") for r in recipients):
        return f"554 5.7.1 Message to {', '.join(recipients)} rejected as spam"
    return None


def _sms_reply(body: dict[str, Any]) -> tuple[int, Any]:
    to = body["to"]
    if to.endswith("0"):
        return 400, {"error": f"invalid destination {to}", "to": to, "text": body["text"]}
    return 503, {"error": f"carrier for {to} unavailable"}


def _person(email: str | None = None, phone_ends: str | None = None) -> dict[str, Any]:
    """A borrower whose every detail is unique (a key of its own each), so that any trace of
    any of them can be found and told apart."""
    name, mail, phone, street = (uuid.uuid4().hex[:8] for _ in range(4))
    return {
        "borrower_name": f"Ottoline {name.upper()} Quastwhistle",
        "email": f"{email}-{mail}@example.org" if email else None,
        "phone": f"+1 917 {int(phone, 16) % 1_000_000:06d}{phone_ends}" if phone_ends else None,
        "address": f"{int(street[:4], 16)} Quastwhistle Lane, Apt {street[4:]}, Springfield",
    }


def _traces(row: dict[str, Any]) -> list[str]:
    """Every form in which a borrower's details could show up in text."""
    found = [row["borrower_name"], row["address"], row["borrower_name"].split()[1]]
    if row.get("email"):
        found += [row["email"], row["email"].split("@")[0]]
    if row.get("phone"):
        found += [row["phone"], re.sub(r"\D", "", row["phone"])]
    return found


async def _wait_for(predicate: Any, within: float = 90) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the cases did not reach their outcomes in time")
        await asyncio.sleep(0.5)


@pytest.mark.timeout(300)
async def test_refusals_that_echo_the_recipient_leave_no_trace_of_the_borrower(
    db: Database, dev_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    sink = SmtpSink(rcpt_reply=_rcpt_reply, data_reply=_data_reply)
    gateway = SmsGatewayFake(reply=_sms_reply)
    queue = f"pii-{uuid.uuid4()}"
    tz = zone_at_local_hour(12, datetime.now(UTC))
    today = datetime.now(UTC).date()
    # day 10: the e-mail reminder at once (and the Reg F validation notice by letter);
    # day 3: the SMS reminder at once; without e-mail or phone the reminder goes as a letter
    rows = [
        delinquency(as_of=today, days_past_due=10, timezone=tz, **_person(email="refuse")),
        delinquency(as_of=today, days_past_due=10, timezone=tz, **_person(email="spam")),
        delinquency(as_of=today, days_past_due=10, timezone=tz, **_person(email="busy")),
        delinquency(as_of=today, days_past_due=3, timezone=tz, **_person(phone_ends="0")),  # refused
        delinquency(as_of=today, days_past_due=3, timezone=tz, **_person(phone_ends="1")),  # gateway down
        delinquency(as_of=today, days_past_due=10, timezone=tz, **_person()),  # letters only
    ]
    with SmtpServer(sink), gateway:
        async with build_worker(dev_client, db, task_queue=queue, channels=_channels(sink, gateway)):
            intake = IntakeService(db, dev_client, task_queue=queue)
            result = await intake.ingest(list(enumerate(rows, start=1)), source="test")
            assert result.opened == len(rows), result.errors
            case_ids = await _case_ids(db, rows)
            handles = [
                dev_client.get_workflow_handle(f"loan-{r['loan_id']}", result_type=CaseState) for r in rows
            ]

            async def settled() -> bool:
                done = {
                    m.case_id
                    for m in await _messages(db, case_ids)
                    if m.requested_channel in ("email", "sms") and m.status in FINAL
                }
                return (
                    {case_ids[i] for i in (0, 1, 3, 5)} <= done
                    and (case_ids[2] in done or await _retried(handles[2]))
                    and await _retried(handles[4])
                )

            await _wait_for(settled)
            messages = await _messages(db, case_ids)
            states = [(await h.query(CaseWorkflow.state)).model_dump_json() for h in handles]
            histories = [await _history(h) for h in handles]
            pending = [str((await h.describe()).raw_description) for h in handles]
            for handle in handles:
                await handle.terminate("test over")

    async with db.session() as session:
        trail = (await session.exec(select(AuditEvent).order_by(col(AuditEvent.arrival)))).all()
    stored = {
        "audit trail": "\n".join(
            f"{e.action} {e.reason} {e.rule_id} {e.citation} {json.dumps(e.payload)}" for e in trail
        ),
        "message records": "\n".join(f"{m.reason} {m.gateway_reference}" for m in messages),
        "case state": "\n".join(states),
        "workflow histories": "\n".join(histories),
        "pending activities": "\n".join(pending),
        "logs": _our_logs(caplog.records),
    }
    leaks = [
        f"{trace!r} in the {where}"
        for row in rows
        for trace in _traces(row)
        for where, text in stored.items()
        if trace.lower() in text.lower()
    ]
    assert not leaks, "\n".join(leaks)

    # every channel was exercised, and refused as intended
    by_case = {c: [m for m in messages if m.case_id == c] for c in case_ids}
    reasons = {m.reason for m in messages if m.status is MessageStatus.FAILED}
    assert reasons == {
        "smtp_550: mailbox unavailable",
        "smtp_554: transaction failed",
        "sms_gateway_400: request refused",
    }
    assert any(
        m.channel is Channel.LETTER and m.status is MessageStatus.BATCHED for m in by_case[case_ids[5]]
    )
    assert "smtp_451: local error in processing" in pending[2]
    assert "sms_gateway_503: service unavailable" in pending[4]
    assert sink.received == [] and len(gateway.requests) >= 2


def _our_logs(records: list[logging.LogRecord]) -> str:
    """What the system logged, tracebacks included (the loopback mail server's own log aside)."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(r) for r in records if not r.name.startswith("mail.log"))


def _channels(sink: SmtpSink, gateway: SmsGatewayFake) -> Channels:
    return Channels(
        mailer=Mailer(host="127.0.0.1", port=sink.port, sender="servicing@arrears.test"),
        sms=SmsGateway(url=gateway.url),
        message_id_domain="arrears.test",
    )


async def _case_ids(db: Database, rows: list[dict[str, Any]]) -> list[uuid.UUID]:
    async with db.session() as session:
        ids = {}
        for row in rows:
            loan = (await session.exec(select(Loan).where(Loan.external_id == row["loan_id"]))).one()
            ids[row["loan_id"]] = (await session.exec(select(Case.id).where(Case.loan_id == loan.id))).one()
    return [ids[r["loan_id"]] for r in rows]


async def _messages(db: Database, case_ids: list[uuid.UUID]) -> list[Message]:
    async with db.session() as session:
        return list((await session.exec(select(Message).where(col(Message.case_id).in_(case_ids)))).all())


async def _retried(handle: WorkflowHandle[Any, Any]) -> bool:
    """Whether the case's send has failed at least once and is being retried."""
    raw = (await handle.describe()).raw_description
    return any(a.attempt >= 2 and a.last_failure.message for a in raw.pending_activities)


async def _history(handle: WorkflowHandle[Any, Any]) -> str:
    return "\n".join([str(event) async for event in handle.fetch_history_events()])


# ------------------------------------------------------------------ the channels' own errors
ADDRESS = "echo.me@example.org"


def _raised(exc: BaseException) -> str:
    """All a log line or an engine's failure record could show of an exception."""
    return "".join(traceback.format_exception(exc)) + repr(exc.args)


async def _mail_error(port: int, wait: float = 5.0) -> DeliveryError:
    mailer = Mailer(host="127.0.0.1", port=port, sender="servicing@arrears.test", timeout=wait)
    mail = Email(
        to=ADDRESS,
        subject="Reminder",
        html="<p>hi</p>",
        text="hi",
        message_id="<x@arrears.test>",
        sent_at=datetime.now(UTC),
    )
    with pytest.raises(DeliveryError) as raised:
        await mailer.send(mail)
    return raised.value


@pytest.mark.parametrize(
    ("reply", "expected", "permanent"),
    [
        ("550 5.1.1 <{a}>: user unknown", "smtp_550: mailbox unavailable", True),
        ("553 5.1.3 <{a}> is not a valid address", "smtp_553: mailbox name not allowed", True),
        ("450 4.2.1 <{a}>: try later", "smtp_450: mailbox unavailable", False),
        ("421 4.7.0 <{a}> too many connections", "smtp_421: service not available", False),
        ("599 something about {a}", "smtp_599: permanent failure", True),
    ],
)
async def test_an_smtp_refusal_becomes_a_code_and_a_fixed_text(
    reply: str, expected: str, permanent: bool
) -> None:
    sink = SmtpSink(rcpt_reply=lambda address: reply.format(a=address))
    with SmtpServer(sink):
        error = await _mail_error(sink.port)
    assert str(error) == expected and error.permanent is permanent
    assert ADDRESS not in _raised(error) and "echo.me" not in _raised(error)


async def test_an_smtp_server_that_is_down_or_silent_gives_codes() -> None:
    assert str(await _mail_error(free_port())) == "smtp_connect_failed: could not connect"
    sink = SmtpSink(delay=3)
    with SmtpServer(sink):
        error = await _mail_error(sink.port, wait=0.5)
    assert str(error) == "smtp_timeout: no answer in time" and not error.permanent
    assert ADDRESS not in _raised(error)


@pytest.mark.parametrize(
    ("status", "expected", "permanent"),
    [
        (400, "sms_gateway_400: request refused", True),
        (422, "sms_gateway_422: request refused", True),
        (418, "sms_gateway_418: request refused", True),
        (503, "sms_gateway_503: service unavailable", False),
        (507, "sms_gateway_507: gateway error", False),
    ],
)
async def test_a_gateway_refusal_becomes_a_code_and_a_fixed_text(
    status: int, expected: str, permanent: bool
) -> None:
    phone = "+1 917 555 0100"
    refusing = SmsGatewayFake(reply=lambda body: (status, {"error": f"bad number {body['to']}"}))
    with refusing as gateway, pytest.raises(DeliveryError) as raised:
        await SmsGateway(url=gateway.url).send(to=phone, text="hi", reference="<x@arrears.test>")
    assert str(raised.value) == expected and raised.value.permanent is permanent
    assert phone not in _raised(raised.value) and "555" not in _raised(raised.value)


async def test_a_gateway_that_is_down_or_silent_gives_codes() -> None:
    with pytest.raises(DeliveryError) as down:
        await SmsGateway(url=f"http://127.0.0.1:{free_port()}/v1/messages").send(
            to="+1 917 555 0100", text="hi", reference="r"
        )
    assert str(down.value) == "sms_gateway_connect_failed: could not connect"
    with SmsGatewayFake(delay=2) as gateway, pytest.raises(DeliveryError) as silent:
        await SmsGateway(url=gateway.url, timeout=0.3).send(to="+1 917 555 0100", text="hi", reference="r")
    assert str(silent.value) == "sms_gateway_timeout: no answer in time" and not silent.value.permanent
