"""The portfolio at an instant: every loan in the state the records gave it then.

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
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from arrears.reports.common import cutoff, execute
from models.audit_actions import AuditAction
from models.delinquency import days_past_due
from models.enums import CaseOutcome, CaseStage

BUCKETS = ("current", "30-59", "60-89", "90+", "foreclosure")
EXITED = "exited"  # the bucket of a loan that left the portfolio
EXIT_OUTCOMES = frozenset(
    {
        CaseOutcome.PAID_OFF,
        CaseOutcome.SETTLED,
        CaseOutcome.CHARGED_OFF,
        CaseOutcome.FORECLOSED,
        CaseOutcome.TRANSFERRED,
    }
)
CURE_OUTCOMES = frozenset({CaseOutcome.CURED, CaseOutcome.MODIFIED})


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
            return EXITED
        if self.stage == CaseStage.ENFORCEMENT:
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
    FROM audit_events e WHERE e.action = :stage_changed AND e.occurred_at <= :t
    ORDER BY e.case_id, e.arrival DESC
), closed AS (
    SELECT DISTINCT ON (e.case_id) e.case_id, e.payload->>'outcome' AS outcome, e.occurred_at
    FROM audit_events e WHERE e.action = :case_closed AND e.occurred_at <= :t
    ORDER BY e.case_id, e.arrival DESC
), paid AS (
    SELECT DISTINCT ON (e.case_id) e.case_id, (e.payload->>'arrears_after')::numeric AS arrears_after,
           (e.payload->>'delinquent_since')::date AS since_after, e.occurred_at
    FROM audit_events e WHERE e.action = :applied AND e.occurred_at <= :t
    ORDER BY e.case_id, e.arrival DESC
), dflt AS (
    SELECT DISTINCT e.case_id FROM audit_events e
    WHERE e.action = :defaulted AND e.occurred_at <= :t
)
SELECT l.id, l.policy_pack, l.product, l.currency,
       snap.as_of, snap.days_past_due, snap.arrears, snap.balance, snap.received_at,
       kase.case_id, stage.stage, stage.chapter, closed.outcome, closed.occurred_at AS closed_at,
       paid.arrears_after, paid.since_after, paid.occurred_at AS paid_at,
       dflt.case_id IS NOT NULL AS defaulted
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
_STATE_ACTIONS = {
    "stage_changed": AuditAction.CASE_STAGE_CHANGED.value,
    "case_closed": AuditAction.CASE_CLOSED.value,
    "applied": AuditAction.PAYMENT_APPLIED.value,
    "defaulted": AuditAction.EBA_DONE.value,  # the default marking (CRR Art. 178)
}


def bucket_ctes(tag: str) -> str:
    """CTEs ending in `state_<tag>`: every loan known by the end of `:day_<tag>` with its pack,
    product, currency, balance and bucket (BUCKETS or 'exited'), by the rules of `_state` and
    `LoanState.bucket` in SQL, so a report can group loans without a Python object each (the
    report tests hold the two to the same figures). Parameters: :day_<tag>, :t_<tag>, :pack and
    the actions of _STATE_ACTIONS. Each latest row is read in its index's order (a loan's
    snapshots backwards from the covering index, a case's events backwards by arrival)."""
    x, cured, gone = tag, _values(CURE_OUTCOMES), _values(EXIT_OUTCOMES)
    return f"""
snap_{x} AS (
    SELECT DISTINCT ON (s.loan_id) s.loan_id, s.as_of, s.days_past_due, s.arrears, s.balance, s.received_at
    FROM delinquency_snapshots s
    WHERE s.as_of <= CAST(:day_{x} AS date) AND s.received_at <= :t_{x}
    ORDER BY s.loan_id DESC, s.as_of DESC
), kase_{x} AS (
    SELECT DISTINCT ON (c.loan_id) c.loan_id, c.id AS case_id
    FROM cases c WHERE c.opened_at <= :t_{x}
    ORDER BY c.loan_id, c.opened_at DESC
), last_{x} AS (
    SELECT e.action, e.case_id, max(e.arrival) AS arrival
    FROM audit_events e
    WHERE e.action IN (:stage_changed, :case_closed, :applied) AND e.occurred_at <= :t_{x}
    GROUP BY e.action, e.case_id
), events_{x} AS (
    SELECT e.action, e.case_id, e.payload, e.occurred_at
    FROM audit_events e JOIN last_{x} ON last_{x}.arrival = e.arrival AND last_{x}.action = e.action
    WHERE e.action IN (:stage_changed, :case_closed, :applied) AND e.occurred_at <= :t_{x}
), loan_{x} AS (
    SELECT l.id AS loan_id, l.policy_pack AS pack, l.product, l.currency, snap.balance, snap.as_of,
           snap.days_past_due AS reported,
           CASE WHEN closed.occurred_at > snap.received_at AND closed.payload->>'outcome' IN ({cured})
                THEN 0
                WHEN paid.occurred_at > snap.received_at THEN (paid.payload->>'arrears_after')::numeric
                ELSE snap.arrears END AS arrears,
           CASE WHEN paid.occurred_at > snap.received_at THEN (paid.payload->>'delinquent_since')::date END
               AS since,
           coalesce(closed.occurred_at > snap.received_at AND closed.payload->>'outcome' IN ({gone}), false)
               AS exited,
           kase.case_id IS NOT NULL AND closed.case_id IS NULL AS is_open,
           stage.payload->>'stage' AS stage
    FROM snap_{x} snap
    JOIN loans l ON l.id = snap.loan_id
    LEFT JOIN kase_{x} kase ON kase.loan_id = l.id
    LEFT JOIN events_{x} stage ON stage.case_id = kase.case_id AND stage.action = :stage_changed
    LEFT JOIN events_{x} closed ON closed.case_id = kase.case_id AND closed.action = :case_closed
    LEFT JOIN events_{x} paid ON paid.case_id = kase.case_id AND paid.action = :applied
    WHERE CAST(:pack AS text) IS NULL OR l.policy_pack = CAST(:pack AS text)
), state_{x} AS (
    SELECT loan_id, pack, product, currency, balance,
           CASE WHEN exited THEN :exited
                WHEN is_open AND stage = :enforcement_stage THEN :foreclosure
                WHEN dpd < 30 THEN :current WHEN dpd < 60 THEN :d30 WHEN dpd < 90 THEN :d60
                ELSE :d90 END AS bucket
    FROM (
        SELECT *, CASE WHEN reported <= 0 OR arrears <= 0 THEN 0
                       WHEN since IS NOT NULL THEN CAST(:day_{x} AS date) - since
                       ELSE reported + (CAST(:day_{x} AS date) - as_of) END AS dpd
        FROM loan_{x}
    ) d
)"""


