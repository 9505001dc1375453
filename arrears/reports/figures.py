"""Report figures, computed from the records and the audit trail as they stood at a period end.

Every query reads only what was recorded by the cut-off instant (the last microsecond of the
period's last day, UTC): delinquency snapshots received by then, cases opened by then, audit
events that occurred by then. Rows written later, whatever they say about the past, do not
move a past period's figures, so a re-run gives the same bytes.

A loan's state at an instant:
- its latest delinquency snapshot (as of that day or before) gives balance, arrears and days
  past due; days past due age with the calendar while arrears remain;
- a payment applied after the snapshot sets the arrears; a closure after it ends the
  delinquency (`cured`, `modified`) or takes the loan out of the portfolio (`paid_off`,
  `settled`, `charged_off`, `foreclosed`, `transferred`);
- its latest case's last stage change says whether it is in enforcement or under a stay.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from models.enums import PolicyPack, ReportKind
from policies import get_pack
from policies.calendar import add_months

Cell = str | int

BUCKETS = ("current", "30-59", "60-89", "90+", "foreclosure")
EXIT_OUTCOMES = frozenset({"paid_off", "settled", "charged_off", "foreclosed", "transferred"})
CURE_OUTCOMES = frozenset({"cured", "modified"})
CURE_MONTHS = 12  # EBA/GL/2018/06: a non-performing forborne exposure cures after one year
PROBATION_MONTHS = 24  # then two years as performing forborne before the flag is lifted
TITLES = {
    ReportKind.DELINQUENCY: "Delinquency: loans and balances by days past due, foreclosure, roll rates",
    ReportKind.NON_PERFORMING_FORBORNE: "Non-performing and forborne exposures (FINREP F18 / F19 shape)",
    ReportKind.LOSS_MITIGATION: "Loss-mitigation timeliness (Reg X, 12 CFR 1024.41)",
    ReportKind.BANKRUPTCY_ENFORCEMENT: "Bankruptcy and enforcement inventory",
}


@dataclass(frozen=True, slots=True)
class Table:
    """One table of a report: a machine name, a title, columns and rows of text or integers."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[Cell]]
    note: str = ""


@dataclass(frozen=True, slots=True)
class ReportData:
    """A report's figures, independent of the format it is rendered to."""

    kind: ReportKind
    title: str
    period_start: date
    period_end: date
    policy_pack: str | None
    as_of: datetime
    tables: list[Table] = field(default_factory=list)

    def row_counts(self) -> dict[str, int]:
        return {t.name: len(t.rows) for t in self.tables}


def cutoff(day: date) -> datetime:
    """The last instant of a UTC day: what was recorded by then counts for that day."""
    return datetime.combine(day, time.max, UTC)


def money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def share(part: int, whole: int) -> str:
    """A share as a fraction with four places; empty when there is nothing to divide."""
    return str((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))) if whole else ""


# ---------------------------------------------------------------------------------- loan state
@dataclass(frozen=True, slots=True)
class LoanState:
    loan_id: uuid.UUID
    pack: str
    product: str
    currency: str
    case_id: uuid.UUID | None
    balance: Decimal
    arrears: Decimal
    days_past_due: int
    stage: str | None  # of the open case, None when no case is open
    chapter: str | None
    exited: bool
    defaulted: bool

    @property
    def bucket(self) -> str:
        if self.exited:
            return "exited"
        if self.stage == "enforcement":
            return "foreclosure"
        dpd = self.days_past_due
        return "current" if dpd < 30 else "30-59" if dpd < 60 else "60-89" if dpd < 90 else "90+"


