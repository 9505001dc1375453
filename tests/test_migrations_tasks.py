"""The migration that turns the escalation into a mark of its own keeps every task's meaning."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import psycopg
from alembic import command
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from arrears import audit_sequencer, migrate
from arrears.db import Database
from arrears.embedded import EmbeddedPostgres
from models.enums import TaskStatus
from models.tasks import Task
from tests.factories import Portfolio

BEFORE = "0005"


async def test_escalated_tasks_lose_the_supervisor_name_and_keep_their_people(
    postgres: EmbeddedPostgres,
) -> None:
    url = postgres.ensure_database(f"arrears_escalation_{uuid.uuid4().hex[:8]}")
    migrate.upgrade(url)
    db = Database(url)
    due = datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)
    try:
        async with db.session() as session:
            p = Portfolio(session)
            case_id = await p.case(
                await p.loan(dpd=40, as_of=date(2026, 3, 1)), opened=due - timedelta(days=9)
            )
            for key, status, assignee in (
                ("pool", TaskStatus.ESCALATED, "supervisor"),  # the old mark: nobody holds it
                ("taken", TaskStatus.ESCALATED, "boss"),  # escalated, then claimed by a supervisor
                ("person", TaskStatus.OPEN, "supervisor"),  # a user who is called supervisor
            ):
                session.add(
                    Task(
                        case_id=case_id,
                        kind="probe",
                        status=status,
                        rule_id=key,
                        citation="test",
                        idempotency_key=f"{case_id}:{key}",
                        due_at=due,
                        assignee=assignee,
                    )
                )
        # the audit events the rows wrote go into the log before the schema may go back
        await audit_sequencer.Sequencer(db, Ed25519PrivateKey.generate()).integrate()
    finally:
        await db.dispose()
    config = migrate.alembic_config(url)
    command.downgrade(config, BEFORE)
    command.upgrade(config, "head")

    def rows() -> dict[str, tuple[str | None, datetime | None]]:
        with psycopg.connect(url) as conn:
            found = conn.execute("SELECT rule_id, assignee, escalated_at FROM tasks").fetchall()
        return {key: (assignee, at) for key, assignee, at in found}

    assert rows() == {"pool": (None, due), "taken": ("boss", due), "person": ("supervisor", None)}
    command.downgrade(config, BEFORE)
    with psycopg.connect(url) as conn:
        found: dict[str, str | None] = dict(conn.execute("SELECT rule_id, assignee FROM tasks").fetchall())
    assert found == {"pool": "supervisor", "taken": "boss", "person": "supervisor"}
    command.upgrade(config, "head")
