"""Payments received from the loan system, idempotent by their external ID."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlmodel import Field, SQLModel

from models.base import money, timestamp, uuid_pk


class Payment(SQLModel, table=True):
    __tablename__ = "payments"

    id: uuid.UUID = uuid_pk()
    external_id: str = Field(max_length=100, unique=True)
    loan_id: uuid.UUID = Field(foreign_key="loans.id", index=True)
    case_id: uuid.UUID | None = Field(default=None, foreign_key="cases.id", index=True)
    amount: Decimal = money()
    currency: str = Field(min_length=3, max_length=3)
    received_at: datetime = timestamp(default_now=False)
    recorded_at: datetime = timestamp()
