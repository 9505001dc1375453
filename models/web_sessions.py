"""Workbench sign-ins: one row per browser session, found by the hash of its cookie."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from models.base import enum_field, timestamp, uuid_pk
from models.enums import Role


class WebSession(SQLModel, table=True):
    """Who signed in, as what, and when they were last seen. The cookie holds a random token;
    only its SHA-256 is stored, so a copy of the table signs nobody in. A session ends on
    sign-out (`ended_at`) or when idle longer than the configured timeout."""

    __tablename__ = "web_sessions"

    id: uuid.UUID = uuid_pk()
    token_sha256: str = Field(min_length=64, max_length=64, unique=True)
    subject: str = Field(max_length=100)
    role: Role = enum_field(Role)
    team: str | None = Field(default=None, max_length=64)
    language: str | None = Field(default=None, max_length=8)  # the profile's choice; None: the browser's
    csrf: str = Field(max_length=64)  # the token every form of the session carries
    via: str = Field(max_length=16)  # "oidc" or "dev"
    created_at: datetime = timestamp()
    last_seen_at: datetime = timestamp()
    ended_at: datetime | None = timestamp(nullable=True, default_now=False)
