"""The KPI board: every KPI over a range of months and a set of filters, read in one round of
queries, and the charts drawn from it. The workbench's dashboard and the monthly KPI report both
read it, so the page and the PDF show the same figures and the same pictures.

The analytics (`arrears.analytics.kpis.dashboard`) compute the KPIs; the stage inventory, which
they do not keep, is counted here from the cases and the audit trail as of the range's end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from arrears.analytics import charts, kpis, side_by_side
from arrears.analytics.charts import N_, Chart, Count
from arrears.analytics.definitions import DEFINITIONS, KpiName
from arrears.analytics.types import (
    BUCKETS,
    EXITED,
    FLOW_TO,
    Dashboard,
    FlowMatrix,
    Funnel,
    FunnelStage,
    KpiFilters,
    KpiSeries,
    TemplateFunnel,
    month_start,
    next_month,
)
from arrears.db import Database
from arrears.reports.common import cutoff, execute
from models.audit_actions import AuditAction
from models.enums import CaseStage

Translate = Callable[[str], str]

# The stage inventory's definition (the analytics keep theirs in arrears.analytics.definitions).
STAGE_INVENTORY = "stage_inventory"
STAGE_INVENTORY_VERSION = 1
STAGE_INVENTORY_TITLE = "Stage inventory"
STAGE_INVENTORY_TEXT = (
    "Cases open at the last instant of the range's last month (opened by then, with no closure "
    "recorded by then), counted by the stage of their last stage change recorded by then; a case "
    "with none is in the early stage. Pack, product and team are the loan's; segment and strategy "
    "arm the case's."
)
OPEN_STAGES = tuple(s for s in CaseStage if s is not CaseStage.CLOSED)

# Each KPI as a reader names it (the definitions' titles are the long form, in English).
KPI_LABELS: dict[str, str] = {
    KpiName.FLOW_COUNT: N_("Flows by number of loans"),
    KpiName.FLOW_BALANCE: N_("Flows by balance"),
    KpiName.CURE_RATE: N_("Cure rate"),
    KpiName.REDEFAULT_12M: N_("12-month re-default rate"),
    KpiName.PROMISE_RATE: N_("Promise-to-pay rate"),
    KpiName.PROMISE_KEPT_RATE: N_("Promise kept rate"),
    KpiName.RIGHT_PARTY_CONTACT_RATE: N_("Right-party contact rate"),
    KpiName.CONTACT_RATE: N_("Contact rate"),
    KpiName.LIQUIDATION_RATE: N_("Liquidation rate"),
    KpiName.RECOVERY_RATE: N_("Recovery rate"),
    KpiName.DAYS_TO_CURE: N_("Average days to cure"),
    KpiName.WORSE_FLOW: N_("Worse flows"),
    KpiName.PULL_THROUGH: N_("Pull-through into foreclosure alternatives"),
    KpiName.REG_X_TIMELINESS: N_("Reg X loss-mitigation timeliness"),
    KpiName.MESSAGE_FUNNEL: N_("Message funnel"),
    KpiName.COST_PER_UNIT_COLLECTED: N_("Cost per unit collected"),
    STAGE_INVENTORY: N_("Stage inventory"),
}

# The buckets' words a reader sees in the charts (the others are numbers)
BUCKET_WORDS = {BUCKETS[0].value: N_("current"), EXITED: N_("exited")}

# What each chart and the figures table show, in the order a manager reads them.
TRENDS = (KpiName.CURE_RATE, KpiName.PROMISE_KEPT_RATE)
FUNNEL_LABELS: dict[FunnelStage, str] = {
    FunnelStage.SENT: N_("Sent"),
    FunnelStage.DELIVERED: N_("Delivered"),
    FunnelStage.OPENED: N_("Opened"),
    FunnelStage.CLICKED: N_("Clicked"),
    FunnelStage.PAID: N_("Paid"),
}
FIGURES = (
    KpiName.CURE_RATE,
    KpiName.REDEFAULT_12M,
    KpiName.PROMISE_RATE,
    KpiName.PROMISE_KEPT_RATE,
    KpiName.RIGHT_PARTY_CONTACT_RATE,
    KpiName.CONTACT_RATE,
    KpiName.LIQUIDATION_RATE,
    KpiName.RECOVERY_RATE,
    KpiName.DAYS_TO_CURE,
    KpiName.PULL_THROUGH,
    KpiName.REG_X_TIMELINESS,
    KpiName.COST_PER_UNIT_COLLECTED,
)


@dataclass(frozen=True, slots=True)
class KpiBoard:
    """Every KPI over one range and one set of filters, and the open cases per stage at its end."""

    start: date
    end: date
    filters: KpiFilters
    kpis: Dashboard
    stages: dict[str, int]
    as_of: datetime

    def series(self, name: KpiName) -> list[KpiSeries]:
        """The series of one KPI (several where it is kept in parts)."""
        found = [s for s in self.kpis.series if s.name is name]
        if name is KpiName.WORSE_FLOW:
            found += self.kpis.worse_flows
        if name is KpiName.REG_X_TIMELINESS:
            found += self.kpis.timeliness
        if name is KpiName.COST_PER_UNIT_COLLECTED and self.kpis.cost_per_unit is not None:
            found.append(self.kpis.cost_per_unit)
        return found


_INVENTORY_SQL = text(
    """
