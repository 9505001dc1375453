"""Champion/challenger: a seeded, recorded, balanced draw; an arm for life; per-arm results with
intervals and tests; a guardrail that stops an arm; promotion in one step, refused on a violation."""

from __future__ import annotations

import uuid
from collections import Counter

import psycopg
import pytest
from sqlmodel import select

from arrears import audit
from arrears.db import Database
from arrears.embedded import EmbeddedPostgres
from arrears.strategy import experiments, results, strategies
from arrears.strategy.experiments import ExperimentError, draw
from arrears.strategy.results import PromotionRefused
from models.audit import AuditEvent
from models.audit_actions import AuditAction
from models.cases import Case
from models.enums import CaseOutcome, PolicyPack
from models.strategy import ArmStatus, Experiment, StrategyStatus
from policies.contact import HOLD_RULES
from tests.strategy.conftest import add_case

ACTOR = audit.Actor("test", "admin")
ARMS = ["champion", "challenger"]


def test_the_draw_is_reproducible_from_its_seed() -> None:
    first = [draw(seed=42, sequence=n, arms=ARMS, block_size=10) for n in range(500)]
    again = [draw(seed=42, sequence=n, arms=list(reversed(ARMS)), block_size=10) for n in range(500)]
    other = [draw(seed=43, sequence=n, arms=ARMS, block_size=10) for n in range(500)]
    assert first == again  # the same seed and sequence number give the same arm, whatever the order given
    assert first != other


@pytest.mark.parametrize("arms", [ARMS, ["a", "b", "c"]])
def test_the_draw_is_balanced_within_every_block(arms: list[str]) -> None:
    block = 5 * len(arms)
    drawn = [draw(seed=7, sequence=n, arms=arms, block_size=block) for n in range(1000)]
    for start in range(0, 1000 - block + 1, block):
        assert Counter(drawn[start : start + block]) == dict.fromkeys(arms, 5)
    totals = Counter(drawn)
    assert max(totals.values()) - min(totals.values()) <= block // 2
    # and it is not a fixed rotation: the order within blocks differs
    assert len({tuple(drawn[s : s + block]) for s in range(0, 200, block)}) > 1


async def _experiment(db: Database, name: str, pack: PolicyPack, **guard: float) -> Experiment:
    async with db.session() as session:
        standard = await strategies.store(
            session, strategies.builtin("us-standard").model_copy(update={"pack": pack}), actor=ACTOR
        )
        mild = await strategies.store(
            session, strategies.builtin("us-mild").model_copy(update={"pack": pack}), actor=ACTOR
        )
        return await experiments.start(
            session,
            name=name,
            pack=pack,
            champion=standard,
            challengers=[mild],
            seed=20261205,
            max_dispute_rate=guard.get("dispute", 0.2),
            max_complaint_rate=guard.get("complaint", 0.2),
            actor=ACTOR,
        )


