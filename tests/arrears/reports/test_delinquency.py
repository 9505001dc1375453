"""The delinquency report: buckets, foreclosure starts and inventory, roll rates."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

from arrears.db import Database
from arrears.reports.portfolio import portfolio
from models.enums import PolicyPack, ReportKind
from tests.arrears.reports.portfolio import generate, table
from tests.factories import Portfolio


async def test_delinquency_buckets_foreclosure_and_roll_rates(reports_db: Database) -> None:
    report, files = await generate(reports_db, ReportKind.DELINQUENCY, PolicyPack.US_MORTGAGE)
    data = json.loads(files["json"])
    buckets = {(r["product"], r["bucket"]): (r["loans"], r["balance"]) for r in table(data, "buckets")}
    assert buckets[("mortgage_30y", "current")] == (3, "250000.00")  # paid up, 11 days, cured
    assert buckets[("mortgage_30y", "30-59")] == (2, "200000.00")
    assert buckets[("mortgage_30y", "60-89")] == (1, "100000.00")  # 35 on Feb 28, aged to 66
    assert buckets[("mortgage_30y", "90+")] == (1, "100000.00")
    assert buckets[("heloc", "90+")] == (1, "100000.00")
    assert buckets[("mortgage_30y", "foreclosure")] == (1, "100000.00")
    assert buckets[("lm", "60-89")] == (3, "300000.00") and buckets[("bk", "30-59")] == (2, "200000.00")
    assert [r for r in table(data, "foreclosure")] == [{"pack": "us_mortgage", "starts": 1, "inventory": 1}]
    rolls = {r["from"]: r for r in table(data, "roll_rates")}
    # Feb 28: current 1 (10 days), 30-59 2 (35 and 40 days), 90+ 1 (150 days), foreclosure 1
    assert rolls["current"]["loans"] == 1 and rolls["current"]["to_30-59"] == 1
    assert rolls["current"]["roll_rate"] == "1.0000"
    assert rolls["30-59"]["loans"] == 2 and rolls["30-59"]["to_current"] == 1
    assert rolls["30-59"]["to_60-89"] == 1 and rolls["30-59"]["cure_rate"] == "0.5000"
    assert rolls["30-59"]["roll_rate"] == "0.5000"
    assert rolls["90+"]["loans"] == 1 and rolls["90+"]["to_foreclosure"] == 1
    assert rolls["foreclosure"]["exited"] == 1  # the sale on March 20
    assert rolls["new"]["loans"] == 10  # first reported in March
    assert report.row_counts == {"buckets": 20, "foreclosure": 1, "roll_rates": 6}


async def test_a_payment_of_the_oldest_instalments_moves_the_loan_to_a_younger_bucket(db: Database) -> None:
    """Reports count from the oldest instalment still unpaid after a payment (12 CFR 1024.31)."""
    async with db.session() as session:
        p = Portfolio(session)
        loan = await p.loan(dpd=100, as_of=date(2025, 3, 1), arrears="2000.00")
        case = await p.case(loan, opened=datetime(2025, 3, 1, 13, tzinfo=UTC), dpd=100)
        before = {s.loan_id: s for s in await portfolio(session, date(2025, 3, 9), "us_mortgage")}[loan]
        assert (before.days_past_due, before.bucket) == (108, "90+")
        # the two oldest instalments paid: the oldest unpaid one fell due on 1 February
        await p.event(
            case,
            "payment.applied",
            datetime(2025, 3, 10, 9, tzinfo=UTC),
            arrears_after="1000.00",
            delinquent_since="2025-02-01",
        )
        after = {s.loan_id: s for s in await portfolio(session, date(2025, 3, 31), "us_mortgage")}[loan]
        assert (after.days_past_due, after.bucket, after.arrears) == (58, "30-59", Decimal("1000.00"))
        await session.rollback()  # leave the shared database as it was
