"""The KPI dashboard: the collections KPIs as charts for supervisors, compliance officers and
admins, each with its definition one click away and the numbers behind it as CSV.

The page is thin: it reads its filters, asks the KPI board for every figure in one round of
queries (`arrears.reports.kpi_board`), and draws the charts the monthly KPI report draws.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from api.access import KPI_READERS
from api.deps import DatabaseDep, SettingsDep
from api.web import i18n
from api.web.i18n import N_
from api.web.pages import User, allow
from api.web.render import language_of, page
from arrears import spreadsheet
from arrears.analytics.charts import Chart
from arrears.analytics.definitions import DEFINITIONS
from arrears.analytics.types import KpiFilters, months, next_month
from arrears.reports import kpi_board
from models.enums import PolicyPack, Segment

router = APIRouter(prefix="/web/dashboard", include_in_schema=False)

MAX_MONTHS = 36
NAME = r"^[A-Za-z0-9_.\-]*$"


class DashboardFilters(BaseModel):
    """The dashboard's filters as the form sends them: months as YYYY-MM, empty for all."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    start: str = Field(default="", alias="from", pattern=r"^(\d{4}-\d{2})?$")
    end: str = Field(default="", alias="to", pattern=r"^(\d{4}-\d{2})?$")
    pack: str = ""
    segment: str = ""
    product: str = Field(default="", max_length=64, pattern=NAME)
    team: str = Field(default="", max_length=64, pattern=NAME)
    arm: str = Field(default="", max_length=64, pattern=NAME)
    measure: Literal["count", "balance"] = "count"

    @field_validator("start", "end")
    @classmethod
    def _a_month(cls, value: str) -> str:
        if value:
            try:
                date.fromisoformat(value + "-01")
            except ValueError:
                raise ValueError("not a month: use YYYY-MM") from None
        return value

    @field_validator("pack")
    @classmethod
    def _a_pack(cls, value: str) -> str:
        return _one_of(value, [p.value for p in PolicyPack], "pack")

    @field_validator("segment")
    @classmethod
    def _a_segment(cls, value: str) -> str:
        return _one_of(value, [s.value for s in Segment], "segment")

    @model_validator(mode="after")
    def _a_range(self) -> DashboardFilters:
        first, last = self.months()
        if last < first:
            raise ValueError("the range ends before it starts")
        if last >= next_month(this_month()):
            raise ValueError("the range ends in the future")
        if len(months(first, last)) > MAX_MONTHS:
            raise ValueError(f"the range spans more than {MAX_MONTHS} months")
        return self

    def months(self) -> tuple[date, date]:
        """The first and last month (first days); by default the twelve months to the last one
        complete (this month's flows are known only at its end)."""
        last = date.fromisoformat(self.end + "-01") if self.end else _back(this_month(), 1)
        first = date.fromisoformat(self.start + "-01") if self.start else _back(last, 11)
        return first, last

    def kpi_filters(self) -> KpiFilters:
        return KpiFilters(
            pack=self.pack or None,
            segment=self.segment or None,
            product=self.product or None,
            team=self.team or None,
            strategy_arm=self.arm or None,
        )

    def query(self, **override: str) -> str:
        """These filters as a query string (for the CSV links), without the empty ones."""
        first, last = self.months()
        values = {
            "from": first.strftime("%Y-%m"),
            "to": last.strftime("%Y-%m"),
            "pack": self.pack,
            "segment": self.segment,
            "product": self.product,
            "team": self.team,
            "arm": self.arm,
            "measure": self.measure,
            **override,
        }
        return urlencode({k: v for k, v in values.items() if v})


def _one_of(value: str, known: list[str], what: str) -> str:
    if value and value not in known:
        raise ValueError(f"not a {what}: choose one of {', '.join(known)}")
    return value


def this_month() -> date:
    return datetime.now(UTC).date().replace(day=1)