WITH stage AS (
    SELECT DISTINCT ON (e.case_id) e.case_id, e.payload->>'stage' AS stage
    FROM audit_events e WHERE e.action = :stage_changed AND e.occurred_at <= :t
    ORDER BY e.case_id, e.arrival DESC
), closed AS (
    SELECT DISTINCT e.case_id FROM audit_events e WHERE e.action = :case_closed AND e.occurred_at <= :t
)
SELECT COALESCE(stage.stage, :first_stage) AS stage, count(*) AS cases
FROM cases c
JOIN loans l ON l.id = c.loan_id
LEFT JOIN stage ON stage.case_id = c.id
WHERE c.opened_at <= :t
  AND NOT EXISTS (SELECT 1 FROM closed WHERE closed.case_id = c.id)
  AND (CAST(:pack AS text) IS NULL OR l.policy_pack = CAST(:pack AS text))
  AND (CAST(:product AS text) IS NULL OR l.product = CAST(:product AS text))
  AND (CAST(:team AS text) IS NULL OR l.team = CAST(:team AS text))
  AND (CAST(:segment AS text) IS NULL OR c.segment = CAST(:segment AS text))
  AND (CAST(:arm AS text) IS NULL OR c.strategy_arm = CAST(:arm AS text))
GROUP BY 1
"""
)


async def stage_inventory(session: AsyncSession, *, day: date, filters: KpiFilters) -> dict[str, int]:
    """Open cases per stage at the end of `day`, in the lifecycle's order (zero included)."""
    rows = await execute(
        session,
        _INVENTORY_SQL,
        {
            "t": cutoff(day),
            "stage_changed": AuditAction.CASE_STAGE_CHANGED.value,
            "case_closed": AuditAction.CASE_CLOSED.value,
            "first_stage": CaseStage.EARLY.value,
            "pack": filters.pack,
            "product": filters.product,
            "team": filters.team,
            "segment": filters.segment,
            "arm": filters.strategy_arm,
        },
    )
    counted = {row.stage: int(row.cases) for row in rows}
    return {stage.value: counted.get(stage.value, 0) for stage in OPEN_STAGES}


async def gather(
    session: AsyncSession,
    *,
    start: date,
    end: date,
    filters: KpiFilters,
    costs: Mapping[str, Decimal] | None = None,
) -> KpiBoard:
    """The board for the months from `start`'s through `end`'s (any days in them): the analytics'
    one pass to the end of `end`'s month, and the stage inventory then."""
    last = next_month(month_start(end)) - timedelta(days=1)
    board = await kpis.dashboard(session, start=month_start(start), end=last, filters=filters, costs=costs)
    stages = await stage_inventory(session, day=last, filters=filters)
    return KpiBoard(
        start=month_start(start), end=last, filters=filters, kpis=board, stages=stages, as_of=cutoff(last)
    )


