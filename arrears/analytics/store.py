"""Stores a dashboard's figures in kpi_figures, each with its definition's version."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from arrears.analytics.definitions import DEFINITIONS, KpiName
from arrears.analytics.types import Dashboard, KpiSeries
from models.base import utcnow
from models.kpis import KpiFigure


def _figure(
    name: KpiName,
    period: date,
    series: str,
    value: Decimal | None,
    num: Decimal,
    den: Decimal,
    complete: bool = True,
) -> dict[str, Any]:
    return {
        "kpi": name.value,
        "version": DEFINITIONS[name].version,
        "period": period,
        "series": series,
        "value": value,
        "numerator": num,
        "denominator": den,
        "complete": complete,
    }


def _of_series(s: KpiSeries) -> Iterator[dict[str, Any]]:
    for p in s.points:
        yield _figure(s.name, p.period, s.series, p.value, p.numerator, p.denominator, p.complete)


def figures(board: Dashboard) -> Iterator[dict[str, Any]]:
    """Every figure of a dashboard, as kpi_figures rows without their filters and time."""
    for m in board.flows:
        for c in m.cells:
            cell = f"{c.from_bucket.value}>{c.to_bucket}"
            row_loans, row_balance = m.row_loans(c.from_bucket), m.row_balance(c.from_bucket)
            yield _figure(
                KpiName.FLOW_COUNT,
                m.period,
                cell,
                m.rate(c.from_bucket, c.to_bucket),
                Decimal(c.loans),
                Decimal(row_loans),
            )
            yield _figure(
                KpiName.FLOW_BALANCE,
                m.period,
                cell,
                c.balance / row_balance if row_balance else None,
                c.balance,
                row_balance,
            )
    for s in (*board.series, *board.worse_flows, *board.timeliness):
        yield from _of_series(s)
    if board.cost_per_unit is not None:
        yield from _of_series(board.cost_per_unit)
    for f in board.funnel:
        sent = f.count(f.stages[0].stage)
        for stage in f.stages:
            if stage.known:
                n = Decimal(stage.messages)
                yield _figure(
                    KpiName.MESSAGE_FUNNEL,
                    f.period,
                    stage.stage.value,
                    n / sent if sent else None,
                    n,
                    Decimal(sent),
                )


async def store(session: AsyncSession, board: Dashboard) -> int:
    """Write (or replace) every figure of the dashboard under its filters; returns the count."""
    rows = [{**r, "filters": board.filters.key(), "computed_at": utcnow()} for r in figures(board)]
    table = KpiFigure.metadata.tables["kpi_figures"]
    connection = await session.connection()
    for i in range(0, len(rows), 1_000):
        statement = insert(table).values(rows[i : i + 1_000])
        await connection.execute(
            statement.on_conflict_do_update(
                constraint="uq_kpi_figures_kpi_version_period_filters_series",
                set_={
                    k: statement.excluded[k]
                    for k in ("value", "numerator", "denominator", "complete", "computed_at")
                },
            )
        )
    return len(rows)
