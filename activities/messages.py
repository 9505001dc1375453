"""Documents and messages: render, store and deliver each exactly once, after the contact rules.

A send never holds a lock or an open transaction while it talks to the outside:

1. the intent, in one transaction: the document, the message row keyed by (case, step,
   sequence) and unique in PostgreSQL, the contact rules' verdict and the audit events. An
   e-mail or SMS that may go is claimed for this attempt (`sending`, with a lease), and the
   transaction commits;
2. the delivery, with no transaction open, the lease renewed in tiny transactions of its own;
3. the outcome, in a second transaction: sent or failed, with its audit event and the step's.

A retried activity that finds the message sent does nothing. One that finds it `sending` with
the lease run out (its worker died during or after the exchange) delivers it again with the same
Message-ID, the one duplicate that no sender can rule out without the receiver's help. While
another attempt's lease runs, an attempt waits for that attempt's outcome instead of delivering.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import segno
from markupsafe import Markup
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from activities import outbox
from activities import validation_notice as reg_f_notice
from arrears import documents, engagement
from arrears.borrower_links import Links
from arrears.channels import Channels, DeliveryError, Email, PermanentDeliveryError, failure, message_id
from arrears.db import Database
from models.borrowers import Borrower
from models.cases import Case
from models.documents import Document, Message
from models.engagement import EngagementKind
from models.enums import Channel, MessageStatus
from models.loans import Loan
from policies import contact, get_pack
from policies.validation_notice import DOCUMENT as VALIDATION_NOTICE
from workflows.dto import SendRequest, SendResult

log = logging.getLogger(__name__)

RENEW_EVERY = 3.0  # seconds between renewals of a claim's lease during an exchange
# An attempt ends its exchange this long before the lease the database holds runs out, so that
# no other attempt can claim the message while this one may still be handing it over.
_MARGIN = 2.0  # seconds
_POLL = 1.0  # seconds between looks at a message another attempt holds


@dataclass(frozen=True, slots=True)
class _Claim:
    """What the intent's transaction leaves for delivery: the claimed message and its context."""

    message: Message
    document: Document
    case: Case
    loan: Loan
    borrower: Borrower
    token: str
    at: datetime
    expires: float  # event-loop time by which the exchange ends unless the lease is renewed