_STATE_SQL = text(
    """
WITH snap AS (
    SELECT DISTINCT ON (s.loan_id) s.loan_id, s.as_of, s.days_past_due, s.arrears, s.balance, s.received_at
    FROM delinquency_snapshots s
    WHERE s.as_of <= :day AND s.received_at <= :t
    ORDER BY s.loan_id, s.as_of DESC, s.received_at DESC
), kase AS (
    SELECT DISTINCT ON (c.loan_id) c.loan_id, c.id AS case_id
    FROM cases c WHERE c.opened_at <= :t
    ORDER BY c.loan_id, c.opened_at DESC
), stage AS (
    SELECT DISTINCT ON (e.case_id) e.case_id, e.payload->>'stage' AS stage, e.payload->>'chapter' AS chapter
    FROM audit_events e WHERE e.action = 'case.stage_changed' AND e.occurred_at <= :t
    ORDER BY e.case_id, e.seq DESC
), closed AS (
    SELECT DISTINCT ON (e.case_id) e.case_id, e.payload->>'outcome' AS outcome, e.occurred_at
    FROM audit_events e WHERE e.action = 'case.closed' AND e.occurred_at <= :t
    ORDER BY e.case_id, e.seq DESC
), paid AS (
    SELECT DISTINCT ON (e.case_id) e.case_id, (e.payload->>'arrears_after')::numeric AS arrears_after,
           e.occurred_at
    FROM audit_events e WHERE e.action = 'payment.applied' AND e.occurred_at <= :t
    ORDER BY e.case_id, e.seq DESC
), dflt AS (
    SELECT DISTINCT e.case_id FROM audit_events e
    WHERE e.action = 'eba.done' AND e.occurred_at <= :t
)
SELECT l.id, l.policy_pack, l.product, l.currency,
       snap.as_of, snap.days_past_due, snap.arrears, snap.balance, snap.received_at,
       kase.case_id, stage.stage, stage.chapter, closed.outcome, closed.occurred_at AS closed_at,
       paid.arrears_after, paid.occurred_at AS paid_at, dflt.case_id IS NOT NULL AS defaulted
FROM snap
JOIN loans l ON l.id = snap.loan_id
LEFT JOIN kase ON kase.loan_id = l.id
LEFT JOIN stage ON stage.case_id = kase.case_id
LEFT JOIN closed ON closed.case_id = kase.case_id
LEFT JOIN paid ON paid.case_id = kase.case_id
LEFT JOIN dflt ON dflt.case_id = kase.case_id
WHERE CAST(:pack AS text) IS NULL OR l.policy_pack = CAST(:pack AS text)
ORDER BY l.id
"""
)


def _state(row: Any, day: date) -> LoanState:
    arrears: Decimal = row.arrears
    if row.paid_at is not None and row.paid_at > row.received_at:
        arrears = row.arrears_after
    closed_after_snapshot = row.closed_at is not None and row.closed_at > row.received_at
    exited = closed_after_snapshot and row.outcome in EXIT_OUTCOMES
    if closed_after_snapshot and row.outcome in CURE_OUTCOMES:
        arrears = Decimal("0.00")
    if arrears <= 0:
        dpd = 0
    elif row.days_past_due > 0:
        dpd = row.days_past_due + (day - row.as_of).days
    else:
        dpd = 0
    is_open = row.case_id is not None and row.closed_at is None
    return LoanState(
        loan_id=row.id,
        pack=row.policy_pack,
        product=row.product,
        currency=row.currency,
        case_id=row.case_id,
        balance=row.balance,
        arrears=arrears,
        days_past_due=dpd,
        stage=row.stage if is_open else None,
        chapter=row.chapter if is_open else None,
        exited=exited,
        defaulted=bool(row.defaulted) and is_open,
    )


async def portfolio(session: AsyncSession, day: date, pack: str | None) -> list[LoanState]:
    """Every loan known by the end of `day`, in the state the records gave it then."""
    rows = await _execute(session, _STATE_SQL, {"day": day, "t": cutoff(day), "pack": pack})
    return [_state(row, day) for row in rows]


async def _events(
    session: AsyncSession,
    *,
    action: str,
    start: date,
    end: date,
    pack: str | None,
    payload: tuple[str, str] | None = None,
) -> Sequence[Any]:
    """Audit events of one action that occurred in [start, end], with their case's pack; with
    `payload` (key, value), only those whose payload has that value (filtered in the database)."""
    rows = await _execute(
        session,
        text(
            """
SELECT e.seq, e.case_id, e.occurred_at, e.payload, c.policy_pack
FROM audit_events e JOIN cases c ON c.id = e.case_id
WHERE e.action = :action AND e.occurred_at >= :since AND e.occurred_at <= :t
  AND (CAST(:pack AS text) IS NULL OR c.policy_pack = CAST(:pack AS text))
  AND (CAST(:key AS text) IS NULL OR e.payload->>CAST(:key AS text) = CAST(:value AS text))
ORDER BY e.seq
"""
        ),
        {
            "key": payload[0] if payload else None,
            "value": payload[1] if payload else None,
            "action": action,
            "since": datetime.combine(start, time.min, UTC),
            "t": cutoff(end),
            "pack": pack,
        },
    )
    found: Sequence[Any] = rows.all()
    return found


