"""The audit log's one sequencer, and the proofs it makes possible.

Writers only queue events (arrears.audit.append). The sequencer takes the queue in arrival
order, in batches, under a transaction-level advisory lock that writers never take: it gives
each event its sequence number and previous hash, stores its chain hash and Merkle leaf, keeps
every complete subtree of 16 leaves and up, deletes the queue rows, and signs a tree head every
N events or N seconds, all in one transaction. Another worker's sequencer finds the lock taken
and waits its turn, so exactly one integrates at a time and a crash loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import delete, func, insert, tuple_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from arrears import audit, merkle
from arrears.audit_proofs import (
    CONSISTENCY_KIND,
    INCLUSION_KIND,
    SignedHead,
    chain_leaf,
    dev_key,
    keyring,
    load_private_key,
    load_public_key,
)
from arrears.db import Database
from arrears.settings import Settings
from models.audit import (
    NODE_MIN_LEVEL,
    AuditEvent,
    AuditLeaf,
    AuditTreeHead,
    AuditTreeNode,
    AuditUnsequenced,
)
from models.base import utcnow

log = logging.getLogger(__name__)
# Any constant works; it names the lock only the sequencer takes (writers never do).
SEQUENCER_LOCK = 0x41515351


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The key that signs tree heads: configured, or development's own; production refuses to guess."""
    if settings.audit_signing_key is not None:
        return load_private_key(settings.audit_signing_key.get_secret_value())
    if not settings.is_local:
        raise RuntimeError(
            "AUDIT_SIGNING_KEY is not set: the audit log's tree heads must be signed with a key kept "
            "outside the database (an Ed25519 key, PEM or base64)"
        )
    return dev_key(settings.audit_key_file)


def trusted_keys(settings: Settings) -> dict[str, Ed25519PublicKey]:
    """Every public key whose heads verify: the signing key's and the rotated ones'."""
    keys = [load_public_key(text) for text in settings.audit_public_keys]
    if settings.audit_signing_key is not None or settings.is_local:
        keys.append(signing_key(settings).public_key())
    return keyring(keys)


async def fetch_nodes(session: AsyncSession, wanted: set[tuple[int, int]]) -> merkle.Known:
    """The perfect subtrees asked for: stored ones read, small ones hashed from their leaves."""
    nodes: dict[tuple[int, int], bytes] = {}
    stored = [w for w in wanted if w[0] >= NODE_MIN_LEVEL]
    if stored:
        rows = await session.exec(
            select(AuditTreeNode).where(
                tuple_(col(AuditTreeNode.level), col(AuditTreeNode.index)).in_(stored)
            )
        )
        nodes.update({(r.level, r.index): bytes(r.hash) for r in rows})
    small = [w for w in wanted if w[0] < NODE_MIN_LEVEL]
    seqs = sorted({i + 1 for level, index in small for i in range(index << level, (index + 1) << level)})
    if seqs:
        rows2 = await session.exec(
            select(AuditLeaf.seq, AuditLeaf.leaf_hash).where(col(AuditLeaf.seq).in_(seqs))
        )
        leaves = {seq - 1: bytes(h) for seq, h in rows2}
        for level, index in small:
            first = index << level
            try:
                tree = merkle.LeafList([leaves[i] for i in range(first, first + (1 << level))])
            except KeyError:
                continue  # not in the log: Known raises when it is asked for
            nodes[(level, index)] = merkle.root(tree, 1 << level)
    return merkle.Known(nodes)


async def _computed(session: AsyncSession, run: Any) -> Any:
    """Run a Merkle computation twice: once to learn which subtrees it needs, once over them."""
    recorder = merkle.Recorder()
    run(recorder)
    return run(await fetch_nodes(session, recorder.wanted))


async def tree_root(session: AsyncSession, size: int) -> bytes:
    """The root of the log's first `size` events, from stored subtrees."""
    root: bytes = await _computed(session, lambda source: merkle.root(source, size))
    return root


async def inclusion_path(session: AsyncSession, index: int, size: int) -> list[bytes]:
    """The audit path of leaf `index` in the tree of `size` events."""
    path: list[bytes] = await _computed(session, lambda source: merkle.inclusion_path(source, index, size))
    return path


