"""Messages of two templates on one case, whose funnel per template is counted by hand.

`plant` gives the case (in the segment and strategy arm asked for), from `when` on:
  reminder      3 messages: sent and delivered, opened, clicked, paid; sent and delivered; failed
  final_notice  1 letter: printed and delivered
  (none)        1 SMS without a document: sent
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

from models.cases import Case
from models.documents import Document, Message
from models.engagement import EngagementEvent, EngagementKind
from models.enums import Channel, MessageStatus
from tests.factories import Portfolio

REACHED = (
    EngagementKind.DELIVERED,
    EngagementKind.PAGE_VIEWED,
    EngagementKind.LINK_CLICKED,
    EngagementKind.PAYMENT_SUCCEEDED,
)
# (template, channel, status, engagement events), one message each
PLANTED: tuple[tuple[str | None, Channel, MessageStatus, tuple[EngagementKind, ...]], ...] = (
    ("reminder", Channel.EMAIL, MessageStatus.SENT, REACHED),
    ("reminder", Channel.EMAIL, MessageStatus.SENT, (EngagementKind.DELIVERED,)),
    ("reminder", Channel.EMAIL, MessageStatus.FAILED, ()),
    ("final_notice", Channel.LETTER, MessageStatus.PRINTED, (EngagementKind.DELIVERED,)),
    (None, Channel.SMS, MessageStatus.SENT, ()),
)
# per template: sent, delivered, opened, clicked, paid
EXPECTED = {"": (1, 0, 0, 0, 0), "final_notice": (1, 1, 0, 0, 0), "reminder": (2, 2, 1, 1, 1)}


async def message(
    p: Portfolio,
    case_id: uuid.UUID,
    template: str | None,
    channel: Channel,
    status: MessageStatus,
    kinds: tuple[EngagementKind, ...],
    at: datetime,
) -> None:
    """One message of `template` (None: without a document) created at `at`, and its events a day later."""
    s = p.session
    key = f"{case_id}:{uuid.uuid4().hex}"
    document_id = None
    if template is not None:
        pdf = b"%PDF-1.7 test"
        document = Document(
            case_id=case_id,
            idempotency_key=key,
            template=template,
            template_version="1",
            language="en",
            html="<p>test</p>",
            pdf=pdf,
            sha256=hashlib.sha256(pdf).hexdigest(),
            html_sha256=hashlib.sha256(b"<p>test</p>").hexdigest(),
            created_at=at,
        )
        s.add(document)
        await s.flush()
        document_id = document.id
    m = Message(
        case_id=case_id,
        idempotency_key=key,
        channel=channel,
        requested_channel=channel.value,
        document_id=document_id,
        message_id=f"<{uuid.uuid4().hex}@arrears.invalid>",
        status=status,
        created_at=at,
    )
    s.add(m)
    await s.flush()
    for kind in kinds:
        s.add(
            EngagementEvent(
                case_id=case_id,
                message_id=m.id,
                template=template,
                kind=kind,
                occurred_at=at + timedelta(days=1),
            )
        )
    await s.flush()


async def plant(
    p: Portfolio, *, when: datetime, segment: str, arm: str, product: str | None = None
) -> uuid.UUID:
    """A loan and case in `segment` and `arm` with the PLANTED messages, created on `when`."""
    loan = await p.loan(dpd=40, as_of=when.date(), arrears="1000.00", product=product)
    case_id = await p.case(loan, opened=when - timedelta(days=2))
    case = await p.session.get(Case, case_id)
    assert case is not None
    case.segment, case.strategy_arm = segment, arm
    for n, (template, channel, status, kinds) in enumerate(PLANTED):
        await message(p, case_id, template, channel, status, kinds, when + timedelta(hours=n))
    return case_id
