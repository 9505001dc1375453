"""The KPI dashboard over HTTP: who may see it, its charts and their links, the CSV behind each
chart against the KPIs computed directly, and filters that cannot be shown."""

from __future__ import annotations

import csv
import html
import io
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from markupsafe import escape

from arrears.analytics import kpis
from arrears.analytics.definitions import DEFINITIONS
from arrears.analytics.types import KpiFilters
from arrears.db import Database
from arrears.reports.kpi_board import CHART_KEYS
from tests.analytics.templated import EXPECTED as TEMPLATE_COUNTS
from tests.analytics.templated import plant
from tests.factories import Portfolio
from tests.web.conftest import SignIn


def _month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


@dataclass(frozen=True)
class Planted:
    """A product of its own: ten loans whose buckets at the end of two months are known."""

    product: str
    before: date  # the first day of the month before last
    last: date  # the first day of last month
    query: str


# (days past due at the end of the month before last, at the end of last month), per loan
FLOWS = [(0, 0)] * 3 + [(0, 12), (15, 0), (20, 45), (25, 40), (40, 70), (50, 75), (70, 100)]
EXPECTED = {
    ("current", "current"): 3,
    ("current", "1-29"): 1,
    ("1-29", "current"): 1,
    ("1-29", "30-59"): 2,
    ("30-59", "60-89"): 2,
    ("60-89", "90-119"): 1,
}


@pytest.fixture(scope="module")
async def planted(db: Database) -> Planted:
    this_month = datetime.now(UTC).date().replace(day=1)
    last = (this_month - timedelta(days=1)).replace(day=1)
    before = (last - timedelta(days=1)).replace(day=1)
    product = f"kpi-{uuid.uuid4().hex[:8]}"
    async with db.session() as session:
        p = Portfolio(session)
        loans = []
        for first, second in FLOWS:
            loan = await p.loan(dpd=first, as_of=_month_end(before), product=product)
            await p.snapshot(loan, dpd=second, as_of=_month_end(last))
            loans.append(loan)
        # two open cases: one still early, one moved to loss mitigation; one closed cured
        opened = datetime.combine(_month_end(before), time(13), UTC)
        await p.case(loans[5], opened=opened, dpd=20)
        moved = await p.case(loans[7], opened=opened, dpd=40)
        await p.stage(moved, "loss_mitigation", opened + timedelta(days=3), dpd=45)
        cured = await p.case(loans[4], opened=opened, dpd=15)
        await p.close(cured, "cured", opened + timedelta(days=5))
    query = f"from={before:%Y-%m}&to={last:%Y-%m}&product={product}"
    return Planted(product=product, before=before, last=last, query=query)


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_a_supervisor_sees_every_chart_with_its_definition_and_numbers(
    sign_in: SignIn, planted: Planted
) -> None:
    supervisor = await sign_in("supervisor")
    page = await supervisor.get(f"/web/dashboard?{planted.query}")
    assert page.status_code == 200, page.text
    html = page.text
    # five charts drawn on the server as accessible SVG, no script, under the workbench's CSP
    assert html.count('<svg role="img" aria-label="') == 5
    assert f"Flow matrix by number of loans, {planted.last:%Y-%m}" in html
    for title in (
        "Roll rates to a worse bucket",
        "Cures and kept promises",
        "Message funnel",
        "Stage inventory",
    ):
        assert f">{title}</h2>" in html
    assert "script-src 'self'" in page.headers["content-security-policy"] and "<script>" not in html
    # each chart's definition one click away, and its numbers under the same filters
    for name in (
        "flow_count",
        "worse_flow",
        "cure_rate",
        "promise_kept_rate",
        "message_funnel",
        "stage_inventory",
    ):
        assert f'href="/web/dashboard/definitions#{name}"' in html
    for key in ("flow-count", "roll-rates", "cure-and-promises", "funnel", "stages", "figures"):
        assert f"/web/dashboard/{key}.csv?from={planted.before:%Y-%m}&amp;to={planted.last:%Y-%m}" in html
    assert f"product={planted.product}" in html
    # the table beside the heat map says what the picture shows: 2 of 3 loans in 1-29 rolled
    assert "66.7%" in html and "Largest roll to a worse bucket" in html
    assert '<a href="/web/dashboard" aria-current="page">Dashboard</a>' in html

    definitions = await supervisor.get("/web/dashboard/definitions")
    assert definitions.status_code == 200
    for name, definition in DEFINITIONS.items():
        assert f'id="{name.value}"' in definitions.text
        assert str(escape(definition.definition[:60])) in definitions.text
    assert 'id="stage_inventory"' in definitions.text and "version 1" in definitions.text


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("supervisor", True), ("compliance", True), ("admin", True), ("agent", False), ("regulator", False)],
)
async def test_only_supervisors_compliance_and_admins_see_the_dashboard(
    sign_in: SignIn, planted: Planted, role: str, allowed: bool
) -> None:
    person = await sign_in(role)
    for path in (
        f"/web/dashboard?{planted.query}",
        "/web/dashboard/definitions",
        f"/web/dashboard/stages.csv?{planted.query}",
    ):
        response = await person.get(path)
        assert response.status_code == (200 if allowed else 403), (path, response.status_code)
    home = await person.get("/web/dashboard/definitions" if allowed else "/web/reports")
    assert ('href="/web/dashboard"' in home.text) is allowed