async def consistency_path(session: AsyncSession, old: int, new: int) -> list[bytes]:
    """The proof that the tree of `new` events extends the one of `old`."""
    path: list[bytes] = await _computed(session, lambda source: merkle.consistency_path(source, old, new))
    return path


class NotSequenced(LookupError):
    """The event is unknown, or still waiting for the sequencer."""


async def inclusion_proof(session: AsyncSession, event_id: uuid.UUID) -> dict[str, Any]:
    """An event, its hash and audit path against the latest signed head that covers it."""
    found = (
        await session.exec(
            select(AuditLeaf, AuditEvent)
            .join(
                AuditEvent,
                (col(AuditEvent.id) == col(AuditLeaf.event_id))
                & (col(AuditEvent.occurred_at) == col(AuditLeaf.occurred_at)),
            )
            .where(col(AuditLeaf.event_id) == event_id)
        )
    ).first()
    head = await audit.latest_head(session)
    if found is None or head is None or head.tree_size < found[0].seq:
        raise NotSequenced(f"event {event_id} is not yet under a signed tree head")
    leaf, event = found
    path = await inclusion_path(session, leaf.seq - 1, head.tree_size)
    return {
        "kind": INCLUSION_KIND,
        "event": audit.body(event, seq=leaf.seq, prev_hash=leaf.prev_hash),
        "hash": leaf.hash,
        "leaf_index": leaf.seq - 1,
        "tree_size": head.tree_size,
        "audit_path": [p.hex() for p in path],
        "head": head.to_dict(),
    }


async def stored_head(session: AsyncSession, size: int) -> SignedHead:
    """The signed head of exactly `size` events."""
    row = (
        await session.exec(select(AuditTreeHead).where(col(AuditTreeHead.tree_size) == size).limit(1))
    ).first()
    if row is None:
        raise LookupError(f"no signed tree head of {size} events")
    return audit.head_of(row)


async def consistency_proof(session: AsyncSession, old: SignedHead, new: SignedHead) -> dict[str, Any]:
    """The proof that signed head `new` extends signed head `old`."""
    if old.tree_size > new.tree_size:
        old, new = new, old
    path = await consistency_path(session, old.tree_size, new.tree_size)
    return {
        "kind": CONSISTENCY_KIND,
        "old": old.to_dict(),
        "new": new.to_dict(),
        "path": [p.hex() for p in path],
    }