def bucket_params(tag: str, day: date) -> dict[str, Any]:
    """The parameters `bucket_ctes(tag)` needs for the state at the end of `day`."""
    return {f"day_{tag}": day, f"t_{tag}": cutoff(day)}


BUCKET_PARAMS: dict[str, Any] = {
    **_STATE_ACTIONS,
    "enforcement_stage": CaseStage.ENFORCEMENT.value,
    **dict(zip(("current", "d30", "d60", "d90", "foreclosure"), BUCKETS, strict=True)),
    "exited": EXITED,
}


def _values(outcomes: frozenset[CaseOutcome]) -> str:
    """An SQL list of the outcomes' names (enum values, never input)."""
    return ", ".join(f"'{o.value}'" for o in sorted(outcomes))


def _state(row: Any, day: date) -> LoanState:
    arrears: Decimal = row.arrears
    since: date | None = None  # where a payment covered the oldest instalments (12 CFR 1024.31)
    if row.paid_at is not None and row.paid_at > row.received_at:
        arrears, since = row.arrears_after, row.since_after
    closed_after_snapshot = row.closed_at is not None and row.closed_at > row.received_at
    exited = closed_after_snapshot and row.outcome in EXIT_OUTCOMES
    if closed_after_snapshot and row.outcome in CURE_OUTCOMES:
        arrears = Decimal("0.00")
    # A loan reported current stays current until a newer report: nothing says since when its
    # arrears (if any) are unpaid.
    if row.days_past_due <= 0 or arrears <= 0:
        dpd = 0
    elif since is not None:  # counted from the oldest instalment still unpaid after the payment
        dpd = (day - since).days
    else:
        dpd = days_past_due(reported=row.days_past_due, as_of=row.as_of, on=day, arrears=arrears)
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
    rows = await execute(session, _STATE_SQL, {"day": day, "t": cutoff(day), "pack": pack, **_STATE_ACTIONS})
    return [_state(row, day) for row in rows]
