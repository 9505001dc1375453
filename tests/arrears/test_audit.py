"""The audit trail holds even against its own database: the app role, triggers and checkpoints."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from arrears import audit, migrate
from arrears.db import Database
from arrears.embedded import EmbeddedPostgres
from models.audit import AuditEvent


@pytest.fixture
async def trail(postgres: EmbeddedPostgres) -> AsyncIterator[tuple[Database, str]]:
    """A database of its own with ten events, the application's and the owner's URL: these tests
    tamper with it as its owner (or a superuser) would."""
    name = f"audit_{uuid.uuid4().hex[:8]}"
    url = postgres.ensure_database(name)
    migrate.upgrade(url)
    db = Database(postgres.app_url(name))
    for i in range(10):
        async with db.session() as session:
            await audit.append(session, actor=audit.SYSTEM, action="test.event", reason=f"event {i}")
    yield db, url
    await db.dispose()


async def test_the_application_role_may_not_update_delete_or_truncate(trail: tuple[Database, str]) -> None:
    db, _ = trail
    for statement in (
        "UPDATE audit_events SET reason = 'rewritten' WHERE seq = 3",
        "DELETE FROM audit_events WHERE seq = 10",
        "TRUNCATE audit_events",
    ):
        with pytest.raises(ProgrammingError, match="permission denied"):
            async with db.session() as session:
                await session.execute(text(statement))
    async with db.session() as session:
        assert (await session.execute(text("SELECT current_user"))).scalar() == "arrears_app"
        assert (await audit.verify(session)).events == 10


async def test_even_the_owner_is_refused_by_the_triggers(trail: tuple[Database, str]) -> None:
    _, url = trail
    owner = Database(url)
    try:
        with pytest.raises(DBAPIError, match="append-only"):
            async with owner.session() as session:
                await session.execute(text("UPDATE audit_events SET reason = 'x' WHERE seq = 2"))
    finally:
        await owner.dispose()


def _superuser_rewrite(url: str, sql: str) -> None:
    """What the owner (or a superuser) can do: switch the triggers off, change history, switch them on."""
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        triggers = ("audit_events_no_update_delete", "audit_events_no_truncate")
        for name in triggers:
            conn.execute(f"ALTER TABLE audit_events DISABLE TRIGGER {name}")
        conn.execute(sql)
        for name in triggers:
            conn.execute(f"ALTER TABLE audit_events ENABLE ALWAYS TRIGGER {name}")


async def test_verify_names_the_first_broken_sequence_number(trail: tuple[Database, str]) -> None:
    db, url = trail
    _superuser_rewrite(url, "UPDATE audit_events SET reason = 'edited' WHERE seq = 4")
    async with db.session() as session:
        result = await audit.verify(session)
    assert not result.ok and result.first_broken_seq == 4 and result.problem == "content hash mismatch"


async def test_a_consistent_rewrite_is_caught_by_the_checkpoint(trail: tuple[Database, str]) -> None:
    db, url = trail
    async with db.session() as session:
        point = await audit.checkpoint(session)
    assert point.seq == 10
    # rewrite event 6 and re-hash the chain from there: the chain alone looks intact again
    _superuser_rewrite(url, "UPDATE audit_events SET reason = 'forged' WHERE seq = 6")
    owner = Database(url)
    async with owner.session() as session:
        rows = (await session.execute(text("SELECT seq FROM audit_events WHERE seq >= 6 ORDER BY seq"))).all()
    prev = None
    for (seq,) in rows:
        async with owner.session() as session:
            event = await session.get(AuditEvent, seq)
            assert event is not None
            session.expunge(event)  # a detached copy: the rewrite goes through the superuser below
            if prev is not None:
                event.prev_hash = prev
            new_hash = audit.event_hash(event)
        _superuser_rewrite(
            url,
            f"UPDATE audit_events SET prev_hash = '{event.prev_hash}', hash = '{new_hash}' WHERE seq = {seq}",
        )
        prev = new_hash
    await owner.dispose()
    async with db.session() as session:
        assert (await audit.verify(session)).ok  # undetectable without an outside anchor
        result = await audit.verify(session, point)
    assert not result.ok and result.first_broken_seq == 10
    assert "checkpoint" in (result.problem or "")


async def test_a_truncated_tail_is_caught_by_the_checkpoint(trail: tuple[Database, str]) -> None:
    db, url = trail
    async with db.session() as session:
        point = await audit.checkpoint(session)
    _superuser_rewrite(url, "DELETE FROM audit_events WHERE seq > 7")
    async with db.session() as session:
        assert (await audit.verify(session)).ok
        result = await audit.verify(session, point)
    assert not result.ok and result.head_seq == 7
    assert "before the checkpoint's #10" in (result.problem or "")


def test_a_malformed_checkpoint_file_is_an_error() -> None:
    with pytest.raises(ValueError, match="not an audit checkpoint"):
        audit.Checkpoint.from_json('{"seq": 3}')
    with pytest.raises(ValueError, match="not an audit checkpoint"):
        audit.Checkpoint.from_json("garbage")


async def test_a_reason_longer_than_the_column_is_cut_not_refused(trail: tuple[Database, str]) -> None:
    # e.g. a stage change "forbearance: " + a staff reason of the full 500 characters
    db, _ = trail
    async with db.session() as session:
        event = await audit.append(
            session, actor=audit.SYSTEM, action="case.stage_changed", reason="forbearance: " + "x" * 500
        )
    async with db.session() as session:
        stored = await session.get(AuditEvent, event.seq)
        assert stored is not None and len(stored.reason) == 500 and stored.reason.startswith("forbearance: ")
        assert (await audit.verify(session)).ok


async def test_a_held_lock_keeps_the_chain_whole_under_concurrent_appends(
    trail: tuple[Database, str],
) -> None:
    """Intake takes the append lock once per chunk and appends row by row in savepoints, some of
    which roll back, while the workflows append from other sessions: the chain stays whole."""
    db, _ = trail

    async def chunk() -> None:
        async with db.session() as session:
            await audit.hold_lock(session)
            for i in range(20):
                try:
                    async with session.begin_nested():
                        await audit.append(
                            session, actor=audit.SYSTEM, action="test.chunk", reason=f"row {i}"
                        )
                        if i % 5 == 0:
                            raise ValueError("a bad row")
                except ValueError:
                    continue
                await asyncio.sleep(0)

    async def single(i: int) -> None:
        async with db.session() as session:
            await audit.append(session, actor=audit.SYSTEM, action="test.single", reason=f"single {i}")

    await asyncio.gather(chunk(), *(single(i) for i in range(20)), chunk())
    async with db.session() as session:
        result = await audit.verify(session)
        counts = dict(
            (await session.execute(text("SELECT action, count(*) FROM audit_events GROUP BY action"))).all()
        )
    assert result.ok, result
    assert counts == {"test.event": 10, "test.single": 20, "test.chunk": 2 * 16}
