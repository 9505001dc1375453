"""Stored KPI figures: one row per KPI, definition version, month, filters and series."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import DateTime, Numeric, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import timestamp, uuid_pk


class KpiFigure(SQLModel, table=True):
    """A KPI's figure for one month under one set of filters, with the definition version it
    was computed under (docs/kpis.md); computing it again replaces it."""

    __tablename__ = "kpi_figures"
    __table_args__ = (UniqueConstraint("kpi", "version", "period", "filters", "series"),)

    id: uuid.UUID = uuid_pk()
    kpi: str = Field(max_length=64)
    version: int = Field(ge=1)
    period: date = Field(index=True)  # the first day of the month
    filters: str = Field(max_length=400)  # KpiFilters.key(): "all" or "pack=…;team=…"
    series: str = Field(default="", max_length=64)  # a cell "30-59>60-89", a bucket, a stage
    value: Decimal | None = Field(default=None, sa_type=Numeric(24, 8), nullable=True)
    numerator: Decimal = Field(sa_type=Numeric(24, 4), nullable=False)
    denominator: Decimal = Field(sa_type=Numeric(24, 4), nullable=False)
    complete: bool = True
    computed_at: datetime = timestamp()


class LoanMonthEnd(SQLModel, table=True):
    """A loan's last snapshot of a month, and the days past due of its next month's last one.

    Kept by the database (a statement trigger on delinquency_snapshots, migration 0019), never
    written by the application: the flow matrix groups these rows instead of pairing snapshots."""

    __tablename__ = "loan_month_ends"

    loan_id: uuid.UUID = Field(foreign_key="loans.id", primary_key=True)
    month: date = Field(primary_key=True)  # the first day of the month
    as_of: date
    days_past_due: int
    arrears: Decimal = Field(sa_type=Numeric(18, 2), nullable=False)
    balance: Decimal = Field(sa_type=Numeric(18, 2), nullable=False)
    received_at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False, index=True)
    next_days_past_due: int | None = None
