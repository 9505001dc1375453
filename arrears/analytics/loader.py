"""Writes a synthetic portfolio into the database, in chunks, with COPY.

History months are written as the records they would have left: the loan system's delinquency
snapshots and payments, the cases intake opened and the workflow moved and closed, the audit
events of each step (queued for the sequencer like every append, so the trail verifies), the
messages and their engagement. Every loan's first report is validated as intake validates a
row (arrears.delinquency_rows), and cases take intake's workflow ID and first stage from the
pack. No workflow runs for a past month: a workflow can only act now, and replaying a year of
timers per loan would take hours for 100,000 loans while adding nothing the records do not
already hold. Cases still open at the end have no run yet; `arrears run` starts them, as it
starts any case intake stored but did not start (IntakeService.start_missing_workflows).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from arrears.analytics.behaviour import DEFAULT_MODEL, BehaviourModel
from arrears.analytics.generator import Rows, month_ends, simulate
from arrears.db import Database
from arrears.delinquency_rows import RowError, validate_rows
from models.base import utcnow

CHUNK = 2_000
MAX_LOANS = 10_000_000
MAX_MONTHS = 120

# each table's columns in the order its rows are written (the benchmarks' loaders write them too)
COLUMNS: dict[str, tuple[str, ...]] = {
    "borrowers": ("id", "external_id", "name", "email", "timezone", "language", "created_at", "updated_at"),
    "loans": (
        "id",
        "external_id",
        "borrower_id",
        "policy_pack",
        "product",
        "currency",
        "principal",
        "balance",
        "arrears",
        "installment",
        "due_day",
        "next_due_date",
        "days_past_due",
        "delinquent_since",
        "team",
        "created_at",
        "updated_at",
    ),
    "delinquency_snapshots": (
        "id",
        "loan_id",
        "as_of",
        "days_past_due",
        "arrears",
        "balance",
        "currency",
        "source",
        "received_at",
    ),
    "cases": (
        "id",
        "loan_id",
        "workflow_id",
        "policy_pack",
        "stage",
        "status",
        "outcome",
        "days_past_due_at_open",
        "opened_as_of",
        "delinquent_since",
        "arrears",
        "currency",
        "team",
        "opened_at",
        "stage_changed_at",
        "closed_at",
        "segment",
        "strategy_arm",
        "updated_at",
    ),
    "payments": (
        "id",
        "external_id",
        "loan_id",
        "case_id",
        "amount",
        "currency",
        "received_at",
        "recorded_at",
    ),
    "messages": (
        "id",
        "case_id",
        "idempotency_key",
        "channel",
        "requested_channel",
        "message_id",
        "status",
        "created_at",
        "sent_at",
        "reason",
        "attempts",
        "refusals",
    ),
    "engagement_events": ("id", "case_id", "message_id", "template", "kind", "occurred_at"),
}
EVENT_COLUMNS = (
    "id",
    "occurred_at",
    "actor",
    "role",
    "action",
    "case_id",
    "loan_id",
    "reason",
    "rule_id",
    "citation",
    "payload",
)


class SimulationError(ValueError):
    """The simulation was asked for something it cannot do; the message says what."""


@dataclass(frozen=True, slots=True)
class Generated:
    """What one generation wrote."""

    loans: int
    months: int
    snapshots: int
    cases: int
    open_cases: int
    payments: int
    audit_events: int
    messages: int
    engagement_events: int
    first_month_end: date
    as_of: date


def check(*, loans: int, months: int, seed: int) -> None:
    """Refuse impossible sizes with a message naming the option."""
    if not 1 <= loans <= MAX_LOANS:
        raise SimulationError(f"--loans must be between 1 and {MAX_LOANS:,}, not {loans}")
    if not 1 <= months <= MAX_MONTHS:
        raise SimulationError(f"--months must be between 1 and {MAX_MONTHS}, not {months}")
    if seed < 0:
        raise SimulationError(f"--seed must be 0 or more, not {seed}")


async def copy_rows(
    conn: AsyncConnection, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Write `rows` (values in the order of `columns`) into `table` with COPY, in `conn`'s transaction."""
    if not rows:
        return
    raw = await conn.get_raw_connection()
    pg: Any = raw.driver_connection
    async with pg.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            await copy.write_row(row)


_SEQUENCE_EVENTS = text(
    f"""
    WITH e AS (
        INSERT INTO audit_events ({", ".join(EVENT_COLUMNS)})
        SELECT {", ".join(EVENT_COLUMNS)} FROM sim_events ORDER BY occurred_at
        RETURNING arrival, id, occurred_at
    )
    INSERT INTO audit_unsequenced (arrival, event_id, occurred_at) SELECT arrival, id, occurred_at FROM e
    """
)


