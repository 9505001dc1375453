"""Loans and the delinquency snapshots the loan system reports for them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Index, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from models.base import enum_field, money, timestamp, uuid_pk
from models.enums import PolicyPack


class Loan(SQLModel, table=True):
    __tablename__ = "loans"

    id: uuid.UUID = uuid_pk()
    external_id: str = Field(max_length=64, unique=True, index=True)
    borrower_id: uuid.UUID = Field(foreign_key="borrowers.id", index=True)
    policy_pack: PolicyPack = enum_field(PolicyPack)
    product: str = Field(max_length=64)
    currency: str = Field(min_length=3, max_length=3)
    principal: Decimal = money()
    balance: Decimal = money()
    arrears: Decimal = money()
    installment: Decimal = money()
    # Due schedule: an installment is due on `due_day` of each month.
    due_day: int = Field(ge=1, le=28)
    next_due_date: date
    days_past_due: int = Field(ge=0)
    delinquent_since: date | None = None
    team: str = Field(default="default", max_length=64)
    # the agreement provides for a reminder fee (SE: chargeable only if agreed when the debt arose)
    reminder_fee_agreed: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class DelinquencySnapshot(SQLModel, table=True):
    """One report from the loan system. (loan, as_of) is the intake idempotency key."""

    __tablename__ = "delinquency_snapshots"
    __table_args__ = (
        UniqueConstraint("loan_id", "as_of"),
        # the KPIs read each loan's snapshots in date order from this index alone (no heap reads)
        Index(
            "ix_delinquency_snapshots_loan_id_as_of_covering",
            "loan_id",
            "as_of",
            postgresql_include=["days_past_due", "arrears", "balance", "received_at"],
        ),
        Index("ix_delinquency_snapshots_as_of", "as_of"),
    )

    id: uuid.UUID = uuid_pk()
    loan_id: uuid.UUID = Field(foreign_key="loans.id", index=True)
    as_of: date
    days_past_due: int = Field(ge=0)
    arrears: Decimal = money()
    balance: Decimal = money()
    currency: str = Field(min_length=3, max_length=3)
    source: str = Field(max_length=32)
    received_at: datetime = timestamp()
