"""Generated regulator and investor reports, each file stored with its SHA-256."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, LargeBinary, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from models.base import enum_field, timestamp, uuid_pk
from models.enums import ReportFormat, ReportKind


class Report(SQLModel, table=True):
    """One run of a report kind over a period (and a pack, or the whole portfolio)."""

    __tablename__ = "reports"

    id: uuid.UUID = uuid_pk()
    kind: ReportKind = enum_field(ReportKind)
    policy_pack: str | None = Field(default=None, max_length=32, index=True)
    period_start: date
    period_end: date = Field(index=True)
    # Figures are taken from what the records and the audit trail held at this instant.
    as_of: datetime = timestamp(default_now=False)
    trigger: str = Field(max_length=16)  # on_demand | schedule
    requested_by: str = Field(max_length=100)
    # A scheduled run of the same month is stored once, however often its activity retries.
    idempotency_key: str = Field(max_length=200, unique=True)
    row_counts: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    parameters: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    generated_at: datetime = timestamp()


class ReportFile(SQLModel, table=True):
    """One rendering of a report: CSV, JSON or PDF, byte for byte."""

    __tablename__ = "report_files"
    __table_args__ = (UniqueConstraint("report_id", "format"),)

    id: uuid.UUID = uuid_pk()
    report_id: uuid.UUID = Field(foreign_key="reports.id", index=True)
    format: ReportFormat = enum_field(ReportFormat)
    media_type: str = Field(max_length=64)
    size: int
    sha256: str = Field(min_length=64, max_length=64)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
