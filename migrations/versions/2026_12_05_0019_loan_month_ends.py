"""analytics: loan_month_ends, each loan's last snapshot of each month and the next month's days
past due, kept by a statement trigger on delinquency_snapshots

The KPIs' flow (roll-rate) matrix pairs each loan's last snapshot of a month with the next
month's. Found from the snapshots, that is two window passes over every snapshot in loan and
date order, on one core; kept here as rows are written, it is one grouped scan that the planner
can run in parallel. The trigger is set-based: a COPY of a million snapshots runs it once.

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What one statement's new snapshots change: each (loan, month) they report takes its latest
# snapshot as the month's end unless a later one is held; then the month before each, and each,
# takes the days past due of its following month's end. A loan's intake locks its loans row
# first, so two statements for one loan never run side by side.
KEEP = """
CREATE FUNCTION loan_month_ends_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO loan_month_ends AS m
        (loan_id, month, as_of, days_past_due, arrears, balance, received_at)
    SELECT DISTINCT ON (n.loan_id, date_trunc('month', n.as_of))
           n.loan_id, date_trunc('month', n.as_of)::date, n.as_of, n.days_past_due, n.arrears,
           n.balance, n.received_at
    FROM new_snapshots n
    ORDER BY n.loan_id, date_trunc('month', n.as_of), n.as_of DESC
    ON CONFLICT (loan_id, month) DO UPDATE
        SET as_of = EXCLUDED.as_of, days_past_due = EXCLUDED.days_past_due,
            arrears = EXCLUDED.arrears, balance = EXCLUDED.balance, received_at = EXCLUDED.received_at
        WHERE m.as_of < EXCLUDED.as_of;
    WITH touched AS (
        SELECT DISTINCT n.loan_id, date_trunc('month', n.as_of)::date AS month FROM new_snapshots n
    ), origins AS (
        SELECT loan_id, (month - INTERVAL '1 month')::date AS month FROM touched
        UNION
        SELECT loan_id, month FROM touched
    )
    UPDATE loan_month_ends m SET next_days_past_due = x.days_past_due
    FROM origins o, loan_month_ends x
    WHERE m.loan_id = o.loan_id AND m.month = o.month
      AND x.loan_id = m.loan_id AND x.month = (m.month + INTERVAL '1 month')::date
      AND m.next_days_past_due IS DISTINCT FROM x.days_past_due;
    RETURN NULL;
END
$$
"""

BACKFILL = """
INSERT INTO loan_month_ends (loan_id, month, as_of, days_past_due, arrears, balance, received_at,
                             next_days_past_due)
SELECT e.loan_id, e.month, e.as_of, e.days_past_due, e.arrears, e.balance, e.received_at,
       CASE WHEN lead(e.month) OVER w = (e.month + INTERVAL '1 month')::date
            THEN lead(e.days_past_due) OVER w END
FROM (
    SELECT DISTINCT ON (s.loan_id, date_trunc('month', s.as_of))
           s.loan_id, date_trunc('month', s.as_of)::date AS month, s.as_of, s.days_past_due,
           s.arrears, s.balance, s.received_at
    FROM delinquency_snapshots s
    ORDER BY s.loan_id, date_trunc('month', s.as_of), s.as_of DESC
) e
WINDOW w AS (PARTITION BY e.loan_id ORDER BY e.month)
"""


def upgrade() -> None:
    op.create_table(
        "loan_month_ends",
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("arrears", sa.Numeric(18, 2), nullable=False),
        sa.Column("balance", sa.Numeric(18, 2), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_days_past_due", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name=op.f("fk_loan_month_ends_loan_id_loans")),
        sa.PrimaryKeyConstraint("loan_id", "month", name=op.f("pk_loan_month_ends")),
    )
    # the newest month's end the table holds: whether it answers for a moment (kpis)
    op.create_index(op.f("ix_loan_month_ends_received_at"), "loan_month_ends", ["received_at"])
    op.execute(BACKFILL)
    op.execute(KEEP)
    op.execute(
        "CREATE TRIGGER delinquency_snapshots_month_ends AFTER INSERT ON delinquency_snapshots "
        "REFERENCING NEW TABLE AS new_snapshots FOR EACH STATEMENT EXECUTE FUNCTION loan_month_ends_keep()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER delinquency_snapshots_month_ends ON delinquency_snapshots")
    op.execute("DROP FUNCTION loan_month_ends_keep()")
    op.drop_index(op.f("ix_loan_month_ends_received_at"), table_name="loan_month_ends")
    op.drop_table("loan_month_ends")
