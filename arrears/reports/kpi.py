"""The monthly KPI report: the dashboard's charts and figures for a month, as a stored report.

Trends run over the twelve months that end with the report's period, the flow matrix and the
message funnel cover the period itself, the stage inventory is taken at its last instant. Each
month's figures read what was recorded by that month's end (arrears.analytics.kpis), so a re-run
of a past month gives the same bytes. Every table carries its chart, drawn in the PDF above it.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from arrears.analytics.charts import Chart, Value
from arrears.analytics.types import KpiFilters, month_start
from arrears.reports import kpi_board
from arrears.reports.common import Cell, Table

TITLE = "Collections KPIs"
TREND_MONTHS = 12


def _earlier(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


def _cell(value: Value) -> Cell:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return str(value)
    return value


def _table(chart: Chart, *, drawn: bool = True) -> Table:
    return Table(
        name=chart.key,
        title=chart.title,
        columns=[c.name for c in chart.columns],
        rows=[[_cell(v) for v in row] for row in chart.rows],
        note=chart.description
        + " Definitions: "
        + ", ".join(f"{name} v{version}" for name, version in _versions(chart))
        + ".",
        chart=chart if drawn else None,
    )


def _versions(chart: Chart) -> list[tuple[str, int]]:
    from arrears.analytics.definitions import DEFINITIONS, KpiName

    out = []
    for name in chart.definitions:
        if name == kpi_board.STAGE_INVENTORY:
            out.append((name, kpi_board.STAGE_INVENTORY_VERSION))
        else:
            out.append((name, DEFINITIONS[KpiName(name)].version))
    return out


async def kpi(session: AsyncSession, start: date, end: date, pack: str | None) -> list[Table]:
    """The KPI report's tables, each with its chart, for the period [start, end] and a pack."""
    first = _earlier(month_start(end), TREND_MONTHS - 1)
    board = await kpi_board.gather(session, start=first, end=end, filters=KpiFilters(pack=pack))
    # the funnel and the flow matrix of the period itself; trends over the twelve months
    in_period = dataclasses.replace(
        board.kpis,
        funnel=[f for f in board.kpis.funnel if f.period >= month_start(start)],
    )
    board = dataclasses.replace(board, kpis=in_period)
    charts = kpi_board.draw(board, gettext=str, measure="count")
    by_balance = kpi_board.chart(board, "flow-balance")
    # the key figures first among the tables; the PDF draws the charts before any table
    return [
        _table(kpi_board.figures(board, gettext=str), drawn=False),
        *(_table(c) for c in charts[:1]),
        _table(by_balance, drawn=False),
        *(_table(c) for c in charts[1:]),
    ]