async def _execute(session: AsyncSession, statement: Any, params: dict[str, Any]) -> Any:
    """A raw SQL read in the session's transaction (the figures are SQL aggregates, not ORM rows)."""
    connection = await session.connection()
    return await connection.execute(statement, params)


def _packs(pack: str | None, *found: Iterable[str]) -> list[str]:
    """The packs a report covers: the one asked for, else every pack (zero rows included)."""
    if pack is not None:
        return [pack]
    return sorted({p.value for p in PolicyPack} | {p for group in found for p in group})


# --------------------------------------------------------------------------------- delinquency
async def delinquency(session: AsyncSession, start: date, end: date, pack: str | None) -> list[Table]:
    """Buckets by pack and product, foreclosure starts and inventory, cure and roll rates."""
    before = {s.loan_id: s for s in await portfolio(session, start - timedelta(days=1), pack)}
    after = await portfolio(session, end, pack)
    packs = _packs(pack, (s.pack for s in after))

    counts: Counter[tuple[str, str, str, str]] = Counter()
    balances: defaultdict[tuple[str, str, str, str], Decimal] = defaultdict(Decimal)
    for s in after:
        if not s.exited:
            counts[(s.pack, s.product, s.currency, s.bucket)] += 1
            balances[(s.pack, s.product, s.currency, s.bucket)] += s.balance
    products = sorted({k[:3] for k in counts})
    buckets = Table(
        "buckets",
        f"Loans and balances by days past due on {end.isoformat()}",
        ["pack", "product", "currency", "bucket", "loans", "balance"],
        [
            [p, product, cur, b, counts[(p, product, cur, b)], money(balances[(p, product, cur, b)])]
            for p, product, cur in products
            for b in BUCKETS
        ],
        note="current: under 30 days past due; foreclosure: an open case in its enforcement stage",
    )

    entered = await _events(
        session,
        action="case.stage_changed",
        start=start,
        end=end,
        pack=pack,
        payload=("stage", "enforcement"),
    )
    starts = Counter(e.policy_pack for e in entered)
    inventory = Counter(s.pack for s in after if s.bucket == "foreclosure")
    foreclosure = Table(
        "foreclosure",
        "Foreclosure and enforcement: starts in the period, inventory at its end",
        ["pack", "starts", "inventory"],
        [[p, starts[p], inventory[p]] for p in packs],
    )

    order = {b: i for i, b in enumerate(BUCKETS)}
    moves: Counter[tuple[str, str, str]] = Counter()
    for s in after:
        first = before.get(s.loan_id)
        origin = first.bucket if first is not None else "new"
        if origin == "exited":
            continue
        moves[(s.pack, origin, s.bucket)] += 1
    rolls: list[list[Cell]] = []
    for p in packs:
        for origin in (*BUCKETS, "new"):
            row = {to: moves[(p, origin, to)] for to in (*BUCKETS, "exited")}
            total = sum(row.values())
            cured = "" if origin in ("current", "new") else share(row["current"], total)
            worse = (
                sum(n for to, n in row.items() if to in order and order[to] > order[origin])
                if origin in order
                else 0
            )
            rolls.append(
                [p, origin, total, *row.values(), cured, share(worse, total) if origin in order else ""]
            )
    roll_rates = Table(
        "roll_rates",
        f"From the bucket on {(start - timedelta(days=1)).isoformat()} to the bucket on {end.isoformat()}",
        ["pack", "from", "loans", *(f"to_{b}" for b in BUCKETS), "exited", "cure_rate", "roll_rate"],
        rolls,
        note="cure rate: share of the bucket current at the period end; roll rate: share in a worse "
        "bucket; new: loans first reported during the period",
    )
    return [buckets, foreclosure, roll_rates]


# ------------------------------------------------------------------- non-performing, forborne
F18_COLUMNS = [
    "performing_le_30",
    "performing_31_60",
    "performing_61_90",
    "np_unlikely_to_pay",
    "np_91_180",
    "np_181_365",
    "np_over_365",
]


def _f18_column(non_performing: bool, dpd: int) -> str:
    if not non_performing:
        return "performing_le_30" if dpd <= 30 else "performing_31_60" if dpd <= 60 else "performing_61_90"
    if dpd <= 90:
        return "np_unlikely_to_pay"
    return "np_91_180" if dpd <= 180 else "np_181_365" if dpd <= 365 else "np_over_365"


@dataclass(frozen=True, slots=True)
class Measure:
    granted: date
    non_performing_at_grant: bool


