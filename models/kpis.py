"""Stored KPI figures: one row per KPI, definition version, month, filters and series."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Numeric, UniqueConstraint
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