def _back(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


def _filters(request: Request) -> DashboardFilters:
    """The filters of the request; `ValidationError` says which one is wrong and why."""
    return DashboardFilters.model_validate(dict(request.query_params))


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    """(field, reason) for each wrong filter, in the form's words."""
    out = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "period"
        reason = str(error["msg"]).removeprefix("Value error, ")
        out.append((field, reason))
    return out


@dataclass(frozen=True, slots=True)
class Shown:
    """A chart as the page shows it: the chart, its SVG in the reader's language, its CSV link."""

    chart: Chart
    svg: str
    csv: str
    table: list[list[tuple[str, bool]]]  # each cell as the reader reads it, and whether a number


def _shown(chart: Chart, svg: str, csv: str, language: str, gettext: Callable[[str], str]) -> Shown:
    """The chart with its numbers formatted once here (the sandboxed template only prints them)."""
    names = [c.name for c in chart.columns]
    unit = names.index("unit") if "unit" in names else None
    table = [
        [
            (kpi_board.word(str(value), gettext) if value else i18n.NONE, False)
            if column.kind == "text"
            else (
                _cell(value, column.kind, row[unit] if unit is not None else None, language),
                column.kind != "month",
            )
            for column, value in zip(chart.columns, row, strict=True)
        ]
        for row in chart.rows
    ]
    return Shown(chart, svg, csv, table)


def _month_label(value: object, language: str) -> str:
    if not isinstance(value, str) or len(value) != 7:
        return i18n.NONE
    from babel.dates import format_date

    return format_date(date.fromisoformat(value + "-01"), format="MMM y", locale=i18n.locale(language))


def _cell(value: object, kind: str, unit: object, language: str) -> str:
    """A figure as the reader reads it: shares in percent, money and counts in their locale."""
    from babel.numbers import format_decimal, format_percent

    locale = i18n.locale(language)
    if value is None or value == "":
        return i18n.NONE
    if kind == "month":
        return _month_label(value, language)
    number = Decimal(str(value))
    if kind == "figure":
        kind = {"ratio": "ratio", "days": "days", "money": "money", "money_per_money": "per"}.get(
            str(unit), "count"
        )
    if kind == "ratio":
        return format_percent(number, "#,##0.0%", locale=locale)
    patterns = {"days": "#,##0.0", "money": "#,##0.00", "per": "#,##0.0000"}
    return format_decimal(number, patterns.get(kind, "#,##0.####"), locale=locale)
    return str(value)


@router.get("", summary="The KPI dashboard")
async def dashboard(request: Request, user: User, db: DatabaseDep, settings: SettingsDep) -> Response:
    """Every KPI chart over the chosen months and filters; a wrong filter is shown beside the form."""
    allow(user, KPI_READERS)
    language = language_of(request, user)
    try:
        chosen = _filters(request)
    except ValidationError as exc:
        return page(
            request,
            "dashboard.html.j2",
            user=user,
            title=N_("KPI dashboard"),
            status=422,
            form=_form_values(request),
            problems=_problems(exc),
            shown=[],
            figures=None,
            cell=lambda v, k, u=None: _cell(v, k, u, language),
            label=lambda name: kpi_board.label(name, i18n.translations(language).gettext),
            packs=[p.value for p in PolicyPack],
            segments=[s.value for s in Segment],
            as_of="",
        )
    first, last = chosen.months()
    board = await kpi_board.load(
        db, start=first, end=last, filters=chosen.kpi_filters(), costs=settings.collection_costs
    )
    gettext = i18n.translations(language).gettext
    drawn = kpi_board.draw(board, gettext=gettext, measure=chosen.measure, language=language)
    shown = [
        _shown(
            chart,
            chart.svg(language=language),
            f"/web/dashboard/{chart.key}.csv?{chosen.query()}",
            language,
            gettext,
        )
        for chart in drawn
    ]
    figures = kpi_board.figures(board, gettext=gettext)
    return page(
        request,
        "dashboard.html.j2",
        user=user,
        title=N_("KPI dashboard"),
        form=_form_values(request, chosen),
        problems=[],
        shown=shown,
        figures=Shown(figures, "", f"/web/dashboard/{figures.key}.csv?{chosen.query()}", []),
        by_template_csv=f"/web/dashboard/{kpi_board.FUNNEL_BY_TEMPLATE}.csv?{chosen.query()}",
        cell=lambda v, k, u=None: _cell(v, k, u, language),
        label=lambda name: kpi_board.label(name, gettext),
        packs=[p.value for p in PolicyPack],
        segments=[s.value for s in Segment],
        as_of=last.strftime("%Y-%m"),
    )


def _form_values(request: Request, chosen: DashboardFilters | None = None) -> dict[str, str]:
    """What the form shows: the chosen filters, or what was sent when it was wrong."""
    sent = {k: v[:64] for k, v in request.query_params.items()}
    if chosen is None:
        return {
            k: sent.get(k, "") for k in ("from", "to", "pack", "segment", "product", "team", "arm", "measure")
        }
    first, last = chosen.months()
    return {
        "from": first.strftime("%Y-%m"),
        "to": last.strftime("%Y-%m"),
        "pack": chosen.pack,
        "segment": chosen.segment,
        "product": chosen.product,
        "team": chosen.team,
        "arm": chosen.arm,
        "measure": chosen.measure,
    }


@router.get("/definitions", summary="The KPIs' definitions")
async def definitions(request: Request, user: User) -> Response:
    """Every KPI's written definition and its version, each under an anchor of its name."""
    allow(user, KPI_READERS)
    listed = [
        (d.name.value, d.title, d.version, d.unit.value, d.definition) for d in DEFINITIONS.values()
    ] + [
        (
            kpi_board.STAGE_INVENTORY,
            kpi_board.STAGE_INVENTORY_TITLE,
            kpi_board.STAGE_INVENTORY_VERSION,
            "count",
            kpi_board.STAGE_INVENTORY_TEXT,
        )
    ]
    gettext = i18n.translations(language_of(request, user)).gettext
    return page(
        request,
        "dashboard_definitions.html.j2",
        user=user,
        title=N_("KPI definitions"),
        listed=listed,
        label=lambda name: kpi_board.label(name, gettext),
    )


@router.get("/{key}.csv", summary="The numbers behind one chart")
async def chart_csv(
    request: Request, key: str, user: User, db: DatabaseDep, settings: SettingsDep
) -> Response:
    """One chart's numbers under the same filters as the page, as CSV (machine names, raw values)."""
    allow(user, KPI_READERS)
    if key not in kpi_board.CHART_KEYS:
        return Response(
            f"no chart {key!r}; charts: {', '.join(kpi_board.CHART_KEYS)}\n",
            status_code=404,
            media_type="text/plain",
        )
    try:
        chosen = _filters(request)
    except ValidationError as exc:
        problems = "; ".join(f"{field}: {reason}" for field, reason in _problems(exc))
        return Response(f"filters not understood: {problems}\n", status_code=422, media_type="text/plain")
    first, last = chosen.months()
    chart = await kpi_board.load_chart(
        db, key, start=first, end=last, filters=chosen.kpi_filters(), costs=settings.collection_costs
    )
    out = io.StringIO()
    writer = spreadsheet.writer(out)
    writer.writerow([c.name for c in chart.columns])
    for row in chart.rows:
        writer.writerow(["" if v is None else v for v in row])
    name = f"kpi-{key}-{first.strftime('%Y-%m')}-{last.strftime('%Y-%m')}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
