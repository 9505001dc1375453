"""analytics: cases.segment and cases.strategy_arm, the kpi_figures table, snapshot indexes for the KPIs

Revision ID: 0015
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("segment", sa.String(length=16), nullable=True))
    op.add_column("cases", sa.Column("strategy_arm", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_cases_strategy_arm"), "cases", ["strategy_arm"], unique=False)
    op.create_table(
        "kpi_figures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kpi", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("filters", sa.String(length=400), nullable=False),
        sa.Column("series", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Numeric(24, 8), nullable=True),
        sa.Column("numerator", sa.Numeric(24, 4), nullable=False),
        sa.Column("denominator", sa.Numeric(24, 4), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_figures")),
        sa.UniqueConstraint(
            "kpi",
            "version",
            "period",
            "filters",
            "series",
            name=op.f("uq_kpi_figures_kpi_version_period_filters_series"),
        ),
    )
    op.create_index(op.f("ix_kpi_figures_period"), "kpi_figures", ["period"], unique=False)
    # the KPIs read every loan's snapshots in date order: from this index alone, without a sort
    # or a heap read per row; and the latest month reported, from the date index
    op.create_index(
        "ix_delinquency_snapshots_loan_id_as_of_covering",
        "delinquency_snapshots",
        ["loan_id", "as_of"],
        postgresql_include=["days_past_due", "arrears", "balance", "received_at"],
    )
    op.create_index("ix_delinquency_snapshots_as_of", "delinquency_snapshots", ["as_of"])


def downgrade() -> None:
    op.drop_index("ix_delinquency_snapshots_as_of", table_name="delinquency_snapshots")
    op.drop_index("ix_delinquency_snapshots_loan_id_as_of_covering", table_name="delinquency_snapshots")
    op.drop_index(op.f("ix_kpi_figures_period"), table_name="kpi_figures")
    op.drop_table("kpi_figures")
    op.drop_index(op.f("ix_cases_strategy_arm"), table_name="cases")
    op.drop_column("cases", "strategy_arm")
    op.drop_column("cases", "segment")
