"""The delinquency report: buckets, foreclosure starts and inventory, roll rates."""

from __future__ import annotations

import json

from arrears.db import Database
from models.enums import PolicyPack, ReportKind
from tests.arrears.reports.portfolio import generate, table


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
