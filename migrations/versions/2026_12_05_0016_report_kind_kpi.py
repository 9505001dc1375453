"""reports: the monthly KPI report (`kpi`) among the report kinds

The kind is stored as its value in a VARCHAR column with a CHECK constraint
(`ck_reports_reportkind`, models.base.enum_field). The downgrade narrows it again, which
PostgreSQL refuses while a KPI report is stored: remove those first.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = ("delinquency", "non_performing_forborne", "loss_mitigation", "bankruptcy_enforcement")
AFTER = (*BEFORE, "kpi")


def _check(values: Sequence[str]) -> None:
    listed = ", ".join(f"'{v}'" for v in values)
    op.drop_constraint(op.f("ck_reports_reportkind"), "reports", type_="check")
    op.create_check_constraint(op.f("ck_reports_reportkind"), "reports", f"kind IN ({listed})")


def upgrade() -> None:
    _check(AFTER)


def downgrade() -> None:
    _check(BEFORE)
