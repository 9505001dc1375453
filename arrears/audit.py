"""The audit trail: writers append without a lock; the verifier walks the sequenced log from genesis."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from arrears import merkle
from arrears.audit_proofs import SignedHead, canonical_bytes, chain_leaf
from models.audit import AuditEvent, AuditIdempotency, AuditLeaf, AuditTreeHead, AuditUnsequenced
from models.base import utcnow

GENESIS_HASH = "0" * 64
REASON_MAX = 500  # audit_events.reason


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


def body(event: AuditEvent, *, seq: int, prev_hash: str) -> dict[str, Any]:
    """The fields the chain hash covers: the event as written, with its place in the log."""
    return {
        "seq": seq,
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
        "prev_hash": prev_hash,
    }


def canonical(event: AuditEvent, *, seq: int, prev_hash: str) -> bytes:
    """The canonical encoding that the hash covers: sorted keys, no whitespace, UTC ISO times."""
    return canonical_bytes(body(event, seq=seq, prev_hash=prev_hash))


def event_hash(event: AuditEvent, *, seq: int, prev_hash: str) -> str:
    """SHA-256 over the canonical encoding, hex."""
    return hashlib.sha256(canonical(event, seq=seq, prev_hash=prev_hash)).hexdigest()


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
    """Write one event in the caller's transaction, with no lock: it commits (or not) with the
    business write beside it, and the sequencer gives it its place in the log afterwards. A
    repeated idempotency key returns the first event."""
    # Timestamps are kept at microsecond precision, as PostgreSQL stores them.
    event = AuditEvent(
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
    )
    if idempotency_key is not None:
        # the key's row is the claim: a concurrent writer of the same key waits on it, then finds it
        claimed = (
            await session.execute(
                pg_insert(AuditIdempotency)
                .values(key=idempotency_key, event_id=event.id, occurred_at=event.occurred_at)
                .on_conflict_do_nothing()
                .returning(col(AuditIdempotency.key))
            )
        ).first()
        if claimed is None:
            first = (
                await session.exec(
                    select(AuditEvent)
                    .join(AuditIdempotency, col(AuditIdempotency.event_id) == col(AuditEvent.id))
                    .where(
                        col(AuditIdempotency.key) == idempotency_key,
                        col(AuditEvent.occurred_at) == col(AuditIdempotency.occurred_at),
                    )
                )
            ).one()
            return first
    # the event and its queue row in one round trip: an append costs the writer one statement
    arrival = (
        await session.execute(_APPEND, {**_columns(event), "payload": json.dumps(event.payload)})
    ).scalar_one()
    event.arrival = arrival
    return event


_APPEND = text(
    """
    WITH e AS (
        INSERT INTO audit_events (id, occurred_at, actor, role, action, case_id, loan_id, reason, rule_id,
                                  citation, payload, idempotency_key)
        VALUES (:id, :occurred_at, :actor, :role, :action, :case_id, :loan_id, :reason, :rule_id,
                :citation, CAST(:payload AS jsonb), :idempotency_key)
        RETURNING arrival, id, occurred_at
    )
    INSERT INTO audit_unsequenced (arrival, event_id, occurred_at) SELECT arrival, id, occurred_at FROM e
    RETURNING arrival
    """
)


def _columns(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in AuditEvent.model_fields if name != "arrival"}


@dataclass(frozen=True, slots=True)
class Verification:
    """The result of walking the log."""

    ok: bool
    events: int
    head_seq: int
    head_hash: str
    first_broken_seq: int | None = None
    problem: str | None = None
    heads_checked: int = 0
    pending: int = 0


async def _stream(
    session: AsyncSession, batch: int = 5000
) -> AsyncIterator[tuple[AuditLeaf, AuditEvent | None]]:
    last = 0
    while True:
        rows = (
            await session.exec(
                select(AuditLeaf, AuditEvent)
                .outerjoin(
                    AuditEvent,
                    (col(AuditEvent.id) == col(AuditLeaf.event_id))
                    & (col(AuditEvent.occurred_at) == col(AuditLeaf.occurred_at)),
                )
                .where(col(AuditLeaf.seq) > last)
                .order_by(col(AuditLeaf.seq))
                .limit(batch)
            )
        ).all()
        if not rows:
            return
        for leaf, event in rows:
            yield leaf, event
        last = rows[-1][0].seq


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A chain head exported before the log had signed tree heads: (sequence number, hash)."""

    seq: int
    hash: str
    taken_at: str

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


