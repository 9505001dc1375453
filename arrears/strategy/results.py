"""An experiment's results: per-arm KPIs with confidence intervals and significance tests against
the champion, guardrails that stop an arm, and promoting the winner.

Read from the case rows (outcomes), the payments, and the audit trail (disputes; complaints are
counted as cease-communication requests, the borrower's own "stop contacting me").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from arrears import audit
from arrears.strategy import experiments, strategies
from models.audit_actions import AuditAction
from models.base import utcnow
from models.strategy import ArmStatus, Experiment, ExperimentStatus
from policies.contact import HOLD_RULES

CONFIDENCE = 0.95
SIGNIFICANCE = 0.05

_PER_CASE = text(
    """
    SELECT a.arm_id, c.outcome,
           (SELECT COALESCE(sum(p.amount), 0) FROM payments p WHERE p.case_id = c.id) AS collected,
           EXISTS (SELECT 1 FROM audit_events e WHERE e.case_id = c.id AND e.action = :hold
                   AND e.rule_id = :dispute AND e.payload->>'key' LIKE '%.on') AS disputed,
           EXISTS (SELECT 1 FROM audit_events e WHERE e.case_id = c.id AND e.action = :hold
                   AND e.rule_id = :cease AND e.payload->>'key' LIKE '%.on') AS complained
    FROM experiment_assignments a JOIN cases c ON c.id = a.case_id
    WHERE a.experiment_id = :experiment
    """
)


@dataclass(frozen=True, slots=True)
class Rate:
    """A share with its Wilson interval."""

    events: int
    n: int
    low: float
    high: float

    @property
    def value(self) -> float:
        return self.events / self.n if self.n else 0.0


@dataclass(frozen=True, slots=True)
class Mean:
    """A mean with its t interval."""

    value: float
    n: int
    low: float
    high: float


@dataclass(slots=True)
class ArmResult:
    name: str
    strategy: str
    champion: bool
    status: ArmStatus
    cases: int
    cure: Rate
    collected: Mean
    dispute: Rate
    complaint: Rate
    # against the champion: p-values of the cure rate (chi-square) and collected (Welch's t)
    p_cure: float | None = None
    p_collected: float | None = None
    stopped_reason: str | None = None
    values: list[float] = field(default_factory=list, repr=False)


def wilson(events: int, n: int) -> Rate:
    """The Wilson score interval of events/n."""
    if n == 0:
        return Rate(0, 0, 0.0, 1.0)
    from scipy.stats import binomtest

    ci = binomtest(events, n).proportion_ci(confidence_level=CONFIDENCE, method="wilson")
    return Rate(events, n, float(ci.low), float(ci.high))


def mean(values: Sequence[float]) -> Mean:
    """The mean with Student's t interval."""
    n = len(values)
    if n == 0:
        return Mean(0.0, 0, 0.0, 0.0)
    m = sum(values) / n
    if n < 2:
        return Mean(m, n, m, m)
    from scipy.stats import t

    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1))
    half = float(t.ppf((1 + CONFIDENCE) / 2, n - 1)) * sd / math.sqrt(n)
    return Mean(m, n, m - half, m + half)


def compare(champion: ArmResult, arm: ArmResult) -> None:
    """Fill the arm's p-values against the champion."""
    from scipy.stats import chi2_contingency, ttest_ind

    table = [
        [champion.cure.events, champion.cure.n - champion.cure.events],
        [arm.cure.events, arm.cure.n - arm.cure.events],
    ]
    if min(champion.cure.n, arm.cure.n) > 0 and all(sum(col) > 0 for col in zip(*table, strict=True)):
        arm.p_cure = float(chi2_contingency(table).pvalue)
    if len(champion.values) > 1 and len(arm.values) > 1:
        p = float(ttest_ind(arm.values, champion.values, equal_var=False).pvalue)
        arm.p_collected = None if math.isnan(p) else p


async def report(session: AsyncSession, experiment: Experiment) -> list[ArmResult]:
    """Per-arm KPIs with intervals, each challenger tested against the champion."""
    rows = (
        await session.execute(
            _PER_CASE,
            {
                "experiment": experiment.id,
                "hold": AuditAction.HOLD_DONE.value,
                "dispute": HOLD_RULES["dispute"].id,
                "cease": HOLD_RULES["cease"].id,
            },
        )
    ).all()
    by_arm: dict[object, list[tuple[str | None, float, bool, bool]]] = {}
    for arm_id, outcome, collected, disputed, complained in rows:
        by_arm.setdefault(arm_id, []).append((outcome, float(collected), bool(disputed), bool(complained)))
    results: list[ArmResult] = []
    for arm, strategy in await experiments.arms_of(session, experiment):
        cases = by_arm.get(arm.id, [])
        values = [c[1] for c in cases]
        results.append(
            ArmResult(
                name=arm.name,
                strategy=f"{strategy.name}@v{strategy.version}",
                champion=arm.champion,
                status=arm.status,
                cases=len(cases),
                cure=wilson(sum(1 for c in cases if c[0] == "cured"), len(cases)),
                collected=mean(values),
                dispute=wilson(sum(1 for c in cases if c[2]), len(cases)),
                complaint=wilson(sum(1 for c in cases if c[3]), len(cases)),
                stopped_reason=arm.stopped_reason,
                values=values,
            )
        )
    champion = next((r for r in results if r.champion), None)
    if champion is not None:
        for r in results:
            if r is not champion:
                compare(champion, r)
    return results


