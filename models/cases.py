"""Cases: the read model of each case workflow, kept in step by activities."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from models.base import enum_field, money, timestamp, uuid_pk
from models.enums import CaseOutcome, CaseStage, CaseStatus, PolicyPack


class Case(SQLModel, table=True):
    __tablename__ = "cases"
    __table_args__ = (
        # At most one open case per loan, in the database as well as in Temporal.
        Index(
            "uq_cases_open_loan",
            "loan_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_cases_status_stage", "status", "stage"),
        # The API's reads: an agent's team, a person's assigned cases.
        Index("ix_cases_team_status", "team", "status"),
        Index("ix_cases_assignee", "assignee", postgresql_where=text("assignee IS NOT NULL")),
    )

    id: uuid.UUID = uuid_pk()
    loan_id: uuid.UUID = Field(foreign_key="loans.id", index=True)
    workflow_id: str = Field(max_length=100, index=True)
    run_id: str | None = Field(default=None, max_length=64)
    policy_pack: PolicyPack = enum_field(PolicyPack)
    stage: CaseStage = enum_field(CaseStage)
    status: CaseStatus = enum_field(CaseStatus, default=CaseStatus.OPEN)
    outcome: CaseOutcome | None = enum_field(CaseOutcome, nullable=True)
    days_past_due_at_open: int
    opened_as_of: date  # the report date that days_past_due_at_open was counted on
    # the oldest unpaid instalment's due date: moved by the workflow as payments cover instalments
    delinquent_since: date
    arrears: Decimal = money()
    currency: str = Field(min_length=3, max_length=3)
    team: str = Field(default="default", max_length=64)
    assignee: str | None = Field(default=None, max_length=100)
    opened_at: datetime = timestamp()
    stage_changed_at: datetime = timestamp()
    closed_at: datetime | None = timestamp(nullable=True, default_now=False)
    # When staff may next call about the debt and under which rule not before (Reg F call
    # frequency), as of the last call recorded; a moment already past means now.
    next_call_at: datetime | None = timestamp(nullable=True, default_now=False)
    next_call_rule: str | None = Field(default=None, max_length=100)
    next_call_reason: str | None = Field(default=None, max_length=300)
    # the payer segment the case was opened in, and the strategy arm it was assigned to (an
    # experiment's); both read by the KPIs' filters
    segment: str | None = Field(default=None, max_length=16)
    strategy_arm: str | None = Field(default=None, max_length=64, index=True)
    updated_at: datetime = timestamp()
