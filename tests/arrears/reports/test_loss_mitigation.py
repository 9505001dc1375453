"""Loss-mitigation timeliness: acknowledgments, evaluations and appeals against their deadlines."""

from __future__ import annotations

import json
import uuid

from arrears.db import Database
from models.enums import PolicyPack, ReportKind
from tests.arrears.reports.portfolio import generate, table


async def test_loss_mitigation_timeliness_lists_the_late_cases(reports_db: Database) -> None:
    _, files = await generate(reports_db, ReportKind.LOSS_MITIGATION, PolicyPack.US_MORTGAGE)
    data = json.loads(files["json"])
    rows = {r["measure"]: r for r in table(data, "timeliness")}
    assert rows["applications_received"]["count"] == 2
    ack = rows["acknowledged_within_5_business_days"]
    assert (ack["count"], ack["on_time"], ack["late"], ack["share_on_time"]) == (2, 1, 1, "0.5000")
    ev = rows["evaluated_within_30_days"]
    assert (ev["count"], ev["on_time"], ev["late"], ev["pending"]) == (3, 1, 1, 1)
    ap = rows["appeal_decided_within_30_days"]
    assert (ap["count"], ap["on_time"], ap["late"]) == (1, 0, 1)  # open past its day
    late = table(data, "late_cases")
    assert {(r["measure"], r["due"], r["done_on"]) for r in late} == {
        ("acknowledged_within_5_business_days", "2025-03-10", "2025-03-12"),
        ("evaluated_within_30_days", "2025-03-20", "2025-03-25"),
        ("appeal_decided_within_30_days", "2025-03-25", ""),
    }
    # all three are the second application's case, listed by ID
    [case_id] = {r["case_id"] for r in late}
    assert uuid.UUID(case_id)
