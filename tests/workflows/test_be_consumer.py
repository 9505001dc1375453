"""be_consumer: the Book XIX reminder's 14 days and the Book VII registered notice's month, walked
day by day on the time-skipping server."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from temporalio.testing import WorkflowEnvironment

from models.enums import CaseStage, Channel
from policies.be_consumer import vii105_last_day, vii106_penalty_cap, xix2_period_start, xix4_damages_cap
from policies.calendar import add_months


async def _skip_to(env: WorkflowEnvironment, day: date, hour: int = 10) -> None:
    left = datetime.combine(day, time(hour), UTC) - await env.get_current_time()
    assert left > timedelta(0)
    while left > timedelta(0):
        step = min(left, timedelta(days=30))
        await env.sleep(step)
        left -= step


async def _next_year_september(env: WorkflowEnvironment, weekday: int) -> date:
    """A day of the given weekday in mid-September next year: no Belgian holiday within six weeks."""
    year = (await env.get_current_time()).year + 1
    start = date(year, 9, 13)
    return start + timedelta(days=(weekday - start.weekday()) % 7)


async def _walk_xix(case: Any, sent: date, last_day: date, damages: Decimal) -> None:
    [reminder] = await case.actions("xix2.first_reminder", "done")
    assert reminder.at.date() == sent and f"pay by {last_day.isoformat()}" in reminder.detail
    assert reminder.citation.startswith("art. XIX.2")
    await case.to(last_day, hour=23)
    state = await case.state()
    assert state.stage == CaseStage.EARLY and state.fees == 0  # nothing before the 14 days are over
    await case.to(last_day + timedelta(days=1), hour=2)
    state = await case.state()
    assert state.stage == CaseStage.ENFORCEMENT
    assert await case.fired_on("xix4.damages") == [last_day + timedelta(days=1)]
    [fee] = await case.actions("xix4.damages")
    assert fee.amount == damages and "XIX.4" in fee.citation
    assert state.fees == damages


async def test_xix_reminder_posted_on_a_friday(open_case: Any, time_env: WorkflowEnvironment) -> None:
    friday = await _next_year_september(time_env, 4)
    # under 15 days late: a posted reminder on day 21 of delinquency
    await _skip_to(time_env, friday - timedelta(days=20))
    case = await open_case("be_consumer", days_past_due=1, arrears="300.00", product="energy_invoice")
    await case.to(friday - timedelta(days=1))
    assert await case.fired_on("xix2.first_reminder") == []
    await case.to(friday)
    # third working day after posting: Wednesday; the 14th day a Tuesday; damages on the Wednesday
    wednesday = friday + timedelta(days=5)
    await _walk_xix(case, friday, wednesday + timedelta(days=13), xix4_damages_cap(Decimal("300.00")))
    assert xix4_damages_cap(Decimal("300.00")) == Decimal("45.00")


async def test_xix_reminder_by_e_mail_runs_from_the_next_working_day(
    open_case: Any, time_env: WorkflowEnvironment
) -> None:
    friday = await _next_year_september(time_env, 4)
    # 20 days late at opening: a good payer, e-mailed on day 21, which is tomorrow (the Friday)
    await _skip_to(time_env, friday - timedelta(days=1))
    case = await open_case("be_consumer", days_past_due=20, arrears="1000.00", product="telecom_invoice")
    await case.to(friday, hour=20)
    [reminder] = await case.actions("xix2.first_reminder", "done")
    assert reminder.at.date() == friday
    # from Monday, the working day after the e-mail (art. XIX.2 § 1): the 14th day is a Sunday,
    # which runs on to the Monday (art. 1.7 Civil Code)
    monday = friday + timedelta(days=3)
    assert xix2_period_start(friday, Channel.EMAIL) == monday
    await _walk_xix(case, friday, monday + timedelta(days=14), Decimal("90.00"))


async def test_vii_registered_notice_then_acceleration_a_month_on(
    open_case: Any, time_env: WorkflowEnvironment
) -> None:
    # a notice sent on a day whose date a month on is a Saturday: the month runs to the Monday
    year = (await time_env.get_current_time()).year + 1
    sent = next(
        d
        for d in (date(year, 9, 1) + timedelta(days=i) for i in range(30))
        if add_months(d, 1).weekday() == 5
    )
    last_day = vii105_last_day(sent)
    assert last_day == add_months(sent, 1) + timedelta(days=2)
    await _skip_to(time_env, sent)
    # two instalments (2 x 300) past due at 40 days: the notice goes out at once
    case = await open_case("be_consumer", days_past_due=40, arrears="600.00", installment="300.00")
    [notice] = await case.actions("vii105.formal_notice")
    assert notice.at.date() == sent and "VII.105" in notice.citation
    assert f"pay by {last_day.isoformat()}" in notice.detail
    await case.to(last_day - timedelta(days=6))
    await case.decide("forbearance_assessment", "not_appropriate")
    await case.to(last_day, hour=23)
    assert (await case.state()).stage == CaseStage.EARLY
    assert await case.fired_on("vii105.acceleration") == []
    await case.to(last_day + timedelta(days=1), hour=2)
    state = await case.state()
    assert state.stage == CaseStage.ENFORCEMENT
    assert await case.fired_on("vii105.acceleration") == [last_day + timedelta(days=1)]
    assert await case.fired_on("vii106.claim_instalments_due") == []


async def test_vii_default_paid_below_two_instalments_is_not_accelerated(
    open_case: Any, time_env: WorkflowEnvironment
) -> None:
    sent = await _next_year_september(time_env, 1)
    last_day = vii105_last_day(sent)
    await _skip_to(time_env, sent)
    case = await open_case("be_consumer", days_past_due=40, arrears="600.00", installment="300.00")
    assert await case.fired_on("vii105.formal_notice") == [sent]
    await case.to(sent + timedelta(days=3))
    await case.pay("450.00")  # 150 left of the two, plus what falls due this month: under 600
    await case.to(last_day - timedelta(days=6))
    await case.decide("forbearance_assessment", "not_appropriate")
    await case.to(last_day + timedelta(days=1), hour=2)
    assert await case.fired_on("vii105.acceleration") == []
    [claim] = await case.actions("vii106.claim_instalments_due")
    assert claim.at.date() == last_day + timedelta(days=1)
    assert claim.amount is not None and claim.amount < Decimal("600.00")


async def test_vii_penalty_cap_on_the_balance_not_the_arrears(
    open_case: Any, time_env: WorkflowEnvironment
) -> None:
    sent = await _next_year_september(time_env, 1)
    await _skip_to(time_env, sent)
    case = await open_case(
        "be_consumer", days_past_due=40, arrears="600.00", installment="300.00", balance="9000.00"
    )
    [notice] = await case.actions("vii105.formal_notice")
    # art. VII.106 § 1: 10 % of the balance up to EUR 7,500, 5 % above: 750 + 75
    assert notice.amount == vii106_penalty_cap(Decimal("9000.00")) == Decimal("825.00")
    assert notice.amount != vii106_penalty_cap(Decimal("600.00"))


async def test_vii_notice_waits_until_the_default_reaches_two_instalments(
    open_case: Any, time_env: WorkflowEnvironment
) -> None:
    await _skip_to(time_env, await _next_year_september(time_env, 1) - timedelta(days=5))
    # two instalments' worth (1200) past due 5 days: the notice is planned for day 21
    case = await open_case(
        "be_consumer", days_past_due=5, arrears="1200.00", installment="600.00", product="personal_loan"
    )
    first_due = case.delinquent_since
    await case.to(case.day(10))
    await case.pay("700.00")  # 500 left: below two instalments, and the oldest is still unpaid
    await case.to(case.day(22))
    assert await case.fired_on("vii105.formal_notice") == []
    # one due date later: 500 + 600 = 1100, still below; two later: 1700, the threshold is met
    second = add_months(first_due, 1)
    await case.to(second, hour=23)
    assert await case.fired_on("vii105.formal_notice") == []
    third = add_months(first_due, 2)
    await case.to(third, hour=2)
    assert await case.fired_on("vii105.formal_notice") == [third]