async def guard(session: AsyncSession, experiment: Experiment, *, actor: audit.Actor) -> list[str]:
    """Stop every active arm whose dispute or complaint rate crossed its threshold (once it has
    the minimum cases); the names of the arms stopped now. Audited."""
    stopped: list[str] = []
    results = {r.name: r for r in await report(session, experiment)}
    for arm, _ in await experiments.arms_of(session, experiment):
        r = results[arm.name]
        if arm.status is not ArmStatus.ACTIVE or r.cases < experiment.guardrail_min_cases:
            continue
        crossed = [
            f"{what} rate {rate.value:.1%} above {limit:.1%} ({rate.events} of {rate.n} cases)"
            for what, rate, limit in (
                ("dispute", r.dispute, experiment.max_dispute_rate),
                ("complaint", r.complaint, experiment.max_complaint_rate),
            )
            if rate.value > limit
        ]
        if not crossed:
            continue
        arm.status = ArmStatus.STOPPED
        arm.stopped_reason = "; ".join(crossed)[:300]
        arm.stopped_at = utcnow()
        session.add(arm)
        await session.flush()
        await audit.append(
            session,
            actor=actor,
            action=AuditAction.EXPERIMENT_ARM_STOPPED,
            reason=f"guardrail stopped arm {arm.name} of {experiment.name}: {arm.stopped_reason}",
            rule_id=experiments.ASSIGNMENT_RULE.id,
            citation=experiments.ASSIGNMENT_RULE.citation,
            payload={
                "experiment": experiment.name,
                "arm": arm.name,
                "cases": r.cases,
                "dispute_rate": r.dispute.value,
                "complaint_rate": r.complaint.value,
            },
            idempotency_key=f"experiment:{experiment.id}:arm:{arm.id}:stopped",
        )
        stopped.append(arm.name)
    return stopped


class PromotionRefused(ValueError):
    """The winner cannot be promoted: the message says why (a legal violation in its simulation)."""


def winner_of(results: Sequence[ArmResult]) -> ArmResult:
    """The active arm that cures most; a challenger only wins on a significant difference."""
    champion = next(r for r in results if r.champion)
    better = [
        r
        for r in results
        if not r.champion
        and r.status is ArmStatus.ACTIVE
        and r.cure.value > champion.cure.value
        and r.p_cure is not None
        and r.p_cure < SIGNIFICANCE
    ]
    return max(better, key=lambda r: r.cure.value) if better else champion


async def promote(
    session: AsyncSession,
    experiment: Experiment,
    *,
    arm: str | None,
    violations: Mapping[str, int],
    actor: audit.Actor,
) -> ArmResult:
    """End the experiment and make the winning arm's strategy the pack's champion. Refused when
    the strategy broke any legal rule in its simulation (`violations`: per strategy label)."""
    if experiment.status is not ExperimentStatus.RUNNING:
        raise PromotionRefused(f"experiment {experiment.name} has ended")
    results = await report(session, experiment)
    chosen = next((r for r in results if r.name == arm), None) if arm else winner_of(results)
    if chosen is None:
        raise PromotionRefused(f"experiment {experiment.name} has no arm {arm!r}")
    if chosen.status is ArmStatus.STOPPED:
        raise PromotionRefused(f"arm {chosen.name} was stopped by a guardrail: {chosen.stopped_reason}")
    if chosen.strategy not in violations:
        raise PromotionRefused(f"{chosen.strategy} has not been simulated: simulate it before promoting it")
    if violations[chosen.strategy] > 0:
        raise PromotionRefused(
            f"{chosen.strategy} broke {violations[chosen.strategy]} legal rule check(s) in its simulation:"
            " zero violations is a precondition for promotion"
        )
    row = await strategies.find(session, experiment.policy_pack, chosen.strategy)
    await strategies.make_champion(
        session,
        row,
        actor=actor,
        reason=f"{chosen.strategy} promoted from experiment {experiment.name}: cure rate "
        f"{chosen.cure.value:.1%} on {chosen.cases} cases, no legal violation in its simulation",
    )
    await experiments.end(
        session, experiment, winner=chosen.name, actor=actor, reason=f"{chosen.name} promoted"
    )
    return chosen
