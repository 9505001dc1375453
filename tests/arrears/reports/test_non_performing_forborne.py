"""Non-performing and forborne exposures in the F18 / F19 shape."""

from __future__ import annotations

import json

from arrears.db import Database
from models.enums import PolicyPack, ReportKind
from tests.arrears.reports.portfolio import generate, table


async def test_non_performing_and_forborne_in_the_f18_f19_shape(reports_db: Database) -> None:
    _, files = await generate(reports_db, ReportKind.NON_PERFORMING_FORBORNE, PolicyPack.NL_CONSUMER)
    data = json.loads(files["json"])
    [exposures, amounts] = table(data, "f18")
    assert exposures["performing_le_30"] == 2  # forborne performing (0 days), current
    assert exposures["np_unlikely_to_pay"] == 2  # defaulted at 20 days; forborne NP in its cure year
    assert exposures["np_91_180"] == 1 and exposures["total"] == 5
    assert amounts["performing_le_30"] == "8000.00" and amounts["np_unlikely_to_pay"] == "10000.00"
    [forborne, forborne_amounts] = table(data, "f19")
    assert forborne["forborne"] == 2 and forborne["term_modification"] == 2 and forborne["refinancing"] == 0
    assert forborne["of_which_under_probation"] == 1 and forborne["of_which_non_performing"] == 1
    assert forborne_amounts["of_which_under_probation"] == "5000.00"


async def test_us_figures_split_performing_and_non_performing_by_days_past_due(reports_db: Database) -> None:
    _, files = await generate(reports_db, ReportKind.NON_PERFORMING_FORBORNE, PolicyPack.US_MORTGAGE)
    [exposures, _] = table(json.loads(files["json"]), "f18")
    # 0, 11, 11(cured: 0) | 41, 45, 50 (ch.7 relieved) | 60 x3, 66 | UTP: ch.13 stay at 50 |
    # 95, 120, 181 (foreclosure: 150 on Feb 28 + 31)
    assert exposures["performing_le_30"] == 3
    assert exposures["performing_31_60"] == 6
    assert exposures["performing_61_90"] == 1
    assert exposures["np_unlikely_to_pay"] == 1
    assert exposures["np_91_180"] == 2 and exposures["np_181_365"] == 1
    assert exposures["total"] == 14
