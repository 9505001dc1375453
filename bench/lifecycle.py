"""Case lifecycle costs: history events per standard path, worker memory, workflow tasks per second.

    make bench-lifecycle                                   # 5,000 open cases
    .venv/bin/python -m bench.lifecycle --cases 1000       # a quicker look

Three measurements, each on real servers the benchmark starts itself (embedded PostgreSQL, the
Temporal time-skipping test server, the Temporal dev server), with the real activities:

1. History events per case for the standard paths, walked on the time-skipping server: 90 days
   of the early stage (reminders, notices, tasks) in each pack, and a promise to pay kept and
   then a cure. Target: the 90-day reminder path in at most 100 events.
2. The resident memory of one `arrears worker` process (a separate process, as in production)
   holding `--cases` open cases, against the same process idle before the cases (the baseline).
3. The workflow tasks per second that worker sustains: every open case gets a payment signal at
   once, and the time until all are applied (in PostgreSQL) is measured. The workflow tasks
   spent are counted from the histories of a sample of cases.

The baseline for 2 and 3, measured in the same run on the same dev server: a worker process
with the same knobs (bench/bare_worker.py) holding as many workflows that do nothing but wait
for one signal, and the rate at which it handles one signal each. The case workflow's memory per
case and payments per second are printed as ratios against it.

The worker's knobs are printed and written with the figures (bench/results/lifecycle-*.json).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlmodel import col, func, select
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from arrears import migrate
from arrears.db import Database
from arrears.embedded import EmbeddedPostgres, TemporalDevServer, bin_path, free_port
from arrears.intake import IntakeService
from arrears.runtime import wait_for_temporal
from arrears.settings import Settings
from arrears.temporal import build_worker, ensure_search_attributes
from models.audit import AuditEvent
from models.cases import Case
from workflows.case import CaseWorkflow
from workflows.dto import CaseState, CloseRequest, PaymentSignal, PromiseToPay

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
console = Console()
PACK_ROWS: dict[str, dict[str, Any]] = {
    "us_mortgage": {"currency": "USD", "product": "mortgage_30y", "timezone": "America/New_York"},
    "nl_consumer": {
        "currency": "EUR",
        "product": "personal_loan",
        "timezone": "Europe/Amsterdam",
        "language": "nl",
        "arrears": "600.00",
        "installment": "300.00",
    },
    "se_consumer": {
        "currency": "SEK",
        "product": "consumer_credit",
        "timezone": "Europe/Stockholm",
        "language": "sv",
        "arrears": "4000.00",
        "installment": "2000.00",
    },
}


def row(pack: str, as_of: date, dpd: int, **extra: Any) -> dict[str, Any]:
    key = uuid.uuid4().hex[:12]
    return {
        "loan_id": f"LC-{key}",
        "borrower_id": f"LCB-{key}",
        "borrower_name": "Lifecycle Borrower",
        "address": "1 Bench Street",
        "policy_pack": pack,
        "principal": "200000.00",
        "balance": "150000.00",
        "arrears": "1500.00",
        "installment": "1500.00",
        "due_day": 1,
        "next_due_date": (as_of + timedelta(days=30)).isoformat(),
        "days_past_due": dpd,
        "as_of": as_of.isoformat(),
        "team": "bench",
        **PACK_ROWS[pack],
        **extra,
    }


# ------------------------------------------------------------------------------ history sizes
async def _walk(env: WorkflowEnvironment, days: int) -> None:
    for _ in range(days // 30):
        await env.sleep(timedelta(days=30))
    await env.sleep(timedelta(days=days % 30))


async def history_sizes(db: Database) -> dict[str, dict[str, int]]:
    """Events in each standard path's history, walked with the real activities."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(bin_path("temporal-test-server")),
        data_converter=pydantic_data_converter,
    )
    sizes: dict[str, int] = {}
    paths: dict[str, str] = {}
    try:
        await ensure_search_attributes(env.client)
        queue = f"bench-{uuid.uuid4()}"
        intake = IntakeService(db, env.client, task_queue=queue)
        async with build_worker(env.client, db, task_queue=queue):

            async def open_case(pack: str) -> Any:
                today = (await env.get_current_time()).date()
                record = row(pack, today, 1)
                result = await intake.ingest([(1, record)], source="bench")
                assert result.opened == 1, result.errors
                return env.client.get_workflow_handle(f"loan-{record['loan_id']}", result_type=CaseState)

            async def events(handle: Any) -> int:
                history = (await handle.fetch_history()).events
                sizes[f"bytes:{handle.id}"] = sum(e.ByteSize() for e in history)
                async with db.session() as session:
                    sizes[f"audit:{handle.id}"] = (
                        await session.exec(
                            select(func.count())
                            .select_from(AuditEvent)
                            .join(Case, col(Case.id) == col(AuditEvent.case_id))
                            .where(Case.workflow_id == handle.id)
                        )
                    ).one()
                sizes[handle.id] = len(history)
                return len(history)

            async def close(handle: Any) -> None:
                await handle.execute_update(
                    CaseWorkflow.close_case,
                    CloseRequest(by="bench", reason="bench over", outcome="transferred"),
                )
                await handle.result()

            for pack in PACK_ROWS:
                with console.status(f"{pack}: 90 days of the early stage on the time-skipping server"):
                    handle = await open_case(pack)
                    await _walk(env, 90)
                    paths[f"{pack}: 90-day reminder path"] = handle.id
                    await events(handle)
                    await close(handle)
            with console.status("us_mortgage: a promise kept, then a cure"):
                handle = await open_case("us_mortgage")
                await env.sleep(timedelta(days=3))
                today = (await env.get_current_time()).date()
                await handle.execute_update(
                    CaseWorkflow.record_promise,
                    PromiseToPay(
                        by="bench", reason="bench", amount=Decimal("1500.00"), due=today + timedelta(days=7)
                    ),
                )
                await env.sleep(timedelta(days=5))
                await handle.signal(
                    CaseWorkflow.payment,
                    PaymentSignal(
                        external_id=f"bench-{uuid.uuid4()}",
                        amount=Decimal("1500.00"),
                        currency="USD",
                        received_at=await env.get_current_time(),
                    ),
                )
                await handle.result()
                paths["us_mortgage: promise kept, then cured"] = handle.id
                await events(handle)
    finally:
        await env.shutdown()
    return {
        name: {"events": sizes[wid], "bytes": sizes[f"bytes:{wid}"], "audit_events": sizes[f"audit:{wid}"]}
        for name, wid in paths.items()
    }