async def test_each_csv_holds_the_kpis_as_computed_for_the_same_filters(
    sign_in: SignIn, planted: Planted, db: Database
) -> None:
    admin = await sign_in("admin")
    flows = await admin.get(f"/web/dashboard/flow-count.csv?{planted.query}")
    assert flows.status_code == 200 and flows.headers["content-type"].startswith("text/csv")
    assert "attachment" in flows.headers["content-disposition"]
    rows = _csv(flows.text)
    counted = {(r["from_bucket"], r["to_bucket"]): int(r["loans"]) for r in rows if int(r["loans"])}
    assert counted == EXPECTED
    rolled = next(r for r in rows if (r["from_bucket"], r["to_bucket"]) == ("1-29", "30-59"))
    assert rolled["share_of_row"] == "0.6667" and rolled["balance"] == "200000.00"

    # the same figures as the analytics compute them, month by month
    async with db.session() as session:
        board = await kpis.dashboard(
            session,
            start=planted.before,
            end=_month_end(planted.last),
            filters=KpiFilters(product=planted.product),
        )
    [matrix] = [m for m in board.flows if m.period == planted.last]
    for row in rows:
        assert int(row["loans"]) == matrix.loans(row["from_bucket"], row["to_bucket"])  # type: ignore[arg-type]

    cures = _csv((await admin.get(f"/web/dashboard/cure-and-promises.csv?{planted.query}")).text)
    [cure_series] = [s for s in board.series if s.name.value == "cure_rate"]
    [last_cure] = [r for r in cures if r["kpi"] == "cure_rate" and r["month"] == f"{planted.last:%Y-%m}"]
    [point] = [p for p in cure_series.points if p.period == planted.last]
    assert Decimal(last_cure["numerator"]) == point.numerator == 1
    assert Decimal(last_cure["denominator"]) == point.denominator == 6  # 1-29 x3, 30-59 x2, 60-89 x1
    assert last_cure["definition_version"] == str(DEFINITIONS[cure_series.name].version)

    stages = {
        r["stage"]: int(r["open_cases"])
        for r in _csv((await admin.get(f"/web/dashboard/stages.csv?{planted.query}")).text)
    }
    assert stages["early"] == 1 and stages["loss_mitigation"] == 1 and sum(stages.values()) == 2

    figures = _csv((await admin.get(f"/web/dashboard/figures.csv?{planted.query}")).text)
    assert {r["kpi"] for r in figures} >= {"cure_rate", "liquidation_rate", "reg_x_timeliness"}
    for key in CHART_KEYS:
        assert (await admin.get(f"/web/dashboard/{key}.csv?{planted.query}")).status_code == 200


