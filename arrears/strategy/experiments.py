"""Champion/challenger: new cases of a pack drawn into arms by a seeded, recorded draw.

The draw is a permuted block: the arms fill each block of `block_size` draws equally, in an
order shuffled by a generator seeded with (experiment seed, block number). Anyone holding the
seed can replay every assignment from its sequence number, and the arms never drift more than
half a block apart. Each draw is written with the case (one assignment per case, which the
database lets the application add but never change) and to the audit trail.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from arrears import audit
from arrears.strategy import strategies
from models.audit_actions import AuditAction
from models.base import utcnow
from models.cases import Case
from models.enums import PolicyPack
from models.strategy import (
    ArmStatus,
    Experiment,
    ExperimentArm,
    ExperimentAssignment,
    ExperimentStatus,
    Strategy,
)
from policies.strategy import STRATEGY_RULE, Variant

ASSIGNMENT_RULE = STRATEGY_RULE
PER_ARM_IN_BLOCK = 5


class ExperimentError(ValueError):
    """An experiment that cannot be started, found or acted on; the message says why."""


def draw(*, seed: int, sequence: int, arms: Sequence[str], block_size: int) -> str:
    """The arm of draw number `sequence`: reproducible from the seed, balanced within each block."""
    if not arms:
        raise ExperimentError("no active arm to draw from")
    ordered = sorted(arms)
    block, position = divmod(sequence, block_size)
    slots = [ordered[i % len(ordered)] for i in range(block_size)]
    random.Random(f"{seed}:{block}").shuffle(slots)
    return slots[position]


@dataclass(frozen=True, slots=True)
class Assignment:
    experiment: str
    arm: str
    sequence: int
    seed: int
    variant: Variant


async def start(
    session: AsyncSession,
    *,
    name: str,
    pack: PolicyPack,
    champion: Strategy,
    challengers: Sequence[Strategy],
    seed: int,
    max_dispute_rate: float,
    max_complaint_rate: float,
    guardrail_min_cases: int = 20,
    actor: audit.Actor,
) -> Experiment:
    """Start an experiment: the champion's arm and one arm per challenger. One running per pack."""
    arms = [champion, *challengers]
    if not challengers:
        raise ExperimentError("an experiment needs at least one challenger")
    if any(s.policy_pack is not pack for s in arms):
        raise ExperimentError(f"every strategy of the experiment must be for {pack.value}")
    if len({s.name for s in arms}) != len(arms):
        raise ExperimentError("each arm needs a strategy of its own name")
    running = (
        await session.exec(
            select(Experiment).where(
                Experiment.policy_pack == pack, Experiment.status == ExperimentStatus.RUNNING
            )
        )
    ).first()
    if running is not None:
        raise ExperimentError(f"experiment {running.name!r} is already running for {pack.value}")
    if not 0 < max_dispute_rate <= 1 or not 0 < max_complaint_rate <= 1:
        raise ExperimentError("guardrail rates are shares between 0 and 1")
    experiment = Experiment(
        name=name,
        policy_pack=pack,
        seed=seed,
        block_size=PER_ARM_IN_BLOCK * len(arms),
        max_dispute_rate=max_dispute_rate,
        max_complaint_rate=max_complaint_rate,
        guardrail_min_cases=guardrail_min_cases,
        created_by=actor.name,
    )
    session.add(experiment)
    await session.flush()
    for s in arms:
        session.add(
            ExperimentArm(
                experiment_id=experiment.id, name=s.name[:30], strategy_id=s.id, champion=s is champion
            )
        )
    await session.flush()
    await audit.append(
        session,
        actor=actor,
        action=AuditAction.EXPERIMENT_STARTED,
        reason=f"experiment {name} started for {pack.value}",
        rule_id=ASSIGNMENT_RULE.id,
        citation=ASSIGNMENT_RULE.citation,
        payload={
            "experiment": name,
            "pack": pack.value,
            "seed": seed,
            "block_size": experiment.block_size,
            "arms": {s.name: {"strategy": f"{s.name}@v{s.version}", "sha256": s.sha256} for s in arms},
            "champion": champion.name,
            "max_dispute_rate": max_dispute_rate,
            "max_complaint_rate": max_complaint_rate,
        },
        idempotency_key=f"experiment:{experiment.id}:started",
    )
    return experiment


async def find(session: AsyncSession, name: str) -> Experiment:
    row = (await session.exec(select(Experiment).where(Experiment.name == name))).first()
    if row is None:
        raise ExperimentError(f"no experiment {name!r}")
    return row


async def arms_of(session: AsyncSession, experiment: Experiment) -> list[tuple[ExperimentArm, Strategy]]:
    rows = (
        await session.exec(
            select(ExperimentArm, Strategy)
            .join(Strategy, col(Strategy.id) == col(ExperimentArm.strategy_id))
            .where(ExperimentArm.experiment_id == experiment.id)
            .order_by(col(ExperimentArm.name))
        )
    ).all()
    return [(a, s) for a, s in rows]