@dataclass
class Sequencer:
    """Integrates queued events into the log and signs tree heads; run one per worker process."""

    db: Database
    key: Ed25519PrivateKey
    batch: int = 2000
    head_every_events: int = 1000
    head_every_seconds: float = 60.0
    interval: float = 0.2
    _frontier: merkle.Frontier | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, db: Database, settings: Settings) -> Sequencer:
        return cls(
            db,
            signing_key(settings),
            batch=settings.audit_sequencer_batch,
            head_every_events=settings.audit_head_every_events,
            head_every_seconds=settings.audit_head_every_seconds,
            interval=settings.audit_sequencer_interval_seconds,
        )

    async def integrate(self, *, wait: bool = False) -> int:
        """One batch: the number of events integrated (0 if the queue was empty, or if another
        sequencer held the lock and `wait` is false)."""
        frontier: merkle.Frontier | None = None
        async with self.db.session() as session:
            if wait:
                await session.exec(select(func.pg_advisory_xact_lock(SEQUENCER_LOCK)))
            elif not (await session.exec(select(func.pg_try_advisory_xact_lock(SEQUENCER_LOCK)))).one():
                return 0
            frontier, count = await self._integrate(session)
        self._frontier = frontier  # only once committed: a rolled-back batch leaves the cache as it was
        return count

    async def _integrate(self, session: AsyncSession) -> tuple[merkle.Frontier, int]:
        last = (await session.exec(select(AuditLeaf).order_by(col(AuditLeaf.seq).desc()).limit(1))).first()
        size, prev = (last.seq, last.hash) if last else (0, audit.GENESIS_HASH)
        frontier = self._frontier
        if frontier is None or frontier.size != size:  # first run, or another process integrated since
            frontier = await _computed(session, lambda source: merkle.Frontier.load(source, size))
        frontier = merkle.Frontier(frontier.size, list(frontier.edge))
        queued = (
            await session.exec(
                select(AuditUnsequenced).order_by(col(AuditUnsequenced.arrival)).limit(self.batch)
            )
        ).all()
        if queued:
            ids = [q.event_id for q in queued]
            events = {
                e.id: e
                for e in (
                    await session.exec(
                        select(AuditEvent).where(
                            col(AuditEvent.id).in_(ids),
                            col(AuditEvent.occurred_at).in_({q.occurred_at for q in queued}),
                        )
                    )
                ).all()
            }
            now = utcnow()
            leaves: list[dict[str, Any]] = []
            nodes: list[dict[str, Any]] = []
            for q in queued:
                event = events[q.event_id]
                seq = size + len(leaves) + 1
                digest = hashlib.sha256(audit.canonical(event, seq=seq, prev_hash=prev)).hexdigest()
                leaf = chain_leaf(digest)
                leaves.append(
                    {
                        "seq": seq,
                        "event_id": event.id,
                        "occurred_at": event.occurred_at,
                        "prev_hash": prev,
                        "hash": digest,
                        "leaf_hash": leaf,
                        "queued_at": q.queued_at,
                        "integrated_at": now,
                    }
                )
                nodes += [
                    {"level": lvl, "index": idx, "hash": h}
                    for lvl, idx, h in frontier.append(leaf)
                    if lvl >= NODE_MIN_LEVEL
                ]
                prev = digest
            await session.execute(insert(AuditLeaf), leaves)
            if nodes:
                await session.execute(insert(AuditTreeNode), nodes)
            await session.execute(
                delete(AuditUnsequenced).where(col(AuditUnsequenced.arrival).in_([q.arrival for q in queued]))
            )
        await self._maybe_sign(session, frontier)
        return frontier, len(queued)

    async def _maybe_sign(self, session: AsyncSession, frontier: merkle.Frontier) -> None:
        head = (
            await session.exec(select(AuditTreeHead).order_by(col(AuditTreeHead.tree_size).desc()).limit(1))
        ).first()
        now_ms = int(time.time() * 1000)
        if head is not None:
            grown = frontier.size - head.tree_size
            due = (
                grown >= self.head_every_events
                or now_ms - head.timestamp_ms >= self.head_every_seconds * 1000
            )
            if grown <= 0 or not due:
                return
        elif frontier.size == 0:
            return
        signed = SignedHead.sign(
            self.key, tree_size=frontier.size, root_hash=frontier.root(), timestamp_ms=now_ms
        )
        session.add(
            AuditTreeHead(
                tree_size=signed.tree_size,
                key_id=signed.key_id,
                root_hash=signed.root_hash,
                timestamp_ms=signed.timestamp_ms,
                signature=signed.signature,
            )
        )

    async def sign_now(self) -> SignedHead | None:
        """Integrate what is queued and sign a head of the whole log at once (tests, `checkpoint`)."""
        while await self.integrate(wait=True) > 0:
            pass
        async with self.db.session() as session:
            await session.exec(select(func.pg_advisory_xact_lock(SEQUENCER_LOCK)))
            size = (await session.exec(select(func.coalesce(func.max(AuditLeaf.seq), 0)))).one()
            latest = await audit.latest_head(session)
            if latest is not None and latest.tree_size == size:
                return latest
            if size == 0:
                return None
            root = await tree_root(session, size)
            signed = SignedHead.sign(
                self.key, tree_size=size, root_hash=root, timestamp_ms=int(time.time() * 1000)
            )
            session.add(
                AuditTreeHead(
                    tree_size=size,
                    key_id=signed.key_id,
                    root_hash=root,
                    timestamp_ms=signed.timestamp_ms,
                    signature=signed.signature,
                )
            )
        return signed

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Integrate until stopped: at once while the queue is full, every `interval` when it is empty."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                count = await self.integrate()
            except Exception:
                log.exception("audit sequencer: batch failed, retrying")
                self._frontier = None
                count = 0
            if count < self.batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.interval)
