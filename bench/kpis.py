"""The dashboard's KPIs and the delinquency report over 100,000 loans and 1,000,000 audit events,
each against a bare GROUP BY over the same rows, in the same run.

    make bench-kpis                                       # 100,000 loans, 12 months
    .venv/bin/python -m bench.kpis --loans 10000          # a quicker look
    .venv/bin/python -m bench.kpis --data /tmp/kpis-db    # keep the database for the next run

It starts its own embedded PostgreSQL, runs the migrations and generates the portfolio with
`arrears.analytics.loader.generate` (the generator `arrears simulate portfolio` runs; see
bench/portfolio_db.py), with more calls and messages per case-month than the default model so
that 100,000 loans over 12 months leave about a million audit events. The events are written
without the sequencer's queue: no KPI reads the log's hashes. Then, on the same rows, it times
(median of --repeat):

- KPI baseline: bare `COUNT(*) ... GROUP BY` over every row the dashboard reads (the months'
  snapshots by month, audit events by action, payments, cases, messages and engagement);
- the dashboard: every KPI over the 12 months as the page reads them
  (`arrears.analytics.side_by_side.dashboard`: the sources at once, one connection each, in one
  snapshot), and the same one source after another on one connection (`kpis.dashboard`);
- report baseline: the bare GROUP BYs of bench/reports.py (audit events by action and by case,
  snapshots by pack and product, up to the period end);
- the delinquency report's figures for the last full month (`arrears.reports.figures.build`).

Results go to bench/results/kpis-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console
from rich.table import Table

from arrears.analytics import kpis, side_by_side
from arrears.analytics.behaviour import DEFAULT_MODEL, Outcomes
from arrears.db import Database
from arrears.reports import figures
from bench.portfolio_db import AS_OF, add_data_option, conninfo, generated
from bench.reports import BASELINE_SQL, timed
from models.enums import ReportKind

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
START = date(2025, 12, 1)
REPORT_START, REPORT_END = date(2026, 10, 1), date(2026, 10, 31)
# busier case-months than the default: about ten audit events per loan over a year
MODEL = replace(DEFAULT_MODEL, outcomes=Outcomes(calls_per_month=(1, 8), messages_per_month=(2, 5)))
console = Console()

KPI_BASELINE = (
    "SELECT date_trunc('month', as_of), count(*) FROM delinquency_snapshots "
    "WHERE as_of >= %(lo)s AND as_of <= %(hi)s GROUP BY 1",
    "SELECT action, count(*) FROM audit_events WHERE occurred_at >= %(start_at)s AND occurred_at <= %(t)s "
    "GROUP BY action",
    "SELECT date_trunc('month', received_at), count(*) FROM payments "
    "WHERE received_at >= %(start_at)s AND received_at <= %(t)s GROUP BY 1",
    "SELECT outcome, count(*) FROM cases GROUP BY outcome",
    "SELECT channel, status, count(*) FROM messages WHERE created_at >= %(start_at)s AND created_at <= %(t)s "
    "GROUP BY 1, 2",
    "SELECT kind, count(*) FROM engagement_events WHERE occurred_at >= %(start_at)s AND occurred_at <= %(t)s "
    "GROUP BY 1",
)


async def counts(url: str) -> dict[str, int]:
    async with await psycopg.AsyncConnection.connect(conninfo(url)) as conn:
        out = {}
        for table in ("loans", "delinquency_snapshots", "cases", "payments", "audit_events", "messages"):
            out[table] = (await (await conn.execute(f"SELECT count(*) FROM {table}")).fetchone() or (0,))[0]
        return out


async def measure(url: str, repeat: int) -> dict[str, Any]:
    db = Database(url)
    values = {
        "lo": START - timedelta(days=31),
        "hi": AS_OF,
        "start_at": datetime(START.year, START.month, 1, tzinfo=UTC),
        "t": figures.cutoff(AS_OF),
    }
    report_values = {"t": figures.cutoff(REPORT_END), "day": REPORT_END}  # bench.reports' baseline

    async def bare(statements: tuple[str, ...], values: dict[str, Any]) -> None:
        async with await psycopg.AsyncConnection.connect(conninfo(url)) as conn:
            for sql in statements:
                await (await conn.execute(sql, values)).fetchall()

    async def board() -> None:  # as the dashboard page reads it
        await side_by_side.dashboard(db, start=START, end=AS_OF)

    async def board_one_connection() -> None:
        async with db.session() as session:
            await kpis.dashboard(session, start=START, end=AS_OF)

    async def report() -> None:
        async with db.session() as session:
            await figures.build(
                session, kind=ReportKind.DELINQUENCY, start=REPORT_START, end=REPORT_END, pack=None
            )

    async def kpi_baseline() -> None:
        await bare(KPI_BASELINE, values)

    async def report_baseline() -> None:
        await bare(BASELINE_SQL, report_values)

    works: list[tuple[str, Callable[[], Awaitable[None]]]] = [
        ("kpi_baseline", kpi_baseline),
        ("dashboard", board),
        ("dashboard_one_connection", board_one_connection),
        ("report_baseline", report_baseline),
        ("delinquency_report", report),
    ]
    try:
        for _, warm in works:
            await warm()  # the cache warmed for each alike
        runs: dict[str, list[float]] = {}
        for name, work in works:
            with console.status(f"{name}, {repeat}x"):
                runs[name] = await timed(repeat, work)
    finally:
        await db.dispose()
    med = {k: statistics.median(v) for k, v in runs.items()}
    return {
        **{f"{k}_s": round(v, 3) for k, v in med.items()},
        "dashboard_vs_baseline": round(med["dashboard"] / med["kpi_baseline"], 2),
        "dashboard_one_connection_vs_baseline": round(
            med["dashboard_one_connection"] / med["kpi_baseline"], 2
        ),
        "delinquency_report_vs_baseline": round(med["delinquency_report"] / med["report_baseline"], 2),
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    add_data_option(parser)
    args = parser.parse_args()
    with generated(loans=args.loans, data=args.data, model=MODEL, vacuum=True) as url:
        rows = asyncio.run(counts(url))
        result = asyncio.run(measure(url, args.repeat))
    table = Table(
        title=f"KPIs over {rows['loans']:,} loans and {rows['audit_events']:,} audit events "
        f"(median of {args.repeat})"
    )
    for column in ("what", "seconds", "vs its baseline"):
        table.add_column(column, justify="right")
    table.add_row("bare GROUP BY over the dashboard's rows", f"{result['kpi_baseline_s']:.3f}", "1.0x")
    table.add_row(
        "dashboard: every KPI, 12 months",
        f"{result['dashboard_s']:.3f}",
        f"{result['dashboard_vs_baseline']}x",
    )
    table.add_row(
        "the same, its sources one after another on one connection",
        f"{result['dashboard_one_connection_s']:.3f}",
        f"{result['dashboard_one_connection_vs_baseline']}x",
    )
    table.add_row("bare GROUP BY over the report's rows", f"{result['report_baseline_s']:.3f}", "1.0x")
    table.add_row(
        "delinquency report figures, one month",
        f"{result['delinquency_report_s']:.3f}",
        f"{result['delinquency_report_vs_baseline']}x",
    )
    console.print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"kpis-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps({"benchmark": "kpis", **rows, **result}, indent=2) + "\n")
    console.print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