async def _measures(session: AsyncSession, end: date, pack: str | None) -> dict[uuid.UUID, list[Measure]]:
    """Forbearance measures per loan granted by the end of `end`: forbearance plans and modifications."""
    rows = await _execute(
        session,
        text(
            """
SELECT c.loan_id, e.occurred_at, e.payload
FROM audit_events e JOIN cases c ON c.id = e.case_id
WHERE e.occurred_at <= :t
  AND ((e.action = 'case.stage_changed' AND e.payload->>'stage' = 'forbearance')
       OR (e.action = 'case.closed' AND e.payload->>'outcome' = 'modified'))
  AND (CAST(:pack AS text) IS NULL OR c.policy_pack = CAST(:pack AS text))
ORDER BY e.seq
"""
        ),
        {"t": cutoff(end), "pack": pack},
    )
    measures: defaultdict[uuid.UUID, list[Measure]] = defaultdict(list)
    for row in rows:
        dpd = int(row.payload.get("days_past_due", 0))
        measures[row.loan_id].append(Measure(row.occurred_at.date(), dpd > 90))
    return measures


async def non_performing_forborne(
    session: AsyncSession, start: date, end: date, pack: str | None
) -> list[Table]:
    """Performing and non-performing exposures by days past due, and forborne exposures."""
    states = [s for s in await portfolio(session, end, pack) if not s.exited]
    measures = await _measures(session, end, pack)
    packs = _packs(pack, (s.pack for s in states))
    currency = {p: get_pack(PolicyPack(p)).currency for p in packs}

    f18_n: Counter[tuple[str, str]] = Counter()
    f18_b: defaultdict[tuple[str, str], Decimal] = defaultdict(Decimal)
    f19_n: Counter[tuple[str, str]] = Counter()
    f19_b: defaultdict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for s in states:
        live = [
            m
            for m in measures.get(s.loan_id, [])
            if end < add_months(m.granted, CURE_MONTHS + PROBATION_MONTHS)
        ]
        latest = live[-1] if live else None
        non_performing = (
            s.days_past_due > 90
            or s.defaulted
            or s.stage == "bankruptcy_stay"
            or len(live) > 1  # re-forbearance while still forborne
            or (
                latest is not None
                and latest.non_performing_at_grant
                and end < add_months(latest.granted, CURE_MONTHS)
            )
        )
        column = _f18_column(non_performing, s.days_past_due)
        f18_n[(s.pack, column)] += 1
        f18_b[(s.pack, column)] += s.balance
        if latest is not None:
            for col in ("forborne", "term_modification", "non_performing" if non_performing else "probation"):
                f19_n[(s.pack, col)] += 1
                f19_b[(s.pack, col)] += s.balance

    f18_rows: list[list[Cell]] = []
    for p in packs:
        n = [f18_n[(p, c)] for c in F18_COLUMNS]
        b = [f18_b[(p, c)] for c in F18_COLUMNS]
        f18_rows.append([p, currency[p], "exposures", *n, sum(n)])
        f18_rows.append([p, currency[p], "gross_carrying_amount", *map(money, b), money(sum(b, Decimal(0)))])
    f19_rows: list[list[Cell]] = []
    f19_cols = ("forborne", "term_modification", "refinancing", "probation", "non_performing")
    for p in packs:
        f19_rows.append([p, currency[p], "exposures", *(f19_n[(p, c)] for c in f19_cols)])
        f19_rows.append([p, currency[p], "gross_carrying_amount", *(money(f19_b[(p, c)]) for c in f19_cols)])
    return [
        Table(
            "f18",
            f"Performing and non-performing exposures on {end.isoformat()} (F18 shape)",
            ["pack", "currency", "measure", *F18_COLUMNS, "total"],
            f18_rows,
            note="non-performing: more than 90 days past due, defaulted (CRR Art. 178), under a "
            "bankruptcy stay, re-forborne, or forborne while non-performing and within its one-year "
            "cure period; unlikely to pay: non-performing at 90 days past due or fewer",
        ),
        Table(
            "f19",
            f"Forborne exposures on {end.isoformat()} (F19 shape)",
            [
                "pack",
                "currency",
                "measure",
                "forborne",
                "term_modification",
                "refinancing",
                "of_which_under_probation",
                "of_which_non_performing",
            ],
            f19_rows,
            note="forborne from the grant of a forbearance plan or modification until the one-year cure "
            "and two-year probation have run; every measure the case workflow grants (payment pause, "
            "reduced payments, repayment plan, modification) changes the terms, so refinancing is zero",
        ),
    ]


