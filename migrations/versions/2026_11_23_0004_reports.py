"""reports and their files; an audit index for figures as of a period end

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("delinquency", "non_performing_forborne", "loss_mitigation", "bankruptcy_enforcement")
FORMATS = ("csv", "json", "pdf")


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(*KINDS, name="reportkind", native_enum=False, length=32, create_constraint=True),
            nullable=False,
        ),
        sa.Column("policy_pack", sa.String(length=32), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("row_counts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("parameters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_reports_idempotency_key")),
    )
    op.create_index(op.f("ix_reports_policy_pack"), "reports", ["policy_pack"])
    op.create_index(op.f("ix_reports_period_end"), "reports", ["period_end"])
    op.create_table(
        "report_files",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column(
            "format",
            sa.Enum(*FORMATS, name="reportformat", native_enum=False, length=32, create_constraint=True),
            nullable=False,
        ),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_files_report_id_reports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_files")),
        sa.UniqueConstraint("report_id", "format", name=op.f("uq_report_files_report_id_format")),
    )
    op.create_index(op.f("ix_report_files_report_id"), "report_files", ["report_id"])
    # The reports read each case's last event of a kind up to a period end.
    op.create_index("ix_audit_events_action_case_seq", "audit_events", ["action", "case_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_action_case_seq", table_name="audit_events")
    op.drop_index(op.f("ix_report_files_report_id"), table_name="report_files")
    op.drop_table("report_files")
    op.drop_index(op.f("ix_reports_period_end"), table_name="reports")
    op.drop_index(op.f("ix_reports_policy_pack"), table_name="reports")
    op.drop_table("reports")
