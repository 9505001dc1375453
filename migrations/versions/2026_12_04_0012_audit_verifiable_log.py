"""audit trail as a verifiable log: monthly partitions, a queue, sequenced leaves, tree nodes, signed heads

Writers no longer chain events under one lock: they insert the event and a queue row; one
sequencer gives each its sequence number, previous hash and Merkle leaf (audit_leaves), keeps
the tree's complete subtrees (audit_tree_nodes) and signs tree heads (audit_tree_heads).

Events already chained keep their sequence numbers and hashes: each becomes the leaf of its
sequence number, so every earlier checkpoint still verifies. The trail is partitioned by month
of occurred_at; partitions are created here from 12 months back to 36 ahead, with a default
partition for anything outside, and `arrears audit partitions` (as the schema's owner) adds
later months. Every partition, and every table of the log, refuses UPDATE, DELETE and TRUNCATE.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from arrears import merkle

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NODE_MIN_LEVEL = 4  # models.audit.NODE_MIN_LEVEL, as it was when this ran
MONTHS_BACK, MONTHS_AHEAD = 12, 36
APPEND_ONLY = ("audit_leaves", "audit_tree_nodes", "audit_tree_heads")

# Creates one month's partition of audit_events with the triggers and grants of the trail; run
# by the migration and by `arrears audit partitions`, both as the owner.
PARTITION_FUNCTION = """
CREATE FUNCTION audit_events_add_partition(month date) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    first date := date_trunc('month', month)::date;
    name text := 'audit_events_' || to_char(first, 'YYYY_MM');
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE format(
        'CREATE TABLE %I PARTITION OF audit_events FOR VALUES FROM (%L) TO (%L)',
        name, first::timestamptz AT TIME ZONE 'UTC', (first + interval '1 month')::date::timestamptz AT TIME ZONE 'UTC'
    );
    PERFORM audit_events_guard(name);
    RETURN name;
END $$;