async def load(
    db: Database,
    *,
    start: date,
    end: date,
    filters: KpiFilters,
    costs: Mapping[str, Decimal] | None = None,
) -> KpiBoard:
    """What `gather` answers, the KPIs' sources read side by side (the dashboard's one call)."""
    first, last = month_start(start), next_month(month_start(end)) - timedelta(days=1)
    board = await side_by_side.dashboard(db, start=first, end=last, filters=filters, costs=costs)
    async with db.session() as session:
        stages = await stage_inventory(session, day=last, filters=filters)
    return KpiBoard(start=first, end=last, filters=filters, kpis=board, stages=stages, as_of=cutoff(last))


# the funnel per message template has numbers (a CSV beside the funnel chart) but no picture
FUNNEL_BY_TEMPLATE = "funnel-templates"
CHART_KEYS = (
    "flow-count",
    "flow-balance",
    "roll-rates",
    "cure-and-promises",
    "funnel",
    FUNNEL_BY_TEMPLATE,
    "stages",
    "figures",
)


async def load_chart(
    db: Database,
    key: str,
    *,
    start: date,
    end: date,
    filters: KpiFilters,
    costs: Mapping[str, Decimal] | None = None,
) -> Chart:
    """One chart's numbers (its CSV), reading only the sources that chart draws from."""
    if key == "figures":
        return chart(await load(db, start=start, end=end, filters=filters, costs=costs), key)
    first, last = month_start(start), next_month(month_start(end)) - timedelta(days=1)
    if key == FUNNEL_BY_TEMPLATE:
        async with db.session() as session:
            found = await kpis.message_funnel_by_template(session, start=first, end=last, filters=filters)
        return funnel_by_template(found)
    flows: list[FlowMatrix] = []
    worse: list[KpiSeries] = []
    series: list[KpiSeries] = []
    funnel: list[Funnel] = []
    stages: dict[str, int] = {}
    async with db.session() as session:
        if key in ("flow-count", "flow-balance"):
            flows = await kpis.flow_matrices(session, start=first, end=last, filters=filters)
        elif key == "roll-rates":
            worse = await kpis.worse_flows(session, start=first, end=last, filters=filters)
        elif key == "cure-and-promises":
            series = [
                await kpis.cure_rate(session, start=first, end=last, filters=filters),
                await kpis.promise_kept_rate(session, start=first, end=last, filters=filters),
            ]
        elif key == "funnel":
            funnel = await kpis.message_funnel(session, start=first, end=last, filters=filters)
        elif key == "stages":
            stages = await stage_inventory(session, day=last, filters=filters)
    board = Dashboard(
        first, last, filters, flows=flows, series=series, worse_flows=worse, timeliness=[], funnel=funnel
    )
    partial = KpiBoard(start=first, end=last, filters=filters, kpis=board, stages=stages, as_of=cutoff(last))
    return chart(partial, key)


def chart(board: KpiBoard, key: str, *, gettext: Translate = str) -> Chart:
    """One chart (or the key figures) of the board by its key, as its CSV shows it."""
    if key == "figures":
        return figures(board, gettext=gettext)
    measure: charts.Measure = "balance" if key == "flow-balance" else "count"
    found = {c.key: c for c in draw(board, gettext=gettext, measure=measure)}
    return found[key]


def funnel_by_template(funnels: list[TemplateFunnel], *, gettext: Translate = str) -> Chart:
    """The message funnel per template as numbers without a picture: one row per template, a
    stage nothing records (opened and clicked without engagement events) left empty."""
    _ = gettext
    unknown = {FunnelStage.OPENED, FunnelStage.CLICKED}
    rows = tuple(
        (
            f.template,
            *(
                None if f.source == "messages" and stage in unknown else getattr(f, stage.value)
                for stage in FUNNEL_LABELS
            ),
        )
        for f in funnels
    )
    return Chart(
        key=FUNNEL_BY_TEMPLATE,
        title=_(N_("Message funnel by template")),
        description="",
        columns=(
            charts.Column("template", _(N_("Template"))),
            *(charts.Column(stage.value, _(label), "count") for stage, label in FUNNEL_LABELS.items()),
        ),
        rows=rows,
        spec={},
        definitions=("message_funnel",),
    )


