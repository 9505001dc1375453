"""Audit appends through the real path against plain INSERTs of the same rows; lag and proof rates.

    make bench-audit                                       # 4,000 events per writer count
    .venv/bin/python -m bench.audit --events 1000          # a quicker look

It starts its own embedded PostgreSQL in a temporary folder and runs the migrations. Then, in
the same run, with 1 writer and with 8 concurrent writers (each its own connection, each event
its own transaction, as an activity writes it):

- the baseline: a plain INSERT of the same row into a plain table with the same columns and
  indexes (not partitioned, no queue, no triggers);
- the real path: `arrears.audit.append` (event, plus its queue row) while the sequencer runs
  beside the writers, as it does in the worker;
- the integration lag (from the queue row's commit time to its integration) at p50 and p99,
  under that load;
- inclusion proof generation (against the latest signed head) and offline verification rates.

Results go to bench/results/audit-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from arrears import audit, audit_proofs, audit_sequencer, migrate
from arrears.db import Database
from arrears.embedded import EmbeddedPostgres

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
console = Console()
PLAIN = """
CREATE TABLE plain_events (LIKE audit_events INCLUDING DEFAULTS);
ALTER TABLE plain_events ADD PRIMARY KEY (id, occurred_at);
CREATE INDEX ON plain_events (occurred_at); CREATE INDEX ON plain_events (arrival);
CREATE INDEX ON plain_events (actor); CREATE INDEX ON plain_events (action);
CREATE INDEX ON plain_events (case_id); CREATE INDEX ON plain_events (loan_id);
CREATE INDEX ON plain_events (action, case_id, arrival);
GRANT SELECT, INSERT ON plain_events TO arrears_app;
"""
INSERT = text(
    "INSERT INTO plain_events (id, occurred_at, actor, role, action, case_id, loan_id, reason, payload)"
    " VALUES (:id, :at, 'bench', 'system', 'message.sent', :case, :loan, 'reminder 1 sent', :payload)"
)


def _payload(i: int) -> dict[str, Any]:
    return {"key": f"reminder.{i % 5}", "channel": "email", "template": "reminder", "n": i}


async def _writers(url: str, writers: int, per_writer: int, real: bool) -> float:
    """Events per second over all writers."""

    async def one(w: int) -> None:
        db = Database(url, pool_size=1)
        try:
            for i in range(per_writer):
                async with db.session() as session:
                    if real:
                        await audit.append(
                            session,
                            actor=audit.Actor("bench", "system"),
                            action="message.sent",
                            reason="reminder 1 sent",
                            case_id=uuid.uuid4(),
                            loan_id=uuid.uuid4(),
                            payload=_payload(i),
                        )
                    else:
                        await session.execute(
                            INSERT,
                            {
                                "id": uuid.uuid4(),
                                "at": datetime.now(UTC),
                                "case": uuid.uuid4(),
                                "loan": uuid.uuid4(),
                                "payload": json.dumps(_payload(i)),
                            },
                        )
        finally:
            await db.dispose()

    started = time.perf_counter()
    await asyncio.gather(*(one(w) for w in range(writers)))
    return writers * per_writer / (time.perf_counter() - started)


async def _lag(db: Database, since: int) -> dict[str, float]:
    async with db.session() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP"
                    " (ORDER BY extract(epoch FROM integrated_at - queued_at))"
                    " FROM audit_leaves WHERE seq > :s"
                ),
                {"s": since},
            )
        ).scalar_one()
    return {"p50_ms": round(rows[0] * 1000, 1), "p99_ms": round(rows[1] * 1000, 1)}


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        pg = EmbeddedPostgres(Path(folder) / "data", delete_on_stop=True)
        pg.start()
        try:
            owner = pg.ensure_database("bench_audit")
            migrate.upgrade(owner)
            import psycopg

            with psycopg.connect(owner, autocommit=True) as conn:
                conn.execute(PLAIN)
            url = pg.app_url("bench_audit")
            db = Database(url, pool_size=4)
            key = Ed25519PrivateKey.generate()
            sequencer = audit_sequencer.Sequencer(db, key, interval=args.interval)
            result: dict[str, Any] = {"events_per_writer_count": args.events, "writers": {}}
            for writers in (1, 8):
                per = args.events // writers
                plain = await _writers(url, writers, per, real=False)
                async with db.session() as session:
                    size = (
                        await session.execute(text("SELECT coalesce(max(seq), 0) FROM audit_leaves"))
                    ).scalar_one()
                stop = asyncio.Event()
                running = asyncio.create_task(sequencer.run(stop))
                real = await _writers(url, writers, per, real=True)
                await sequencer.sign_now()
                stop.set()
                await running
                result["writers"][writers] = {
                    "plain_insert_per_s": round(plain, 1),
                    "append_per_s": round(real, 1),
                    "ratio": round(real / plain, 2),
                    "integration_lag": await _lag(db, size),
                }
                console.print(f"{writers} writer(s): {result['writers'][writers]}")
            async with db.session() as session:
                ids = (
                    (
                        await session.execute(
                            text("SELECT event_id FROM audit_leaves ORDER BY random() LIMIT :n"), {"n": 200}
                        )
                    )
                    .scalars()
                    .all()
                )
                head = await audit.latest_head(session)
                started = time.perf_counter()
                proofs = [await audit_sequencer.inclusion_proof(session, i) for i in ids]
                made = time.perf_counter() - started
            keys = audit_proofs.keyring([key.public_key()])
            started = time.perf_counter()
            assert all(audit_proofs.verify_inclusion_document(p, keys) is None for p in proofs)
            checked = time.perf_counter() - started
            result["proofs"] = {
                "tree_size": head.tree_size if head else 0,
                "generated_per_s": round(len(proofs) / made, 1),
                "verified_per_s": round(len(proofs) / checked, 1),
                "generate_ms_mean": round(made / len(proofs) * 1000, 2),
            }
            await db.dispose()
            return result
        finally:
            pg.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--events", type=int, default=4000, help="events per writer count (split over writers)"
    )
    parser.add_argument("--interval", type=float, default=0.2, help="the sequencer's idle wait, seconds")
    args = parser.parse_args()
    result = asyncio.run(_run(args))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"audit-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps({"benchmark": "audit", **result}, indent=2) + "\n")
    table = Table(
        "writers", "plain INSERT/s", "append/s", "ratio", "lag p50 ms", "lag p99 ms", title="audit appends"
    )
    for writers, r in result["writers"].items():
        lag = r["integration_lag"]
        table.add_row(
            str(writers),
            str(r["plain_insert_per_s"]),
            str(r["append_per_s"]),
            str(r["ratio"]),
            str(lag["p50_ms"]),
            str(lag["p99_ms"]),
        )
    console.print(table)
    console.print(f"proofs: {result['proofs']}")
    console.print(f"written to {out}")


if __name__ == "__main__":
    main()
