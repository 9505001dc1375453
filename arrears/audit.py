"""Append-only, hash-chained audit trail: append under a lock, verify from genesis."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audit import AuditEvent
from models.base import utcnow

GENESIS_HASH = "0" * 64
REASON_MAX = 500  # audit_events.reason
# Any constant works; it names the one advisory lock that serialises appends.
_APPEND_LOCK = 0x41525245


@dataclass(frozen=True, slots=True)
class Actor:
    """Who caused an event: a staff user, a system component or a workflow."""

    name: str
    role: str


SYSTEM = Actor(name="arrears", role="system")
WORKFLOW = Actor(name="case-workflow", role="system")


def day_end(day: date) -> datetime:
    """The last instant of a UTC day: a deadline "by day D" holds until then."""
    return datetime.combine(day, time.max, UTC)


def canonical(event: AuditEvent) -> bytes:
    """The canonical encoding that the hash covers: sorted keys, no whitespace, UTC ISO times."""
    body = {
        "seq": event.seq,
        "id": str(event.id),
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(),
        "actor": event.actor,
        "role": event.role,
        "action": event.action,
        "case_id": str(event.case_id) if event.case_id else None,
        "loan_id": str(event.loan_id) if event.loan_id else None,
        "reason": event.reason,
        "rule_id": event.rule_id,
        "citation": event.citation,
        "payload": event.payload,
        "idempotency_key": event.idempotency_key,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(event: AuditEvent) -> str:
    """SHA-256 over the canonical encoding, hex."""
    return hashlib.sha256(canonical(event)).hexdigest()


_LOCKED_IN = "audit_lock_held_in"


def _lock_held(session: AsyncSession) -> bool:
    """Whether `hold_lock` took the lock in the transaction the session is in now."""
    current = session.sync_session.get_transaction()
    return current is not None and session.info.get(_LOCKED_IN) is current


async def hold_lock(session: AsyncSession) -> None:
    """Take the append lock for the rest of the caller's transaction, outside any savepoint, so
    that many appends in it (a chunk of intake) skip a round trip each. The lock is the one each
    append takes anyway and would hold to the same commit."""
    assert not session.in_nested_transaction(), "a savepoint's rollback would release the lock"
    await session.exec(select(func.pg_advisory_xact_lock(_APPEND_LOCK)))
    session.info[_LOCKED_IN] = session.sync_session.get_transaction()


async def append(
    session: AsyncSession,
    *,
    actor: Actor,
    action: str,
    reason: str,
    case_id: uuid.UUID | None = None,
    loan_id: uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
    rule_id: str | None = None,
    citation: str | None = None,
    idempotency_key: str | None = None,
    occurred_at: datetime | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction; a repeated idempotency key returns the first."""
    if not _lock_held(session):
        await session.exec(select(func.pg_advisory_xact_lock(_APPEND_LOCK)))
    if idempotency_key is not None:
        existing = (
            await session.exec(select(AuditEvent).where(AuditEvent.idempotency_key == idempotency_key))
        ).first()
        if existing is not None:
            return existing
    head = (await session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1))).first()
    # Timestamps are kept at microsecond precision, as PostgreSQL stores them.
    event = AuditEvent(
        seq=(head.seq + 1) if head else 1,
        occurred_at=occurred_at or utcnow(),
        actor=actor.name,
        role=actor.role,
        action=action,
        case_id=case_id,
        loan_id=loan_id,
        # a reason built from a staff reason (up to 500) and a prefix must not fail the write
        # forever: the column holds 500, the rest is cut (the hash covers what is stored)
        reason=reason[:REASON_MAX],
        rule_id=rule_id,
        citation=citation,
        payload=payload or {},
        idempotency_key=idempotency_key,
        prev_hash=head.hash if head else GENESIS_HASH,
        hash=GENESIS_HASH,
    )
    event.hash = event_hash(event)
    session.add(event)
    await session.flush()
    return event


@dataclass(frozen=True, slots=True)
class Verification:
    """The result of walking the chain."""

    ok: bool
    events: int
    head_seq: int
    head_hash: str
    first_broken_seq: int | None = None
    problem: str | None = None


async def _stream(session: AsyncSession, batch: int = 5000) -> AsyncIterator[AuditEvent]:
    last = 0
    while True:
        rows = (
            await session.exec(
                select(AuditEvent).where(AuditEvent.seq > last).order_by(col(AuditEvent.seq)).limit(batch)
            )
        ).all()
        if not rows:
            return
        for row in rows:
            yield row
        last = rows[-1].seq


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The chain's head at one moment, kept outside the database (a file, a ticket, a regulator)."""

    seq: int
    hash: str
    taken_at: str

    def to_json(self) -> str:
        return json.dumps({"seq": self.seq, "hash": self.hash, "taken_at": self.taken_at}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        """Parse a checkpoint file; a malformed one is an error, never an empty check."""
        try:
            data = json.loads(text)
            seq, digest = int(data["seq"]), str(data["hash"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not an audit checkpoint: {exc}") from exc
        if seq < 0 or len(digest) != 64:
            raise ValueError("not an audit checkpoint: seq must be >= 0 and hash 64 hex digits")
        return cls(seq=seq, hash=digest, taken_at=str(data.get("taken_at", "")))


async def checkpoint(session: AsyncSession) -> Checkpoint:
    """The current head, after verifying the chain up to it: never checkpoint a broken chain."""
    result = await verify(session)
    if not result.ok:
        raise ValueError(f"audit trail broken at #{result.first_broken_seq}: {result.problem}")
    return Checkpoint(seq=result.head_seq, hash=result.head_hash, taken_at=utcnow().isoformat())


async def verify(session: AsyncSession, against: Checkpoint | None = None) -> Verification:
    """Walk the whole chain from genesis and name the first sequence number that breaks it.

    With a checkpoint, the event at its sequence number must still carry its hash: a chain
    rewritten consistently from some point on (by a superuser) or cut short is caught too.
    """
    expected_seq, prev, count = 1, GENESIS_HASH, 0
    seen_checkpoint = against is None or against.seq == 0
    async for event in _stream(session):
        count += 1
        if event.seq != expected_seq:
            return Verification(False, count, event.seq, prev, expected_seq, "sequence gap")
        if event.prev_hash != prev:
            return Verification(False, count, event.seq, prev, event.seq, "previous hash mismatch")
        if event_hash(event) != event.hash:
            return Verification(False, count, event.seq, prev, event.seq, "content hash mismatch")
        if against is not None and event.seq == against.seq:
            if event.hash != against.hash:
                return Verification(
                    False, count, event.seq, prev, event.seq, "differs from the checkpoint: history rewritten"
                )
            seen_checkpoint = True
        prev, expected_seq = event.hash, expected_seq + 1
    if not seen_checkpoint:
        assert against is not None
        return Verification(
            False,
            count,
            expected_seq - 1,
            prev,
            expected_seq,
            f"the chain ends at #{expected_seq - 1}, before the checkpoint's #{against.seq}: events removed",
        )
    return Verification(True, count, expected_seq - 1, prev)