# --------------------------------------------------------------------- memory and throughput
def knobs(settings: Settings) -> dict[str, Any]:
    return {
        "max_cached_workflows": settings.worker_max_cached_workflows,
        "max_concurrent_workflow_tasks": settings.worker_max_workflow_tasks,
        "max_concurrent_activities": settings.worker_max_activities,
        "activity_threads": 4,
        "pollers": "SDK defaults (workflow 5, activity 5)",
    }


async def _count(db: Database, action: str, since: datetime) -> int:
    async with db.session() as session:
        found: int = (
            await session.exec(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == action, AuditEvent.occurred_at >= since)
            )
        ).one()
        return found


async def _until(what: str, total: int, done: Callable[[], Awaitable[int]]) -> float:
    """Show a bar until `done()` reaches `total`; return the seconds it took."""
    began = time.perf_counter()
    with Progress(console=console) as bar:
        job = bar.add_task(what, total=total)
        while (count := await done()) < total:
            bar.update(job, completed=count)
            await asyncio.sleep(0.5)
        bar.update(job, completed=total)
    return time.perf_counter() - began


async def _wait_for(db: Database, action: str, since: datetime, count: int, what: str) -> float:
    return await _until(what, count, lambda: _count(db, action, since))


def _memory(prefix: str, idle_rss: int, loaded_rss: int, cases: int) -> dict[str, float]:
    """A worker's resident memory before and after it cached `cases` workflows."""
    return {
        f"{prefix}worker_rss_idle_mb": round(idle_rss / 2**20, 1),
        f"{prefix}worker_rss_loaded_mb": round(loaded_rss / 2**20, 1),
        f"{prefix}rss_per_open_case_kb": round((loaded_rss - idle_rss) / cases / 1024, 1),
    }


