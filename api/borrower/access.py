"""Getting in: a message's link or a letter's code, a one-time code to a contact point on file,
then a session bound to that one case.

Every refusal is `Expired` and the page says "expired", nothing more: a forged, edited, old or
already used link, a wrong code too often, an old session. One access per message: once its
code has been accepted the link is spent, so a replayed link is refused. Counters in the row
(codes sent, failed guesses) and a per-address window in memory bound the attempts.
"""

from __future__ import annotations

import hmac
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from arrears import audit, engagement
from arrears.borrower_links import Expired, Link, Links, message_digest, session_token, sha256
from arrears.channels import Channels, DeliveryError, Email
from arrears.db import Database
from models.audit_actions import AuditAction
from models.base import utcnow
from models.borrowers import Borrower
from models.cases import Case
from models.documents import Document, Message
from models.engagement import EngagementKind
from models.enums import CaseStatus
from models.loans import Loan
from models.portal import BorrowerAccess

BORROWER = audit.Actor("borrower", "borrower")
CODE_LIFETIME = timedelta(minutes=10)
MAX_CODES = 3  # one-time codes sent per link
MAX_FAILURES = 5  # wrong codes before the link is spent
SESSION_IDLE = timedelta(minutes=15)
SESSION_MAX = timedelta(hours=1)
CODE_CHANNELS = ("email", "sms")


class RateLimited(Exception):
    """Too many attempts from one address: wait a minute."""


