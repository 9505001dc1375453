"""loans: whether the loan agreement provides for a reminder fee

Swedish law (lag (1981:739) om ersättning för inkassokostnader m.m. 4 §) allows the 60 kr
påminnelseavgift only where it was agreed when the debt arose. The loan system reports it with
the loan; loans reported before are taken as without the agreement.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "loans",
        sa.Column("reminder_fee_agreed", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("loans", "reminder_fee_agreed")
