"""A simulated case's records: the rows a loan writes, and the case's opening, stage changes,
payments and closure, as intake, the payments webhook and the case workflow record them."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from arrears.analytics.behaviour import BehaviourModel
from arrears.analytics.types import Bucket, next_month
from models.audit_actions import AuditAction
from models.enums import CaseOutcome, CaseStage, PolicyPack, Segment
from policies import get_pack
from workflows.case import workflow_id

SOURCE = "simulation"
CENT = Decimal("0.01")
STAFF = ("agent-sim", "agent")
WORKFLOW = ("case-workflow", "system")
LOAN_SYSTEM = ("loan-system", "system")
INTAKE = ("system", "system")


def month_ends(as_of: date, months: int) -> list[date]:
    """The snapshot days: the last day of the month before the first simulated month, the last
    day of each simulated month, and `as_of` for the last (the current) month."""
    if months < 1:
        raise ValueError("months: at least 1")
    first = as_of.replace(day=1)
    for _ in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    ends = [first - timedelta(days=1)]
    m = first
    for _ in range(months - 1):
        m = next_month(m)
        ends.append(m - timedelta(days=1))
    ends.append(as_of)
    return ends


@dataclass(slots=True)
class Rows:
    """Rows for each table, as tuples in the loader's column order."""

    borrowers: list[tuple[Any, ...]] = field(default_factory=list)
    loans: list[tuple[Any, ...]] = field(default_factory=list)
    snapshots: list[tuple[Any, ...]] = field(default_factory=list)
    cases: list[tuple[Any, ...]] = field(default_factory=list)
    payments: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    messages: list[tuple[Any, ...]] = field(default_factory=list)
    engagement: list[tuple[Any, ...]] = field(default_factory=list)
    intake_rows: list[dict[str, Any]] = field(default_factory=list)

    def extend(self, other: Rows) -> None:
        for name in self.__slots__:
            getattr(self, name).extend(getattr(other, name))


@dataclass(slots=True)
class _Case:
    id: uuid.UUID
    opened_at: datetime
    opened_as_of: date
    dpd_at_open: int
    stage: CaseStage
    stage_changed_at: datetime
    segment: Segment
    arm: str | None
    seq: int = 0  # the step number in keys, as the workflow numbers its actions
    applications: int = 0
    closed_at: datetime | None = None
    outcome: CaseOutcome | None = None
    arrears: Decimal = Decimal("0.00")
    since: date | None = None


def _pick(rng: random.Random, odds: Any) -> Any:
    """A key of a {key: probability} mapping (or (key, p) pairs), drawn by its probability."""
    items = list(odds.items()) if hasattr(odds, "items") else list(odds)
    r, acc = rng.random(), 0.0
    for key, p in items:
        acc += p
        if r < acc:
            return key
    return items[-1][0]


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _dpd(k: int, end: date, due_day: int) -> int:
    """Days past due with `k` instalments missed, counted at `end` from the oldest."""
    if k <= 0:
        return 0
    offset = (end - end.replace(day=min(due_day, end.day))).days
    return 30 * (k - 1) + min(29, max(1, offset))


def _bucket_k(to: Bucket, k: int) -> int:
    """Missed instalments after a move into `to` from `k` missed."""
    if to is Bucket.D120_PLUS:
        return max(5, k + 1)
    return to.order


