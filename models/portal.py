"""The borrower page's accesses: one row per message whose link or letter code was used.

A row holds what the page needs to refuse a replay and to count attempts: the MAC of the
current one-time code (never the code), how many were sent and how many guesses failed, when
the code was accepted, and the SHA-256 of the session cookie it gave. No contact detail, no
address, no IP, no name: whoever reads the table learns which message was opened, and when.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from models.base import timestamp, uuid_pk


class BorrowerAccess(SQLModel, table=True):
    __tablename__ = "borrower_access"

    id: uuid.UUID = uuid_pk()
    case_id: uuid.UUID = Field(foreign_key="cases.id", index=True)
    message_id: uuid.UUID | None = Field(default=None, foreign_key="messages.id")
    # the case and the message digest the link names: one access per message, whichever way in
    link_key: str = Field(max_length=64, unique=True)
    code_mac: str | None = Field(default=None, max_length=64)
    code_channel: str | None = Field(default=None, max_length=16)
    code_sent_at: datetime | None = timestamp(nullable=True, default_now=False)
    codes_sent: int = 0
    failed_attempts: int = 0
    verified_at: datetime | None = timestamp(nullable=True, default_now=False)
    session_sha256: str | None = Field(default=None, max_length=64, unique=True)
    last_seen_at: datetime | None = timestamp(nullable=True, default_now=False)
    created_at: datetime = timestamp()
