"""The monthly KPI report: stored with its files' hashes and an audit event like every report
kind, its PDF draws the dashboard's charts, and a re-run of the month gives the same bytes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import select

from arrears import audit, migrate
from arrears.db import Database
from arrears.embedded import EmbeddedPostgres
from arrears.reports import service
from arrears.reports.service import ReportParams
from models.audit import AuditEvent
from models.enums import ReportFormat, ReportKind
from tests.factories import Portfolio

MAY_END, JUNE_END = date(2025, 5, 31), date(2025, 6, 30)
ACTOR = audit.Actor("compliance-test", "compliance")
# (days past due on May 31, on June 30) per loan: 2 of the 3 loans in 1-29 roll to 30-59
FLOWS = [(0, 0)] * 3 + [(0, 12), (15, 0), (20, 45), (25, 40), (40, 70), (50, 75), (70, 100)]


@pytest.fixture(scope="module")
async def kpi_db(postgres: EmbeddedPostgres) -> AsyncIterator[Database]:
    """A database of its own: the report covers every loan, so only these are in it."""
    url = postgres.ensure_database(f"arrears_kpi_{uuid.uuid4().hex[:8]}")
    migrate.upgrade(url)
    db = Database(url)
    async with db.session() as session:
        p = Portfolio(session)
        loans = []
        for first, second in FLOWS:
            loan = await p.loan(dpd=first, as_of=MAY_END)
            await p.snapshot(loan, dpd=second, as_of=JUNE_END)
            loans.append(loan)
        opened = datetime.combine(MAY_END, time(13), UTC)
        await p.case(loans[5], opened=opened, dpd=20)
        moved = await p.case(loans[7], opened=opened, dpd=40)
        await p.stage(moved, "loss_mitigation", datetime.combine(date(2025, 6, 3), time(9), UTC), dpd=43)
    yield db
    await db.dispose()


async def _generate(db: Database) -> tuple[uuid.UUID, dict[str, bytes]]:
    report = await service.generate(
        db,
        ReportParams(ReportKind.KPI, date(2025, 6, 1), JUNE_END),
        actor=ACTOR,
        trigger="on_demand",
        servicer="Test Servicing",
    )
    async with db.session() as session:
        files = {
            f.format.value: f.content
            for f in [await service.file_content(session, report.id, fmt) for fmt in ReportFormat]
            if f is not None
        }
    return report.id, files


async def test_the_kpi_report_is_stored_hashed_and_audited_with_its_charts(
    kpi_db: Database, tmp_path: Path
) -> None:
    report_id, files = await _generate(kpi_db)
    async with kpi_db.session() as session:
        stored = await service.files_of(session, report_id)
        [event] = [
            e
            for e in (
                await session.exec(select(AuditEvent).where(AuditEvent.action == "report.generated"))
            ).all()
            if e.payload["report_id"] == str(report_id)
        ]
    assert {f.format.value: f.sha256 for f in stored} == {
        k: hashlib.sha256(v).hexdigest() for k, v in files.items()
    }
    assert event.payload["sha256"] == {f.format.value: f.sha256 for f in stored}
    assert event.payload["kind"] == "kpi" and event.actor == "compliance-test"

    # the figures: June's flows as planted, the open cases per stage on June 30
    tables = {t["name"]: t for t in json.loads(files["json"])["tables"]}
    flows = {(r[0], r[1]): r[2] for r in tables["flow-count"]["rows"] if r[2]}
    assert flows == {
        ("current", "current"): 3,
        ("current", "1-29"): 1,
        ("1-29", "current"): 1,
        ("1-29", "30-59"): 2,
        ("30-59", "60-89"): 2,
        ("60-89", "90-119"): 1,
    }
    assert dict((r[0], r[1]) for r in tables["stages"]["rows"])["loss_mitigation"] == 1
    cure = [r for r in tables["cure-and-promises"]["rows"] if r[0] == "cure_rate" and r[2] == "2025-06"]
    assert cure == [["cure_rate", "", "2025-06", "1", "6", "0.1667", 1]]
    assert b"Report Borrower" not in files["csv"] + files["json"]

    # the PDF draws the charts: their axis titles are in its text, the heat map is on page 1
    text, blue = _read_pdf(files["pdf"], tmp_path)
    for drawn in (
        "Bucket at the end of the previous month",
        "Share of the row",
        "Rate (% of its base)",
        "Open cases",
        "Messages",
        "66.7%",
    ):
        assert drawn in text, drawn
    assert blue > 500, blue  # the heat map's and the bars' blues


def _read_pdf(content: bytes, tmp_path: Path) -> tuple[str, int]:
    """The PDF's text, and how many pixels of its first page (at 50 dpi) are blue."""
    pdf = tmp_path / "kpi.pdf"
    pdf.write_bytes(content)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True).stdout
    subprocess.run(
        ["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True
    )
    [png] = tmp_path.glob("page*.png")
    with Image.open(png) as page:
        pixels = list(page.convert("RGB").getdata())
    return text.decode(), sum(1 for r, _g, b in pixels if b > 90 and b - r > 60)


async def test_a_rerun_of_the_month_gives_the_same_bytes(kpi_db: Database) -> None:
    _first_id, first = await _generate(kpi_db)
    async with kpi_db.session() as session:  # June's figures do not move with July's activity
        p = Portfolio(session)
        late = await p.loan(dpd=10, as_of=date(2025, 7, 2))
        await p.case(late, opened=datetime.combine(date(2025, 7, 2), time(9), UTC), dpd=10)
    _again_id, again = await _generate(kpi_db)
    assert {k: hashlib.sha256(v).hexdigest() for k, v in again.items()} == {
        k: hashlib.sha256(v).hexdigest() for k, v in first.items()
    }
