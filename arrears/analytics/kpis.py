"""The KPIs, computed in SQL from the delinquency snapshots, the payments and the audit trail.

Every function takes a session, a range of months (`start` and `end` may be any days in the
first and last month) and filters, and returns typed results (arrears.analytics.types). The
figures read what was recorded by the end of the range's last day (UTC), so a past range gives
the same figures whenever it is computed. Money figures add amounts as recorded: filter by pack
for a figure in one currency.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from arrears.analytics import sql, store
from arrears.analytics.definitions import DEFINITIONS, KpiName
from arrears.analytics.types import (
    ALL,
    BUCKETS,
    EXITED,
    Bucket,
    FlowCell,
    FlowMatrix,
    Funnel,
    FunnelCount,
    FunnelStage,
    KpiFilters,
    KpiPoint,
    KpiSeries,
    TemplateFunnel,
    month_start,
    months,
)
from arrears.analytics.types import (
    Dashboard as Dashboard,
)
from models.audit_actions import ACKNOWLEDGMENT_KEY_LIKE
from models.engagement import EngagementKind

ZERO = Decimal(0)


def _cutoff(day: date) -> datetime:
    return datetime.combine(day, time.max, UTC)


def _at(day: date) -> datetime:
    return datetime.combine(day, time.min, UTC)


async def _rows(session: AsyncSession, statement: Any, values: dict[str, Any]) -> list[Any]:
    connection = await session.connection()
    return list((await connection.execute(statement, values)).all())


def _bounds(start: date, end: date, filters: KpiFilters) -> dict[str, Any]:
    first = months(start, end)[0]
    return sql.params(
        filters, start=first, end=month_start(end), start_at=_at(first), t=_cutoff(end), end_day=end
    )


def _series(
    name: KpiName,
    filters: KpiFilters,
    periods: list[date],
    parts: Mapping[date, tuple[Decimal, Decimal]],
    *,
    series: str = "",
    complete: Callable[[date], bool] = lambda _: True,
) -> KpiSeries:
    """A series of numerator / denominator per month; months with nothing counted are 0 / 0."""
    d = DEFINITIONS[name]
    points = []
    for p in periods:
        num, den = parts.get(p, (ZERO, ZERO))
        points.append(KpiPoint(p, num / den if den else None, Decimal(num), Decimal(den), complete(p)))
    return KpiSeries(name, d.version, d.unit, filters, points, series)


# ------------------------------------------------------------------------------ snapshots
@dataclass(frozen=True, slots=True)
class _SnapshotFigures:
    flows: list[FlowMatrix]
    delinquent_arrears: dict[date, Decimal]
    delinquent_paid: dict[date, Decimal]
    cured: dict[date, int]
    redefaulted: dict[date, int]


async def snapshot_figures(
    session: AsyncSession, start: date, end: date, filters: KpiFilters
) -> _SnapshotFigures:
    """The snapshots' figures for the range: flows, arrears, cures and re-defaults, payments."""
    periods = months(start, end)
    wanted = set(periods)
    values = _bounds(start, end, filters)
    values = {**values, "lo": _previous(periods[0]), "hi": end}
    rows = await _rows(session, await _flow_statement(session, end, values["t"], filters), values)
    last = (await _rows(session, sql.last_reported(), values))[0][0]
    cells: dict[date, list[FlowCell]] = defaultdict(list)
    arrears: dict[date, Decimal] = defaultdict(Decimal)
    paid: dict[date, Decimal] = defaultdict(Decimal)
    cured: dict[date, int] = defaultdict(int)
    redefaulted: dict[date, int] = defaultdict(int)
    for r in rows:
        period = _month_of_key(r.month + 1)  # the flow's month: the one after its origin's
        dest = EXITED if r.dest == sql.EXITED_CODE else BUCKETS[r.dest].value
        if period not in wanted or (dest == EXITED and (last is None or period > last)):
            continue  # a month outside the range, or an exit from a month not reported yet
        origin = BUCKETS[r.origin]
        cells[period].append(FlowCell(origin, dest, int(r.loans), Decimal(r.balance or 0)))
        if origin is not Bucket.CURRENT:
            arrears[period] += Decimal(r.arrears or 0)
            if dest == Bucket.CURRENT.value:
                cured[period] += int(r.loans)
                redefaulted[period] += int(r.redefaulted)
    for r in await _rows(session, sql.delinquent_paid(filters), values):
        paid[r.period] += Decimal(r.amount)
    version = DEFINITIONS[KpiName.FLOW_COUNT].version
    flows = [
        FlowMatrix(p, sorted(cells.get(p, []), key=lambda c: (c.from_bucket.order, c.to_bucket)), version)
        for p in periods
    ]
    return _SnapshotFigures(flows, arrears, paid, cured, redefaulted)