def read_anchor(text: str) -> Checkpoint | SignedHead:
    """A file from `arrears audit checkpoint`: a signed tree head, or an older chain checkpoint."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"not an audit checkpoint: {exc}") from exc
    if isinstance(data, dict) and "tree_size" in data:
        return SignedHead.from_dict(data)
    return Checkpoint.from_json(text)


def head_of(row: AuditTreeHead) -> SignedHead:
    """A stored head as the signed value it is."""
    return SignedHead(row.tree_size, bytes(row.root_hash), row.timestamp_ms, row.key_id, bytes(row.signature))


async def latest_head(session: AsyncSession) -> SignedHead | None:
    """The newest signed tree head, if the sequencer has signed one."""
    row = (
        await session.exec(select(AuditTreeHead).order_by(col(AuditTreeHead.tree_size).desc()).limit(1))
    ).first()
    return head_of(row) if row else None


async def checkpoint(session: AsyncSession) -> SignedHead:
    """The latest signed tree head, after verifying the log up to it: never export a broken log."""
    result = await verify(session)
    if not result.ok:
        raise ValueError(f"audit trail broken at #{result.first_broken_seq}: {result.problem}")
    head = await latest_head(session)
    if head is None:
        raise ValueError("no signed tree head yet: the sequencer has not integrated any event")
    return head


def _broken(count: int, seq: int, prev: str, at: int, problem: str, heads: int) -> Verification:
    return Verification(False, count, seq, prev, at, problem, heads)


async def verify(
    session: AsyncSession,
    against: Checkpoint | SignedHead | None = None,
    keys: Mapping[str, Ed25519PublicKey] | None = None,
) -> Verification:
    """Walk the whole log from genesis and name the first sequence number that breaks it.

    Each event must hash to its leaf's chain hash and chain to the one before; the Merkle root
    recomputed at every stored head's size (and at `against`'s) must be the signed root, so a
    history rewritten consistently below a head, or cut short, is caught too. With `keys`, each
    head's signature is checked as well.
    """
    if not session.in_transaction():
        # one snapshot: writers and the sequencer commit while the walk runs, and counts read at
        # different moments would report events "neither sequenced nor queued" that are neither
        await (await session.connection()).execute(
            text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        )
    heads = {row.tree_size: head_of(row) for row in (await session.exec(select(AuditTreeHead))).all()}
    anchors: dict[int, list[SignedHead]] = {}
    for head in heads.values():
        anchors.setdefault(head.tree_size, []).append(head)
    if isinstance(against, SignedHead):
        anchors.setdefault(against.tree_size, []).append(against)
    if keys is not None:
        for size, signed in sorted(anchors.items()):
            for head in signed:
                problem = head.verify(keys)
                if problem:
                    return _broken(0, 0, GENESIS_HASH, size, f"tree head of {size} events: {problem}", 0)
    frontier = merkle.Frontier()
    expected_seq, prev, count, checked = 1, GENESIS_HASH, 0, 0
    for head in anchors.get(0, []):
        checked += 1
        if head.root_hash != merkle.EMPTY_ROOT:
            return _broken(0, 0, prev, 1, "the empty tree's head has a root", checked)
    async for leaf, event in _stream(session):
        count += 1
        seq = leaf.seq
        if seq != expected_seq:
            return _broken(count, seq, prev, expected_seq, "sequence gap", checked)
        if event is None:
            return _broken(count, seq, prev, seq, "the event of this sequence number is missing", checked)
        if leaf.prev_hash != prev:
            return _broken(count, seq, prev, seq, "previous hash mismatch", checked)
        if event_hash(event, seq=seq, prev_hash=leaf.prev_hash) != leaf.hash:
            return _broken(count, seq, prev, seq, "content hash mismatch", checked)
        if bytes(leaf.leaf_hash) != chain_leaf(leaf.hash):
            return _broken(count, seq, prev, seq, "leaf hash mismatch", checked)
        frontier.append(bytes(leaf.leaf_hash))
        for head in anchors.get(seq, []):
            checked += 1
            if frontier.root() != head.root_hash:
                return _broken(
                    count,
                    seq,
                    prev,
                    seq,
                    f"differs from the signed tree head of {seq} events: history rewritten",
                    checked,
                )
        if isinstance(against, Checkpoint) and seq == against.seq and leaf.hash != against.hash:
            return _broken(count, seq, prev, seq, "differs from the checkpoint: history rewritten", checked)
        prev, expected_seq = leaf.hash, expected_seq + 1
    tail = expected_seq - 1
    needed = max([*anchors, against.seq if isinstance(against, Checkpoint) else 0, 0])
    if needed > tail:
        return _broken(
            count,
            tail,
            prev,
            expected_seq,
            f"the log ends at #{tail}, before the checkpoint's #{needed}: events removed",
            checked,
        )
    pending = (await session.exec(select(func.count()).select_from(AuditUnsequenced))).one()
    written = (await session.exec(select(func.count()).select_from(AuditEvent))).one()
    if written != count + pending:
        return Verification(
            False,
            count,
            tail,
            prev,
            None,
            f"{written - count - pending} event(s) neither sequenced nor queued",
            checked,
            pending,
        )
    return Verification(True, count, tail, prev, heads_checked=checked, pending=pending)
