"""The delinquency report over 100,000 loans and 1,000,000 audit events, against a bare GROUP BY.

    make bench-reports                                    # 100,000 loans, 1,000,000 events
    .venv/bin/python -m bench.reports --loans 10000       # a quicker look

It starts its own embedded PostgreSQL in a temporary folder, runs the migrations and bulk-loads
(COPY) `--loans` loans over the three packs with two delinquency snapshots each (the month's
start and end), one case each, and ten audit events per case (opening, stage changes into
enforcement, loss mitigation and stays, tasks and their decisions, letters, payments, cures),
all inside the reported month, in the loader's column order (arrears.analytics.loader.COLUMNS).
Then, in the same run and on the same rows, it times:

- the baseline: bare `COUNT(*) ... GROUP BY` over the same rows (audit events by action and
  case, snapshots by pack and product, as the report reads them);
- the figures: `arrears.reports.figures.build` for the delinquency report (state at the start
  and the end of the month, buckets, foreclosure starts, roll rates);
- the whole report: figures, CSV, JSON and PDF rendered, stored and audited.

Each is run `--repeat` times; the median is reported, with the ratios to the baseline, and
the figures are written as JSON under bench/results/. The audit events are not queued for the
sequencer (the report never reads the log's hashes; sequencing would only slow the loading down).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import text

from arrears import audit, migrate
from arrears.analytics import loader
from arrears.db import Database
from arrears.embedded import EmbeddedPostgres
from arrears.reports import figures, service
from bench.portfolio_db import row
from models.enums import ReportKind

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
START, END = date(2026, 9, 1), date(2026, 9, 30)
PACKS = (
    ("us_mortgage", "USD", ("mortgage_30y", "heloc")),
    ("nl_consumer", "EUR", ("personal_loan",)),
    ("se_consumer", "SEK", ("consumer_credit",)),
)
TABLES = ("borrowers", "loans", "delinquency_snapshots", "cases", "audit_events")
console = Console()


def _at(day: date, rng: random.Random) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 86_399))


def _events(
    case: uuid.UUID, loan: uuid.UUID, dpd: int, rng: random.Random
) -> list[tuple[str, dict[str, Any]]]:
    """Ten events, as a case workflow writes them in a month."""
    stage = (
        "enforcement"
        if dpd >= 120
        else rng.choice(["early", "loss_mitigation", "bankruptcy_stay", "forbearance"])
    )
    due = (START + timedelta(days=rng.randint(5, 40))).isoformat()
    events: list[tuple[str, dict[str, Any]]] = [
        ("case.opened", {"days_past_due": dpd}),
        ("case.stage_changed", {"stage": "early", "days_past_due": dpd}),
        ("message.done", {"key": "reminder.1", "due": due}),
        ("case.stage_changed", {"stage": stage, "days_past_due": dpd + 10, "chapter": "13"}),
        ("task.created", {"task": "loss_mitigation.1.evaluation", "kind": "evaluation", "due": due}),
        ("message.done", {"key": "loss_mitigation.1.acknowledgment", "due": due}),
        ("task.done", {"task": "loss_mitigation.1.evaluation"}),
        ("task.created", {"task": "live_contact.1", "kind": "live_contact", "due": due}),
        ("payment.applied", {"arrears_after": "0.00" if rng.random() < 0.1 else "500.00"}),
        ("enforcement.done", {"key": "foreclosure.first_filing"})
        if stage == "enforcement"
        else ("case.closed", {"outcome": "cured"})
        if rng.random() < 0.05
        else ("task.done", {"task": "live_contact.1"}),
    ]
    return events


async def load(url: str, loans: int, events_per_case: int = 10) -> int:
    """Borrowers, loans, two snapshots per loan, a case each and ten events per case; returns events."""
    rng = random.Random(20260930)  # the same portfolio on every run
    now = datetime.now(UTC)
    batch, seq = 10_000, 0
    columns = loader.COLUMNS
    db = Database(url)
    try:
        with Progress(console=console) as bar:
            job = bar.add_task(
                f"loading {loans:,} loans and {loans * events_per_case:,} audit events", total=loans
            )
            for first in range(0, loans, batch):
                rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in TABLES}
                for i in range(first, min(first + batch, loans)):
                    b, loan, case = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
                    pack, currency, products = PACKS[i % 3]
                    dpd_start = rng.choice([0, 0, 0, 10, 35, 65, 95, 130, 200])
                    dpd_end = max(0, dpd_start + rng.choice([-30, 0, 30, 30]))
                    balance = f"{rng.randint(1_000, 400_000)}.00"
                    rows["borrowers"].append(
                        row(
                            columns["borrowers"],
                            id=b,
                            external_id=f"RB-{i}",
                            name="Bench Borrower",
                            timezone="Etc/UTC",
                            language="en",
                            created_at=now,
                            updated_at=now,
                        )
                    )
                    rows["loans"].append(
                        row(
                            columns["loans"],
                            id=loan,
                            external_id=f"RL-{i}",
                            borrower_id=b,
                            policy_pack=pack,
                            product=products[i % len(products)],
                            currency=currency,
                            principal=balance,
                            balance=balance,
                            arrears="500.00" if dpd_end else "0.00",
                            installment="500.00",
                            due_day=1,
                            next_due_date=END,
                            days_past_due=dpd_end,
                            team="default",
                            created_at=now,
                            updated_at=now,
                        )
                    )
                    for as_of, dpd in ((START - timedelta(days=1), dpd_start), (END, dpd_end)):
                        rows["delinquency_snapshots"].append(
                            row(
                                columns["delinquency_snapshots"],
                                id=uuid.uuid4(),
                                loan_id=loan,
                                as_of=as_of,
                                days_past_due=dpd,
                                arrears="500.00" if dpd else "0.00",
                                balance=balance,
                                currency=currency,
                                source="bench",
                                received_at=datetime(as_of.year, as_of.month, as_of.day, 12, tzinfo=UTC),
                            )
                        )
                    rows["cases"].append(
                        row(
                            columns["cases"],
                            id=case,
                            loan_id=loan,
                            workflow_id=f"loan-RL-{i}",
                            policy_pack=pack,
                            stage="early",
                            status="open",
                            days_past_due_at_open=dpd_start,
                            opened_as_of=START,
                            delinquent_since=START - timedelta(days=dpd_start),
                            arrears="500.00",
                            currency=currency,
                            team="default",
                            opened_at=datetime(START.year, START.month, 1, 1, tzinfo=UTC),
                            stage_changed_at=now,
                            updated_at=now,
                        )
                    )
                    for action, payload in _events(case, loan, dpd_end, rng)[:events_per_case]:
                        seq += 1
                        rows["audit_events"].append(
                            row(
                                loader.EVENT_COLUMNS,
                                id=uuid.uuid4(),
                                occurred_at=_at(START + timedelta(days=rng.randint(0, 29)), rng),
                                actor="case-workflow",
                                role="system",
                                action=action,
                                case_id=case,
                                loan_id=loan,
                                reason="bench",
                                payload=json.dumps(payload),
                            )
                        )
                async with db.engine.begin() as conn:
                    for table in TABLES:
                        cols = loader.EVENT_COLUMNS if table == "audit_events" else columns[table]
                        await loader.copy_rows(conn, table, cols, rows[table])
                bar.advance(job, len(rows["loans"]))
        async with db.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    finally:
        await db.dispose()
    return seq


BASELINE_SQL = (
    "SELECT action, count(*) FROM audit_events WHERE occurred_at <= %(t)s GROUP BY action",
    "SELECT case_id, count(*) FROM audit_events WHERE occurred_at <= %(t)s GROUP BY case_id",
    "SELECT l.policy_pack, l.product, count(*) FROM delinquency_snapshots s JOIN loans l ON l.id = s.loan_id "
    "WHERE s.as_of <= %(day)s GROUP BY l.policy_pack, l.product",
)


async def timed(repeat: int, work: Callable[[], Awaitable[Any]]) -> list[float]:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        await work()
        times.append(time.perf_counter() - began)
    return times


async def measure(url: str, repeat: int) -> dict[str, Any]:
    db = Database(url)
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")

    async def baseline() -> None:
        async with await psycopg.AsyncConnection.connect(conninfo) as conn:
            for sql in BASELINE_SQL:
                await (await conn.execute(sql, {"t": figures.cutoff(END), "day": END})).fetchall()

    async def build() -> None:
        async with db.session() as session:
            await figures.build(session, kind=ReportKind.DELINQUENCY, start=START, end=END, pack=None)

    async def whole() -> None:
        await service.generate(
            db,
            service.ReportParams(ReportKind.DELINQUENCY, START, END),
            actor=audit.Actor("bench", "system"),
            trigger="on_demand",
            servicer="Bench Servicing",
        )

    try:
        await baseline()  # warm the cache for all three equally
        with console.status(f"baseline: bare COUNT(*) GROUP BY, {repeat}x"):
            base = await timed(repeat, baseline)
        with console.status(f"delinquency figures, {repeat}x"):
            figs = await timed(repeat, build)
        with console.status(f"whole report (figures, CSV, JSON, PDF, stored), {repeat}x"):
            full = await timed(repeat, whole)
    finally:
        await db.dispose()
    b, f, w = (statistics.median(x) for x in (base, figs, full))
    return {
        "baseline_s": round(b, 3),
        "figures_s": round(f, 3),
        "report_s": round(w, 3),
        "figures_vs_baseline": round(f / b, 2),
        "report_vs_baseline": round(w / b, 2),
        "runs": {"baseline": base, "figures": figs, "report": full},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="arrears-bench-") as folder:
        postgres = EmbeddedPostgres(Path(folder) / "pgdata", delete_on_stop=True)
        postgres.start()
        try:
            url = postgres.ensure_database("arrears_bench")
            migrate.upgrade(url)
            events = asyncio.run(load(url, args.loans))
            result = asyncio.run(measure(url, args.repeat))
        finally:
            postgres.stop()
    table = Table(
        title=f"Delinquency report over {args.loans:,} loans and {events:,} audit events "
        f"(median of {args.repeat})"
    )
    for column in ("what", "seconds", "vs baseline"):
        table.add_column(column, justify="right")
    table.add_row(
        "bare COUNT(*) GROUP BY over the same rows (baseline)", f"{result['baseline_s']:.3f}", "1.0x"
    )
    table.add_row(
        "delinquency figures as of the period end",
        f"{result['figures_s']:.3f}",
        f"{result['figures_vs_baseline']}x",
    )
    table.add_row(
        "whole report: figures, CSV, JSON, PDF, stored, audited",
        f"{result['report_s']:.3f}",
        f"{result['report_vs_baseline']}x",
    )
    console.print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"reports-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(
        json.dumps({"benchmark": "reports", "loans": args.loans, "audit_events": events, **result}, indent=2)
        + "\n"
    )
    console.print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
