"""The KPIs, computed in SQL from the delinquency snapshots, the payments and the audit trail.

Every function takes a session, a range of months (`start` and `end` may be any days in the
first and last month) and filters, and returns typed results (arrears.analytics.types). A
month's figures read what was recorded by the end of that month.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from arrears.analytics.types import ALL, FlowMatrix, Funnel, KpiFilters, KpiSeries


@dataclass(frozen=True, slots=True)
class Dashboard:
    """Every KPI over one range and one set of filters: what the dashboard draws."""

    start: date
    end: date
    filters: KpiFilters
    flows: list[FlowMatrix]
    series: list[KpiSeries]
    worse_flows: list[KpiSeries]
    timeliness: list[KpiSeries]
    funnel: list[Funnel]
    cost_per_unit: KpiSeries | None = None
    extra: dict[str, str] = field(default_factory=dict)


async def flow_matrices(
    session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL
) -> list[FlowMatrix]:
    """The flow matrix of each month, by count and by balance (flow_count, flow_balance)."""
    raise NotImplementedError


async def cure_rate(session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL) -> KpiSeries:
    """Delinquent loans at a month's start that are current at its end (cure_rate)."""
    raise NotImplementedError


async def redefault_rate(
    session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL
) -> KpiSeries:
    """Loans cured in a month that are 30+ days past due within 12 months (redefault_12m)."""
    raise NotImplementedError


async def promise_rate(
    session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL
) -> KpiSeries:
    """Promises to pay over right-party contacts (promise_rate)."""
    raise NotImplementedError


async def promise_kept_rate(
    session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL
) -> KpiSeries:
    """Promises checked in the month that were kept (promise_kept_rate)."""
    raise NotImplementedError


async def right_party_contact_rate(
    session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL
) -> KpiSeries:
    """Contacts that reached the borrower over attempts (right_party_contact_rate)."""
    raise NotImplementedError


async def contact_rate(
    session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL
) -> KpiSeries:
    """Contacts that reached a person over attempts (contact_rate)."""
    raise NotImplementedError


async def liquidation_rate(
    session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL
) -> KpiSeries:
    """Payments on delinquent loans over their arrears at the month's start (liquidation_rate)."""
    raise NotImplementedError


async def recovery_rate(
    session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL
) -> KpiSeries:
    """Payments after charge-off or settlement over the balance closed (recovery_rate)."""
    raise NotImplementedError


async def days_to_cure(
    session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL
) -> KpiSeries:
    """Mean days from the oldest unpaid instalment to the cure (days_to_cure)."""
    raise NotImplementedError


async def worse_flows(
    session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL
) -> list[KpiSeries]:
    """Per origin bucket, the share rolling to a worse bucket (worse_flow), one series each."""
    raise NotImplementedError


async def pull_through(
    session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL
) -> KpiSeries:
    """Cases entering loss mitigation that closed with a foreclosure alternative (pull_through)."""
    raise NotImplementedError


async def reg_x_timeliness(
    session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL
) -> list[KpiSeries]:
    """Reg X deadlines met: series 'acknowledgment', 'evaluation' and 'all' (reg_x_timeliness)."""
    raise NotImplementedError


async def message_funnel(
    session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL
) -> list[Funnel]:
    """Sent, delivered, opened, clicked and paid messages per month (message_funnel)."""
    raise NotImplementedError


async def cost_per_unit_collected(
    session: AsyncSession,
    *,
    start: date,
    end: date,
    costs: Mapping[str, Decimal],
    filters: KpiFilters = ALL,
) -> KpiSeries | None:
    """Contact costs over payments collected (cost_per_unit_collected); None without costs."""
    raise NotImplementedError


async def dashboard(
    session: AsyncSession,
    *,
    start: date,
    end: date,
    filters: KpiFilters = ALL,
    costs: Mapping[str, Decimal] | None = None,
) -> Dashboard:
    """Every KPI over the range, as the dashboard shows them."""
    raise NotImplementedError


async def store_figures(session: AsyncSession, board: Dashboard) -> int:
    """Store every figure of a dashboard in kpi_figures with its definition's version; returns
    how many rows were written or replaced."""
    raise NotImplementedError