CREATE FUNCTION audit_events_guard(name text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- the row trigger is cloned from the parent; TRUNCATE of a partition is its own statement
    EXECUTE format('ALTER TABLE %I ENABLE ALWAYS TRIGGER audit_events_no_update_delete', name);
    EXECUTE format(
        'CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON %I '
        'FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change()', name
    );
    EXECUTE format('ALTER TABLE %I ENABLE ALWAYS TRIGGER audit_events_no_truncate', name);
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I FROM arrears_app', name);
    EXECUTE format('GRANT SELECT, INSERT ON %I TO arrears_app', name);
END $$;
"""


def _months(today: date) -> list[date]:
    start = (today.year * 12 + today.month - 1) - MONTHS_BACK
    return [date(m // 12, m % 12 + 1, 1) for m in range(start, start + MONTHS_BACK + MONTHS_AHEAD + 1)]


def _guard(table: str) -> None:
    op.execute(
        f"""
        CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
        CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();
        ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_update_delete;
        ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_truncate;
        REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM arrears_app;
        GRANT SELECT, INSERT ON {table} TO arrears_app;
        """
    )


def upgrade() -> None:
    op.execute("ALTER TABLE audit_events RENAME TO audit_events_chained")
    op.execute(
        "ALTER TABLE audit_events_chained RENAME CONSTRAINT pk_audit_events TO pk_audit_events_chained"
    )
    for index in (
        "ix_audit_events_action",
        "ix_audit_events_case_id",
        "ix_audit_events_loan_id",
        "ix_audit_events_actor",
        "ix_audit_events_occurred_at",
        "ix_audit_events_action_case_seq",
    ):
        op.execute(f"DROP INDEX {index}")
    op.execute("CREATE SEQUENCE audit_events_arrival_seq AS bigint")
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "arrival",
            sa.BigInteger(),
            nullable=False,
            server_default=sa.text("nextval('audit_events_arrival_seq')"),
        ),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("loan_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("rule_id", sa.String(length=128), nullable=True),
        sa.Column("citation", sa.String(length=200), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", "occurred_at", name=op.f("pk_audit_events")),
        postgresql_partition_by="RANGE (occurred_at)",
    )
    op.execute("ALTER SEQUENCE audit_events_arrival_seq OWNED BY audit_events.arrival")
    op.execute("GRANT USAGE, SELECT ON SEQUENCE audit_events_arrival_seq TO arrears_app")
    for name, columns in (
        ("ix_audit_events_occurred_at", ["occurred_at"]),
        ("ix_audit_events_arrival", ["arrival"]),
        ("ix_audit_events_id", ["id"]),
        ("ix_audit_events_actor", ["actor"]),
        ("ix_audit_events_action", ["action"]),
        ("ix_audit_events_case_id", ["case_id"]),
        ("ix_audit_events_loan_id", ["loan_id"]),
        ("ix_audit_events_action_case_arrival", ["action", "case_id", "arrival"]),
    ):
        op.create_index(name, "audit_events", columns)
    op.execute(
        """
        CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events
            FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
        CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
            FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();
        ALTER TABLE audit_events ENABLE ALWAYS TRIGGER audit_events_no_update_delete;
        ALTER TABLE audit_events ENABLE ALWAYS TRIGGER audit_events_no_truncate;
        REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM arrears_app;
        GRANT SELECT, INSERT ON audit_events TO arrears_app;
        """
    )
    op.execute(PARTITION_FUNCTION)
    op.execute("CREATE TABLE audit_events_default PARTITION OF audit_events DEFAULT")
    op.execute("SELECT audit_events_guard('audit_events_default')")
    for month in _months(datetime.now(UTC).date()):
        op.execute(sa.text("SELECT audit_events_add_partition(:m)").bindparams(m=month))

    op.create_table(
        "audit_idempotency",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_audit_idempotency")),
    )
    op.create_table(
        "audit_unsequenced",
        sa.Column("arrival", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "queued_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("arrival", name=op.f("pk_audit_unsequenced")),
    )
    op.create_table(
        "audit_leaves",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("integrated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_leaves")),
        sa.UniqueConstraint("event_id", name=op.f("uq_audit_leaves_event_id")),
    )
    op.create_table(
        "audit_tree_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "index", name=op.f("pk_audit_tree_nodes")),
    )
    op.create_table(
        "audit_tree_heads",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(), nullable=False),
        sa.Column("timestamp_ms", sa.BigInteger(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", "key_id", name=op.f("pk_audit_tree_heads")),
    )
    for table in APPEND_ONLY:
        _guard(table)
    # the idempotency keys are append-only as well; the queue is the one table the sequencer empties
    _guard("audit_idempotency")
    op.execute("GRANT SELECT, INSERT, DELETE ON audit_unsequenced TO arrears_app")
    op.execute("REVOKE UPDATE, TRUNCATE ON audit_unsequenced FROM arrears_app")

    # Carry the chained trail over: same IDs, contents, sequence numbers and hashes.
    op.execute(
        """
        INSERT INTO audit_events (id, occurred_at, arrival, actor, role, action, case_id, loan_id, reason,
                                  rule_id, citation, payload, idempotency_key)
        SELECT id, occurred_at, seq, actor, role, action, case_id, loan_id, reason, rule_id, citation,
               payload, idempotency_key
          FROM audit_events_chained ORDER BY seq;
        INSERT INTO audit_idempotency (key, event_id, occurred_at)
        SELECT idempotency_key, id, occurred_at FROM audit_events_chained WHERE idempotency_key IS NOT NULL;
        INSERT INTO audit_leaves (seq, event_id, occurred_at, prev_hash, hash, leaf_hash, queued_at, integrated_at)
        SELECT seq, id, occurred_at, prev_hash, hash, sha256('\\x00'::bytea || decode(hash, 'hex')),
               occurred_at, occurred_at
          FROM audit_events_chained ORDER BY seq;
        SELECT setval('audit_events_arrival_seq', GREATEST((SELECT max(seq) FROM audit_events_chained), 0) + 1, false);
        """
    )
    _carry_tree_nodes()
    op.execute("DROP TABLE audit_events_chained")


def _carry_tree_nodes() -> None:
    """The complete subtrees over the carried-over leaves, as the sequencer would have stored them."""
    conn = op.get_bind()
    frontier = merkle.Frontier()
    batch: list[dict[str, object]] = []
    for (digest,) in conn.execute(sa.text("SELECT leaf_hash FROM audit_leaves ORDER BY seq")):
        for level, index, node in frontier.append(bytes(digest)):
            if level >= NODE_MIN_LEVEL:
                batch.append({"level": level, "index": index, "hash": node})
    if batch:
        conn.execute(
            sa.text('INSERT INTO audit_tree_nodes (level, "index", hash) VALUES (:level, :index, :hash)'),
            batch,
        )


def downgrade() -> None:
    # Back to one chained table: the sequenced events keep their numbers; events still queued
    # were never chained and cannot be carried back, so the downgrade refuses while any are.
    op.execute(
        """
        DO $$ BEGIN
            IF EXISTS (SELECT FROM audit_unsequenced) THEN
                RAISE EXCEPTION 'audit events are waiting for the sequencer: run it before downgrading';
            END IF;
        END $$;
        """
    )
    op.create_table(
        "audit_events_chained",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("loan_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("rule_id", sa.String(length=128), nullable=True),
        sa.Column("citation", sa.String(length=200), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_events_chained"),
        sa.UniqueConstraint("id", name="uq_audit_events_id"),
        sa.UniqueConstraint("idempotency_key", name="uq_audit_events_idempotency_key"),
    )
    op.execute(
        """
        INSERT INTO audit_events_chained
        SELECT l.seq, e.id, e.occurred_at, e.actor, e.role, e.action, e.case_id, e.loan_id, e.reason,
               e.rule_id, e.citation, e.payload, e.idempotency_key, l.prev_hash, l.hash
          FROM audit_leaves l JOIN audit_events e ON e.id = l.event_id AND e.occurred_at = l.occurred_at
         ORDER BY l.seq
        """
    )
    for table in (
        "audit_tree_heads",
        "audit_tree_nodes",
        "audit_leaves",
        "audit_unsequenced",
        "audit_idempotency",
    ):
        op.drop_table(table)
    op.drop_table("audit_events")  # its partitions and the sequence go with it
    op.execute("DROP FUNCTION audit_events_add_partition(date)")
    op.execute("DROP FUNCTION audit_events_guard(text)")
    op.execute("ALTER TABLE audit_events_chained RENAME TO audit_events")
    op.execute("ALTER TABLE audit_events RENAME CONSTRAINT pk_audit_events_chained TO pk_audit_events")
    op.execute(
        """
        CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events
            FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
        CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
            FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();
        ALTER TABLE audit_events ENABLE ALWAYS TRIGGER audit_events_no_update_delete;
        ALTER TABLE audit_events ENABLE ALWAYS TRIGGER audit_events_no_truncate;
        REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM arrears_app;
        GRANT SELECT, INSERT ON audit_events TO arrears_app;
        """
    )
    op.create_index("ix_audit_events_action", "audit_events", ["action"])
    op.create_index("ix_audit_events_case_id", "audit_events", ["case_id"])
    op.create_index("ix_audit_events_loan_id", "audit_events", ["loan_id"])
    op.create_index("ix_audit_events_actor", "audit_events", ["actor"])
    op.create_index("ix_audit_events_occurred_at", "audit_events", ["occurred_at"])
    op.create_index("ix_audit_events_action_case_seq", "audit_events", ["action", "case_id", "seq"])
