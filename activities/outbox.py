"""The message outbox in PostgreSQL: document and message rows, delivery claims, audit events.

Everything here runs in the caller's transaction, and none of it talks to the outside: the send
activity (`activities.messages`) records an intent with these, commits, delivers, and records
the outcome in a second transaction. A claim (`claimed_by`, `claimed_until`, on the database's
clock) marks the one attempt that may deliver a message; its lease is renewed in transactions
of a single statement while the exchange lasts.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from activities.cases import append_action
from arrears import audit, documents
from models.audit_actions import AuditAction
from models.borrowers import Borrower
from models.cases import Case
from models.documents import Document, Message
from models.enums import Channel, MessageStatus
from models.loans import Loan
from workflows.dto import ActionInput, SendRequest, SendResult

FINAL = {
    MessageStatus.SENT,
    MessageStatus.BATCHED,
    MessageStatus.PRINTED,
    MessageStatus.SUPPRESSED,
    MessageStatus.FAILED,
}
# A claim lasts this long unless its attempt renews it: a dead worker's message waits this long.
LEASE = timedelta(seconds=10)


async def case_rows(session: AsyncSession, case_id: uuid.UUID) -> tuple[Case, Loan, Borrower]:
    """The case, its loan and its borrower."""
    case = await session.get(Case, case_id)
    if case is None:
        raise LookupError(f"case {case_id} has no row")
    loan = await session.get(Loan, case.loan_id)
    assert loan is not None
    borrower = await session.get(Borrower, loan.borrower_id)
    assert borrower is not None
    return case, loan, borrower


async def find_document(session: AsyncSession, key: str) -> Document | None:
    """The document stored for an idempotency key, if any."""
    return (await session.exec(select(Document).where(Document.idempotency_key == key))).first()


async def store_document(
    session: AsyncSession, request: SendRequest, case: Case, rendered: documents.Rendered | None, at: datetime
) -> Document:
    """The document for the request's key: stored with its audit event on first sight."""
    key = request.idempotency_key
    created = None
    if rendered is not None:
        insert_once = (
            insert(Document)
            .values(
                id=uuid.uuid4(),
                case_id=case.id,
                idempotency_key=key,
                template=rendered.template,
                template_version=rendered.template_version,
                language=rendered.language,
                html=rendered.html,
                pdf=rendered.pdf,
                sha256=rendered.sha256,
                html_sha256=rendered.html_sha256,
                created_at=at,
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(col(Document.id))
        )
        created = (await session.exec(insert_once)).first()
    doc = await find_document(session, key)
    assert doc is not None, "a document is rendered whenever none is stored"
    if created is not None:
        await audit.append(
            session,
            actor=audit.WORKFLOW,
            action=AuditAction.DOCUMENT_RENDERED,
            reason=f"{request.document} for step {request.step}",
            case_id=case.id,
            loan_id=case.loan_id,
            payload={
                "document_id": str(doc.id),
                "template": doc.template,
                "template_version": doc.template_version,
                "language": doc.language,
                "sha256": doc.sha256,
            },
            idempotency_key=f"{key}:document",
            occurred_at=at,
        )
    return doc


async def message_row(
    session: AsyncSession,
    request: SendRequest,
    doc: Document,
    *,
    channel: Channel,
    reason: str,
    message_id: str,
) -> Message:
    """The message row for the request's key, created on first sight, locked to the transaction."""
    assert request.channel is not None
    key = request.idempotency_key
    await session.exec(
        insert(Message)
        .values(
            id=uuid.uuid4(),
            case_id=doc.case_id,
            idempotency_key=key,
            channel=channel.value,
            requested_channel=request.channel.value,
            document_id=doc.id,
            message_id=message_id,
            status=MessageStatus.QUEUED.value,
            reason=reason,
            attempts=0,
            refusals=0,
            created_at=doc.created_at,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    return (await session.exec(select(Message).where(Message.idempotency_key == key).with_for_update())).one()


async def locked(session: AsyncSession, message: uuid.UUID) -> Message:
    """A message row, locked to the transaction."""
    return (await session.exec(select(Message).where(Message.id == message).with_for_update())).one()


async def clock(session: AsyncSession) -> datetime:
    """The database's clock, which every lease is measured on."""
    now: datetime = (await session.exec(select(func.clock_timestamp()))).one()
    return now


def held_by_another(msg: Message, now: datetime) -> timedelta | None:
    """How long another attempt's claim on the message still runs, if one does."""
    if msg.claimed_by is None or msg.claimed_until is None or msg.claimed_until <= now:
        return None
    return msg.claimed_until - now


def claim(msg: Message) -> str:
    """Claim a locked message for a new attempt, which sets its lease; the attempt's token."""
    msg.status = MessageStatus.SENDING
    msg.attempts += 1
    msg.claimed_by = uuid.uuid4().hex
    return msg.claimed_by


async def renew(session: AsyncSession, message: uuid.UUID, token: str) -> bool:
    """Push the lease on to `LEASE` from now, if the attempt still holds the claim."""
    renewed = await session.exec(
        update(Message)
        .where(col(Message.id) == message, col(Message.claimed_by) == token)
        .values(claimed_until=func.clock_timestamp() + LEASE)
        .returning(col(Message.id))
    )
    return renewed.first() is not None


async def release(session: AsyncSession, message: uuid.UUID, token: str) -> None:
    """Give a claim up, so that the next attempt need not wait for its lease to run out."""
    await session.exec(
        update(Message)
        .where(col(Message.id) == message, col(Message.claimed_by) == token)
        .values(claimed_by=None, claimed_until=None)
    )


async def record_status(
    session: AsyncSession,
    request: SendRequest,
    case: Case,
    msg: Message,
    at: datetime,
    *,
    rule: tuple[str, str] | None = None,
) -> None:
    """The message's status in the audit trail, once per status (and refusal)."""
    status = msg.status.value
    key = request.idempotency_key
    if msg.status is MessageStatus.SENDING:
        reason = f"{request.document} handed to the {msg.channel.value} channel"
    else:
        reason = msg.reason or f"{request.document} sent by {msg.channel.value}"
    await audit.append(
        session,
        actor=audit.WORKFLOW,
        action=AuditAction.for_message(msg.status),
        reason=reason,
        case_id=case.id,
        loan_id=case.loan_id,
        rule_id=rule[0] if rule else None,
        citation=rule[1] if rule else None,
        payload=payload(msg, retry_at=msg.retry_at if rule else None),
        idempotency_key=f"{key}:refused:{msg.refusals}" if rule else f"{key}:{status}",
        occurred_at=at,
    )


async def finish(
    session: AsyncSession, request: SendRequest, case: Case, result: SendResult, *, first: datetime
) -> SendResult:
    """The step's record, in the transaction that holds the message's outcome: a retry finds
    both or neither. Its time is `first`, the first attempt's, the same on every retry."""
    if request.record is None or not result.final:
        return result
    status, detail = result.step_outcome(request.document, request.record.detail)
    record = request.record.model_copy(update={"status": status, "detail": detail, "at": first})
    await append_action(
        session,
        ActionInput(case_id=case.id, loan_id=case.loan_id, record=record, reason=detail or record.key),
    )
    return result.model_copy(update={"record": record})


async def sent_on(
    session: AsyncSession, case_id: uuid.UUID, channel: Channel, *, since: datetime
) -> list[datetime]:
    """When the case's messages on a channel went out, since a moment: for the contact rules."""
    rows = await session.exec(
        select(Message.sent_at).where(
            Message.case_id == case_id,
            Message.channel == channel,
            Message.status == MessageStatus.SENT,
            col(Message.sent_at) > since,
        )
    )
    return [t for t in rows.all() if t is not None]


def payload(msg: Message, *, retry_at: datetime | None = None) -> dict[str, Any]:
    """No address, no name: the channel, the IDs and the outcome only."""
    data: dict[str, Any] = {
        "message": str(msg.id),
        "message_id": msg.message_id,
        "channel": msg.channel.value,
        "requested_channel": msg.requested_channel,
        "document_id": str(msg.document_id) if msg.document_id else None,
        "status": msg.status.value,
        "attempts": msg.attempts,
    }
    if retry_at is not None:
        data["retry_at"] = retry_at.isoformat()
    return data


_RESULT_STATUS: dict[MessageStatus, Any] = {
    MessageStatus.SENT: "sent",
    MessageStatus.BATCHED: "batched",
    MessageStatus.PRINTED: "batched",
    MessageStatus.REFUSED: "refused",
    MessageStatus.SUPPRESSED: "suppressed",
    MessageStatus.FAILED: "failed",
    MessageStatus.QUEUED: "refused",
    MessageStatus.SENDING: "refused",
}


def result(msg: Message, rule_id: str | None = None, citation: str | None = None) -> SendResult:
    """What the workflow learns of a message: its outcome, never its address."""
    return SendResult(
        status=_RESULT_STATUS[msg.status],
        channel=msg.channel,
        document_id=msg.document_id,
        message_id=msg.message_id,
        reason=msg.reason,
        rule_id=rule_id,
        citation=citation,
        retry_at=msg.retry_at,
    )