async def worker_load(db: Database, url: str, address: str, cases: int, log: Path) -> dict[str, Any]:
    """Open cases against a separate worker process; its memory, and tasks per second on signals."""
    queue = f"bench-{uuid.uuid4()}"
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": url,
        "TEMPORAL_ADDRESS": address,
        "TEMPORAL_TASK_QUEUE": queue,
        "WORKER_MAX_CACHED_WORKFLOWS": str(max(cases, 1000)),
    }
    settings = Settings(
        _env_file=None,
        environment="test",
        database_url=url,
        temporal_address=address,
        worker_max_cached_workflows=max(cases, 1000),
    )
    worker = subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is measured
        [str(Path(sys.executable).parent / "arrears"), "worker"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    try:
        client: Client = await wait_for_temporal(address, "default")
        process = psutil.Process(worker.pid)
        await asyncio.sleep(5)  # imported, connected, polling
        idle_rss = process.memory_info().rss
        intake = IntakeService(db, client, task_queue=queue)
        today = datetime.now(UTC).date()
        since = datetime.now(UTC)
        # NL consumer loans 1 day late: opening records the stage and schedules the reminders
        rows = [(i, row("nl_consumer", today, 1)) for i in range(1, cases + 1)]
        with console.status(f"opening {cases:,} cases through intake"):
            result = await intake.ingest(rows, source="bench")
        assert result.opened == cases, result.errors[:3]
        opening = await _wait_for(db, "case.stage_changed", since, cases, "opening steps recorded")
        await asyncio.sleep(3)
        loaded_rss = process.memory_info().rss

        ids = [f"loan-{r['loan_id']}" for _, r in rows]
        sample = ids[:: max(1, cases // 50)]
        before = [len((await client.get_workflow_handle(w).fetch_history()).events) for w in sample]
        before_tasks = [await _workflow_tasks(client, w) for w in sample]
        since = datetime.now(UTC)
        gate = asyncio.Semaphore(64)

        async def pay(wid: str) -> None:
            async with gate:
                await client.get_workflow_handle(wid).signal(
                    CaseWorkflow.payment,
                    PaymentSignal(
                        external_id=f"bench-{wid}",
                        amount=Decimal("100.00"),
                        currency="EUR",
                        received_at=datetime.now(UTC),
                    ),
                )

        began = time.perf_counter()
        await asyncio.gather(*(pay(w) for w in ids))
        await _wait_for(db, "payment.applied", since, cases, "payments applied")
        elapsed = time.perf_counter() - began
        after_tasks = [await _workflow_tasks(client, w) for w in sample]
        per_case = statistics.mean(a - b for a, b in zip(after_tasks, before_tasks, strict=True))
        return {
            "cases": cases,
            "knobs": knobs(settings),
            **_memory("", idle_rss, loaded_rss, cases),
            "opening_s": round(opening, 1),
            "history_events_at_open_mean": round(statistics.mean(before), 1),
            "payment_round_s": round(elapsed, 2),
            "workflow_tasks_per_payment": round(per_case, 2),
            "workflow_tasks_per_s": round(per_case * cases / elapsed, 1),
            "payments_per_s": round(cases / elapsed, 1),
        }
    finally:
        worker.terminate()
        worker.wait(timeout=30)


async def bare_load(address: str, cases: int, log: Path) -> dict[str, Any]:
    """The baseline: the same measures on a workflow that only waits for one signal."""
    queue = f"bare-{uuid.uuid4()}"
    worker = subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is measured
        [sys.executable, "-m", "bench.bare_worker", address, queue, str(max(cases, 1000))],
        cwd=ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    try:
        client: Client = await wait_for_temporal(address, "default")
        process = psutil.Process(worker.pid)
        await asyncio.sleep(5)
        idle_rss = process.memory_info().rss
        ids = [f"bare-{uuid.uuid4().hex[:12]}" for _ in range(cases)]
        gate = asyncio.Semaphore(64)

        async def start(wid: str) -> None:
            async with gate:
                await client.start_workflow("BareCase", id=wid, task_queue=queue)

        with console.status(f"baseline: starting {cases:,} bare workflows"):
            await asyncio.gather(*(start(w) for w in ids))
            sample = ids[:: max(1, cases // 50)]
            for _ in range(600):  # until a sample has run its first workflow task
                if all([await _workflow_tasks(client, w) >= 1 for w in sample]):
                    break
                await asyncio.sleep(0.5)
        await asyncio.sleep(3)
        loaded_rss = process.memory_info().rss

        async def signal(wid: str) -> None:
            async with gate:
                await client.get_workflow_handle(wid).signal("payment", "100.00")

        began = time.perf_counter()
        await asyncio.gather(*(signal(w) for w in ids))
        running = f'TaskQueue="{queue}" AND ExecutionStatus="Running"'

        async def closed() -> int:
            return cases - (await client.count_workflows(running)).count

        await _until("baseline: signals handled", cases, closed)
        elapsed = time.perf_counter() - began
        return {
            **_memory("bare_", idle_rss, loaded_rss, cases),
            "bare_signals_per_s": round(cases / elapsed, 1),
        }
    finally:
        worker.terminate()
        worker.wait(timeout=30)


async def _workflow_tasks(client: Client, wid: str) -> int:
    history = await client.get_workflow_handle(wid).fetch_history()
    return sum(1 for e in history.events if e.HasField("workflow_task_completed_event_attributes"))


async def run(args: argparse.Namespace, url: str, address: str, work: Path) -> dict[str, Any]:
    db = Database(url)
    try:
        sizes = await history_sizes(db)
        bare = await bare_load(address, args.cases, work / "bare.log")
        load = await worker_load(db, url, address, args.cases, work / "worker.log")
    finally:
        await db.dispose()
    ratios = {
        "payments_per_s_vs_bare": round(load["payments_per_s"] / bare["bare_signals_per_s"], 2),
        "rss_per_case_vs_bare": round(
            load["rss_per_open_case_kb"] / max(bare["bare_rss_per_open_case_kb"], 0.1), 1
        ),
    }
    return {"history_events": sizes, **load, "baseline": bare, "ratios": ratios}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="arrears-bench-") as folder:
        work = Path(folder)
        postgres = EmbeddedPostgres(work / "pgdata", delete_on_stop=True)
        temporal = TemporalDevServer(
            db_file=work / "temporal.db", port=free_port(), ui_port=None, log_file=work / "t.log"
        )
        postgres.start()
        temporal.start()
        try:
            url = postgres.ensure_database("arrears_bench")
            migrate.upgrade(url)
            figures = asyncio.run(run(args, url, temporal.address, work))
        finally:
            temporal.stop()
            postgres.stop()

    paths = Table(title="History events per case (time-skipping server, real activities)")
    paths.add_column("path")
    for column in ("events", "target", "history bytes", "audit events"):
        paths.add_column(column, justify="right")
    for name, n in figures["history_events"].items():
        target = "<= 100" if "90-day" in name else ""
        paths.add_row(name, str(n["events"]), target, f"{n['bytes']:,}", str(n["audit_events"]))
    console.print(paths)
    load = Table(title=f"One worker process, {figures['cases']:,} open cases (dev server)")
    load.add_column("measure")
    load.add_column("case workflow", justify="right")
    load.add_column("bare workflow (baseline)", justify="right")
    load.add_column("ratio", justify="right")
    bare, ratios = figures["baseline"], figures["ratios"]
    for key, base, ratio in (
        ("worker_rss_idle_mb", "bare_worker_rss_idle_mb", ""),
        ("worker_rss_loaded_mb", "bare_worker_rss_loaded_mb", ""),
        ("rss_per_open_case_kb", "bare_rss_per_open_case_kb", f"{ratios['rss_per_case_vs_bare']}x"),
        ("opening_s", None, ""),
        ("workflow_tasks_per_payment", None, ""),
        ("workflow_tasks_per_s", None, ""),
        ("payments_per_s", "bare_signals_per_s", f"{ratios['payments_per_s_vs_bare']}x"),
    ):
        load.add_row(key, str(figures[key]), str(bare[base]) if base else "", ratio)
    console.print(load)
    console.print("knobs: " + ", ".join(f"{k}={v}" for k, v in figures["knobs"].items()))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"lifecycle-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps({"benchmark": "lifecycle", **figures}, indent=2) + "\n")
    console.print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
