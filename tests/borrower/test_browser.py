"""The borrower page in a real browser on a phone: Debian's Chromium driven by Playwright, opening
the link from an e-mail the loopback SMTP server received. Each page is checked with axe-core;
the README's screenshot is taken here (ARREARS_SCREENSHOTS=1)."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.async_playwright import Axe
from sqlmodel import col, select

from models.cases import Case
from models.engagement import EngagementEvent, EngagementKind
from models.enums import CaseOutcome, Channel
from models.loans import Loan
from models.payments import Payment
from policies import contact, get_pack
from tests.borrower.conftest import Portal

SHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("ARREARS_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / f"arrears-screenshots-{os.getpid()}"
)
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "Chromium is missing: scripts/system-libs.sh installs it"
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def phone(browser: Any) -> AsyncIterator[Any]:
    context = await browser.new_context(locale="en-US", **PHONE)
    page = await context.new_page()
    yield page
    await context.close()


async def accessible(page: Any) -> None:
    """axe-core finds no serious or critical violation on the page."""
    results = await Axe().run(page)
    bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in bad]


async def sign_in(page: Any, portal: Portal, email: str) -> None:
    """Open the e-mail's link, have a code sent, read it from the mail, enter it."""
    link = await portal.mail_link(email)
    await page.goto(link)
    await accessible(page)
    await page.get_by_role("button", name="Send me a code by e-mail").click()
    await page.wait_for_load_state()
    code = await portal.code(email)
    await accessible(page)
    await page.get_by_label("One-time code (6 digits)").fill(code)
    await page.get_by_role("button", name="Open my page").click()
    await page.wait_for_url("**/me/case")


async def test_from_the_email_to_a_promise_and_the_next_step_changes(phone: Any, portal: Portal) -> None:
    _, email = await portal.open_case(arrears="1500.00")
    await sign_in(phone, portal, email)
    await accessible(phone)
    assert "$1,500.00" in await phone.locator("#total").inner_text()
    before = await phone.locator("#next-steps").inner_text()
    due = datetime.now(UTC).date() + timedelta(days=20)
    await phone.get_by_label("Amount (USD)").fill("1500.00")
    await phone.get_by_label("I will pay by").fill(due.isoformat())
    await phone.locator("form[action='/me/promise'] button").click()
    await phone.wait_for_url("**/me/case?done=promise")
    assert "Your promise to pay is recorded" in await phone.locator("p.notice").inner_text()
    after = await phone.locator("#next-steps").inner_text()
    assert after != before
    await accessible(phone)
    SHOTS.mkdir(parents=True, exist_ok=True)
    await phone.screenshot(path=str(SHOTS / "borrower.png"), full_page=True)
    # the page's questions, in the browser too
    await phone.get_by_label("Your question").fill("what happens next?")
    await phone.get_by_role("button", name="Ask", exact=True).click()
    await phone.wait_for_load_state()
    assert await phone.locator("#answer").get_attribute("data-intent") == "next_step"


async def test_pay_through_the_provider_and_the_case_cures(phone: Any, portal: Portal) -> None:
    case_id, email = await portal.open_case(arrears="800.00", installment="800.00")
    async with portal.db.session() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        loan_row = await session.get(Loan, case.loan_id)
    assert loan_row is not None
    loan = loan_row.external_id
    await sign_in(phone, portal, email)
    await phone.get_by_role("link", name="Pay $800.00 now").click()
    await phone.wait_for_url("**/me/pay")
    await accessible(phone)
    await phone.get_by_role("button", name="Continue to payment").click()
    await phone.wait_for_url(f"{portal.provider.url}/pay/*")
    await phone.get_by_role("button", name="Pay", exact=True).click()
    [reference] = [c["reference"] for c in portal.provider.checkouts.values() if c["loan"] == loan]
    await phone.wait_for_url("**/me/case?done=payment_succeeded")
    async with portal.db.session() as session:  # reported through the signed webhook, for this case
        payment = (await session.exec(select(Payment).where(col(Payment.external_id) == reference))).one()
    assert payment.case_id == case_id and payment.amount == Decimal("800.00")
    for _ in range(100):  # the webhook stored it; the workflow applies it and cures the case
        state = await portal.state(case_id)
        if state.outcome is CaseOutcome.CURED:
            break
        await asyncio.sleep(0.2)
    assert state.outcome is CaseOutcome.CURED
    await phone.goto(phone.url.split("/me/")[0] + f"/me/paid?reference={reference}&status=paid")  # again
    assert "Nothing is owed on this case any more" in await phone.locator("#closed").inner_text()
    async with portal.db.session() as session:
        kinds = (
            await session.exec(select(EngagementEvent.kind).where(col(EngagementEvent.case_id) == case_id))
        ).all()
    assert (
        kinds.count(EngagementKind.PAYMENT_ATTEMPTED) == 1
        and kinds.count(EngagementKind.PAYMENT_SUCCEEDED) == 1
    )
    await accessible(phone)


async def test_a_dispute_stops_collection(phone: Any, portal: Portal) -> None:
    case_id, email = await portal.open_case()
    await sign_in(phone, portal, email)
    await phone.get_by_role("button", name="I dispute this debt").click()
    await phone.wait_for_url("**/me/case?done=dispute")
    assert "Collection is paused" in await phone.locator("p.notice.paused").inner_text()
    state = await portal.state(case_id)
    holds = [h.kind for h in state.holds]
    assert holds == ["dispute"]
    # the pack's effect: no collection message goes out on any channel while it stands
    pack = get_pack(state.policy_pack)
    for channel in (Channel.EMAIL, Channel.SMS, Channel.LETTER):
        decision = contact.check(pack, channel=channel, at=datetime.now(UTC), timezone="UTC", holds=holds)
        assert not decision.allowed and decision.retry_at is None


async def test_a_bad_link_is_refused_in_the_browser(phone: Any, portal: Portal) -> None:
    _, email = await portal.open_case()
    link = await portal.mail_link(email)
    await phone.goto(link[:-4] + "AAAA")
    assert (await phone.locator("main").inner_text()).strip() == "Expired"
    await accessible(phone)
    # the start page, where a letter's reader types its code
    await phone.goto(f"{portal.url}/me")
    await accessible(phone)
    await phone.get_by_label("Or enter the code printed on your letter").fill("3F2A9C1B-AAAA-AAAA")
    await phone.get_by_role("button", name="Continue").click()
    assert (await phone.locator("main").inner_text()).strip() == "Expired"
