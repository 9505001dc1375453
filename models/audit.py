"""The append-only audit trail, hash-chained in sequence order."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from models.base import timestamp


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_occurred_at", "occurred_at"),
        # reports: each case's last event of an action up to a period end
        Index("ix_audit_events_action_case_seq", "action", "case_id", "seq"),
    )

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    id: uuid.UUID = Field(default_factory=uuid.uuid4, unique=True)
    occurred_at: datetime = timestamp()
    actor: str = Field(max_length=100, index=True)
    role: str = Field(max_length=32)
    action: str = Field(max_length=64, index=True)
    case_id: uuid.UUID | None = Field(default=None, index=True)
    loan_id: uuid.UUID | None = Field(default=None, index=True)
    reason: str = Field(max_length=500)
    rule_id: str | None = Field(default=None, max_length=128)
    citation: str | None = Field(default=None, max_length=200)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    idempotency_key: str | None = Field(default=None, max_length=200, unique=True)
    prev_hash: str = Field(min_length=64, max_length=64)
    hash: str = Field(min_length=64, max_length=64)
