"""The schema comes from the migrations, and the audit trail refuses change at the database."""

import psycopg
import pytest
from sqlalchemy import create_engine, inspect

from arrears import migrate
from arrears.db import async_url
from arrears.embedded import EmbeddedPostgres


def test_migrations_create_every_table(database_url: str) -> None:
    engine = create_engine(async_url(database_url))
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {
        "borrowers",
        "loans",
        "delinquency_snapshots",
        "cases",
        "tasks",
        "payments",
        "audit_events",
        "alembic_version",
    } <= tables


def test_downgrade_and_upgrade_round_trip(postgres: EmbeddedPostgres) -> None:
    url = postgres.ensure_database("arrears_roundtrip")
    migrate.upgrade(url)
    from alembic import command

    command.downgrade(migrate.alembic_config(url), "base")
    migrate.upgrade(url)


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_events SET reason = 'edited'", "DELETE FROM audit_events", "TRUNCATE audit_events"],
)
def test_audit_trail_refuses_update_delete_truncate(postgres: EmbeddedPostgres, statement: str) -> None:
    # A database of its own: TRUNCATE must not queue behind other tests' open transactions.
    url = postgres.ensure_database("arrears_triggers")
    migrate.upgrade(url)
    with psycopg.connect(url) as conn:
        conn.execute("SET lock_timeout = '10s'")
        conn.execute(
            "INSERT INTO audit_events (id, occurred_at, actor, role, action, reason, payload)"
            " VALUES (gen_random_uuid(), now(), 't', 'system', 'test', 'r', '{}')"
        )
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute(statement)
        conn.rollback()  # leave no test row behind


def test_policy_pack_checks_take_every_pack(database_url: str) -> None:
    """Every PolicyPack value passes the loans' and cases' CHECK constraints, and nothing else."""
    from models.enums import PolicyPack

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conname IN ('ck_loans_policypack', 'ck_cases_policypack')"
        ).fetchall()
    assert sorted(table for table, _ in rows) == ["cases", "loans"]
    for _, definition in rows:
        assert all(f"'{pack.value}'" in definition for pack in PolicyPack)