def draw(
    board: KpiBoard, *, gettext: Translate, measure: charts.Measure = "count", language: str = "en"
) -> list[Chart]:
    """The board's charts: the latest month's flow matrix, worse flows over time, cure and
    kept-promise trends, the message funnel and the stage inventory."""
    _ = gettext
    latest = board.kpis.flows[-1] if board.kpis.flows else None
    origins = [b.value for b in BUCKETS]
    names = {word: _(said) for word, said in BUCKET_WORDS.items()}
    # 120+ has no worse bucket: its line would lie on zero
    roll = [
        (_(N_("from %(bucket)s")) % {"bucket": names.get(s.series, s.series)}, s)
        for s in board.kpis.worse_flows
        if s.series != BUCKETS[-1].value
    ]
    trends = [(_(KPI_LABELS[name]), s) for name in TRENDS for s in board.series(name)]
    return [
        charts.flow_matrix(
            latest,
            origins=origins,
            destinations=FLOW_TO,
            measure=measure,
            gettext=_,
            names=names,
            language=language,
        ),
        charts.trend(
            roll, key="roll-rates", title=_(N_("Roll rates to a worse bucket")), gettext=_, language=language
        ),
        charts.trend(
            trends,
            key="cure-and-promises",
            title=_(N_("Cures and kept promises")),
            gettext=_,
            language=language,
        ),
        charts.funnel(board.kpis.funnel, labels={k: _(v) for k, v in FUNNEL_LABELS.items()}, gettext=_),
        charts.inventory(
            [Count(stage, word(stage, _), count) for stage, count in board.stages.items()], gettext=_
        ),
    ]


def figures(board: KpiBoard, *, gettext: Translate) -> Chart:
    """The other KPIs as a table without a picture: each series' latest month and the one before."""
    _ = gettext
    rows: list[tuple[charts.Value, ...]] = []
    for name in FIGURES:
        for series in board.series(name):
            points = series.points[-2:]
            last = points[-1] if points else None
            before = points[0] if len(points) == 2 else None
            rows.append(
                (
                    name.value,
                    series.series,
                    DEFINITIONS[name].unit.value,
                    last.period.strftime("%Y-%m") if last else None,
                    last.numerator if last else None,
                    last.denominator if last else None,
                    charts.rounded(last.value) if last else None,
                    charts.rounded(before.value) if before else None,
                    series.version,
                )
            )
    unit_kind: charts.Kind = "text"
    return Chart(
        key="figures",
        title=_(N_("Key figures")),
        description=_(N_("The latest month of every other KPI, beside the month before.")),
        columns=(
            charts.Column("kpi", _(N_("KPI"))),
            charts.Column("part", _(N_("Part"))),
            charts.Column("unit", _(N_("Unit")), unit_kind),
            charts.Column("month", _(N_("Month")), "month"),
            charts.Column("numerator", _(N_("Numerator")), "count"),
            charts.Column("denominator", _(N_("Denominator")), "count"),
            charts.Column("value", _(N_("Value")), "count"),
            charts.Column("previous_value", _(N_("Month before")), "count"),
            charts.Column("definition_version", _(N_("Definition version")), "count"),
        ),
        rows=tuple(rows),
        spec={},
        definitions=tuple(n.value for n in FIGURES),
    )


def word(name: str, gettext: Translate) -> str:
    """One of the system's words as the reader says it (English without its underscores)."""
    said = gettext(name)
    return said.replace("_", " ") if said == name else said


def label(name: str, gettext: Translate) -> str:
    """A KPI's name as the reader says it."""
    return gettext(KPI_LABELS[name]) if name in KPI_LABELS else word(name, gettext)
