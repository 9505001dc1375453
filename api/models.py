"""Response shapes shared by several routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from models.audit import AuditEvent

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list: `items`, the `total` that match, and where this page starts."""

    items: list[T]
    total: int
    limit: int
    offset: int


class AuditEventOut(BaseModel):
    seq: int
    occurred_at: datetime
    actor: str
    role: str
    action: str
    case_id: uuid.UUID | None
    loan_id: uuid.UUID | None
    reason: str
    rule_id: str | None
    citation: str | None
    payload: dict[str, Any] = Field(description="facts of the event; never personal data")
    prev_hash: str
    hash: str


def event_out(event: AuditEvent) -> AuditEventOut:
    return AuditEventOut.model_validate(event, from_attributes=True)