# ------------------------------------------------------------------------------ loss mitigation
@dataclass(slots=True)
class _Deadline:
    pack: str
    case_id: uuid.UUID
    due: date
    done_on: date | None = None


def _timeliness(
    measure: str, items: list[_Deadline], end: date, packs: list[str]
) -> tuple[list[list[Cell]], list[list[Cell]]]:
    rows: list[list[Cell]] = []
    late_rows: list[list[Cell]] = []
    for p in packs:
        mine = [i for i in items if i.pack == p]
        on_time = [i for i in mine if i.done_on is not None and i.done_on <= i.due]
        late = [
            i
            for i in mine
            if (i.done_on is not None and i.done_on > i.due) or (i.done_on is None and i.due < end)
        ]
        pending = len(mine) - len(on_time) - len(late)
        decided = len(on_time) + len(late)
        rows.append([p, measure, len(mine), len(on_time), len(late), pending, share(len(on_time), decided)])
        for i in sorted(late, key=lambda i: (i.due, str(i.case_id))):
            late_rows.append(
                [p, measure, str(i.case_id), i.due.isoformat(), i.done_on.isoformat() if i.done_on else ""]
            )
    return rows, late_rows


async def _tasks(
    session: AsyncSession, kind: str, start: date, end: date, pack: str | None
) -> list[_Deadline]:
    """Tasks of a kind created in the period, with their SLA day and the day they were decided."""
    created = await _events(
        session, action="task.created", start=start, end=end, pack=pack, payload=("kind", kind)
    )
    if not created:
        return []
    rows = await _execute(
        session,
        text(
            """
SELECT e.case_id, e.payload->>'task' AS task, min(e.occurred_at) AS at
FROM audit_events e
WHERE e.action = 'task.done' AND e.occurred_at <= :t AND e.case_id = ANY(:cases)
GROUP BY e.case_id, e.payload->>'task'
"""
        ),
        {"t": cutoff(end), "cases": list({e.case_id for e in created})},
    )
    done = {(r.case_id, r.task): r.at.date() for r in rows}
    items: dict[tuple[uuid.UUID, str], _Deadline] = {}
    for e in created:  # a task reopened after a stay keeps its first creation
        key = (e.case_id, e.payload["task"])
        if key not in items:
            items[key] = _Deadline(
                e.policy_pack, e.case_id, date.fromisoformat(e.payload["due"]), done.get(key)
            )
    return list(items.values())


async def loss_mitigation(session: AsyncSession, start: date, end: date, pack: str | None) -> list[Table]:
    """Applications received, acknowledged in 5 business days, evaluated and appealed in 30 days."""
    received = await _events(
        session,
        action="case.stage_changed",
        start=start,
        end=end,
        pack=pack,
        payload=("stage", "loss_mitigation"),
    )
    acks: list[_Deadline] = []
    if received:
        rows = await _execute(
            session,
            text(
                """
SELECT e.case_id, e.seq, e.action, e.occurred_at, e.payload
FROM audit_events e
WHERE e.case_id = ANY(:cases) AND e.occurred_at <= :t
  AND ((e.action = 'case.stage_changed' AND e.payload->>'stage' = 'loss_mitigation')
       OR (e.action = 'message.done' AND e.payload->>'key' LIKE 'loss_mitigation.%.acknowledgment'))
ORDER BY e.seq
"""
            ),
            {"t": cutoff(end), "cases": list({e.case_id for e in received})},
        )
        numbers: Counter[uuid.UUID] = Counter()
        number_of: dict[int, int] = {}
        acked: dict[tuple[uuid.UUID, int], tuple[date, date | None]] = {}
        for r in rows:
            if r.action == "case.stage_changed":
                numbers[r.case_id] += 1
                number_of[r.seq] = numbers[r.case_id]
            else:
                n = int(r.payload["key"].split(".")[1])
                due = date.fromisoformat(r.payload["due"]) if r.payload.get("due") else None
                acked[(r.case_id, n)] = (r.occurred_at.date(), due)
        for e in received:
            the_pack = get_pack(PolicyPack(e.policy_pack))
            due = the_pack.business_days_after(e.occurred_at.date(), the_pack.ack_business_days)
            done_on, recorded_due = acked.get((e.case_id, number_of[e.seq]), (None, None))
            acks.append(_Deadline(e.policy_pack, e.case_id, recorded_due or due, done_on))
    evaluations = await _tasks(session, "evaluation", start, end, pack)
    appeals = await _tasks(session, "appeal_review", start, end, pack)
    packs = _packs(pack, (e.policy_pack for e in received))

    summary: list[list[Cell]] = [
        [p, "applications_received", sum(1 for e in received if e.policy_pack == p), "", "", "", ""]
        for p in packs
    ]
    late: list[list[Cell]] = []
    for measure, items in (
        ("acknowledged_within_5_business_days", acks),
        ("evaluated_within_30_days", evaluations),
        ("appeal_decided_within_30_days", appeals),
    ):
        rows_, late_ = _timeliness(measure, items, end, packs)
        summary += rows_
        late += late_
    summary.sort(key=lambda r: str(r[0]))
    return [
        Table(
            "timeliness",
            f"Loss-mitigation deadlines from {start.isoformat()} to {end.isoformat()}",
            ["pack", "measure", "count", "on_time", "late", "pending", "share_on_time"],
            summary,
            note="count: applications received, or evaluations and appeals opened, in the period; "
            "late: decided after the deadline, or still open after it; pending: open, deadline ahead; "
            "share on time: of those decided or overdue",
        ),
        Table("late_cases", "Late cases", ["pack", "measure", "case_id", "due", "done_on"], late),
    ]


