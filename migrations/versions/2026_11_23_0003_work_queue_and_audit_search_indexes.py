"""Indexes for the API's reads: the work queue by team and assignee, audit search by actor and time.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_cases_team_status", "cases", ["team", "status"])
    op.create_index("ix_cases_assignee", "cases", ["assignee"], postgresql_where="assignee IS NOT NULL")
    op.create_index(
        "ix_tasks_live_due", "tasks", ["due_at"], postgresql_where="status IN ('open', 'escalated')"
    )
    op.create_index("ix_tasks_assignee", "tasks", ["assignee"], postgresql_where="assignee IS NOT NULL")
    op.create_index("ix_audit_events_actor", "audit_events", ["actor"])
    op.create_index("ix_audit_events_occurred_at", "audit_events", ["occurred_at"])


def downgrade() -> None:
    for name, table in (
        ("ix_audit_events_occurred_at", "audit_events"),
        ("ix_audit_events_actor", "audit_events"),
        ("ix_tasks_assignee", "tasks"),
        ("ix_tasks_live_due", "tasks"),
        ("ix_cases_assignee", "cases"),
        ("ix_cases_team_status", "cases"),
    ):
        op.drop_index(name, table_name=table)