async def _write(conn: AsyncConnection, rows: Rows, *, sequenced: bool) -> None:
    now = utcnow()
    await copy_rows(conn, "borrowers", COLUMNS["borrowers"], [(*r, now, now) for r in rows.borrowers])
    await copy_rows(conn, "loans", COLUMNS["loans"], [(*r, now, now) for r in rows.loans])
    await copy_rows(conn, "delinquency_snapshots", COLUMNS["delinquency_snapshots"], rows.snapshots)
    await copy_rows(conn, "cases", COLUMNS["cases"], [(*r, r[14]) for r in rows.cases])
    await copy_rows(conn, "payments", COLUMNS["payments"], rows.payments)
    await copy_rows(conn, "messages", COLUMNS["messages"], [(*r, "", 1, 0) for r in rows.messages])
    await copy_rows(conn, "engagement_events", COLUMNS["engagement_events"], rows.engagement)
    events = [(*r[:-1], json.dumps(r[-1])) for r in rows.events]
    if not sequenced:  # the bench's shortcut: events the sequencer never sees
        await copy_rows(conn, "audit_events", EVENT_COLUMNS, events)
        return
    await conn.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS sim_events ON COMMIT DELETE ROWS AS "
            f"SELECT {', '.join(EVENT_COLUMNS)} FROM audit_events WITH NO DATA"
        )
    )
    await copy_rows(conn, "sim_events", EVENT_COLUMNS, events)
    await conn.execute(_SEQUENCE_EVENTS)


def _validated(rows: Rows) -> None:
    """Each loan's first report passes intake's validation, or the generation stops."""
    for item in validate_rows(enumerate(rows.intake_rows, start=1)):
        if isinstance(item, RowError):
            raise SimulationError(f"a generated loan fails intake validation: {item.field}: {item.reason}")


async def ensure_new(db: Database, *, seed: int) -> None:
    """Refuse a seed whose portfolio is already in the database (its loans would collide)."""
    async with db.engine.connect() as conn:
        taken = (
            await conn.execute(
                text("SELECT count(*) FROM loans WHERE external_id LIKE :prefix"), {"prefix": f"SIM{seed}-%"}
            )
        ).scalar_one()
    if taken:
        raise SimulationError(
            f"a portfolio generated with seed {seed} is already loaded ({taken:,} loans); "
            "use another --seed or an empty database"
        )


async def generate(
    db: Database,
    *,
    loans: int,
    months: int,
    seed: int,
    as_of: date,
    model: BehaviourModel = DEFAULT_MODEL,
    progress: Callable[[int], None] | None = None,
    sequenced: bool = True,
) -> Generated:
    """Simulate and write a portfolio of `loans` loans over `months` months ending on `as_of`;
    the same seed, size and day give the same portfolio. Refuses a seed already loaded."""
    check(loans=loans, months=months, seed=seed)
    await ensure_new(db, seed=seed)
    ends = month_ends(as_of, months)
    totals = dict.fromkeys(("snapshots", "cases", "open", "payments", "events", "messages", "engagement"), 0)
    for first in range(0, loans, CHUNK):
        count = min(CHUNK, loans - first)
        rows = simulate(seed=seed, first=first, count=count, ends=ends, model=model)
        _validated(rows)
        async with db.engine.begin() as conn:
            await _write(conn, rows, sequenced=sequenced)
        totals["snapshots"] += len(rows.snapshots)
        totals["cases"] += len(rows.cases)
        totals["open"] += sum(1 for c in rows.cases if c[5] == "open")
        totals["payments"] += len(rows.payments)
        totals["events"] += len(rows.events)
        totals["messages"] += len(rows.messages)
        totals["engagement"] += len(rows.engagement)
        if progress:
            progress(count)
    async with db.engine.connect() as conn:
        # fresh statistics, so the first KPI queries plan for the rows just written
        for table in (*COLUMNS, "audit_events"):
            await conn.execute(text(f"ANALYZE {table}"))
    return Generated(
        loans=loans,
        months=months,
        snapshots=totals["snapshots"],
        cases=totals["cases"],
        open_cases=totals["open"],
        payments=totals["payments"],
        audit_events=totals["events"],
        messages=totals["messages"],
        engagement_events=totals["engagement"],
        first_month_end=ends[1] if len(ends) > 1 else ends[0],
        as_of=as_of,
    )
