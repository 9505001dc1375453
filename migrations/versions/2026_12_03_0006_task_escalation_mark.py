"""tasks: escalation is a timestamp of its own, no longer the assignee "supervisor"

An escalated task used to get the assignee "supervisor", and the work queue read that name as
the escalation, so a user called `supervisor` passed for it. The escalation is now `escalated_at`;
an assignee is always a person.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
    # A task escalates when its SLA day ends, which is its due_at: the best time on record. The
    # name "supervisor" on an escalated task was the mark, not a person: it goes back to the queue.
    op.execute("UPDATE tasks SET escalated_at = due_at WHERE status = 'escalated'")
    op.execute("UPDATE tasks SET assignee = NULL WHERE status = 'escalated' AND assignee = 'supervisor'")


def downgrade() -> None:
    op.execute(
        "UPDATE tasks SET assignee = 'supervisor' "
        "WHERE status = 'escalated' AND escalated_at IS NOT NULL AND assignee IS NULL"
    )
    op.drop_column("tasks", "escalated_at")
