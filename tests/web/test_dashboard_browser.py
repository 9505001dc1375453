"""The KPI dashboard in a real browser, over a generated portfolio of its own: a supervisor opens
it from the navigation, changes a filter, opens a chart's definition, downloads the numbers
behind a chart, and meets a filter that cannot be shown. axe-core checks each page; the README's
screenshot (docs/screenshots/dashboard.png) is taken here when ARREARS_SCREENSHOTS=1."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from arrears import migrate
from arrears.analytics import loader
from arrears.analytics.types import KpiFilters
from arrears.db import Database
from arrears.embedded import EmbeddedPostgres, free_port
from arrears.intake import IntakeService
from arrears.reports import kpi_board
from arrears.settings import Settings
from tests.web.test_browser import SHOTS, accessible


@pytest.fixture(scope="module")
async def portfolio(postgres: EmbeddedPostgres) -> AsyncIterator[tuple[Database, str]]:
    """A generated portfolio of 400 loans over 13 months to last month's end, in a database of its
    own (its figures are exactly the generator's)."""
    url = postgres.ensure_database(f"arrears_dashboard_{uuid.uuid4().hex[:8]}")
    migrate.upgrade(url)
    db = Database(url)
    last_month_end = datetime.now(UTC).date().replace(day=1) - timedelta(days=1)
    await loader.generate(db, loans=400, months=13, seed=7, as_of=last_month_end)
    yield db, url
    await db.dispose()


@pytest.fixture(scope="module")
async def server(
    portfolio: tuple[Database, str],
    dev_server: Any,
    task_queue: str,
    intake: IntakeService,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[str]:
    """The app on the portfolio's database, served by uvicorn on a free loopback port."""
    import uvicorn

    db, url = portfolio
    settings = Settings(
        environment="test",
        database_url=url,
        temporal_address=dev_server.address,
        temporal_task_queue=task_queue,
        data_dir=tmp_path_factory.mktemp("dashboard-data"),
        demo_data=False,
    )
    port = free_port()
    served = uvicorn.Server(
        uvicorn.Config(
            create_app(settings=settings, db=db, intake=intake),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    task = asyncio.create_task(served.serve())
    while not served.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    served.should_exit = True
    await task


async def test_a_supervisor_reads_the_dashboard_filters_it_opens_a_definition_and_downloads_the_numbers(
    browser: Any, server: str, portfolio: tuple[Database, str], tmp_path: Path
) -> None:
    context = await browser.new_context(
        locale="en", viewport={"width": 1400, "height": 1000}, accept_downloads=True
    )
    page = await context.new_page()
    refused: list[str] = []  # what the strict CSP blocked (inline style or script in the charts)
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    await page.goto(f"{server}/web")
    await page.locator("#name").fill("dana-supervisor")
    await page.locator("#role").select_option("supervisor")
    await page.locator("#team").fill("collections-us")
    await page.locator("form[action='/web/sign-in'] button[type=submit]").click()
    await page.wait_for_load_state()

    # from the navigation to the dashboard: five charts drawn, each named for a screen reader
    await page.get_by_role("link", name="Dashboard").click()
    await page.wait_for_url(f"{server}/web/dashboard")
    charts = page.get_by_role("img")
    assert await charts.count() == 5
    assert "Flow matrix by number of loans" in (await charts.first.get_attribute("aria-label") or "")
    await accessible(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)

    # a filter: one pack's loans only; the form keeps the choice and the charts follow it
    before = await page.locator("#flow-count figcaption").inner_text()
    await page.locator("#f-pack").select_option("nl_consumer")
    await page.get_by_role("button", name="Show").click()
    await page.wait_for_url("**pack=nl_consumer**")
    assert await page.locator("#f-pack").input_value() == "nl_consumer"
    assert await page.get_by_role("img").count() == 5
    assert await page.locator("#flow-count figcaption").inner_text() != before

    # the numbers behind the heat map, as CSV under the same filters: the KPIs computed directly
    async with page.expect_download() as download_info:
        await page.locator("#flow-count").get_by_role("link", name="Numbers as CSV").click()
    download = await download_info.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert saved.name.startswith("kpi-flow-count-")
    rows = list(csv.DictReader(io.StringIO(saved.read_text())))
    first, last = (await page.locator("#f-from").input_value()), (await page.locator("#f-to").input_value())
    board = await kpi_board.load(
        portfolio[0],
        start=date.fromisoformat(first + "-01"),
        end=date.fromisoformat(last + "-01"),
        filters=KpiFilters(pack="nl_consumer"),
    )
    matrix = board.kpis.flows[-1]
    assert sum(int(r["loans"]) for r in rows) == sum(c.loans for c in matrix.cells) > 0
    for r in rows:
        assert int(r["loans"]) == matrix.loans(r["from_bucket"], r["to_bucket"])  # type: ignore[arg-type]

    # a chart's definition, one click away: its text and version
    await page.locator("#cure-and-promises").get_by_role("link", name="Definition: Cure rate").click()
    await page.wait_for_url("**/web/dashboard/definitions#cure_rate")
    definition = page.locator("#cure_rate")
    assert await definition.is_visible()
    assert "version 1" in await definition.inner_text()
    assert "current (0 days past due)" in await definition.inner_text()
    await accessible(page)

    # a filter that cannot be shown says why beside the form, and nothing is drawn
    await page.go_back()
    await page.locator("#f-team").fill("<team>")
    await page.get_by_role("button", name="Show").click()
    await page.wait_for_load_state()
    alert = page.get_by_role("alert")
    assert "team" in await alert.inner_text()
    assert await page.locator("#f-team").get_attribute("aria-invalid") == "true"
    assert await page.get_by_role("img").count() == 0
    await accessible(page)
    assert refused == []
    await context.close()
