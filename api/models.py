"""Response shapes shared by several routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from models.audit import AuditEvent, AuditLeaf

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list: `items`, the `total` that match, and where this page starts."""

    items: list[T]
    total: int
    limit: int
    offset: int


class AuditEventOut(BaseModel):
    id: uuid.UUID
    arrival: int = Field(description="the order in which events were written")
    seq: int | None = Field(
        description="the event's place in the signed log; null until the sequencer reaches it"
    )
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
    prev_hash: str | None
    hash: str | None


def event_out(event: AuditEvent, leaf: AuditLeaf | None = None) -> AuditEventOut:
    """An event as the API shows it, with its place in the log once it has one."""
    return AuditEventOut.model_validate(
        {
            **event.model_dump(),
            "seq": leaf.seq if leaf else None,
            "prev_hash": leaf.prev_hash if leaf else None,
            "hash": leaf.hash if leaf else None,
        }
    )