async def test_new_cases_are_drawn_recorded_and_keep_their_arm(
    strategy_db: Database, postgres: EmbeddedPostgres
) -> None:
    await _experiment(strategy_db, "draw-test", PolicyPack.NL_CONSUMER)
    cases = [await add_case(strategy_db, pack=PolicyPack.NL_CONSUMER) for _ in range(20)]
    arms: dict[uuid.UUID, str] = {}
    async with strategy_db.session() as session:
        for case in cases:
            row = await session.get(Case, case.id)
            assert row is not None
            assignment = await experiments.assign(session, row, actor=ACTOR)
            assert assignment is not None
            arms[case.id] = assignment.arm
            assert assignment.variant.name == assignment.arm  # the arm's strategy comes with it
    # the arms are as the seed says, in sequence order
    expected = [
        draw(seed=20261205, sequence=n, arms=["us-mild", "us-standard"], block_size=10) for n in range(20)
    ]
    assert [arms[c.id] for c in cases] == expected
    assert Counter(arms.values()) == {"us-mild": 10, "us-standard": 10}
    async with strategy_db.session() as session:
        # drawn again (a second intake of the same case): the same arm, no new draw
        row = await session.get(Case, cases[0].id)
        assert row is not None
        again = await experiments.assign(session, row, actor=ACTOR)
        assert again is not None and again.arm == arms[cases[0].id] and again.sequence == 0
        assert row.strategy_arm == f"draw-test/{arms[cases[0].id]}"
        events = (
            await session.exec(
                select(AuditEvent).where(
                    AuditEvent.action == AuditAction.EXPERIMENT_ASSIGNED, AuditEvent.case_id == cases[3].id
                )
            )
        ).all()
        kept = await experiments.kept_strategies(session, [row])
    assert len(events) == 1
    expected_payload = {"experiment": "draw-test", "arm": arms[cases[3].id], "seed": 20261205, "sequence": 3}
    assert expected_payload.items() <= events[0].payload.items()
    assert kept[row.id].name == arms[row.id]
    # the application's login cannot move a case to another arm, nor drop its draw
    with (
        psycopg.connect(postgres.app_url("arrears_strategy")) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("UPDATE experiment_assignments SET sequence = sequence + 1000")
    async with strategy_db.session() as session:
        with pytest.raises(ExperimentError, match="already running for nl_consumer"):
            await _experiment(strategy_db, "second", PolicyPack.NL_CONSUMER)


async def _hold(db: Database, case: Case, kind: str) -> None:
    """What the case workflow audits when staff record a dispute or a cease-communication request."""
    async with db.session() as session:
        await audit.append(
            session,
            actor=audit.Actor("agent", "agent"),
            action=AuditAction.HOLD_DONE,
            reason=f"{kind} set",
            case_id=case.id,
            rule_id=HOLD_RULES[kind].id,
            citation=HOLD_RULES[kind].citation,
            payload={"key": f"hold.{kind}.0.on", "kind": "hold"},
        )


async def test_a_guardrail_stops_an_arm_and_it_draws_no_more(strategy_db: Database) -> None:
    await _experiment(strategy_db, "guard-test", PolicyPack.SE_CONSUMER, dispute=0.1)
    cases = [await add_case(strategy_db, pack=PolicyPack.SE_CONSUMER) for _ in range(60)]
    drawn: dict[str, list[Case]] = {}
    async with strategy_db.session() as session:
        for case in cases:
            row = await session.get(Case, case.id)
            assert row is not None
            a = await experiments.assign(session, row, actor=ACTOR)
            assert a is not None
            drawn.setdefault(a.arm, []).append(case)
    for case in drawn["us-mild"][:6]:  # 6 of 30: a 20% dispute rate against a 10% threshold
        await _hold(strategy_db, case, "dispute")
    await _hold(strategy_db, drawn["us-standard"][0], "dispute")  # 1 of 30: within it
    async with strategy_db.session() as session:
        exp = await experiments.find(session, "guard-test")
        assert await results.guard(session, exp, actor=ACTOR) == ["us-mild"]
        assert await results.guard(session, exp, actor=ACTOR) == []  # stopped once
    async with strategy_db.session() as session:
        report = {r.name: r for r in await results.report(session, exp)}
        later = [await add_case(strategy_db, pack=PolicyPack.SE_CONSUMER) for _ in range(10)]
        arms = []
        for case in later:
            row = await session.get(Case, case.id)
            assert row is not None
            a = await experiments.assign(session, row, actor=ACTOR)
            assert a is not None
            arms.append(a.arm)
        stopped = (
            await session.exec(
                select(AuditEvent).where(AuditEvent.action == AuditAction.EXPERIMENT_ARM_STOPPED)
            )
        ).all()
    assert report["us-mild"].status is ArmStatus.STOPPED
    assert "dispute rate 20.0% above 10.0% (6 of 30 cases)" in (report["us-mild"].stopped_reason or "")
    assert report["us-standard"].status is ArmStatus.ACTIVE
    assert set(arms) == {"us-standard"}
    assert any(e.payload["arm"] == "us-mild" and e.payload["experiment"] == "guard-test" for e in stopped)
    with pytest.raises(PromotionRefused, match="stopped by a guardrail"):
        async with strategy_db.session() as session:
            exp = await experiments.find(session, "guard-test")
            await results.promote(session, exp, arm="us-mild", violations={"us-mild@v1": 0}, actor=ACTOR)


async def test_the_report_tests_the_challenger_and_the_winner_is_promoted(strategy_db: Database) -> None:
    await _experiment(strategy_db, "report-test", PolicyPack.BE_CONSUMER)
    by_arm: dict[str, list[uuid.UUID]] = {}
    for _ in range(80):
        case = await add_case(strategy_db, pack=PolicyPack.BE_CONSUMER)
        async with strategy_db.session() as session:
            row = await session.get(Case, case.id)
            assert row is not None
            a = await experiments.assign(session, row, actor=ACTOR)
            assert a is not None
            by_arm.setdefault(a.arm, []).append(case.id)
    async with strategy_db.session() as session:  # the mild arm cures 32 of 40, the champion 12 of 40
        for arm, cured in (("us-mild", 32), ("us-standard", 12)):
            for case_id in by_arm[arm][:cured]:
                row = await session.get(Case, case_id)
                assert row is not None
                row.outcome = CaseOutcome.CURED
                session.add(row)
    async with strategy_db.session() as session:
        exp = await experiments.find(session, "report-test")
        report = {r.name: r for r in await results.report(session, exp)}
    mild, standard = report["us-mild"], report["us-standard"]
    assert (mild.cases, standard.cases) == (40, 40)
    assert mild.cure.value == pytest.approx(0.8) and standard.cure.value == pytest.approx(0.3)
    assert mild.cure.low < 0.8 < mild.cure.high and standard.cure.low < 0.3 < standard.cure.high
    assert mild.cure.high - mild.cure.low < 0.3
    assert mild.p_cure is not None and mild.p_cure < 0.001
    assert standard.p_cure is None  # the champion is what the others are tested against
    assert results.winner_of(list(report.values())).name == "us-mild"
    async with strategy_db.session() as session:
        exp = await experiments.find(session, "report-test")
        with pytest.raises(PromotionRefused, match="has not been simulated"):
            await results.promote(session, exp, arm=None, violations={}, actor=ACTOR)
        with pytest.raises(PromotionRefused, match="broke 2 legal rule check"):
            await results.promote(session, exp, arm=None, violations={"us-mild@v1": 2}, actor=ACTOR)
    async with strategy_db.session() as session:
        exp = await experiments.find(session, "report-test")
        promoted = await results.promote(session, exp, arm=None, violations={"us-mild@v1": 0}, actor=ACTOR)
    assert promoted.name == "us-mild"
    async with strategy_db.session() as session:
        champion = await strategies.champion(session, PolicyPack.BE_CONSUMER)
        exp = await experiments.find(session, "report-test")
        assert (
            champion is not None and champion.name == "us-mild" and champion.status is StrategyStatus.CHAMPION
        )
        assert exp.winner == "us-mild" and exp.ended_at is not None
        # a new case of the pack now gets the champion's strategy, without a draw
        case = await add_case(strategy_db, pack=PolicyPack.BE_CONSUMER)
        row = await session.get(Case, case.id)
        assert row is not None
        variant = await experiments.strategy_for(session, row, actor=ACTOR)
        assert variant is not None and variant.name == "us-mild" and row.strategy_arm is None