async def _flow_statement(session: AsyncSession, end: date, t: datetime, filters: KpiFilters) -> Any:
    """The month-ends the database keeps answer for a range ending on a month's last day, seen
    from a moment after every month's end it holds arrived (the dashboard, this month's report);
    a view from an earlier moment pairs the snapshots known then."""
    last_day = end + timedelta(days=1)
    newest = (await _rows(session, sql.month_ends_newest(), {}))[0][0]
    if last_day.day == 1 and (newest is None or newest <= t):
        return sql.month_ends(filters)
    return sql.snapshots(filters)


def _month_of_key(key: int) -> date:
    """The first day of the month SQL's MONTH_KEY (year * 12 + month) names."""
    return date((key - 1) // 12, (key - 1) % 12 + 1, 1)


def _previous(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def _cure(figures: _SnapshotFigures, filters: KpiFilters) -> KpiSeries:
    parts = {}
    for m in figures.flows:
        delinquent = sum(m.row_loans(b) for b in BUCKETS if b is not Bucket.CURRENT)
        parts[m.period] = (Decimal(figures.cured.get(m.period, 0)), Decimal(delinquent))
    return _series(KpiName.CURE_RATE, filters, [m.period for m in figures.flows], parts)


def _redefault(figures: _SnapshotFigures, filters: KpiFilters, end: date) -> KpiSeries:
    last = month_start(end)
    parts = {
        m.period: (Decimal(figures.redefaulted.get(m.period, 0)), Decimal(figures.cured.get(m.period, 0)))
        for m in figures.flows
    }

    def complete(p: date) -> bool:
        return date(p.year + 1, p.month, 1) <= last

    return _series(
        KpiName.REDEFAULT_12M, filters, [m.period for m in figures.flows], parts, complete=complete
    )


def _worse(figures: _SnapshotFigures, filters: KpiFilters) -> list[KpiSeries]:
    out = []
    for origin in BUCKETS:
        parts = {}
        for m in figures.flows:
            worse = sum(
                c.loans
                for c in m.cells
                if c.from_bucket == origin
                and c.to_bucket != EXITED
                and Bucket(c.to_bucket).order > origin.order
            )
            parts[m.period] = (Decimal(worse), Decimal(m.row_loans(origin)))
        out.append(
            _series(
                KpiName.WORSE_FLOW, filters, [m.period for m in figures.flows], parts, series=origin.value
            )
        )
    return out


def _liquidation(figures: _SnapshotFigures, filters: KpiFilters) -> KpiSeries:
    parts = {
        m.period: (
            figures.delinquent_paid.get(m.period, ZERO),
            figures.delinquent_arrears.get(m.period, ZERO),
        )
        for m in figures.flows
    }
    return _series(KpiName.LIQUIDATION_RATE, filters, [m.period for m in figures.flows], parts)


async def flow_matrices(
    session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL
) -> list[FlowMatrix]:
    """The flow matrix of each month, by count and by balance (flow_count, flow_balance)."""
    return (await snapshot_figures(session, start, end, filters)).flows


async def cure_rate(session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL) -> KpiSeries:
    """Delinquent loans at a month's start that are current at its end (cure_rate)."""
    return _cure(await snapshot_figures(session, start, end, filters), filters)


async def redefault_rate(
    session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL
) -> KpiSeries:
    """Loans cured in a month that are 30+ days past due within 12 months (redefault_12m)."""
    return _redefault(await snapshot_figures(session, start, end, filters), filters, end)


async def worse_flows(
    session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL
) -> list[KpiSeries]:
    """Per origin bucket, the share rolling to a worse bucket (worse_flow), one series each."""
    return _worse(await snapshot_figures(session, start, end, filters), filters)


async def liquidation_rate(
    session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL
) -> KpiSeries:
    """Payments on delinquent loans over their arrears at the month's start (liquidation_rate)."""
    return _liquidation(await snapshot_figures(session, start, end, filters), filters)


# ---------------------------------------------------------------------------- audit trail
async def activity_rows(
    session: AsyncSession, start: date, end: date, filters: KpiFilters
) -> dict[date, Any]:
    """The audit trail's contacts and promises per month."""
    rows = await _rows(session, sql.activity(filters), _bounds(start, end, filters))
    return {r.period: r for r in rows}


def _ratio(
    name: KpiName,
    rows: Mapping[date, Any],
    periods: list[date],
    filters: KpiFilters,
    num: str,
    den: Callable[[Any], int],
) -> KpiSeries:
    parts = {
        p: (Decimal(sum(getattr(r, n) for n in num.split("+"))), Decimal(den(r))) for p, r in rows.items()
    }
    return _series(name, filters, periods, parts)


def _activity_series(rows: Mapping[date, Any], periods: list[date], filters: KpiFilters) -> list[KpiSeries]:
    return [
        _ratio(KpiName.PROMISE_RATE, rows, periods, filters, "promises", lambda r: r.reached),
        _ratio(KpiName.PROMISE_KEPT_RATE, rows, periods, filters, "kept", lambda r: r.kept + r.broken),
        _ratio(KpiName.RIGHT_PARTY_CONTACT_RATE, rows, periods, filters, "reached", lambda r: r.attempts),
        _ratio(KpiName.CONTACT_RATE, rows, periods, filters, "reached+wrong_party", lambda r: r.attempts),
    ]


async def promise_rate(
    session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL
) -> KpiSeries:
    """Promises to pay over right-party contacts (promise_rate)."""
    return _activity_series(await activity_rows(session, start, end, filters), months(start, end), filters)[0]


async def promise_kept_rate(
    session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL
) -> KpiSeries:
    """Promises checked in the month that were kept (promise_kept_rate)."""
    return _activity_series(await activity_rows(session, start, end, filters), months(start, end), filters)[1]


async def right_party_contact_rate(
    session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL
) -> KpiSeries:
    """Contacts that reached the borrower over attempts (right_party_contact_rate)."""
    return _activity_series(await activity_rows(session, start, end, filters), months(start, end), filters)[2]


async def contact_rate(
    session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL
) -> KpiSeries:
    """Contacts that reached a person over attempts (contact_rate)."""
    return _activity_series(await activity_rows(session, start, end, filters), months(start, end), filters)[3]


async def recovery_rate(
    session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL
) -> KpiSeries:
    """Payments after charge-off or settlement over the balance closed (recovery_rate)."""
    rows = await _rows(session, sql.recoveries(filters), _bounds(start, end, filters))
    paid = {r.period: Decimal(r.amount) for r in rows if r.what == "paid"}
    closed = sorted((r.period, Decimal(r.amount)) for r in rows if r.what == "closed")
    parts = {}
    for p in months(start, end):
        exposure = sum((a for m, a in closed if m < p), ZERO)  # closed by the month's start
        parts[p] = (paid.get(p, ZERO), exposure)
    return _series(KpiName.RECOVERY_RATE, filters, months(start, end), parts)


async def days_to_cure(
    session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL
) -> KpiSeries:
    """Mean days from the oldest unpaid instalment to the cure (days_to_cure)."""
    rows = await _rows(session, sql.days_to_cure(filters), _bounds(start, end, filters))
    parts = {r.period: (Decimal(r.days), Decimal(r.cured)) for r in rows}
    return _series(KpiName.DAYS_TO_CURE, filters, months(start, end), parts)


async def pull_through(
    session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL
) -> KpiSeries:
    """Cases entering loss mitigation that closed with a foreclosure alternative (pull_through)."""
    rows = await _rows(session, sql.pull_through(filters), _bounds(start, end, filters))
    parts = {r.period: (Decimal(r.alternatives), Decimal(r.entered)) for r in rows}
    return _series(KpiName.PULL_THROUGH, filters, months(start, end), parts)


async def reg_x_timeliness(
    session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL
) -> list[KpiSeries]:
    """Reg X deadlines met: series 'acknowledgment', 'evaluation' and 'all' (reg_x_timeliness)."""
    rows = await _rows(
        session,
        sql.timeliness(filters),
        {**_bounds(start, end, filters), "ack_like": ACKNOWLEDGMENT_KEY_LIKE},
    )
    periods = months(start, end)
    out = []
    total: dict[date, tuple[Decimal, Decimal]] = defaultdict(lambda: (ZERO, ZERO))
    for series in ("acknowledgment", "evaluation"):
        parts = {r.period: (Decimal(r.met), Decimal(r.decided)) for r in rows if r.series == series}
        for p, (met, decided) in parts.items():
            total[p] = (total[p][0] + met, total[p][1] + decided)
        out.append(_series(KpiName.REG_X_TIMELINESS, filters, periods, parts, series=series))
    out.append(_series(KpiName.REG_X_TIMELINESS, filters, periods, total, series="all"))
    return out


# ------------------------------------------------------------------------------- messages
async def _has_engagement(session: AsyncSession) -> bool:
    connection = await session.connection()
    found = await connection.execute(
        text(
            "SELECT to_regclass('engagement_events') IS NOT NULL AND EXISTS (SELECT 1 FROM engagement_events)"
        )
    )
    return bool(found.scalar_one())


async def message_funnel(
    session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL
) -> list[Funnel]:
    """Sent, delivered, opened, clicked and paid messages per month (message_funnel)."""
    engagement = await _has_engagement(session)
    totals: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    if engagement:
        for r in await _rows(session, sql.funnel_engaged(filters), _bounds(start, end, filters)):
            totals[r.period][_STAGE_OF_KIND.get(r.stage, r.stage)] += int(r.n)
    else:
        for r in await _rows(session, sql.funnel(filters, engagement=False), _bounds(start, end, filters)):
            for stage in ("sent", "delivered", "opened", "clicked", "paid"):
                totals[r.period][stage] += int(getattr(r, stage))
    source = "engagement_events" if engagement else "messages"
    return [
        Funnel(
            p,
            [
                FunnelCount(stage, totals[p][stage.value], engagement or stage not in _UNKNOWN_WITHOUT_EVENTS)
                for stage in FunnelStage
            ],
            source,
        )
        for p in months(start, end)
    ]


async def message_funnel_by_template(
    session: AsyncSession, *, start: date, end: date, filters: KpiFilters = ALL
) -> list[TemplateFunnel]:
    """The message funnel over the whole range per message template (the template of the
    message's document), counted as message_funnel counts a month, in template order."""
    engagement = await _has_engagement(session)
    source = "engagement_events" if engagement else "messages"
    rows = await _rows(
        session, sql.funnel_by_template(filters, engagement=engagement), _bounds(start, end, filters)
    )
    return [
        TemplateFunnel(
            r.template, int(r.sent), int(r.delivered), int(r.opened), int(r.clicked), int(r.paid), source
        )
        for r in rows
    ]


_UNKNOWN_WITHOUT_EVENTS = frozenset({FunnelStage.OPENED, FunnelStage.CLICKED})
# the engagement event that puts a message in each stage after sent
_STAGE_OF_KIND = {
    EngagementKind.DELIVERED.value: FunnelStage.DELIVERED.value,
    EngagementKind.PAGE_VIEWED.value: FunnelStage.OPENED.value,
    EngagementKind.LINK_CLICKED.value: FunnelStage.CLICKED.value,
    EngagementKind.PAYMENT_SUCCEEDED.value: FunnelStage.PAID.value,
}


async def cost_per_unit_collected(
    session: AsyncSession,
    *,
    start: date,
    end: date,
    costs: Mapping[str, Decimal],
    filters: KpiFilters = ALL,
) -> KpiSeries | None:
    """Contact costs over payments collected (cost_per_unit_collected); None without costs.

    `costs` is the cost of one item by channel ("email", "sms", "letter", "call"), or by pack and
    channel ("us_mortgage:call"), which wins over the channel's."""
    if not costs:
        return None
    rows = await _rows(session, sql.collected(filters), _bounds(start, end, filters))
    parts: dict[date, tuple[Decimal, Decimal]] = defaultdict(lambda: (ZERO, ZERO))
    for r in rows:
        cost, collected = parts[r.period]
        if r.what == "paid":
            parts[r.period] = (cost, collected + Decimal(r.amount))
        else:
            each = costs.get(f"{r.pack}:{r.what}", costs.get(r.what, ZERO))
            parts[r.period] = (cost + each * Decimal(r.amount), collected)
    return _series(KpiName.COST_PER_UNIT_COLLECTED, filters, months(start, end), parts)


# ------------------------------------------------------------------------------ everything
async def dashboard(
    session: AsyncSession,
    *,
    start: date,
    end: date,
    filters: KpiFilters = ALL,
    costs: Mapping[str, Decimal] | None = None,
) -> Dashboard:
    """Every KPI over the range, as the dashboard shows them: each source is read once, one after
    another on this session (`side_by_side.dashboard` reads them at once)."""
    window: dict[str, Any] = {"start": start, "end": end, "filters": filters}
    return assemble(
        start=start,
        end=end,
        filters=filters,
        periods=months(start, end),
        figures=await snapshot_figures(session, start, end, filters),
        activity=await activity_rows(session, start, end, filters),
        later=(
            await recovery_rate(session, **window),
            await days_to_cure(session, **window),
            await pull_through(session, **window),
        ),
        timeliness=await reg_x_timeliness(session, **window),
        funnel=await message_funnel(session, **window),
        cost=await cost_per_unit_collected(session, costs=costs or {}, **window),
    )


def assemble(
    *,
    start: date,
    end: date,
    filters: KpiFilters,
    periods: list[date],
    figures: _SnapshotFigures,
    activity: Mapping[date, Any],
    later: tuple[KpiSeries, KpiSeries, KpiSeries],
    timeliness: list[KpiSeries],
    funnel: list[Funnel],
    cost: KpiSeries | None,
) -> Dashboard:
    """The dashboard from what its sources answered (`later`: recovery, days to cure, pull-through)."""
    return Dashboard(
        start=start,
        end=end,
        filters=filters,
        flows=figures.flows,
        series=[
            _cure(figures, filters),
            _redefault(figures, filters, end),
            *_activity_series(activity, periods, filters),
            _liquidation(figures, filters),
            *later,
        ],
        worse_flows=_worse(figures, filters),
        timeliness=timeliness,
        funnel=funnel,
        cost_per_unit=cost,
    )


async def store_figures(session: AsyncSession, board: Dashboard) -> int:
    """Store every figure of a dashboard in kpi_figures with its definition's version; returns
    how many rows were written or replaced."""
    return await store.store(session, board)