@dataclass(frozen=True, slots=True)
class _Wait:
    """Another attempt holds the message: look again after this many seconds."""

    seconds: float


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
        at = _attempt_time()
        async with self.db.session() as session:
            case, loan, borrower = await outbox.case_rows(session, request.case_id)
            stored = await outbox.find_document(session, request.idempotency_key)
            extra: dict[str, Any] = {}
            if request.document == VALIDATION_NOTICE:
                # one end date for the letter and the step's record, the same on every retry
                end = reg_f_notice.period_end(_first_time())
                request = reg_f_notice.stamped(request, end=end, opened_on=case.opened_as_of)
                if not stored:
                    extra["validation"] = await reg_f_notice.facts(
                        session,
                        case=case,
                        loan=loan,
                        fees=request.fees,
                        servicer=self.servicer,
                        at=at,
                        end=end,
                    )
        # the PDF is rendered with no transaction open
        rendered = None if stored else await self._render(request, case, loan, borrower, at, extra)
        while True:
            async with self.db.session() as session:
                intent = await self._intend(session, request, rendered, at)
            if not isinstance(intent, _Wait):
                break
            await asyncio.sleep(intent.seconds)
        if isinstance(intent, SendResult):
            return intent
        delivered = await self._deliver_claimed(request, intent)
        async with self.db.session() as session:  # the outcome
            msg = await outbox.locked(session, intent.message.id)
            if msg.status not in outbox.FINAL:  # else another attempt recorded it first
                if isinstance(delivered, DeliveryError):
                    msg.status, msg.reason = MessageStatus.FAILED, str(delivered)
                else:
                    msg.status, msg.gateway_reference, msg.sent_at = MessageStatus.SENT, delivered, intent.at
                msg.claimed_by = msg.claimed_until = None
                await engagement.record(
                    session,
                    case_id=intent.case.id,
                    message_id=msg.id,
                    template=engagement.template_name(intent.document.template),
                    kind=EngagementKind.BOUNCED
                    if msg.status is MessageStatus.FAILED
                    else EngagementKind.DELIVERED,
                    at=intent.at,
                )
                await outbox.record_status(session, request, intent.case, msg, intent.at)
            return await outbox.finish(session, request, intent.case, outbox.result(msg), first=_first_time())

    async def _intend(
        self, session: AsyncSession, request: SendRequest, rendered: documents.Rendered | None, at: datetime
    ) -> SendResult | _Claim | _Wait:
        """The intent: store the document and the message, apply the contact rules, and claim an
        e-mail or SMS for this attempt. No network I/O in here: the caller commits it."""
        first = _first_time()
        case, loan, borrower = await outbox.case_rows(session, request.case_id)
        doc = await outbox.store_document(session, request, case, rendered, at)
        if request.channel is None:
            stored = SendResult(status="stored", channel=None, document_id=doc.id)
            return await outbox.finish(session, request, case, stored, first=first)
        channel, reason = _resolve_channel(request.channel, borrower, self.channels)
        msg = await outbox.message_row(
            session,
            request,
            doc,
            channel=channel,
            reason=reason,
            message_id=message_id(request.idempotency_key, self.channels.message_id_domain),
        )
        if msg.status in outbox.FINAL:
            return await outbox.finish(session, request, case, outbox.result(msg), first=first)
        now = await outbox.clock(session)
        held = outbox.held_by_another(msg, now)
        if held is not None:
            return _Wait(min(held.total_seconds(), _POLL))
        pack = get_pack(loan.policy_pack)
        sent = await outbox.sent_on(session, case.id, msg.channel, since=at - timedelta(days=31))
        decision = contact.check(
            pack, channel=msg.channel, at=at, timezone=borrower.timezone, sent=sent, holds=request.holds
        )
        if not decision.allowed:
            assert decision.rule is not None
            msg.status = MessageStatus.REFUSED if decision.retry_at else MessageStatus.SUPPRESSED
            msg.refusals += 1
            msg.reason = decision.reason
            msg.retry_at = decision.retry_at
            msg.claimed_by = msg.claimed_until = None
            rule = (decision.rule.id, decision.rule.citation)
            await outbox.record_status(session, request, case, msg, at, rule=rule)
            return await outbox.finish(session, request, case, outbox.result(msg, *rule), first=first)
        if msg.channel is Channel.LETTER:
            msg.status = MessageStatus.BATCHED
            msg.print_date = at.date()
            msg.reason = msg.reason or "queued for the day's print batch"
            await outbox.record_status(session, request, case, msg, at)
            return await outbox.finish(session, request, case, outbox.result(msg), first=first)
        # an e-mail or SMS: claimed for this attempt, committed before anything goes out
        token = outbox.claim(msg)
        await outbox.record_status(session, request, case, msg, at)
        # the lease starts last (the audit lock may have kept us), and the local deadline before it
        started = asyncio.get_running_loop().time()
        msg.claimed_until = await outbox.clock(session) + outbox.LEASE
        expires = started + outbox.LEASE.total_seconds() - _MARGIN
        return _Claim(msg, doc, case, loan, borrower, token, at, expires)

    async def _deliver_claimed(self, request: SendRequest, claim: _Claim) -> DeliveryError | str | None:
        """Hand the message over with no transaction open: the gateway's reference, or the
        channel's refusal for good. The claim is renewed meanwhile; should that fail, the
        exchange ends before the lease does. Anything else gives the claim up and raises."""
        try:
            async with asyncio.timeout_at(claim.expires) as deadline:
                keeper = asyncio.create_task(self._keep(claim, deadline))
                try:
                    return await self._deliver(request, claim)
                finally:
                    keeper.cancel()
                    await asyncio.wait([keeper])  # no renewal may outlive the exchange
        except PermanentDeliveryError as exc:
            return exc
        except TimeoutError:  # the lease could not be renewed (channels raise no TimeoutError)
            await self._release(claim)
            raise failure("claim_lapsed") from None
        except BaseException:
            await self._release(claim)
            raise

    async def _keep(self, claim: _Claim, deadline: asyncio.Timeout) -> None:
        """Renew the claim while the exchange lasts; once it is lost, end the exchange at once."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(RENEW_EVERY)
            asked = loop.time()
            try:
                async with self.db.session() as session:
                    kept = await outbox.renew(session, claim.message.id, claim.token)
            except Exception as exc:  # the database is away: the deadline stands
                log.warning("lease on message %s not renewed: %s", claim.message.id, type(exc).__name__)
                continue
            if not kept:
                deadline.reschedule(loop.time())
                return
            deadline.reschedule(asked + outbox.LEASE.total_seconds() - _MARGIN)

    async def _release(self, claim: _Claim) -> None:
        """Give the claim up, if the database answers soon: else its lease runs out by itself."""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5), self.db.session() as session:
                await outbox.release(session, claim.message.id, claim.token)

    async def _render(
        self,
        request: SendRequest,
        case: Case,
        loan: Loan,
        borrower: Borrower,
        at: datetime,
        extra: dict[str, Any] | None = None,
    ) -> documents.Rendered:
        pack = get_pack(loan.policy_pack)
        language = _language(pack.name.value, request.document, borrower.language, pack.languages)
        links = self.channels.links if offers_page(request) else None
        return await asyncio.to_thread(
            documents.render,
            pack=pack.name.value,
            country=pack.country,
            language=language,
            document=request.document,
            context=letter_context(request, case, loan, borrower, self.servicer, at)
            | {"access": access(links, case_id=request.case_id, key=request.idempotency_key, at=at)}
            | (extra or {}),
            identifier=request.idempotency_key,
        )

    async def _deliver(self, request: SendRequest, claim: _Claim) -> str | None:
        """The exchange with the SMTP server or the SMS gateway; the gateway's reference."""
        msg, doc, loan, borrower = claim.message, claim.document, claim.loan, claim.borrower
        if msg.channel is Channel.EMAIL:
            assert self.channels.mailer is not None and borrower.email
            await self.channels.mailer.send(
                Email(
                    to=borrower.email,
                    subject=f"{_title(doc.html)} ({loan.external_id})",
                    html=doc.html,
                    text=_title(doc.html)
                    + "\n\nThe letter is attached as a PDF."
                    + (f"\n\n{link}" if (link := self._link(request, claim.at)) else ""),
                    message_id=msg.message_id,
                    sent_at=claim.at,
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
                    "link": self._link(request, claim.at),
                },
            )
            return await self.channels.sms.send(to=borrower.phone, text=text, reference=msg.message_id)
        raise failure("channel_unsupported", permanent=True)

    def _link(self, request: SendRequest, at: datetime) -> str | None:
        links = self.channels.links
        if links is None or not offers_page(request):
            return None
        return links.url(case_id=request.case_id, idempotency_key=request.idempotency_key, issued=at)

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


