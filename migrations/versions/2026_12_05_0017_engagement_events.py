"""engagement_events: what each message achieved, per case and message, with no personal data;
borrower_access: the borrower page's one-time codes and sessions, one row per message opened

Revision ID: 0017
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = (
    "delivered",
    "bounced",
    "link_clicked",
    "page_viewed",
    "pay_now_viewed",
    "pay_later_clicked",
    "payment_attempted",
    "payment_failed",
    "payment_succeeded",
    "promise_made",
    "plan_requested",
    "callback_requested",
)


def upgrade() -> None:
    op.create_table(
        "engagement_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=True),
        sa.Column("template", sa.String(length=200), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(*KINDS, name="engagementkind", native_enum=False, create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_engagement_events_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_engagement_events_message_id_messages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engagement_events")),
    )
    op.create_index(op.f("ix_engagement_events_case_id"), "engagement_events", ["case_id"], unique=False)
    op.create_index(
        op.f("ix_engagement_events_message_id"), "engagement_events", ["message_id"], unique=False
    )
    op.create_index("ix_engagement_events_kind_occurred_at", "engagement_events", ["kind", "occurred_at"])
    # events are facts: the application may record and read them, never change them
    op.execute("REVOKE ALL ON engagement_events FROM arrears_app")
    op.execute("GRANT SELECT, INSERT ON engagement_events TO arrears_app")
    op.create_table(
        "borrower_access",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=True),
        sa.Column("link_key", sa.String(length=64), nullable=False),
        sa.Column("code_mac", sa.String(length=64), nullable=True),
        sa.Column("code_channel", sa.String(length=16), nullable=True),
        sa.Column("code_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("codes_sent", sa.Integer(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("session_sha256", sa.String(length=64), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_borrower_access_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_borrower_access_message_id_messages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_borrower_access")),
        sa.UniqueConstraint("link_key", name=op.f("uq_borrower_access_link_key")),
        sa.UniqueConstraint("session_sha256", name=op.f("uq_borrower_access_session_sha256")),
    )
    op.create_index(op.f("ix_borrower_access_case_id"), "borrower_access", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_table("borrower_access")
    op.drop_table("engagement_events")
