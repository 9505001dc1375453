"""What each message achieved: one row per borrower-visible event, per case and per message.

A row says only which case, which message (when the event came through one), which template
and what happened when. It holds no personal data: no address, no name, no amount, no IP,
no free text. The analytics funnel counts these rows per template, segment and strategy arm.
The table is append-only for the application (SELECT and INSERT).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.base import enum_field, timestamp, uuid_pk


class EngagementKind(StrEnum):
    """The steps of the message funnel, from delivery to the borrower's action."""

    DELIVERED = "delivered"
    BOUNCED = "bounced"
    LINK_CLICKED = "link_clicked"
    PAGE_VIEWED = "page_viewed"
    PAY_NOW_VIEWED = "pay_now_viewed"
    PAY_LATER_CLICKED = "pay_later_clicked"
    PAYMENT_ATTEMPTED = "payment_attempted"
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_SUCCEEDED = "payment_succeeded"
    PROMISE_MADE = "promise_made"
    PLAN_REQUESTED = "plan_requested"
    CALLBACK_REQUESTED = "callback_requested"


class EngagementEvent(SQLModel, table=True):
    __tablename__ = "engagement_events"
    __table_args__ = (Index("ix_engagement_events_kind_occurred_at", "kind", "occurred_at"),)

    id: uuid.UUID = uuid_pk()
    case_id: uuid.UUID = Field(foreign_key="cases.id", index=True)
    message_id: uuid.UUID | None = Field(default=None, foreign_key="messages.id", index=True)
    template: str | None = Field(default=None, max_length=200)  # the message's template, if any
    kind: EngagementKind = enum_field(EngagementKind)
    occurred_at: datetime = timestamp()