def offers_page(request: SendRequest) -> bool:
    """Whether a document may point to the borrower's page, whose options are collection: only a
    collection message sent to the borrower, never a court filing, a stay-safe notice or an
    agreement (a modified notice during a bankruptcy carries no collection language)."""
    return request.collection and request.channel is not None and "stay" not in request.holds


def access(links: Links | None, *, case_id: uuid.UUID, key: str, at: datetime) -> dict[str, Any] | None:
    """The borrower's way to their page that a document carries: the personal link (e-mail),
    the short code to type and a QR code of the link (letter); None without links configured."""
    if links is None:
        return None
    url = links.url(case_id=case_id, idempotency_key=key, issued=at)
    qr = segno.make(url, error="m").svg_inline(scale=2, title="QR")
    return {
        "url": url,
        "start": f"{links.base_url}/me",
        "code": links.letter_code(case_id=case_id, idempotency_key=key),
        "qr": Markup(qr),  # noqa: S704 - segno's own SVG of our own URL, no outside text in it
    }


def _reference(request: SendRequest) -> str:
    return str(request.case_id)[:8].upper()


def _language(pack: str, document: str, preferred: str, pack_languages: tuple[str, ...]) -> str:
    """The borrower's language where the pack writes in it (its languages and English) and the
    letter exists in it, else the pack's first that does: a Dutch pack's borrower who reads
    Spanish gets Dutch letters, not Spanish common letters beside Dutch ones."""
    available = documents.available_languages(pack, document)
    offered = (*pack_languages, "en")
    for language in (preferred, *offered):
        if language in available and language in offered:
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
