"""Borrowers: the people behind the loans. Personal data lives here and nowhere else."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from models.base import timestamp, uuid_pk


class Borrower(SQLModel, table=True):
    __tablename__ = "borrowers"

    id: uuid.UUID = uuid_pk()
    external_id: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=500)
    timezone: str = Field(max_length=64)
    language: str = Field(max_length=8)
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()
