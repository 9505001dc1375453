"""The reports' test portfolio: March 2025, with known counts in every figure, and its helpers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from arrears import audit
from arrears.db import Database
from arrears.reports import service
from arrears.reports.service import ReportParams
from models.enums import PolicyPack, ReportKind
from models.reports import Report
from tests.factories import Portfolio

START, END = date(2025, 3, 1), date(2025, 3, 31)
ACTOR = audit.Actor("compliance-test", "compliance")


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), UTC)


def d(month: int, day: int) -> date:
    return date(2025, month, day)


async def build_portfolio(p: Portfolio) -> None:
    """March 2025. US mortgages in every bucket; NL loans for the F18/F19 split."""
    # current: paid up, and 10 days late (11 at the month's end)
    await p.loan(dpd=0, as_of=d(3, 31))
    await p.loan(dpd=10, as_of=d(3, 30), balance="50000.00")
    # 30-59 x2: one rolled in from current (10 days on Feb 28)
    rolled = await p.loan(dpd=10, as_of=d(2, 28))
    await p.snapshot(rolled, dpd=41, as_of=d(3, 31))
    await p.loan(dpd=45, as_of=d(3, 31))
    # 60-89: 35 days late on Feb 28, 66 by the month's end (no newer snapshot: it ages)
    await p.loan(dpd=35, as_of=d(2, 28))
    # 90+ x2
    await p.loan(dpd=120, as_of=d(3, 31), product="heloc")
    await p.loan(dpd=95, as_of=d(3, 31))
    # foreclosure: enforcement started in March, referral and first filing taken
    fc = await p.loan(dpd=150, as_of=d(2, 28))
    fc_case = await p.case(fc, opened=at(d(1, 2)), stage="early", dpd=90)
    await p.stage(fc_case, "enforcement", at(d(3, 10)), dpd=160)
    await p.event(fc_case, "enforcement.done", at(d(3, 10)), key="foreclosure.attorney_referral")
    await p.event(fc_case, "enforcement.done", at(d(3, 25)), key="foreclosure.first_filing")
    # exited: foreclosed on March 20 (the sale, after an enforcement stage entered in 2024)
    gone = await p.loan(dpd=300, as_of=d(2, 28))
    gone_case = await p.case(gone, opened=at(d(1, 1)), stage="enforcement", dpd=240)
    await p.event(gone_case, "enforcement.done", at(d(3, 20)), key="foreclosure.sale_held")
    await p.close(gone_case, "foreclosed", at(d(3, 20)))
    # cured in March: 40 days late on Feb 28, a payment brings arrears to zero on March 15
    cured = await p.loan(dpd=40, as_of=d(2, 28))
    cured_case = await p.case(cured, opened=at(d(2, 1)), dpd=12)
    await p.event(cured_case, "payment.applied", at(d(3, 15)), arrears_after="0.00")
    await p.close(cured_case, "cured", at(d(3, 15)))

    # loss mitigation: two applications (one acknowledged late), three evaluations, one appeal
    lm1 = await p.case(await p.loan(dpd=60, as_of=d(3, 31), product="lm"), opened=at(d(2, 1)), dpd=30)
    await p.stage(lm1, "loss_mitigation", at(d(3, 3)))
    await p.event(lm1, "message.done", at(d(3, 7)), key="loss_mitigation.1.acknowledgment", due="2025-03-10")
    await p.task(lm1, "loss_mitigation.1.evaluation", "evaluation", at(d(3, 7)), d(4, 2))
    await p.decide(lm1, "loss_mitigation.1.evaluation", at(d(3, 20)))
    lm2 = await p.case(await p.loan(dpd=60, as_of=d(3, 31), product="lm"), opened=at(d(2, 1)), dpd=30)
    await p.stage(lm2, "loss_mitigation", at(d(3, 3)))
    await p.event(lm2, "message.done", at(d(3, 12)), key="loss_mitigation.1.acknowledgment", due="2025-03-10")
    await p.task(lm2, "loss_mitigation.1.evaluation", "evaluation", at(d(3, 2)), d(3, 20))
    await p.decide(lm2, "loss_mitigation.1.evaluation", at(d(3, 25)))
    await p.task(lm2, "loss_mitigation.1.appeal_review", "appeal_review", at(d(3, 5)), d(3, 25))
    lm3 = await p.case(await p.loan(dpd=60, as_of=d(3, 31), product="lm"), opened=at(d(2, 1)), dpd=30)
    await p.task(lm3, "loss_mitigation.1.evaluation", "evaluation", at(d(3, 1)), d(3, 31))

    # bankruptcy: a chapter 13 stay filed in March; a chapter 7 stay lifted by relief in March
    s13 = await p.case(await p.loan(dpd=50, as_of=d(3, 31), product="bk"), opened=at(d(2, 1)), dpd=20)
    await p.stage(s13, "bankruptcy_stay", at(d(3, 5)), chapter="13", court_case="25-10001")
    s7 = await p.case(await p.loan(dpd=50, as_of=d(3, 31), product="bk"), opened=at(d(1, 5)), dpd=20)
    await p.stage(s7, "bankruptcy_stay", at(d(2, 10)), chapter="7", court_case="25-20002")
    await p.event(s7, "bankruptcy.done", at(d(3, 12)), key="bankruptcy.25-20002.relief")
    await p.stage(s7, "early", at(d(3, 12)))

    # NL: defaulted at 95 days; defaulted at 20 days; forborne while performing; forborne while
    # non-performing (still in its cure year); current
    nl = "nl_consumer"
    n1 = await p.case(await p.loan(nl, dpd=95, as_of=d(3, 31), balance="8000.00"), opened=at(d(1, 2)))
    await p.event(n1, "eba.done", at(d(3, 2)), key="eba.default")
    n2 = await p.case(await p.loan(nl, dpd=20, as_of=d(3, 31), balance="6000.00"), opened=at(d(1, 2)))
    await p.event(n2, "eba.done", at(d(2, 2)), key="eba.default")
    n3 = await p.case(await p.loan(nl, dpd=0, as_of=d(3, 31), balance="5000.00"), opened=at(d(1, 2)))
    await p.stage(n3, "forbearance", at(d(2, 10)), dpd=40)
    n4 = await p.case(await p.loan(nl, dpd=10, as_of=d(3, 31), balance="4000.00"), opened=at(d(1, 2)))
    await p.stage(n4, "forbearance", at(d(1, 15)), dpd=100)
    await p.loan(nl, dpd=0, as_of=d(3, 31), balance="3000.00")


def table(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    [t] = [t for t in data["tables"] if t["name"] == name]
    return [dict(zip(t["columns"], row, strict=True)) for row in t["rows"]]


async def generate(
    db: Database, kind: ReportKind, pack: PolicyPack | None = None
) -> tuple[Report, dict[str, bytes]]:
    report = await service.generate(
        db, ReportParams(kind, START, END, pack), actor=ACTOR, trigger="on_demand", servicer="Test Servicing"
    )
    async with db.session() as session:
        files = {f.format.value: f.content for f in await service.files_of(session, report.id)}
    return report, files
