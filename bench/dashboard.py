"""The KPI dashboard page over a generated portfolio: what each part of a request costs.

    .venv/bin/python -m bench.dashboard --loans 10000              # a quick look
    .venv/bin/python -m bench.dashboard --data /tmp/kpis-db        # the database bench.kpis kept

It starts its own embedded PostgreSQL (or reuses `--data`, the layout `bench.kpis --data` keeps),
generates the portfolio if the database is new (bench/portfolio_db.py, the default model), and
times, median of --repeat:

- the analytics' one pass (`arrears.analytics.kpis.dashboard`, 12 months);
- the page's figures (`arrears.reports.kpi_board.gather`: that pass and the stage inventory);
- building the five charts' Vega-Lite specs, and vl-convert drawing each one, without the caches
  (the page caches specs and SVG by what they are built from, so a reload with the same filters
  builds and draws nothing);
- the whole page and one chart's CSV over HTTP, signed in as a supervisor (ASGI, no network):
  once with no chart drawn yet (page_first_s), then reloaded with the same filters;
- the monthly KPI report of the last month: its figures, and its CSV, JSON and PDF.

Results go to bench/results/dashboard-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from arrears.analytics import chart_specs, kpis
from arrears.analytics.behaviour import DEFAULT_MODEL
from arrears.analytics.types import ALL
from arrears.db import Database
from arrears.reports import figures, kpi_board, render
from arrears.settings import Settings
from bench.portfolio_db import add_data_option, generated
from models.enums import ReportFormat, ReportKind

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
START, END = date(2025, 12, 1), date(2026, 11, 30)
QUERY = "from=2025-12&to=2026-11"


async def timed(repeat: int, work: Callable[[], Awaitable[Any]]) -> float:
    """The median of `repeat` runs after one to warm the caches (PostgreSQL's and ours)."""
    await work()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        await work()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


async def _page(db: Database, url: str, repeat: int) -> dict[str, float]:
    from api.app import create_app
    from arrears.intake import IntakeService

    settings = Settings(environment="test", database_url=url, demo_data=False)
    # the page reads no case run: intake is built without a Temporal client
    app = create_app(settings=settings, db=db, intake=IntakeService(db, None, task_queue="bench"))  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as client:
        signed = await client.post("/web/sign-in", data={"name": "bench", "role": "supervisor", "team": ""})
        assert signed.status_code == 303, signed.text

        async def page() -> None:
            answer = await client.get(f"/web/dashboard?{QUERY}")
            assert answer.status_code == 200 and answer.text.count("<svg") == 5

        async def csv() -> None:
            assert (await client.get(f"/web/dashboard/flow-count.csv?{QUERY}")).status_code == 200

        chart_specs.svg.cache_clear()
        chart_specs._SPECS.clear()
        began = time.perf_counter()
        await page()
        first = time.perf_counter() - began
        return {"page_first_s": first, "page_s": await timed(repeat, page), "csv_s": await timed(repeat, csv)}


async def _report(db: Database) -> dict[str, float]:
    """The monthly KPI report of the last month: its figures, then its files (the PDF above all)."""
    began = time.perf_counter()
    async with db.session() as session:
        data = await figures.build(session, kind=ReportKind.KPI, start=date(2026, 11, 1), end=END, pack=None)
    built = time.perf_counter()
    files = render.render_all(data, servicer="Bench Servicing")
    done = time.perf_counter()
    pdf = next(f for f in files if f.format is ReportFormat.PDF)
    return {
        "report_figures_s": built - began,
        "report_files_s": done - built,
        "report_pdf_bytes": len(pdf.content),
    }


async def measure(url: str, repeat: int) -> dict[str, Any]:
    db = Database(url)
    try:

        async def analytics() -> None:
            async with db.session() as session:
                await kpis.dashboard(session, start=START, end=END)

        async def figures() -> None:
            await kpi_board.load(db, start=START, end=END, filters=ALL)

        async def inventory() -> None:
            async with db.session() as session:
                await kpi_board.stage_inventory(session, day=END, filters=ALL)

        async with db.session() as session:
            loans = (await session.exec(text("SELECT count(*) FROM loans"))).one()  # type: ignore[call-overload]
        result: dict[str, Any] = {
            "loans": loans[0],
            "analytics_s": await timed(repeat, analytics),
            "figures_s": await timed(repeat, figures),
            "stage_inventory_s": await timed(repeat, inventory),
        }
        board = await kpi_board.load(db, start=START, end=END, filters=ALL)
        drawn = kpi_board.draw(board, gettext=str)
        spec_times = []
        for _ in range(repeat):
            chart_specs._SPECS.clear()  # the specs' cost when not cached
            began = time.perf_counter()
            kpi_board.draw(board, gettext=str)
            spec_times.append(time.perf_counter() - began)
        result["specs_s"] = statistics.median(spec_times)
        chart_specs.render_seconds(drawn[0].spec)  # vl-convert's one-off start, not a chart's cost
        result["vl_convert_s"] = {
            c.key: statistics.median(chart_specs.render_seconds(c.spec) for _ in range(repeat)) for c in drawn
        }
        result.update(await _page(db, url, repeat))
        result.update(await _report(db))
        return result
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    add_data_option(parser)
    args = parser.parse_args()
    with generated(loans=args.loans, data=args.data, model=DEFAULT_MODEL, vacuum=False) as url:
        result = asyncio.run(measure(url, args.repeat))
    result = {"repeat": args.repeat, **result}
    result["figures_vs_analytics"] = round(result["figures_s"] / result["analytics_s"], 2)
    result["page_vs_analytics"] = round(result["page_s"] / result["analytics_s"], 2)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"dashboard-{stamp}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    for key, value in result.items():
        print(f"{key:>22}: {json.dumps(value) if isinstance(value, dict) else value}")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
