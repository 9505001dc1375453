"""Documents and messages: render, store and deliver each exactly once, after the contact rules.

The message row, keyed by (case, step, sequence) and unique in PostgreSQL, is locked for the
whole send and marked sent in the same transaction that writes the audit event. A retried
activity finds the row sent and does nothing; a worker killed after the server accepted a
message and before that commit sends it again with the same Message-ID, the one duplicate
that no sender can rule out without the receiver's help.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from activities.cases import append_action
from arrears import audit, documents
from arrears.channels import Channels, Email, PermanentDeliveryError, failure, message_id
from arrears.db import Database
from models.borrowers import Borrower
from models.cases import Case
from models.documents import Document, Message
from models.enums import Channel, MessageStatus
from models.loans import Loan
from policies import contact, get_pack
from workflows.dto import ActionInput, SendRequest, SendResult

FINAL = {
    MessageStatus.SENT,
    MessageStatus.BATCHED,
    MessageStatus.PRINTED,
    MessageStatus.SUPPRESSED,
    MessageStatus.FAILED,
}


class MessageActivities:
    """The only code that renders letters and talks to SMTP and the SMS gateway."""

    def __init__(self, db: Database, channels: Channels, *, servicer: dict[str, str] | None = None) -> None:
        self.db = db
        self.channels = channels
        self.servicer = servicer or {"name": "Arrears Servicing", "address": "1 Servicing Plaza"}

    @activity.defn(name="send_document")
    async def send_document(self, request: SendRequest) -> SendResult:
        """Render and store the document, check the contact rules, then deliver it once."""
        # Heartbeats let the server notice a dead worker in seconds, not at the attempt's timeout.
        beat = asyncio.create_task(_heartbeat())
        try:
            return await self._send(request)
        finally:
            beat.cancel()

    async def _send(self, request: SendRequest) -> SendResult:
        async with self.db.session() as session:
            case, loan, borrower = await _case_rows(session, request.case_id)
            result = await self._outcome(session, request, case, loan, borrower)
            if request.record is None or not result.final:
                return result
            # The step's record, in the transaction that holds the message's outcome: a retry
            # finds both or neither. Its time is the first attempt's, the same on every retry.
            status, detail = result.step_outcome(request.document, request.record.detail)
            record = request.record.model_copy(
                update={"status": status, "detail": detail, "at": _first_time()}
            )
            await append_action(
                session,
                ActionInput(
                    case_id=case.id, loan_id=case.loan_id, record=record, reason=detail or record.key
                ),
            )
            return result.model_copy(update={"record": record})

    async def _outcome(
        self, session: AsyncSession, request: SendRequest, case: Case, loan: Loan, borrower: Borrower
    ) -> SendResult:
        at = _attempt_time()
        key = request.idempotency_key
        doc = await self._document(session, request, case, loan, borrower, at)
        if request.channel is None:
            return SendResult(status="stored", channel=None, document_id=doc.id)
        msg = await self._message(session, request, borrower, doc, case)
        if msg.status in FINAL:
            return _result(msg)
        pack = get_pack(loan.policy_pack)
        sent = await _sent_on(session, case.id, msg.channel, since=at - timedelta(days=31))
        decision = contact.check(
            pack, channel=msg.channel, at=at, timezone=borrower.timezone, sent=sent, holds=request.holds
        )
        if not decision.allowed:
            assert decision.rule is not None
            msg.status = MessageStatus.REFUSED if decision.retry_at else MessageStatus.SUPPRESSED
            msg.refusals += 1
            msg.reason = decision.reason
            msg.retry_at = decision.retry_at
            await audit.append(
                session,
                actor=audit.WORKFLOW,
                action=f"message.{msg.status.value}",
                reason=decision.reason,
                case_id=case.id,
                loan_id=case.loan_id,
                rule_id=decision.rule.id,
                citation=decision.rule.citation,
                payload=_payload(msg, retry_at=decision.retry_at),
                idempotency_key=f"{key}:refused:{msg.refusals}",
                occurred_at=at,
            )
            return _result(msg, decision.rule.id, decision.rule.citation)
        if msg.channel is Channel.LETTER:
            msg.status = MessageStatus.BATCHED
            msg.print_date = at.date()
            msg.reason = msg.reason or "queued for the day's print batch"
        else:
            msg.attempts += 1
            try:
                msg.gateway_reference = await self._deliver(request, msg, doc, loan, borrower, at)
                msg.status = MessageStatus.SENT
            except PermanentDeliveryError as exc:
                msg.status = MessageStatus.FAILED
                msg.reason = str(exc)[:500]
        msg.sent_at = at if msg.status is MessageStatus.SENT else None
        await audit.append(
            session,
            actor=audit.WORKFLOW,
            action=f"message.{msg.status.value}",
            reason=msg.reason or f"{request.document} sent by {msg.channel.value}",
            case_id=case.id,
            loan_id=case.loan_id,
            payload=_payload(msg),
            idempotency_key=f"{key}:{msg.status.value}",
            occurred_at=at,
        )
        return _result(msg)

    async def _document(
        self,
        session: AsyncSession,
        request: SendRequest,
        case: Case,
        loan: Loan,
        borrower: Borrower,
        at: datetime,
    ) -> Document:
        key = request.idempotency_key
        existing = (await session.exec(select(Document).where(Document.idempotency_key == key))).first()
        if existing is not None:
            return existing
        pack = get_pack(loan.policy_pack)
        language = _language(pack.name.value, request.document, borrower.language, pack.languages)
        context = letter_context(request, case, loan, borrower, self.servicer, at)
        rendered = await asyncio.to_thread(
            documents.render,
            pack=pack.name.value,
            country=pack.country,
            language=language,
            document=request.document,
            context=context,
            identifier=key,
        )
        await session.exec(
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
        )
        doc = (await session.exec(select(Document).where(Document.idempotency_key == key))).one()
        await audit.append(
            session,
            actor=audit.WORKFLOW,
            action="document.rendered",
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

    async def _message(
        self, session: AsyncSession, request: SendRequest, borrower: Borrower, doc: Document, case: Case
    ) -> Message:
        """The message row for the key, created on first sight and locked for this attempt."""
        assert request.channel is not None
        key = request.idempotency_key
        channel, reason = _resolve_channel(request.channel, borrower, self.channels)
        await session.exec(
            insert(Message)
            .values(
                id=uuid.uuid4(),
                case_id=case.id,
                idempotency_key=key,
                channel=channel.value,
                requested_channel=request.channel.value,
                document_id=doc.id,
                message_id=message_id(key, self.channels.message_id_domain),
                status=MessageStatus.QUEUED.value,
                reason=reason,
                attempts=0,
                refusals=0,
                created_at=doc.created_at,
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
        )
        stmt = select(Message).where(Message.idempotency_key == key).with_for_update()
        return (await session.exec(stmt)).one()

    async def _deliver(
        self, request: SendRequest, msg: Message, doc: Document, loan: Loan, borrower: Borrower, at: datetime
    ) -> str | None:
        if msg.channel is Channel.EMAIL:
            assert self.channels.mailer is not None and borrower.email
            await self.channels.mailer.send(
                Email(
                    to=borrower.email,
                    subject=f"{_title(doc.html)} ({loan.external_id})",
                    html=doc.html,
                    text=_title(doc.html) + "\n\nThe letter is attached as a PDF.",
                    message_id=msg.message_id,
                    sent_at=at,
                    attachment=doc.pdf,
                    attachment_name=f"{request.document}.pdf",
                )
            )
            return msg.message_id
        if msg.channel is Channel.SMS:
            assert self.channels.sms is not None and borrower.phone
            pack = get_pack(loan.policy_pack)
            text = documents.render_text(
                language=doc.language,
                name="message",
                context={
                    "servicer": self.servicer,
                    "loan": {"number": loan.external_id, "currency": loan.currency},
                    "case": {
                        "total_due": str(request.arrears + request.fees),
                        "reference": _reference(request),
                    },
                    "country": pack.country,
                },
            )
            return await self.channels.sms.send(to=borrower.phone, text=text, reference=msg.message_id)
        raise failure("channel_unsupported", permanent=True)

    def all(self) -> list[Callable[..., Awaitable[Any]]]:
        """Every activity of this class, for worker registration."""
        return [self.send_document]


def letter_context(
    request: SendRequest, case: Case, loan: Loan, borrower: Borrower, servicer: dict[str, str], at: datetime
) -> dict[str, Any]:
    """What a letter may say: the case's figures, the step's amount and deadline, the borrower's address."""
    return {
        "servicer": servicer,
        "borrower": {"name": borrower.name, "address": borrower.address or ""},
        "loan": {"number": loan.external_id, "currency": loan.currency},
        "case": {
            "reference": _reference(request),
            "arrears": str(request.arrears),
            "fees": str(request.fees),
            "total_due": str(request.arrears + request.fees),
            "days_past_due": request.days_past_due,
            "delinquent_since": request.delinquent_since,
        },
        "step": {
            "key": request.step,
            "amount": str(request.amount) if request.amount is not None else None,
            "deadline": request.deadline,
        },
        "facts": request.facts,
        "issued_on": at.date(),
        "issued_at": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _reference(request: SendRequest) -> str:
    return str(request.case_id)[:8].upper()


def _language(pack: str, document: str, preferred: str, pack_languages: tuple[str, ...]) -> str:
    """The borrower's language where the letter exists in it, else the pack's first that does."""
    available = documents.available_languages(pack, document)
    for language in (preferred, *pack_languages, "en"):
        if language in available:
            return language
    raise documents.TemplateMissing(f"{document} has no template for {pack}")


def _resolve_channel(requested: Channel, borrower: Borrower, channels: Channels) -> tuple[Channel, str]:
    """E-mail and SMS go as letters when the borrower has no address or the channel is not set up."""
    if requested is Channel.EMAIL and not (borrower.email and channels.mailer):
        why = "no e-mail address" if not borrower.email else "no SMTP server configured"
        return Channel.LETTER, f"{why}: sent as a letter"
    if requested is Channel.SMS and not (borrower.phone and channels.sms):
        why = "no phone number" if not borrower.phone else "no SMS gateway configured"
        return Channel.LETTER, f"{why}: sent as a letter"
    if requested is Channel.CALL:
        return Channel.LETTER, "calls are made by staff: sent as a letter"
    return requested, ""


async def _case_rows(session: AsyncSession, case_id: uuid.UUID) -> tuple[Case, Loan, Borrower]:
    case = await session.get(Case, case_id)
    if case is None:
        raise LookupError(f"case {case_id} has no row")
    loan = await session.get(Loan, case.loan_id)
    assert loan is not None
    borrower = await session.get(Borrower, loan.borrower_id)
    assert borrower is not None
    return case, loan, borrower


async def _sent_on(
    session: AsyncSession, case_id: uuid.UUID, channel: Channel, *, since: datetime
) -> list[datetime]:
    rows = await session.exec(
        select(Message.sent_at).where(
            Message.case_id == case_id,
            Message.channel == channel,
            Message.status == MessageStatus.SENT,
            col(Message.sent_at) > since,
        )
    )
    return [t for t in rows.all() if t is not None]


async def _heartbeat(every: float = 2.0) -> None:
    while True:
        activity.heartbeat()
        await asyncio.sleep(every)


def _first_time() -> datetime:
    """When the activity was first scheduled: the same on every retry of it."""
    try:
        return activity.info().scheduled_time.astimezone(UTC)
    except RuntimeError:  # called outside an activity (a script or a test)
        return datetime.now(UTC)


def _attempt_time() -> datetime:
    """When this attempt was scheduled: the server's clock, so virtual time in time-skipping tests."""
    try:
        return activity.info().current_attempt_scheduled_time.astimezone(UTC)
    except RuntimeError:  # called outside an activity (a script or a test)
        return datetime.now(UTC)


def _title(html: str) -> str:
    start, end = html.find("<title>"), html.find("</title>")
    return html[start + 7 : end].strip() if start >= 0 and end > start else "Letter"


def _payload(msg: Message, *, retry_at: datetime | None = None) -> dict[str, Any]:
    """No address, no name: the channel, the IDs and the outcome only."""
    payload: dict[str, Any] = {
        "message": str(msg.id),
        "message_id": msg.message_id,
        "channel": msg.channel.value,
        "requested_channel": msg.requested_channel,
        "document_id": str(msg.document_id) if msg.document_id else None,
        "status": msg.status.value,
        "attempts": msg.attempts,
    }
    if retry_at is not None:
        payload["retry_at"] = retry_at.isoformat()
    return payload


_RESULT_STATUS: dict[MessageStatus, Any] = {
    MessageStatus.SENT: "sent",
    MessageStatus.BATCHED: "batched",
    MessageStatus.PRINTED: "batched",
    MessageStatus.REFUSED: "refused",
    MessageStatus.SUPPRESSED: "suppressed",
    MessageStatus.FAILED: "failed",
    MessageStatus.QUEUED: "refused",
}


def _result(msg: Message, rule_id: str | None = None, citation: str | None = None) -> SendResult:
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
