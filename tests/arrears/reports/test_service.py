"""Generating a report: stored, hashed and audited; reproducible bytes; refused periods; once per key."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import date

import pytest
from sqlmodel import select

from arrears.db import Database
from arrears.reports import service
from arrears.reports.service import ReportParams, ReportRequestInvalid
from models.audit import AuditEvent
from models.enums import ReportFormat, ReportKind
from models.reports import Report
from tests.arrears.reports.portfolio import ACTOR, END, START, at, d, generate, table
from tests.factories import Portfolio


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
