"""The audit trail holds even against its own database: the app role, triggers and checkpoints."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError
from sqlmodel import col, select

from arrears import audit, audit_proofs, audit_sequencer, migrate
from arrears.db import Database
from arrears.embedded import EmbeddedPostgres
from models.audit import AuditEvent, AuditLeaf

KEY = Ed25519PrivateKey.generate()
KEYS = audit_proofs.keyring([KEY.public_key()])


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
    sequencer = audit_sequencer.Sequencer(db, KEY, batch=5, head_every_events=5)
    assert await sequencer.integrate() == 5 and await sequencer.integrate() == 5
    yield db, url
    await db.dispose()


async def test_the_application_role_may_not_update_delete_or_truncate(trail: tuple[Database, str]) -> None:
    db, _ = trail
    for statement in (
        "UPDATE audit_events SET reason = 'rewritten' WHERE arrival = 3",
        "DELETE FROM audit_events WHERE arrival = 10",
        "UPDATE audit_leaves SET hash = prev_hash WHERE seq = 3",
        "DELETE FROM audit_tree_heads",
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
                await session.execute(text("UPDATE audit_events SET reason = 'x' WHERE arrival = 2"))
    finally:
        await owner.dispose()


def _superuser_rewrite(url: str, sql: str) -> None:
    """What the owner (or a superuser) can do: switch the triggers off, change history, switch them on."""
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        triggers = [(t, f"{t}_no_update_delete") for t in ("audit_events", "audit_leaves")]
        for table, name in triggers:
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER {name}")
        conn.execute(sql)
        for table, name in triggers:
            conn.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {name}")


async def test_verify_names_the_first_broken_sequence_number(trail: tuple[Database, str]) -> None:
    db, url = trail
    _superuser_rewrite(url, "UPDATE audit_events SET reason = 'edited' WHERE arrival = 4")
    async with db.session() as session:
        result = await audit.verify(session)
    assert not result.ok and result.first_broken_seq == 4 and result.problem == "content hash mismatch"


async def _rechain_from(url: str, db: Database, first: int) -> None:
    """Re-hash the chain and the leaves from sequence number `first` on, as a forger with the
    database but without the signing key would: the chain alone looks intact again."""
    owner = Database(url)
    async with owner.session() as session:
        rows = (
            await session.exec(
                select(AuditLeaf).where(col(AuditLeaf.seq) >= first).order_by(col(AuditLeaf.seq))
            )
        ).all()
        prev = None
        for leaf in rows:
            event = (await session.exec(select(AuditEvent).where(AuditEvent.id == leaf.event_id))).one()
            prev_hash = prev if prev is not None else leaf.prev_hash
            new_hash = audit.event_hash(event, seq=leaf.seq, prev_hash=prev_hash)
            _superuser_rewrite(
                url,
                f"UPDATE audit_leaves SET prev_hash = '{prev_hash}', hash = '{new_hash}', "
                f"leaf_hash = '\\x{audit_proofs.chain_leaf(new_hash).hex()}' WHERE seq = {leaf.seq}",
            )
            prev = new_hash
    await owner.dispose()


async def test_a_consistent_rewrite_below_a_signed_head_is_caught(trail: tuple[Database, str]) -> None:
    db, url = trail
    async with db.session() as session:
        point = await audit.checkpoint(session)
    assert point.tree_size == 10
    _superuser_rewrite(url, "UPDATE audit_events SET reason = 'forged' WHERE arrival = 6")
    await _rechain_from(url, db, 6)
    async with db.session() as session:
        result = await audit.verify(session)
    # the chain is whole again; the heads at 5 (before the rewrite) hold, the one at 10 does not
    assert not result.ok and result.first_broken_seq == 10, result
    assert "signed tree head of 10" in (result.problem or "")
    async with db.session() as session:
        assert not (await audit.verify(session, point, KEYS)).ok


async def test_an_old_chain_checkpoint_still_catches_a_rewrite(trail: tuple[Database, str]) -> None:
    db, url = trail
    async with db.session() as session:
        leaf = (await session.exec(select(AuditLeaf).where(AuditLeaf.seq == 10))).one()
    old = audit.Checkpoint(seq=10, hash=leaf.hash, taken_at="")
    _superuser_rewrite(url, "UPDATE audit_events SET reason = 'forged' WHERE arrival = 8")
    await _rechain_from(url, db, 8)
    async with db.session() as session:
        result = await audit.verify(session, old)
    assert not result.ok and result.first_broken_seq == 10


async def test_a_truncated_tail_is_caught_by_the_signed_head(trail: tuple[Database, str]) -> None:
    db, url = trail
    async with db.session() as session:
        point = await audit.checkpoint(session)
    _superuser_rewrite(url, "DELETE FROM audit_leaves WHERE seq > 7")
    async with db.session() as session:
        result = await audit.verify(session, point)
    assert not result.ok and result.head_seq == 7
    assert "before the checkpoint's #10" in (result.problem or "")


def test_a_malformed_checkpoint_file_is_an_error() -> None:
    with pytest.raises(ValueError, match="not an audit checkpoint"):
        audit.Checkpoint.from_json('{"seq": 3}')
    with pytest.raises(ValueError, match="not an audit checkpoint"):
        audit.read_anchor("garbage")
    with pytest.raises(ValueError, match="not a signed tree head"):
        audit.read_anchor('{"tree_size": 3}')


async def test_a_reason_longer_than_the_column_is_cut_not_refused(trail: tuple[Database, str]) -> None:
    # e.g. a stage change "forbearance: " + a staff reason of the full 500 characters
    db, _ = trail
    async with db.session() as session:
        event = await audit.append(
            session, actor=audit.SYSTEM, action="case.stage_changed", reason="forbearance: " + "x" * 500
        )
    await audit_sequencer.Sequencer(db, KEY).integrate()
    async with db.session() as session:
        stored = (await session.exec(select(AuditEvent).where(AuditEvent.id == event.id))).one()
        assert len(stored.reason) == 500 and stored.reason.startswith("forbearance: ")
        assert (await audit.verify(session)).ok


async def test_concurrent_writers_are_sequenced_without_gaps_and_exactly_once(
    trail: tuple[Database, str],
) -> None:
    """Writers in threads of their own append while two sequencers compete for the lock; some
    writers roll back savepoints. Every committed event gets exactly one sequence number, with no
    gap, and nothing rolled back is sequenced."""
    db, _ = trail
    writers, per_writer = 6, 25

    def writer(w: int) -> None:
        async def run() -> None:
            mine = Database(db.url, pool_size=1)
            try:
                for i in range(per_writer):
                    async with mine.session() as session:
                        try:
                            async with session.begin_nested():
                                await audit.append(
                                    session, actor=audit.SYSTEM, action="test.w", reason=f"{w}/{i}"
                                )
                                if i % 5 == 0:
                                    raise ValueError("a bad row")
                        except ValueError:
                            pass
            finally:
                await mine.dispose()

        asyncio.run(run())

    stop = asyncio.Event()
    sequencers = [audit_sequencer.Sequencer(db, KEY, batch=7, interval=0.01) for _ in range(2)]
    running = [asyncio.create_task(s.run(stop)) for s in sequencers]
    await asyncio.gather(*(asyncio.to_thread(writer, w) for w in range(writers)))
    await sequencers[0].sign_now()
    stop.set()
    await asyncio.gather(*running)
    async with db.session() as session:
        result = await audit.verify(session, keys=KEYS)
        seqs = (await session.exec(select(AuditLeaf.seq).order_by(col(AuditLeaf.seq)))).all()
        ids = (await session.exec(select(AuditLeaf.event_id))).all()
        counts = dict(
            (await session.execute(text("SELECT action, count(*) FROM audit_events GROUP BY action"))).all()
        )
    assert result.ok and result.pending == 0, result
    assert counts == {"test.event": 10, "test.w": writers * per_writer * 4 // 5}
    assert list(seqs) == list(range(1, 10 + writers * per_writer * 4 // 5 + 1))
    assert len(set(ids)) == len(ids)


async def test_inclusion_and_consistency_proofs_verify_offline_and_fail_when_tampered(
    trail: tuple[Database, str],
) -> None:
    db, _ = trail
    async with db.session() as session:
        old = await audit_sequencer.stored_head(session, 5)
        new = await audit_sequencer.stored_head(session, 10)
        event_id = (await session.exec(select(AuditLeaf.event_id).where(AuditLeaf.seq == 4))).one()
        proof = await audit_sequencer.inclusion_proof(session, event_id)
        consistency = await audit_sequencer.consistency_proof(session, old, new)
    assert audit_proofs.verify_inclusion_document(proof, KEYS) is None
    assert audit_proofs.verify_consistency_document(consistency, KEYS) is None
    other = audit_proofs.keyring([Ed25519PrivateKey.generate().public_key()])
    assert "not among the trusted" in (audit_proofs.verify_inclusion_document(proof, other) or "")
    altered = {**proof, "event": {**proof["event"], "reason": "edited"}}
    assert "altered" in (audit_proofs.verify_inclusion_document(altered, KEYS) or "")
    moved = {**proof, "audit_path": list(reversed(proof["audit_path"]))}
    assert "not in this tree" in (audit_proofs.verify_inclusion_document(moved, KEYS) or "")
    bad = {**consistency, "path": consistency["path"][:-1]}
    assert "rewritten" in (audit_proofs.verify_consistency_document(bad, KEYS) or "")


async def test_every_partition_refuses_change_even_addressed_directly(trail: tuple[Database, str]) -> None:
    _, url = trail
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        parts = [
            r[0]
            for r in conn.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                " WHERE i.inhparent = 'audit_events'::regclass"
            )
        ]
        assert "audit_events_default" in parts and len(parts) > 40
        part = conn.execute("SELECT tableoid::regclass::text FROM audit_events WHERE arrival = 1").fetchone()
        assert part is not None
        for statement in (
            f"UPDATE {part[0]} SET reason = 'x'",
            f"DELETE FROM {part[0]}",
            f"TRUNCATE {part[0]}",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(statement)