# ------------------------------------------------------------------- bankruptcy and enforcement
async def bankruptcy_enforcement(
    session: AsyncSession, start: date, end: date, pack: str | None
) -> list[Table]:
    """Open stays by chapter, filings and their resolutions, and enforcement steps per pack."""
    states = await portfolio(session, end, pack)
    stays = await _events(
        session,
        action="case.stage_changed",
        start=start,
        end=end,
        pack=pack,
        payload=("stage", "bankruptcy_stay"),
    )
    resolutions = await _events(session, action="bankruptcy.done", start=start, end=end, pack=pack)
    steps = await _events(session, action="enforcement.done", start=start, end=end, pack=pack)
    packs = _packs(pack, (s.pack for s in states))

    open_stays = Counter((s.pack, s.chapter or "unknown") for s in states if s.stage == "bankruptcy_stay")
    filed = Counter((e.policy_pack, e.payload.get("chapter", "unknown")) for e in stays)
    chapters = sorted(
        {k[1] for k in open_stays} | {k[1] for k in filed} | {"7", "13"}, key=lambda c: (len(c), c)
    )
    outcome = Counter((e.policy_pack, str(e.payload.get("key", "")).rsplit(".", 1)[-1]) for e in resolutions)
    step_counts = Counter((e.policy_pack, str(e.payload.get("key", ""))) for e in steps)
    inventory = Counter(s.pack for s in states if s.stage == "enforcement")
    step_rows: list[list[Cell]] = [[p, step, n] for (p, step), n in sorted(step_counts.items())]
    step_rows += [[p, "in_enforcement_at_end", inventory[p]] for p in packs]
    return [
        Table(
            "stays",
            f"Bankruptcy stays: in force on {end.isoformat()}, entered in the period",
            ["pack", "chapter", "open_at_end", "entered_in_period"],
            [[p, c, open_stays[(p, c)], filed[(p, c)]] for p in packs for c in chapters],
        ),
        Table(
            "stay_resolutions",
            "Stays resolved in the period",
            ["pack", "relief", "dismissal", "discharge"],
            [
                [p, outcome[(p, "relief")], outcome[(p, "dismissal")], outcome[(p, "discharge")]]
                for p in packs
            ],
        ),
        Table(
            "enforcement_steps",
            "Enforcement steps taken in the period, and cases in enforcement at its end",
            ["pack", "step", "count"],
            step_rows,
        ),
    ]


BUILDERS = {
    ReportKind.DELINQUENCY: delinquency,
    ReportKind.NON_PERFORMING_FORBORNE: non_performing_forborne,
    ReportKind.LOSS_MITIGATION: loss_mitigation,
    ReportKind.BANKRUPTCY_ENFORCEMENT: bankruptcy_enforcement,
}


async def build(
    session: AsyncSession, *, kind: ReportKind, start: date, end: date, pack: str | None
) -> ReportData:
    """The figures of one report kind for a period and a pack (None: every pack)."""
    tables = await BUILDERS[kind](session, start, end, pack)
    return ReportData(
        kind=kind,
        title=TITLES[kind],
        period_start=start,
        period_end=end,
        policy_pack=pack,
        as_of=cutoff(end),
        tables=tables,
    )
