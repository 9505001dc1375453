"""The analytics' typed results and filters: what the dashboard, the KPI report and the
strategy work read. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from arrears.analytics.definitions import KpiName, Unit


class Bucket(StrEnum):
    """Delinquency buckets by days past due on a month's last snapshot."""

    CURRENT = "current"
    D1_29 = "1-29"
    D30_59 = "30-59"
    D60_89 = "60-89"
    D90_119 = "90-119"
    D120_PLUS = "120+"

    @classmethod
    def of(cls, days_past_due: int) -> Bucket:
        """The bucket a number of days past due falls in."""
        if days_past_due <= 0:
            return cls.CURRENT
        for bound, bucket in _BOUNDS:
            if days_past_due < bound:
                return bucket
        return cls.D120_PLUS

    @property
    def order(self) -> int:
        """0 for current, 5 for 120+: a bigger number is worse."""
        return BUCKETS.index(self)


_BOUNDS = (
    (30, Bucket.D1_29),
    (60, Bucket.D30_59),
    (90, Bucket.D60_89),
    (120, Bucket.D90_119),
)
BUCKETS: tuple[Bucket, ...] = tuple(Bucket)
EXITED = "exited"  # a flow's destination: the loan left the portfolio (paid off, charged off ...)
FLOW_TO: tuple[str, ...] = (*(b.value for b in BUCKETS), EXITED)


def month_start(day: date) -> date:
    """The first day of the month `day` is in."""
    return day.replace(day=1)


def next_month(month: date) -> date:
    """The first day of the month after `month`."""
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def months(start: date, end: date) -> list[date]:
    """The first days of the months from `start`'s through `end`'s, in order."""
    if end < start:
        raise ValueError(f"the period ends ({end.isoformat()}) before it starts ({start.isoformat()})")
    out, m = [], month_start(start)
    while m <= end:
        out.append(m)
        m = next_month(m)
    return out


@dataclass(frozen=True, slots=True)
class KpiFilters:
    """Which loans a KPI counts; None means all. Pack, product and team are the loan's;
    segment and strategy arm are its case's (a loan counts when any of its cases has them)."""

    pack: str | None = None
    segment: str | None = None
    product: str | None = None
    team: str | None = None
    strategy_arm: str | None = None

    def key(self) -> str:
        """A stable text form, stored with each figure: 'pack=us_mortgage;team=…' or 'all'."""
        parts = [f"{k}={v}" for k, v in self.as_dict().items() if v is not None]
        return ";".join(parts) or "all"

    def as_dict(self) -> dict[str, str | None]:
        return {
            "pack": self.pack,
            "segment": self.segment,
            "product": self.product,
            "team": self.team,
            "strategy_arm": self.strategy_arm,
        }


ALL = KpiFilters()


@dataclass(frozen=True, slots=True)
class KpiPoint:
    """One period's figure: value = numerator / denominator (None when nothing to divide)."""

    period: date  # the first day of the month
    value: Decimal | None
    numerator: Decimal
    denominator: Decimal
    complete: bool = True  # False: a cohort not yet observed for its whole window


@dataclass(frozen=True, slots=True)
class KpiSeries:
    """A KPI over a range of months under one set of filters."""

    name: KpiName
    version: int
    unit: Unit
    filters: KpiFilters
    points: list[KpiPoint]
    series: str = ""  # which part of a KPI kept as several series (an origin bucket, a deadline)


@dataclass(frozen=True, slots=True)
class FlowCell:
    """Loans, and their balance on the origin snapshot, that went from one bucket to another."""

    from_bucket: Bucket
    to_bucket: str  # a Bucket value or EXITED
    loans: int
    balance: Decimal


@dataclass(frozen=True, slots=True)
class FlowMatrix:
    """One month's flows: from the bucket at the previous month's end to this month's."""

    period: date
    cells: list[FlowCell] = field(default_factory=list)
    version: int = 1

    def loans(self, origin: Bucket, to: str) -> int:
        return sum(c.loans for c in self.cells if c.from_bucket == origin and c.to_bucket == to)

    def balance(self, origin: Bucket, to: str) -> Decimal:
        return sum(
            (c.balance for c in self.cells if c.from_bucket == origin and c.to_bucket == to), Decimal(0)
        )

    def row_loans(self, origin: Bucket) -> int:
        return sum(c.loans for c in self.cells if c.from_bucket == origin)

    def row_balance(self, origin: Bucket) -> Decimal:
        return sum((c.balance for c in self.cells if c.from_bucket == origin), Decimal(0))

    def rate(self, origin: Bucket, to: str, *, by_balance: bool = False) -> Decimal | None:
        """The share of the origin bucket's loans (or balance) that went to `to`."""
        if by_balance:
            whole = self.row_balance(origin)
            return self.balance(origin, to) / whole if whole else None
        total = self.row_loans(origin)
        return Decimal(self.loans(origin, to)) / total if total else None


def pooled(flows: list[FlowMatrix]) -> FlowMatrix:
    """Several months' flows added up cell by cell, dated by the first month: rates over a
    longer window, where one month has too few loans to read."""
    loans: dict[tuple[Bucket, str], int] = {}
    balance: dict[tuple[Bucket, str], Decimal] = {}
    for m in flows:
        for c in m.cells:
            key = (c.from_bucket, c.to_bucket)
            loans[key] = loans.get(key, 0) + c.loans
            balance[key] = balance.get(key, Decimal(0)) + c.balance
    cells = [
        FlowCell(f, t, n, balance[(f, t)])
        for (f, t), n in sorted(loans.items(), key=lambda i: (i[0][0].order, i[0][1]))
    ]
    return FlowMatrix(flows[0].period if flows else date.min, cells, flows[0].version if flows else 1)


class FunnelStage(StrEnum):
    """How far a message got."""

    SENT = "sent"
    DELIVERED = "delivered"
    OPENED = "opened"
    CLICKED = "clicked"
    PAID = "paid"


FUNNEL_STAGES: tuple[FunnelStage, ...] = tuple(FunnelStage)


@dataclass(frozen=True, slots=True)
class FunnelCount:
    """Messages that reached a stage; `known` False when nothing records that stage."""

    stage: FunnelStage
    messages: int
    known: bool = True


@dataclass(frozen=True, slots=True)
class Funnel:
    """One month's message funnel, over the messages created in it."""

    period: date
    stages: list[FunnelCount]
    source: str  # "engagement_events" or "messages"

    def count(self, stage: FunnelStage) -> int:
        return next(s.messages for s in self.stages if s.stage == stage)


@dataclass(frozen=True, slots=True)
class TemplateFunnel:
    """One message template's funnel over a range: its messages at each stage. Without
    engagement events (`source` "messages") opened and clicked are not recorded and stay 0."""

    template: str  # the template of the message's document; "" when the message has none
    sent: int
    delivered: int
    opened: int
    clicked: int
    paid: int
    source: str  # "engagement_events" or "messages"


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

    def get(self, name: KpiName) -> KpiSeries:
        """The series of a single-series KPI."""
        return next(s for s in self.series if s.name == name)