class CaseHistory:
    """One loan's rows and its case's life; the simulation (generator) drives it."""

    rng: random.Random
    model: BehaviourModel
    rows: Rows
    pack: PolicyPack
    segment: Segment
    loan_id: uuid.UUID
    seed: int
    number: int
    ends: list[date]
    pay_at: datetime
    arm: str | None  # the strategy arm every case of the loan is assigned to

    def at(self, day: date, seconds: int) -> datetime:
        return datetime.combine(day, time(0), UTC) + timedelta(seconds=seconds)

    def moment(self, month: int) -> datetime:
        """A random instant in simulated month `month`, before its snapshot (taken at 00:30 UTC)."""
        lo = self.ends[month - 1] + timedelta(days=1)
        days = (self.ends[month] - lo).days
        if days <= 0:
            return self.at(self.ends[month], self.rng.randint(0, 1_500))
        return self.at(lo, self.rng.randint(0, days * 86_400 - 1))

    def event(
        self,
        case: _Case,
        actor: tuple[str, str],
        action: AuditAction,
        at: datetime,
        payload: dict[str, Any],
        *,
        reason: str,
        rule: tuple[str, str] | None = None,
    ) -> None:
        self.rows.events.append(
            (
                _uuid(self.rng),
                at,
                actor[0],
                actor[1],
                action.value,
                case.id,
                self.loan_id,
                reason,
                rule[0] if rule else None,
                rule[1] if rule else None,
                payload,
            )
        )

    def step(
        self,
        case: _Case,
        action: AuditAction,
        at: datetime,
        key: str,
        *,
        actor: tuple[str, str] = WORKFLOW,
        **extra: Any,
    ) -> None:
        """A step record as the case workflow writes it (ActionRecord's fields)."""
        kind, status = action.value.split(".")
        rule = (extra.pop("rule_id", f"{self.pack.value}.{kind}"), extra.pop("citation", "servicing policy"))
        payload = {
            "key": key,
            "kind": kind,
            "status": status,
            "at": at.isoformat(),
            "collection": True,
            **extra,
        }
        self.event(case, actor, action, at, payload, reason=extra.get("detail", key)[:200], rule=rule)

    def open(self, end: date, dpd: int, at: datetime, the_pack: Any, arrears: Decimal) -> _Case:
        case = _Case(
            id=_uuid(self.rng),
            opened_at=at,
            opened_as_of=end,
            dpd_at_open=dpd,
            stage=the_pack.initial_stage(dpd),
            stage_changed_at=at,
            segment=self.segment,
            arm=self.arm,
        )
        self.event(
            case,
            INTAKE,
            AuditAction.CASE_OPENED,
            at,
            {
                "days_past_due": dpd,
                "arrears": str(arrears),
                "currency": the_pack.currency,
                "as_of": end.isoformat(),
                "policy_pack": self.pack.value,
            },
            reason=f"delinquency reported by {SOURCE}",
            rule=(the_pack.case_opening.id, the_pack.case_opening.citation),
        )
        return case

    def stage(self, case: _Case, at: datetime, stage: CaseStage, dpd: int) -> None:
        case.stage, case.stage_changed_at = stage, at
        self.event(
            case,
            WORKFLOW,
            AuditAction.CASE_STAGE_CHANGED,
            at,
            {"stage": stage.value, "days_past_due": dpd, "effective_at": at.isoformat()},
            reason=f"moved to {stage.value}",
        )

    def close(self, case: _Case, at: datetime, outcome: CaseOutcome) -> None:
        case.closed_at, case.outcome = at, outcome
        if outcome in (CaseOutcome.CURED, CaseOutcome.MODIFIED):
            case.arrears = Decimal("0.00")
        self.event(
            case,
            WORKFLOW,
            AuditAction.CASE_CLOSED,
            at,
            {"outcome": outcome.value, "effective_at": at.isoformat()},
            reason=f"closed: {outcome.value}",
        )
        self.case_row(case, None, self.pack)

    def case_row(self, case: _Case, ext: str | None, pack: PolicyPack) -> None:
        is_open = case.closed_at is None
        self.rows.cases.append(
            (
                case.id,
                self.loan_id,
                workflow_id(f"SIM{self.seed}-{self.number:07d}"),
                pack.value,
                case.stage.value if is_open else CaseStage.CLOSED.value,
                "open" if is_open else "closed",
                None if is_open else case.outcome.value if case.outcome else None,
                case.dpd_at_open,
                case.opened_as_of,
                case.since or case.opened_as_of - timedelta(days=case.dpd_at_open),
                case.arrears,
                get_pack(pack).currency,
                "collections-" + pack.value.split("_")[0],
                case.opened_at,
                case.stage_changed_at if is_open else case.closed_at,
                case.closed_at,
                case.segment.value,
                case.arm,
            )
        )

    def pay(
        self, case: _Case, month: int, amount: Decimal, after: Decimal, k: int, due_day: int, end: date
    ) -> None:
        at = self.moment(month)
        self.pay_at = at
        external = f"SIMPAY{self.seed}-{self.number}-{month}"
        currency = get_pack(self.pack).currency
        self.rows.payments.append(
            (_uuid(self.rng), external, self.loan_id, case.id, amount, currency, at, at)
        )
        self.event(
            case,
            LOAN_SYSTEM,
            AuditAction.PAYMENT_RECEIVED,
            at,
            {"external_id": external, "amount": str(amount), "currency": currency},
            reason="payment reported by the loan system",
        )
        payload: dict[str, Any] = {
            "external_id": external,
            "amount": str(amount),
            "currency": currency,
            "arrears_after": str(after),
        }
        if k > 0:
            payload["delinquent_since"] = (end - timedelta(days=_dpd(k, end, due_day))).isoformat()
        self.event(
            case,
            WORKFLOW,
            AuditAction.PAYMENT_APPLIED,
            at + timedelta(seconds=1),
            payload,
            reason="payment received from the loan system",
        )
        case.arrears = after

    def recovery(self, closed: _Case, month: int, balance: Decimal) -> None:
        amount = max(CENT, (balance * Decimal(self.model.outcomes.recovery_share)).quantize(CENT))
        at = self.moment(month)
        external = f"SIMREC{self.seed}-{self.number}-{month}"
        currency = get_pack(self.pack).currency
        self.rows.payments.append(
            (_uuid(self.rng), external, self.loan_id, closed.id, amount, currency, at, at)
        )
        self.event(
            closed,
            LOAN_SYSTEM,
            AuditAction.PAYMENT_RECEIVED,
            at,
            {"external_id": external, "amount": str(amount), "currency": currency},
            reason="payment reported by the loan system",
        )
