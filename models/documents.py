"""Rendered documents, the message outbox and the daily print batches.

Each document and message row carries the effect's idempotency key (case, step, sequence),
unique in the database: the row is the proof that the effect was intended, written in the
same transaction as its audit event, and a retried activity finds it instead of acting twice.
A message being delivered is claimed by one attempt (`claimed_by`) until `claimed_until`, a
lease its attempt renews while the exchange lasts: no other attempt delivers it meanwhile.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, LargeBinary, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from models.base import enum_field, timestamp, uuid_pk
from models.enums import Channel, MessageStatus


class Document(SQLModel, table=True):
    __tablename__ = "documents"

    id: uuid.UUID = uuid_pk()
    case_id: uuid.UUID = Field(foreign_key="cases.id", index=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    template: str = Field(max_length=200)
    template_version: str = Field(max_length=64)
    language: str = Field(max_length=8)
    html: str = Field(sa_column=Column(Text, nullable=False))
    pdf: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    sha256: str = Field(max_length=64)  # of the PDF bytes
    html_sha256: str = Field(max_length=64)
    created_at: datetime = timestamp()


class Message(SQLModel, table=True):
    __tablename__ = "messages"

    id: uuid.UUID = uuid_pk()
    case_id: uuid.UUID = Field(foreign_key="cases.id", index=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    channel: Channel = enum_field(Channel)
    requested_channel: str = Field(max_length=16)  # what the pack asked for, before any fallback
    document_id: uuid.UUID | None = Field(default=None, foreign_key="documents.id")
    message_id: str = Field(max_length=200)  # the RFC 5322 Message-ID, fixed by the key
    status: MessageStatus = enum_field(MessageStatus, default=MessageStatus.QUEUED)
    reason: str = Field(default="", max_length=500)
    attempts: int = 0
    refusals: int = 0
    retry_at: datetime | None = timestamp(nullable=True, default_now=False)
    print_date: date | None = Field(default=None, index=True)
    print_batch_id: uuid.UUID | None = Field(default=None, foreign_key="print_batches.id")
    gateway_reference: str | None = Field(default=None, max_length=200)
    created_at: datetime = timestamp()
    sent_at: datetime | None = timestamp(nullable=True, default_now=False)
    claimed_by: str | None = Field(default=None, max_length=64)  # the delivering attempt's token
    claimed_until: datetime | None = timestamp(nullable=True, default_now=False)  # database clock


class PrintBatch(SQLModel, table=True):
    __tablename__ = "print_batches"

    id: uuid.UUID = uuid_pk()
    print_date: date = Field(unique=True)
    letters: int
    pdf: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    sha256: str = Field(max_length=64)
    manifest: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    created_at: datetime = timestamp()
