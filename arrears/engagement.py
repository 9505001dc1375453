"""Recording engagement events: what a message achieved, in the caller's transaction.

An event names the case, the message when it came through one, the message's template (the
document's name, e.g. `inkassokrav`) and the step of the funnel. Nothing else goes in: no
address, no amount, no free text, so the table can be read by anyone who counts.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import PurePosixPath

from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import utcnow
from models.engagement import EngagementEvent, EngagementKind


def template_name(document_template: str) -> str:
    """The document's name from its template path: letters/se_consumer/sv/inkassokrav.html.j2 ->
    inkassokrav."""
    return PurePosixPath(document_template).name.removesuffix(".html.j2")


async def record(
    session: AsyncSession,
    *,
    case_id: uuid.UUID,
    kind: EngagementKind,
    message_id: uuid.UUID | None = None,
    template: str | None = None,
    at: datetime | None = None,
) -> None:
    """Add one event to the caller's transaction."""
    session.add(
        EngagementEvent(
            case_id=case_id,
            message_id=message_id,
            template=template,
            kind=kind,
            occurred_at=at or utcnow(),
        )
    )
