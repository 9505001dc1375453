"""The append-only audit trail: events as written, and the log that sequences them into a Merkle tree.

Writers insert an event (and its place in the queue) in their own transaction, with no lock.
One sequencer takes queued events in arrival order, gives each its sequence number, previous
hash and leaf, and signs tree heads. Every table here but the queue refuses UPDATE, DELETE
and TRUNCATE at the database (see the migrations).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Index, LargeBinary, SmallInteger, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from models.base import timestamp

ARRIVAL_SEQUENCE = "audit_events_arrival_seq"
# Subtrees of 2**4 leaves and up are stored; smaller ones are hashed from their (at most 8) leaves.
NODE_MIN_LEVEL = 4


class AuditEvent(SQLModel, table=True):
    """One event as its writer recorded it; partitioned by month of `occurred_at`."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_occurred_at", "occurred_at"),
        Index("ix_audit_events_arrival", "arrival"),
        Index("ix_audit_events_id", "id"),
        Index("ix_audit_events_actor", "actor"),
        Index("ix_audit_events_action", "action"),
        Index("ix_audit_events_case_id", "case_id"),
        Index("ix_audit_events_loan_id", "loan_id"),
        # reports: each case's last event of an action up to a period end
        Index("ix_audit_events_action_case_arrival", "action", "case_id", "arrival"),
        {"postgresql_partition_by": "RANGE (occurred_at)"},
    )

    # a primary key of a partitioned table must hold the partition key
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    occurred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), primary_key=True))
    # the order in which writers inserted (not committed): the sequencer's queue order
    arrival: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, nullable=False, server_default=text(f"nextval('{ARRIVAL_SEQUENCE}')")),
    )
    actor: str = Field(max_length=100)
    role: str = Field(max_length=32)
    action: str = Field(max_length=64)
    case_id: uuid.UUID | None = Field(default=None)
    loan_id: uuid.UUID | None = Field(default=None)
    reason: str = Field(max_length=500)
    rule_id: str | None = Field(default=None, max_length=128)
    citation: str | None = Field(default=None, max_length=200)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    idempotency_key: str | None = Field(default=None, max_length=200)


class AuditIdempotency(SQLModel, table=True):
    """One row per idempotency key: the partitioned trail cannot hold a key unique across months."""

    __tablename__ = "audit_idempotency"

    key: str = Field(primary_key=True, max_length=200)
    event_id: uuid.UUID
    occurred_at: datetime = timestamp()


class AuditUnsequenced(SQLModel, table=True):
    """The queue of events not yet sequenced; the sequencer deletes what it integrates."""

    __tablename__ = "audit_unsequenced"

    arrival: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    event_id: uuid.UUID
    occurred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    queued_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()")),
    )


class AuditLeaf(SQLModel, table=True):
    """An event's place in the log: sequence number (leaf index + 1), chain hashes and Merkle leaf."""

    __tablename__ = "audit_leaves"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    event_id: uuid.UUID = Field(unique=True)
    occurred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    prev_hash: str = Field(min_length=64, max_length=64)
    hash: str = Field(min_length=64, max_length=64)
    # RFC 9162 leaf hash: SHA-256(0x00 || the 32 bytes of `hash`), which covers the canonical event
    leaf_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    queued_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    integrated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class AuditTreeNode(SQLModel, table=True):
    """A complete (perfect) subtree of the Merkle tree, kept so proofs need no scan."""

    __tablename__ = "audit_tree_nodes"

    level: int = Field(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    index: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class AuditTreeHead(SQLModel, table=True):
    """A signed tree head: size, root, time and the Ed25519 key that signed them."""

    __tablename__ = "audit_tree_heads"

    tree_size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    key_id: str = Field(sa_column=Column(String(64), primary_key=True))
    root_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    timestamp_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    signature: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
