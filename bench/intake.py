"""Case intake against bare Temporal workflow starts on the same dev server, same run.

    make bench-intake                                   # 2,000 cases
    .venv/bin/python -m bench.intake --cases 5000 --profile

It starts its own embedded PostgreSQL and Temporal dev server on free ports. The baseline
starts N workflows that carry nothing and touch no database, with the same number of starts
in flight as intake uses; then N delinquency rows go through `IntakeService.ingest` (validate,
upsert borrower and loan, snapshot, case row, `case.opened` audit event, workflow start, run
ID stored), the path that `arrears import` and `POST /v1/delinquencies` share. No worker
polls either task queue, so both measure the path up to an accepted start. It prints both
rates and their ratio and writes JSON under bench/results/. `--profile` prints where intake's
time goes (cProfile, cumulative).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from arrears import audit, migrate
from arrears.db import Database
from arrears.embedded import EmbeddedPostgres, TemporalDevServer, free_port
from arrears.intake import STARTS_IN_FLIGHT, IntakeService
from arrears.runtime import wait_for_temporal
from arrears.temporal import ensure_search_attributes

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
console = Console()


def rows(count: int, run: str) -> list[dict[str, Any]]:
    today = datetime.now(UTC).date()
    return [
        {
            "loan_id": f"I{run}-{i}",
            "borrower_id": f"IB{run}-{i}",
            "borrower_name": f"Intake Borrower {i}",
            "email": f"i{i}@example.org",
            "phone": "+1 212 555 0199",
            "address": "3 Main St",
            "timezone": "America/New_York",
            "policy_pack": "us_mortgage",
            "product": "mortgage_30y",
            "currency": "USD",
            "principal": "200000.00",
            "balance": "150000.00",
            "arrears": "1500.00",
            "installment": "1500.00",
            "due_day": 1,
            "next_due_date": (today + timedelta(days=20)).isoformat(),
            "days_past_due": 10 + i % 100,
            "as_of": today.isoformat(),
        }
        for i in range(count)
    ]


async def bare_starts(client: Any, count: int) -> float:
    """N workflow starts with nothing behind them; seconds taken."""
    gate = asyncio.Semaphore(STARTS_IN_FLIGHT)
    run = uuid.uuid4().hex[:8]

    async def start(i: int) -> None:
        async with gate:
            await client.start_workflow("BareWorkflow", id=f"bare-{run}-{i}", task_queue="bench-bare")

    began = time.perf_counter()
    await asyncio.gather(*(start(i) for i in range(count)))
    return time.perf_counter() - began


async def intake(service: IntakeService, count: int, profile: bool) -> tuple[float, str]:
    data = rows(count, uuid.uuid4().hex[:6])
    profiler = cProfile.Profile() if profile else None
    began = time.perf_counter()
    if profiler:
        profiler.enable()
    result = await service.ingest(enumerate(data, start=1), source="bench", actor=audit.SYSTEM)
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - began
    if result.opened != count or result.errors:
        raise SystemExit(f"intake opened {result.opened} of {count}; errors: {result.errors[:3]}")
    report = ""
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
        report = out.getvalue()
    return elapsed, report


async def run(args: argparse.Namespace, url: str, address: str) -> dict[str, Any]:
    client = await wait_for_temporal(address, "default")
    await ensure_search_attributes(client)
    db = Database(url, pool_size=STARTS_IN_FLIGHT)
    service = IntakeService(db, client, task_queue="bench-intake")
    try:
        with console.status("warming up"):
            await bare_starts(client, 50)
            await intake(service, 50, profile=False)
        with console.status(f"baseline: {args.cases:,} bare workflow starts"):
            bare = await bare_starts(client, args.cases)
        with console.status(f"intake: {args.cases:,} cases"):
            taken, report = await intake(service, args.cases, args.profile)
        with console.status(f"baseline again: {args.cases:,} bare workflow starts"):
            bare_after = await bare_starts(client, args.cases)
    finally:
        await db.dispose()
    if report:
        console.print(report)
    bare_rate = args.cases / ((bare + bare_after) / 2)
    intake_rate = args.cases / taken
    return {
        "cases": args.cases,
        "starts_in_flight": STARTS_IN_FLIGHT,
        "bare_starts_per_s": round(bare_rate, 1),
        "bare_starts_per_s_each": [round(args.cases / bare, 1), round(args.cases / bare_after, 1)],
        "intake_cases_per_s": round(intake_rate, 1),
        "ratio": round(intake_rate / bare_rate, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--profile", action="store_true", help="print intake's profile")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="arrears-bench-") as folder:
        work = Path(folder)
        postgres = EmbeddedPostgres(work / "pgdata", delete_on_stop=True)
        temporal = TemporalDevServer(
            db_file=work / "temporal.db", port=free_port(), ui_port=None, log_file=work / "temporal.log"
        )
        postgres.start()
        temporal.start()
        try:
            url = postgres.ensure_database("arrears_bench")
            migrate.upgrade(url)
            figures = asyncio.run(run(args, url, temporal.address))
        finally:
            temporal.stop()
            postgres.stop()
    table = Table(
        title=f"Intake of {args.cases:,} cases against bare workflow starts (same server, same run)"
    )
    for column in ("path", "per second"):
        table.add_column(column, justify="right")
    table.add_row("bare workflow starts (mean of before and after)", str(figures["bare_starts_per_s"]))
    table.add_row("intake (validate, store, audit, start)", str(figures["intake_cases_per_s"]))
    table.add_row("ratio", f"{figures['ratio']:.2f}x")
    console.print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"intake-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps({"benchmark": "intake", **figures}, indent=2) + "\n")
    console.print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
