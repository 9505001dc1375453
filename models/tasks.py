"""Human tasks created by case workflows, each with an SLA deadline from the policy pack."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from models.base import enum_field, timestamp, uuid_pk
from models.enums import TaskStatus


class Task(SQLModel, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        # The work queue: live tasks by deadline, and each person's claimed tasks.
        Index("ix_tasks_live_due", "due_at", postgresql_where=text("status IN ('open', 'escalated')")),
        Index("ix_tasks_assignee", "assignee", postgresql_where=text("assignee IS NOT NULL")),
    )

    id: uuid.UUID = uuid_pk()
    case_id: uuid.UUID = Field(foreign_key="cases.id", index=True)
    kind: str = Field(max_length=64, index=True)
    status: TaskStatus = enum_field(TaskStatus, default=TaskStatus.OPEN)
    rule_id: str = Field(max_length=128)
    citation: str = Field(max_length=200)
    idempotency_key: str = Field(max_length=200, unique=True)
    due_at: datetime = timestamp(default_now=False)
    assignee: str | None = Field(default=None, max_length=100)
    # When the SLA passed and the task went to the supervisors; an assignee is always a person.
    escalated_at: datetime | None = timestamp(nullable=True, default_now=False)
    decision: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
    created_at: datetime = timestamp()
    completed_at: datetime | None = timestamp(nullable=True, default_now=False)