async def assign(session: AsyncSession, case: Case, *, actor: audit.Actor) -> Assignment | None:
    """Draw a new case into an arm of its pack's running experiment, once; None if none runs.

    Locks the experiment's row for the draw, so that concurrent intakes take sequence numbers
    one after another."""
    existing = await session.get(ExperimentAssignment, case.id)
    if existing is not None:
        return await _assignment(session, existing)
    experiment = (
        await session.exec(
            select(Experiment)
            .where(Experiment.policy_pack == case.policy_pack, Experiment.status == ExperimentStatus.RUNNING)
            .with_for_update()
        )
    ).first()
    if experiment is None:
        return None
    arms = {a.name: (a, s) for a, s in await arms_of(session, experiment) if a.status is ArmStatus.ACTIVE}
    if not arms:
        return None
    sequence = experiment.assigned
    name = draw(seed=experiment.seed, sequence=sequence, arms=list(arms), block_size=experiment.block_size)
    arm, strategy = arms[name]
    experiment.assigned = sequence + 1
    session.add(experiment)
    session.add(
        ExperimentAssignment(
            case_id=case.id,
            experiment_id=experiment.id,
            arm_id=arm.id,
            sequence=sequence,
            seed=experiment.seed,
        )
    )
    case.strategy_arm = f"{experiment.name}/{arm.name}"
    session.add(case)
    await session.flush()
    await audit.append(
        session,
        actor=actor,
        action=AuditAction.EXPERIMENT_ASSIGNED,
        reason=f"drawn into arm {arm.name} of experiment {experiment.name}",
        case_id=case.id,
        loan_id=case.loan_id,
        rule_id=ASSIGNMENT_RULE.id,
        citation=ASSIGNMENT_RULE.citation,
        payload={
            "experiment": experiment.name,
            "arm": arm.name,
            "strategy": f"{strategy.name}@v{strategy.version}",
            "sha256": strategy.sha256,
            "seed": experiment.seed,
            "sequence": sequence,
            "block_size": experiment.block_size,
            "arms": sorted(arms),
        },
        idempotency_key=f"{case.id}:experiment:{experiment.id}:assigned",
    )
    return Assignment(experiment.name, arm.name, sequence, experiment.seed, strategies.variant_of(strategy))


async def _assignment(session: AsyncSession, row: ExperimentAssignment) -> Assignment:
    experiment = await session.get(Experiment, row.experiment_id)
    arm = await session.get(ExperimentArm, row.arm_id)
    assert experiment is not None and arm is not None
    strategy = await session.get(Strategy, arm.strategy_id)
    assert strategy is not None
    return Assignment(experiment.name, arm.name, row.sequence, row.seed, strategies.variant_of(strategy))


async def strategy_for(session: AsyncSession, case: Case, *, actor: audit.Actor) -> Variant | None:
    """The strategy a case is worked under: its arm's (drawn now if it is new and an experiment
    runs), else its pack's champion, else None (the pack as it is)."""
    assignment = await assign(session, case, actor=actor)
    if assignment is not None:
        return assignment.variant
    champion = await strategies.champion(session, case.policy_pack)
    return strategies.variant_of(champion) if champion is not None else None


async def kept_strategy(session: AsyncSession, case: Case) -> Variant | None:
    """The strategy of a case already open: its arm's, else its pack's champion, else None."""
    return (await kept_strategies(session, [case])).get(case.id)


async def kept_strategies(session: AsyncSession, cases: Sequence[Case]) -> dict[uuid.UUID, Variant]:
    """For starting runs again: each case's arm's strategy (kept for life), else its pack's champion."""
    if not cases:
        return {}
    rows = (
        await session.exec(
            select(ExperimentAssignment.case_id, Strategy)
            .join(ExperimentArm, col(ExperimentArm.id) == col(ExperimentAssignment.arm_id))
            .join(Strategy, col(Strategy.id) == col(ExperimentArm.strategy_id))
            .where(col(ExperimentAssignment.case_id).in_([c.id for c in cases]))
        )
    ).all()
    kept = {case_id: strategies.variant_of(s) for case_id, s in rows}
    champions: dict[PolicyPack, Variant | None] = {}
    for case in cases:
        if case.id in kept:
            continue
        if case.policy_pack not in champions:
            row = await strategies.champion(session, case.policy_pack)
            champions[case.policy_pack] = strategies.variant_of(row) if row is not None else None
        variant = champions[case.policy_pack]
        if variant is not None:
            kept[case.id] = variant
    return kept


async def counts(session: AsyncSession, experiment: Experiment) -> dict[str, int]:
    """Cases drawn into each arm."""
    rows = (
        await session.exec(
            select(ExperimentArm.name, func.count())
            .select_from(ExperimentAssignment)
            .join(ExperimentArm, col(ExperimentArm.id) == col(ExperimentAssignment.arm_id))
            .where(ExperimentAssignment.experiment_id == experiment.id)
            .group_by(col(ExperimentArm.name))
        )
    ).all()
    return {name: int(n) for name, n in rows}


async def end(
    session: AsyncSession, experiment: Experiment, *, winner: str | None, actor: audit.Actor, reason: str
) -> None:
    experiment.status = ExperimentStatus.ENDED
    experiment.winner = winner
    experiment.ended_at = utcnow()
    session.add(experiment)
    await session.flush()
    await audit.append(
        session,
        actor=actor,
        action=AuditAction.EXPERIMENT_ENDED,
        reason=reason[: audit.REASON_MAX],
        rule_id=ASSIGNMENT_RULE.id,
        citation=ASSIGNMENT_RULE.citation,
        payload={"experiment": experiment.name, "winner": winner, "assigned": experiment.assigned},
        idempotency_key=f"experiment:{experiment.id}:ended",
    )