class Window:
    """At most `limit` hits per key in `seconds` (one process's memory: each replica counts its own,
    the database's counters bound each link whatever the replica)."""

    def __init__(self, *, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self._hits: dict[str, deque[float]] = defaultdict(deque)

    def hit(self, key: str) -> None:
        now = time.monotonic()
        hits = self._hits[key]
        while hits and hits[0] <= now - self.seconds:
            hits.popleft()
        if len(hits) >= self.limit:
            raise RateLimited
        hits.append(now)
        if len(self._hits) > 100_000:  # a flood of addresses must not grow memory for ever
            self._hits.clear()

    def reset(self) -> None:
        self._hits.clear()


@dataclass(frozen=True, slots=True)
class Opened:
    """A link that may still be used: its access row and the contact points a code can go to."""

    access_id: uuid.UUID
    channels: tuple[str, ...]
    language: str
    code_sent: bool


@dataclass(frozen=True, slots=True)
class Visitor:
    """A borrower with a session: the one case it opens."""

    access_id: uuid.UUID
    case_id: uuid.UUID
    message_id: uuid.UUID | None
    template: str | None
    session_sha256: str


def link_key(case_id: uuid.UUID, digest: str) -> str:
    return sha256(f"{case_id}:{digest}")


async def _message_of(session: AsyncSession, case_id: uuid.UUID, digest: str) -> tuple[Message, str] | None:
    """The case's message whose idempotency key has this digest, with its template's name."""
    rows = (
        await session.exec(
            select(Message, Document.template)
            .join(Document, col(Document.id) == col(Message.document_id))
            .where(col(Message.case_id) == case_id)
        )
    ).all()
    for message, template in rows:
        if message_digest(message.idempotency_key) == digest:
            return message, engagement.template_name(template)
    return None


async def _case_rows(session: AsyncSession, case_id: uuid.UUID) -> tuple[Case, Borrower]:
    case = await session.get(Case, case_id)
    if case is None or case.status is not CaseStatus.OPEN:
        raise Expired
    loan = await session.get(Loan, case.loan_id)
    assert loan is not None
    borrower = await session.get(Borrower, loan.borrower_id)
    assert borrower is not None
    return case, borrower


def _contact_points(borrower: Borrower, channels: Channels) -> tuple[str, ...]:
    points = []
    if borrower.email and channels.mailer:
        points.append("email")
    if borrower.phone and channels.sms:
        points.append("sms")
    return tuple(points)


async def open_link(*, db: Database, links: Links, channels: Channels, token: str, now: datetime) -> Opened:
    """The access a link opens, recorded as a click; `Expired` if the link is no longer good."""
    link = links.read(token, now=now)
    return await _open(db=db, channels=channels, link=link, now=now)


async def _open(*, db: Database, channels: Channels, link: Link, now: datetime) -> Opened:
    async with db.session() as session:
        case, borrower = await _case_rows(session, link.case_id)
        found = await _message_of(session, case.id, link.message_digest)
        if found is None:
            raise Expired
        message, template = found
        key = link_key(case.id, link.message_digest)
        await session.exec(
            insert(BorrowerAccess)
            .values(id=uuid.uuid4(), case_id=case.id, message_id=message.id, link_key=key, created_at=now)
            .on_conflict_do_nothing(index_elements=["link_key"])
        )
        access = (await session.exec(select(BorrowerAccess).where(col(BorrowerAccess.link_key) == key))).one()
        if access.verified_at is not None or access.failed_attempts >= MAX_FAILURES:
            raise Expired  # spent: a replay
        await engagement.record(
            session,
            case_id=case.id,
            message_id=message.id,
            template=template,
            kind=EngagementKind.LINK_CLICKED,
        )
        return Opened(
            access_id=access.id,
            channels=_contact_points(borrower, channels),
            language=borrower.language,
            code_sent=access.code_sent_at is not None and now - access.code_sent_at < CODE_LIFETIME,
        )


async def token_for_letter_code(*, db: Database, links: Links, code: str, now: datetime) -> str:
    """The link behind a letter's code: the letter's own message, if the code is its code."""
    parsed = links.parse_letter_code(code)
    if parsed is None:
        raise Expired
    reference, canonical = parsed
    low = uuid.UUID(f"{reference}-0000-0000-0000-000000000000")
    high = uuid.UUID(f"{reference}-ffff-ffff-ffff-ffffffffffff")
    async with db.session() as session:
        rows = (
            await session.exec(
                select(Message)
                .join(Case, col(Case.id) == col(Message.case_id))
                .where(col(Case.id) >= low, col(Case.id) <= high, col(Case.status) == CaseStatus.OPEN)
            )
        ).all()
    for message in rows:
        if links.letter_code_matches(
            canonical, case_id=message.case_id, idempotency_key=message.idempotency_key
        ):
            if now > message.created_at + links.lifetime:
                raise Expired
            return links.token(case_id=message.case_id, idempotency_key=message.idempotency_key, issued=now)
    raise Expired


async def send_code(
    *, db: Database, links: Links, channels: Channels, token: str, channel: str, now: datetime
) -> None:
    """A new one-time code to the contact point on file; at most `MAX_CODES` per link."""
    link = links.read(token, now=now)
    if channel not in CODE_CHANNELS:
        raise Expired
    code = links.one_time_code()
    async with db.session() as session:
        case, borrower = await _case_rows(session, link.case_id)
        access = await _access_of(session, link)
        if channel not in _contact_points(borrower, channels) or access.codes_sent >= MAX_CODES:
            raise Expired
        access.code_mac = links.code_mac(access_id=access.id, code=code)
        access.code_channel = channel
        access.code_sent_at = now
        access.codes_sent += 1
        await audit.append(
            session,
            actor=BORROWER,
            action=AuditAction.BORROWER_CODE_SENT,
            reason="one-time code sent to a contact point on file",
            case_id=case.id,
            loan_id=case.loan_id,
            payload={"channel": channel, "message_id": str(access.message_id)},
        )
        to = borrower.email if channel == "email" else borrower.phone
        text = code_text(code, borrower.language)
    assert to is not None
    # sent with no transaction open; a failure leaves the count spent, never the code shown
    try:
        if channel == "email":
            assert channels.mailer is not None
            await channels.mailer.send(
                Email(
                    to=to,
                    subject=text.split(".")[0],
                    html=f"<p>{text}</p>",
                    text=text,
                    message_id=f"<code-{uuid.uuid4()}@{channels.message_id_domain}>",
                    sent_at=now,
                )
            )
        else:
            assert channels.sms is not None
            await channels.sms.send(to=to, text=text, reference=f"code-{uuid.uuid4()}")
    except DeliveryError:
        raise Expired from None


CODE_TEXTS = {
    "en": "Your code is {code}. It works for 10 minutes. We will never ask you for it by phone.",
    "nl": "Uw code is {code}. Hij werkt 10 minuten. Wij vragen er nooit telefonisch naar.",
    "sv": "Din kod är {code}. Den gäller i 10 minuter. Vi frågar aldrig efter den i telefon.",
    "es": "Su código es {code}. Sirve durante 10 minutos. Nunca se lo pediremos por teléfono.",
    "fr": "Votre code est {code}. Il est valable 10 minutes. "
    "Nous ne vous le demanderons jamais par téléphone.",
}


def code_text(code: str, language: str) -> str:
    return CODE_TEXTS.get(language, CODE_TEXTS["en"]).format(code=code)


async def _access_of(session: AsyncSession, link: Link) -> BorrowerAccess:
    access = (
        await session.exec(
            select(BorrowerAccess)
            .where(col(BorrowerAccess.link_key) == link_key(link.case_id, link.message_digest))
            .with_for_update()
        )
    ).first()
    if access is None or access.verified_at is not None or access.failed_attempts >= MAX_FAILURES:
        raise Expired
    return access


async def verify_code(*, db: Database, links: Links, token: str, code: str, now: datetime) -> str:
    """The session cookie's value if the code is the one sent (and fresh); the link is then spent."""
    link = links.read(token, now=now)
    async with db.session() as session:
        case, _ = await _case_rows(session, link.case_id)
        access = await _access_of(session, link)
        fresh = access.code_sent_at is not None and now - access.code_sent_at < CODE_LIFETIME
        given = "".join(ch for ch in code if ch.isdigit())[:12]
        mac = links.code_mac(access_id=access.id, code=given)
        if not (fresh and access.code_mac and hmac.compare_digest(mac, access.code_mac)):
            access.failed_attempts += 1
            return ""
        cookie, digest = session_token()
        access.verified_at = access.last_seen_at = now
        access.code_mac = None
        access.session_sha256 = digest
        await audit.append(
            session,
            actor=BORROWER,
            action=AuditAction.BORROWER_SIGNED_IN,
            reason="one-time code accepted: a session on the borrower page",
            case_id=case.id,
            loan_id=case.loan_id,
            payload={"message_id": str(access.message_id)},
        )
        return cookie


async def visitor(*, db: Database, cookie: str | None, now: datetime) -> Visitor:
    """The session's visitor; `Expired` without a session, or after its idle or whole lifetime."""
    if not cookie or len(cookie) > 100:
        raise Expired
    digest = sha256(cookie)
    async with db.session() as session:
        access = (
            await session.exec(select(BorrowerAccess).where(col(BorrowerAccess.session_sha256) == digest))
        ).first()
        if access is None or access.verified_at is None or access.last_seen_at is None:
            raise Expired
        if now - access.last_seen_at > SESSION_IDLE or now - access.verified_at > SESSION_MAX:
            raise Expired
        case = await session.get(Case, access.case_id)
        if case is None:
            raise Expired
        access.last_seen_at = now
        template = None
        if access.message_id is not None:
            found = (
                await session.exec(
                    select(Document.template)
                    .join(Message, col(Message.document_id) == col(Document.id))
                    .where(col(Message.id) == access.message_id)
                )
            ).first()
            template = engagement.template_name(found) if found else None
        return Visitor(
            access_id=access.id,
            case_id=access.case_id,
            message_id=access.message_id,
            template=template,
            session_sha256=digest,
        )


async def sign_out(*, db: Database, visitor: Visitor) -> None:
    async with db.session() as session:
        access = await session.get(BorrowerAccess, visitor.access_id)
        if access is not None:
            access.session_sha256 = None


def now() -> datetime:
    return utcnow()