@pytest.mark.parametrize(
    ("query", "field", "reason"),
    [
        ("from=2026-13&to=2026-01", "from", "not a month"),
        ("from=last-year", "from", "String should match pattern"),
        ("to=2999-01", "period", "the range ends in the future"),
        ("from=2020-01&to=2025-01", "period", "more than 36 months"),
        ("from=2025-06&to=2025-01", "period", "ends before it starts"),
        ("pack=atlantis", "pack", "not a pack: choose one of us_mortgage"),
        ("team=%3Cscript%3E", "team", "String should match pattern"),
    ],
)
async def test_a_filter_that_cannot_be_shown_says_why_beside_the_form(
    sign_in: SignIn, query: str, field: str, reason: str
) -> None:
    supervisor = await sign_in("supervisor")
    page = await supervisor.get(f"/web/dashboard?{query}")
    assert page.status_code == 422
    assert 'role="alert"' in page.text and f"<strong>{field}</strong>" in page.text and reason in page.text
    assert 'aria-invalid="true"' in page.text and "<svg" not in page.text.split("<main")[1]
    assert "<script>" not in page.text  # what was sent is shown escaped
    csv_answer = await supervisor.get(f"/web/dashboard/funnel.csv?{query}")
    assert csv_answer.status_code == 422 and reason in csv_answer.text
    missing = await supervisor.get("/web/dashboard/nothing.csv")
    assert missing.status_code == 404 and "flow-count" in missing.text


async def test_the_dashboard_reads_in_dutch_and_swedish(sign_in: SignIn, planted: Planted) -> None:
    dutch = await sign_in("supervisor", Accept_Language="nl")
    page = await dutch.get(f"/web/dashboard?{planted.query}")
    assert page.status_code == 200
    assert "Stroommatrix naar aantal leningen" in page.text and "66,7%" in page.text
    assert ">bij</text>" in page.text and "30-59 naar 60-89, 100,0%" in page.text  # drawn and said in Dutch
    swedish = await sign_in("supervisor", Accept_Language="sv")
    page = await swedish.get(f"/web/dashboard?{planted.query}&measure=balance")
    assert "Flödesmatris efter saldo" in page.text and "Definition: Flöden efter saldo" in page.text


async def test_the_funnel_by_template_downloads_as_csv_under_the_filters(
    sign_in: SignIn, db: Database
) -> None:
    last = (datetime.now(UTC).date().replace(day=1) - timedelta(days=1)).replace(day=1)
    product = f"tpl-{uuid.uuid4().hex[:8]}"
    async with db.session() as session:
        p = Portfolio(session)
        when = datetime.combine(last + timedelta(days=3), time(9), UTC)
        await plant(p, when=when, segment="good", arm="a", product=product)
        await plant(p, when=when + timedelta(days=1), segment="bad", arm="b", product=product)
    query = f"from={last:%Y-%m}&to={last:%Y-%m}&product={product}"
    supervisor = await sign_in("supervisor")
    page = await supervisor.get(f"/web/dashboard?{query}")
    # the link under the funnel chart carries the page's filters
    [href] = re.findall(r'href="([^"]+)" download>Numbers by template as CSV<', page.text)
    assert page.text.index(href) > page.text.index('id="h-funnel"')
    assert href.startswith("/web/dashboard/funnel-templates.csv?") and f"product={product}" in href
    answer = await supervisor.get(html.unescape(href))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert (
        f'filename="kpi-funnel-templates-{last:%Y-%m}-{last:%Y-%m}.csv"'
        in answer.headers["content-disposition"]
    )
    assert answer.text.splitlines()[0] == "template,sent,delivered,opened,clicked,paid"
    stages = ("sent", "delivered", "opened", "clicked", "paid")
    both = {r["template"]: tuple(int(r[s]) for s in stages) for r in _csv(answer.text)}
    assert both == {t: tuple(2 * n for n in c) for t, c in TEMPLATE_COUNTS.items()}
    good = _csv((await supervisor.get(f"/web/dashboard/funnel-templates.csv?{query}&segment=good")).text)
    assert {r["template"]: tuple(int(r[s]) for s in stages) for r in good} == TEMPLATE_COUNTS
    dutch = await sign_in("supervisor", Accept_Language="nl")
    assert "Cijfers per sjabloon als CSV" in (await dutch.get(f"/web/dashboard?{query}")).text
