"""cases: when staff may next call about the debt, and why not before

Reg F (12 CFR 1006.14(b)(2)) presumes harassment where more than seven calls are placed within
seven consecutive days, or any call within seven days after a telephone conversation about the
debt. The case workflow counts the calls staff record and keeps the next allowed moment on the
case row, so that the work queue shows it without asking every workflow.

Revision ID: 0010
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("next_call_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("cases", sa.Column("next_call_rule", sa.String(length=100), nullable=True))
    op.add_column("cases", sa.Column("next_call_reason", sa.String(length=300), nullable=True))


def downgrade() -> None:
    op.drop_column("cases", "next_call_reason")
    op.drop_column("cases", "next_call_rule")
    op.drop_column("cases", "next_call_at")
