"""cases: the day the case's delinquency began, as its due schedule says

12 CFR 1024.31 ("delinquency") and its official interpretation (comment 31 (Delinquency)-3),
like CRR Art. 178: a payment goes to the oldest instalment still unpaid, and the delinquency
runs from the oldest instalment that is still unpaid. The case workflow moves this day when a
payment covers the oldest instalments; days past due are counted from it. Cases opened before
count from the day their report implied, as they always did.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("delinquent_since", sa.Date(), nullable=True))
    op.execute("UPDATE cases SET delinquent_since = opened_as_of - days_past_due_at_open")
    op.alter_column("cases", "delinquent_since", nullable=False)


def downgrade() -> None:
    op.drop_column("cases", "delinquent_since")
