"""The bankruptcy and enforcement inventory: stays, their resolutions, enforcement steps."""

from __future__ import annotations

import json

from arrears.db import Database
from models.enums import PolicyPack, ReportKind
from tests.arrears.reports.portfolio import generate, table


async def test_bankruptcy_and_enforcement_inventory(reports_db: Database) -> None:
    _, files = await generate(reports_db, ReportKind.BANKRUPTCY_ENFORCEMENT, PolicyPack.US_MORTGAGE)
    data = json.loads(files["json"])
    stays = {r["chapter"]: r for r in table(data, "stays")}
    assert stays["13"]["open_at_end"] == 1 and stays["13"]["entered_in_period"] == 1
    assert stays["7"]["open_at_end"] == 0 and stays["7"]["entered_in_period"] == 0
    assert table(data, "stay_resolutions") == [
        {"pack": "us_mortgage", "relief": 1, "dismissal": 0, "discharge": 0}
    ]
    steps = {r["step"]: r["count"] for r in table(data, "enforcement_steps")}
    assert steps == {
        "foreclosure.attorney_referral": 1,
        "foreclosure.first_filing": 1,
        "foreclosure.sale_held": 1,
        "in_enforcement_at_end": 1,
    }
