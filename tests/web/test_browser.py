"""The workbench in a real browser: Debian's Chromium driven by Playwright, against the app served
by uvicorn on the test's own PostgreSQL and Temporal dev server. Each page is checked with
axe-core, and the README's screenshots are taken here."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.async_playwright import Axe
from sqlmodel import select

from arrears.db import Database
from models.tasks import Task

# The README's screenshots: refreshed with ARREARS_SCREENSHOTS=1, elsewhere kept out of the tree.
SHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("ARREARS_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / f"arrears-screenshots-{os.getpid()}"
)
Open = Callable[..., Awaitable[uuid.UUID]]


@pytest.fixture
async def person(browser: Any, live_server: str) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """A browser page signed in through the sign-in page, as a person would."""
    contexts: list[Any] = []

    async def _sign_in(
        role: str, team: str = "default", name: str | None = None, language: str = "en"
    ) -> Any:
        context = await browser.new_context(locale=language, viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = await context.new_page()
        await page.goto(f"{live_server}/web")
        await page.locator("#name").fill(name or f"{role}-{uuid.uuid4().hex[:4]}")
        await page.locator("#role").select_option(role)
        await page.locator("#team").fill(team)
        await page.locator("form[action='/web/sign-in'] button[type=submit]").click()
        await page.wait_for_load_state()
        return page

    yield _sign_in
    for context in contexts:
        await context.close()


async def accessible(page: Any) -> None:
    """axe-core finds no serious or critical violation on the page."""
    results = await Axe().run(page)
    bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in bad]


async def _wait_for_task(db: Database, case_id: uuid.UUID) -> Task:
    for _ in range(100):
        async with db.session() as session:
            task = (await session.exec(select(Task).where(Task.case_id == case_id))).first()
        if task is not None:
            return task
        await asyncio.sleep(0.2)
    raise AssertionError("no task")


async def test_an_agent_works_the_top_task_records_a_promise_and_sees_the_next_step_move(
    person: Any, open_case: Open, db: Database
) -> None:
    team = f"b-{uuid.uuid4().hex[:6]}"
    # a team's queue: the deepest delinquency ranks first among tasks of the same band. The loans
    # fell due yesterday, so whatever today's date each live contact open is due in four days or
    # more (green): the one for the start of a delinquency under 37 days would be due sooner
    due_day = min((datetime.now(UTC).date() - timedelta(days=1)).day, 28)
    case_id = await open_case(
        team, days_past_due=95, arrears="4500.00", borrower_name="Grace Hopper", due_day=due_day
    )
    for days in (3, 40, 62):
        await _wait_for_task(
            db, await open_case(team, days_past_due=days, arrears="1500.00", due_day=due_day)
        )
    await _wait_for_task(db, case_id)
    page = await person("agent", team=team)
    assert page.url.endswith("/web/queue")
    await accessible(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / "queue.png"), full_page=True)
    # the keyboard: j selects the top row, Enter opens its case
    await page.keyboard.press("j")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(f"/web/cases/{case_id}"))
    assert await page.get_by_text("Grace Hopper").count() == 1
    await accessible(page)
    before = await page.locator("#h-next + table tbody tr").first.inner_text()
    await page.get_by_text("Record a promise to pay").first.click()
    due = datetime.now(UTC).date() + timedelta(days=12)
    form = page.locator("#action-promise form")
    await form.get_by_label("Amount").fill("500.00")
    await form.get_by_label("Due").fill(due.isoformat())
    await form.get_by_label("Reason").fill("Borrower called, pays on payday")
    await form.locator("button[type=submit]").click()
    await page.wait_for_load_state()
    assert await page.locator("#notice").is_visible()
    after = await page.locator("#h-next + table tbody tr").first.inner_text()
    assert after != before and "promise" in after
    await page.screenshot(path=str(SHOTS / "case.png"), full_page=True)


async def test_a_validators_refusal_shows_its_reason_beside_the_form(person: Any, open_case: Open) -> None:
    team = f"b-{uuid.uuid4().hex[:6]}"
    case_id = await open_case(team, days_past_due=20)
    page = await person("agent", team=team)
    await page.goto(page.url.replace("/web/queue", f"/web/cases/{case_id}"))
    await page.get_by_text("Record a promise to pay").first.click()
    form = page.locator("#action-promise form")
    await form.get_by_label("Amount").fill("500.00")
    await form.get_by_label("Due").fill((datetime.now(UTC).date() + timedelta(days=75)).isoformat())
    await form.get_by_label("Reason").fill("too far out")
    await form.locator("button[type=submit]").click()
    await page.wait_for_load_state()
    alert = page.locator("#action-promise [role=alert]")
    assert "a promise may run at most 60 days" in await alert.inner_text()
    assert await page.locator("#action-promise").get_attribute("open") is not None
    await accessible(page)


async def test_a_supervisor_closes_a_case(person: Any, open_case: Open) -> None:
    team = f"b-{uuid.uuid4().hex[:6]}"
    case_id = await open_case(team, days_past_due=20)
    page = await person("supervisor", team=team)
    await page.goto(page.url.replace("/web/queue", f"/web/cases/{case_id}"))
    await page.get_by_text("Close the case").first.click()
    form = page.locator("#action-close form")
    await form.get_by_label("Outcome").select_option("transferred")
    await form.get_by_label("Reason").fill("sold to another servicer")
    await form.locator("button[type=submit]").click()
    await page.wait_for_load_state()
    for _ in range(50):  # the workflow closes the case and its row a moment later
        await page.reload()
        if await page.get_by_text("transferred").count():
            break
        await asyncio.sleep(0.2)
    assert await page.locator("#h-summary + dl").get_by_text("transferred").count() == 1
    assert await page.locator("#h-actions").count() == 0  # a closed case takes no more actions


async def test_compliance_searches_the_trail_and_exports_it(person: Any, open_case: Open) -> None:
    case_id = await open_case(f"b-{uuid.uuid4().hex[:6]}", days_past_due=20)
    page = await person("compliance", team="")
    assert page.url.endswith("/web/audit")
    await page.get_by_label("Case").fill(str(case_id))
    await page.get_by_role("button", name="Search").click()
    await page.wait_for_load_state()
    rows = page.locator("table.audit tbody tr")
    assert await rows.count() >= 1
    assert await page.get_by_text("case.opened").count() >= 1
    await accessible(page)
    await page.screenshot(path=str(SHOTS / "audit.png"), full_page=True)
    async with page.expect_download() as download_info:
        await page.get_by_text("Export as CSV").click()
    download = await download_info.value
    content = Path(await download.path()).read_text()
    assert content.startswith("id,") and str(case_id) in content


async def test_a_regulator_sees_the_reports_and_nothing_else(person: Any, live_server: str) -> None:
    page = await person("regulator", team="")
    assert page.url.endswith("/web/reports")
    links = await page.locator("header nav a").all_inner_texts()
    assert links == ["Reports"]
    await accessible(page)
    response = await page.goto(f"{live_server}/web/queue")
    assert response is not None and response.status == 403


async def test_a_post_without_the_csrf_token_is_refused(person: Any, live_server: str) -> None:
    page = await person("agent")
    # a form on another site would post without the token: simulate it from this page
    post_without_token = """async (url) => (
        await fetch(url, {method: "POST", body: new URLSearchParams({language: "nl"})})
    ).status"""
    status = await page.evaluate(post_without_token, f"{live_server}/web/language")
    assert status == 403


@pytest.mark.parametrize(
    ("language", "heading"), [("en", "Work queue"), ("nl", "Werkvoorraad"), ("sv", "Arbetskö")]
)
async def test_each_language_renders(person: Any, language: str, heading: str) -> None:
    page = await person("agent", language=language)
    assert await page.locator("h1").inner_text() == heading
    assert await page.locator("html").get_attribute("lang") == language
    await accessible(page)


async def test_the_sign_in_page_is_accessible(browser: Any, live_server: str) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{live_server}/web/sign-in")
    await accessible(page)
    await page.screenshot(path=str(SHOTS / "sign-in.png"))
    await context.close()


async def test_a_newcomer_works_a_case_from_the_queue_to_a_cure(
    person: Any, open_case: Open, db: Database
) -> None:
    """No API docs: the queue, the case's task, a promise, the payment, and the case is cured."""
    team = f"b-{uuid.uuid4().hex[:6]}"
    case_id = await open_case(team, days_past_due=20, arrears="900.00", installment="900.00")
    await _wait_for_task(db, case_id)
    page = await person("agent", team=team)
    await page.locator("table.queue tbody tr a").first.click()
    await page.wait_for_url(re.compile(f"/web/cases/{case_id}"))
    # the task in front: a live contact, decided with its reason
    task = page.locator("article.task").filter(has_text="live contact")
    await task.get_by_label("Decision").select_option("contacted")
    await task.get_by_label("Reason").fill("spoke with the borrower")
    await task.get_by_role("button", name="Decide").click()
    await page.wait_for_load_state()
    assert await page.locator("article.task").filter(has_text="live contact").count() == 0
    # the promise, then the money
    await page.get_by_text("Record a promise to pay").first.click()
    form = page.locator("#action-promise form")
    await form.get_by_label("Amount").fill("900.00")
    await form.get_by_label("Due").fill((datetime.now(UTC).date() + timedelta(days=5)).isoformat())
    await form.get_by_label("Reason").fill("pays in full on Friday")
    await form.locator("button[type=submit]").click()
    await page.wait_for_load_state()
    await page.get_by_text("Demo: the loan system reports a payment").click()
    await page.get_by_role("button", name="Report the payment").click()
    await page.wait_for_load_state()
    summary = page.locator("#h-summary + dl")
    for _ in range(50):
        if await summary.get_by_text("cured").count():
            break
        await asyncio.sleep(0.2)
        await page.reload()
    assert await summary.get_by_text("cured").count() == 1
    assert "$0.00" in await summary.inner_text()
