"""API latency under load: the work queue and the case detail, with /healthz as the baseline.

    make bench-api                                        # 100,000 cases, 20 clients
    .venv/bin/python -m bench.api --cases 10000 --requests 500

It starts its own embedded PostgreSQL and Temporal dev server on free ports, runs the
migrations, starts `arrears worker` and `arrears api` as separate processes (as in
production), loads the portfolio, and then sends each route `--requests` requests from
`--clients` concurrent clients. It prints p50/p95/p99 per route and each route's p50 as a
multiple of /healthz's p50 measured in the same run, and writes the figures as JSON under
bench/results/.

The portfolio: `--cases` open cases in 100 teams, one open task each, bulk-loaded with COPY
(so that loading takes seconds, not the hours that 100,000 workflow starts would), in the
loader's column order (arrears.analytics.loader.COLUMNS). Of them,
`--live` cases are opened through the real intake path and have running workflows; the case
detail is measured on those, because its `state` comes from the workflow's query.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import text

from arrears import migrate
from arrears.analytics import loader
from arrears.auth import issue_token
from arrears.db import Database
from arrears.embedded import EmbeddedPostgres, TemporalDevServer, free_port
from arrears.settings import Settings
from bench.portfolio_db import row
from models.enums import Role

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TEAMS = 100
console = Console()


BORROWERS = (*loader.COLUMNS["borrowers"], "phone", "address")
TASKS = ("id", "case_id", "kind", "status", "rule_id", "citation", "idempotency_key", "due_at", "created_at")


async def load_portfolio(url: str, cases: int) -> None:
    """Borrowers, loans, open cases and one open task per case, in batches of 10,000."""
    now = datetime.now(UTC)
    today = now.date()
    batch = 10_000
    db = Database(url)
    try:
        with Progress(console=console) as progress:
            job = progress.add_task(f"loading {cases:,} cases", total=cases)
            for start in range(0, cases, batch):
                borrowers, loans, case_rows, tasks = [], [], [], []
                for i in range(start, min(start + batch, cases)):
                    b, loan, c, t = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
                    dpd = random.randint(1, 200)
                    arrears = f"{random.randint(100, 20000)}.00"
                    team = f"team-{i % TEAMS:03d}"
                    borrowers.append(
                        row(
                            BORROWERS,
                            id=b,
                            external_id=f"BB-{i}",
                            name=f"Bench Borrower {i}",
                            email=f"b{i}@example.org",
                            phone="+1 212 555 0100",
                            address="1 Main St",
                            timezone="America/New_York",
                            language="en",
                            created_at=now,
                            updated_at=now,
                        )
                    )
                    loans.append(
                        row(
                            loader.COLUMNS["loans"],
                            id=loan,
                            external_id=f"BL-{i}",
                            borrower_id=b,
                            policy_pack="us_mortgage",
                            product="mortgage_30y",
                            currency="USD",
                            principal="200000.00",
                            balance="150000.00",
                            arrears=arrears,
                            installment="1500.00",
                            due_day=1,
                            next_due_date=today + timedelta(days=30),
                            days_past_due=dpd,
                            delinquent_since=today - timedelta(days=dpd),
                            team=team,
                            created_at=now,
                            updated_at=now,
                        )
                    )
                    case_rows.append(
                        row(
                            loader.COLUMNS["cases"],
                            id=c,
                            loan_id=loan,
                            workflow_id=f"loan-BL-{i}",
                            policy_pack="us_mortgage",
                            stage="early" if dpd < 120 else "enforcement",
                            status="open",
                            days_past_due_at_open=dpd,
                            opened_as_of=today,
                            delinquent_since=today - timedelta(days=dpd),
                            arrears=arrears,
                            currency="USD",
                            team=team,
                            opened_at=now,
                            stage_changed_at=now,
                            updated_at=now,
                        )
                    )
                    tasks.append(
                        (
                            t,
                            c,
                            "live_contact",
                            "open",
                            "bench.live_contact",
                            "12 CFR 1024.39(a)",
                            f"{c}:bench",
                            now + timedelta(hours=random.randint(-240, 240)),
                            now,
                        )
                    )
                async with db.engine.begin() as conn:
                    await loader.copy_rows(conn, "borrowers", BORROWERS, borrowers)
                    await loader.copy_rows(conn, "loans", loader.COLUMNS["loans"], loans)
                    await loader.copy_rows(conn, "cases", loader.COLUMNS["cases"], case_rows)
                    await loader.copy_rows(conn, "tasks", TASKS, tasks)
                progress.advance(job, len(case_rows))
        async with db.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    finally:
        await db.dispose()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(
    client: httpx.AsyncClient,
    name: str,
    requests: list[tuple[str, dict[str, str]]],
    clients: int,
    into: list[float] | None = None,
) -> dict[str, float]:
    """Send the requests from `clients` concurrent workers; latency in milliseconds (also added
    to `into`, when given, to pool several rounds)."""
    latencies: list[float] = []
    queue = list(requests)
    failures = 0

    async def worker() -> None:
        nonlocal failures
        while queue:
            path, headers = queue.pop()
            started = time.perf_counter()
            response = await client.get(path, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                failures += 1

    with console.status(f"{name}: {len(requests):,} requests, {clients} clients"):
        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - began
    if failures:
        raise SystemExit(f"{name}: {failures} of {len(requests)} requests failed")
    if into is not None:
        into.extend(latencies)
    return {
        "requests": len(requests),
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p95_ms": round(percentile(latencies, 0.95), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "mean_ms": round(statistics.fmean(latencies), 2),
        "throughput_rps": round(len(requests) / elapsed, 1),
    }


def _spawn(command: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    arrears = Path(sys.executable).with_name("arrears")
    return subprocess.Popen([str(arrears), command], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


async def _wait_http(url: str, within: float = 60) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(int(within * 5)):
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


@contextmanager
def portfolio(cases: int) -> Iterator[tuple[str, str, Path]]:
    """Embedded PostgreSQL and Temporal on free ports, migrated and loaded with `cases` cases:
    (database URL, Temporal address, a scratch folder), all gone afterwards."""
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
            asyncio.run(load_portfolio(url, cases))
            yield url, temporal.address, work
        finally:
            temporal.stop()
            postgres.stop()


@asynccontextmanager
async def serving(url: str, temporal: str, work: Path) -> AsyncIterator[tuple[str, Settings]]:
    """`arrears worker` and `arrears api` as processes (ENVIRONMENT=test): (base URL, settings)."""
    port = free_port()
    settings = Settings(environment="test", database_url=url, temporal_address=temporal)
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": url,
        "TEMPORAL_ADDRESS": temporal,
        "TEMPORAL_TASK_QUEUE": "bench",
        "API_PORT": str(port),
        "DEMO_DATA": "false",
        "DATA_DIR": str(work / "data"),
    }
    processes = [_spawn("worker", env, work / "worker.log"), _spawn("api", env, work / "api.log")]
    try:
        base = f"http://127.0.0.1:{port}"
        await _wait_http(f"{base}/healthz")
        yield base, settings
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


async def run(args: argparse.Namespace, url: str, temporal: str, work: Path) -> dict[str, dict[str, float]]:
    async with serving(url, temporal, work) as (base, settings):
        supervisor = {
            "Authorization": f"Bearer {issue_token(settings, role=Role.SUPERVISOR, subject='bench')}"
        }
        limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
            live_ids = await _open_live(client, supervisor, args.live)
            await _settle(url)
            agents = [
                {
                    "Authorization": "Bearer "
                    + issue_token(settings, role=Role.AGENT, subject=f"agent-{t}", team=f"team-{t:03d}")
                }
                for t in range(TEAMS)
            ]
            live_agent = {
                "Authorization": "Bearer "
                + issue_token(settings, role=Role.AGENT, subject="agent-live", team="bench-live")
            }
            compliance = {
                "Authorization": "Bearer " + issue_token(settings, role=Role.COMPLIANCE, subject="c")
            }
            n = args.requests
            await measure(client, "warm-up", [("/healthz", {})] * 200 + [("/v1/tasks", agents[0])] * 50, 20)
            results = {
                "healthz": await measure(client, "GET /healthz", [("/healthz", {})] * n, args.clients),
                "work_queue": await measure(
                    client,
                    "GET /v1/tasks",
                    [("/v1/tasks", random.choice(agents)) for _ in range(n)],
                    args.clients,
                ),
                "case_detail": await measure(
                    client,
                    "GET /v1/cases/{id} as agent (unmasked: writes pii.read)",
                    [(f"/v1/cases/{random.choice(live_ids)}", live_agent) for _ in range(n)],
                    args.clients,
                ),
                "case_detail_masked": await measure(
                    client,
                    "GET /v1/cases/{id} as compliance (masked: no audit write)",
                    [(f"/v1/cases/{random.choice(live_ids)}", compliance) for _ in range(n)],
                    args.clients,
                ),
            }
    return results


async def _open_live(client: httpx.AsyncClient, headers: dict[str, str], count: int) -> list[str]:
    today = datetime.now(UTC).date().isoformat()
    records = [
        {
            "loan_id": f"LIVE-{i}",
            "borrower_id": f"LIVE-B-{i}",
            "borrower_name": f"Live Borrower {i}",
            "email": f"live{i}@example.org",
            "phone": "+1 212 555 0101",
            "address": "2 Main St",
            "policy_pack": "us_mortgage",
            "product": "mortgage_30y",
            "currency": "USD",
            "timezone": "America/New_York",
            "principal": "200000.00",
            "balance": "150000.00",
            "arrears": "1500.00",
            "installment": "1500.00",
            "due_day": 1,
            "next_due_date": today,
            "days_past_due": 10,
            "as_of": today,
            "team": "bench-live",
        }
        for i in range(count)
    ]
    with console.status(f"opening {count} cases through intake, with their workflows"):
        response = await client.post(
            "/v1/delinquencies", json={"records": records}, headers=headers, timeout=600
        )
    response.raise_for_status()
    ids: list[str] = response.json()["case_ids"]
    return ids


async def _settle(url: str, quiet: float = 5.0, within: float = 600.0) -> None:
    """Wait until the new cases' opening letters are out: no audit event for `quiet` seconds."""

    def count() -> int:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT count(*) FROM audit_events").fetchone()
            return int(row[0]) if row else 0

    last, still_since, began = -1, time.monotonic(), time.monotonic()
    with console.status("waiting for the new cases' first steps to finish"):
        while time.monotonic() - began < within:
            now = await asyncio.to_thread(count)
            if now != last:
                last, still_since = now, time.monotonic()
            elif time.monotonic() - still_since >= quiet:
                return
            await asyncio.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000, help="cases in the portfolio")
    parser.add_argument("--live", type=int, default=200, help="of which opened with running workflows")
    parser.add_argument("--requests", type=int, default=2000, help="requests per route")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients")
    args = parser.parse_args()

    with portfolio(args.cases) as (url, temporal, work):
        results = asyncio.run(run(args, url, temporal, work))

    baseline = results["healthz"]["p50_ms"]
    table = Table(
        title=f"API latency, {args.cases:,} cases, {args.clients} clients, {args.requests:,} requests each"
    )
    for column in ("route", "p50 ms", "p95 ms", "p99 ms", "req/s", "p50 / healthz p50"):
        table.add_column(column, justify="right")
    for name, figures in results.items():
        table.add_row(
            name,
            str(figures["p50_ms"]),
            str(figures["p95_ms"]),
            str(figures["p99_ms"]),
            str(figures["throughput_rps"]),
            f"{figures['p50_ms'] / baseline:.1f}x",
        )
    console.print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"api-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(
        json.dumps(
            {
                "benchmark": "api",
                "args": vars(args),
                "results": results,
                "ratios_p50_vs_healthz": {k: round(v["p50_ms"] / baseline, 2) for k, v in results.items()},
            },
            indent=2,
        )
        + "\n"
    )
    console.print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
