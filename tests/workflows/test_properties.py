"""Random interleavings of outside events and elapsed time never break the safety rules."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.client import WorkflowUpdateFailedError

from workflows.case import DECISIONS, CaseWorkflow
from workflows.dto import (
    BankruptcyFiling,
    BankruptcyResolution,
    CaseState,
    HoldChange,
    LossMitigationApplication,
    PlanTerms,
    TaskDecision,
)

Op = tuple[str, Any]
ops = st.one_of(
    st.tuples(st.just("sleep"), st.integers(min_value=1, max_value=45)),
    st.tuples(st.just("pay"), st.sampled_from(["100.00", "700.00"])),
    st.tuples(st.just("apply"), st.booleans()),
    st.tuples(st.just("file"), st.integers(min_value=0, max_value=2)),
    st.tuples(st.just("resolve"), st.sampled_from(["relief", "dismissal", "discharge"])),
    st.tuples(st.just("dispute"), st.booleans()),
    st.tuples(st.just("decide"), st.sampled_from(["first", "last"])),
)


def _inside(at: datetime, start: datetime, end: datetime | None) -> bool:
    return start <= at and (end is None or at < end)


def check_invariants(state: CaseState) -> None:
    """No collection during a stay; no foreclosure before day 121 or during a pending application."""
    for action in state.actions:
        if action.status != "done":
            continue
        if action.collection and action.kind in ("message", "enforcement", "fee"):
            for stay in state.stay_periods:
                assert not _inside(action.at, stay.start, stay.end), f"{action.key} during a stay"
        if action.foreclosure:
            day = (action.at.date() - state.delinquent_since).days
            assert day >= 121, f"{action.key} on day {day}"
            for pending in state.application_periods:
                assert not _inside(action.at, pending.start, pending.end), f"{action.key} while pending"


async def _decide(case: Any, which: str) -> None:
    tasks = (await case.state()).open_tasks
    if not tasks:
        return
    task = tasks[0] if which == "first" else tasks[-1]
    decision = sorted(DECISIONS[task.kind])[0]
    extra: dict[str, Any] = {}
    if decision == "approve":
        extra["plan"] = PlanTerms(kind="repayment_plan", months=2, amount=Decimal("300"))
    if decision == "deny":
        extra["denial_reasons"] = ["not eligible"]
    if task.kind == "scra_check":
        decision = "not_active"
    await case.handle.execute_update(
        CaseWorkflow.complete_task,
        TaskDecision(task=task.key, decision=decision, by=f"staff-{task.key[-3:]}", reason="random", **extra),
    )


async def _play(case: Any, op: Op) -> None:
    kind, arg = op
    today = await case.today()
    if kind == "sleep":
        await case.to(today + timedelta(days=arg))
    elif kind == "pay":
        await case.pay(arg)
    elif kind == "apply":
        await case.handle.execute_update(
            CaseWorkflow.submit_application,
            LossMitigationApplication(by="agent", reason="random", received_on=today, complete=arg),
        )
    elif kind == "file":
        await case.handle.execute_update(
            CaseWorkflow.record_bankruptcy,
            BankruptcyFiling(
                by="legal",
                reason="random",
                court_case=f"c-{today}",
                filed_on=today,
                prior_dismissed_within_year=arg,
            ),
        )
    elif kind == "resolve":
        await case.handle.execute_update(
            CaseWorkflow.resolve_bankruptcy,
            BankruptcyResolution(by="legal", reason="random", kind=arg, on=today),
        )
    elif kind == "dispute":
        await case.handle.execute_update(
            CaseWorkflow.set_hold, HoldChange(by="agent", reason="random", kind="dispute", active=arg)
        )
    elif kind == "decide":
        await _decide(case, arg)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(start=st.sampled_from([1, 60, 110, 125]), script=st.lists(ops, min_size=3, max_size=9))
async def test_no_collection_in_a_stay_no_early_or_dual_tracked_foreclosure(
    open_case: Any, start: int, script: list[Op]
) -> None:
    case = await open_case(days_past_due=start, arrears="3000.00", balance="200000.00")
    for op in script:
        if (await case.state()).outcome is not None:
            break
        # a validator refusing an op is the rule working, not a failure
        with contextlib.suppress(WorkflowUpdateFailedError):
            await _play(case, op)
        await case.settle()
        check_invariants(await case.state())
    await case.to(await case.today() + timedelta(days=40))  # let scheduled steps run out
    state = await case.state()
    check_invariants(state)
    assert state.arrears >= Decimal("0")


def test_the_invariant_check_catches_each_violation() -> None:
    """The property test can fail: each forbidden pattern trips the check."""
    import uuid
    from datetime import UTC, date

    import pytest

    from models.enums import CaseStage, PolicyPack, Segment
    from workflows.dto import ActionRecord, EbaStatus, Period

    since = date(2026, 1, 1)
    at = datetime(2026, 4, 15, tzinfo=UTC)  # day 104

    def state(action: ActionRecord, stays: list[Period], pending: list[Period]) -> CaseState:
        return CaseState(
            case_id=uuid.uuid4(),
            loan_external_id="L",
            policy_pack=PolicyPack.US_MORTGAGE,
            stage=CaseStage.ENFORCEMENT,
            outcome=None,
            segment=Segment.GOOD,
            arrears=Decimal(1),
            fees=Decimal(0),
            currency="USD",
            delinquent_since=since,
            days_past_due=1,
            as_of=at,
            payments_applied=[],
            next_actions=[],
            open_tasks=[],
            holds=[],
            application=None,
            forbearance=None,
            eba=EbaStatus(),
            actions=[action],
            history=[],
            stay_periods=stays,
            application_periods=pending,
        )

    def act(**kw: Any) -> ActionRecord:
        fields: dict[str, Any] = {"key": "k", "kind": "enforcement", "status": "done", "rule_id": "r"}
        return ActionRecord(**({"citation": "c", "at": at} | fields | kw))

    around = [Period(start=at - timedelta(days=1), end=None)]
    with pytest.raises(AssertionError, match="during a stay"):
        check_invariants(state(act(), around, []))
    with pytest.raises(AssertionError, match="on day 104"):
        check_invariants(state(act(foreclosure=True, collection=False), [], []))
    late = at + timedelta(days=30)  # day 134
    with pytest.raises(AssertionError, match="while pending"):
        check_invariants(
            state(act(foreclosure=True, collection=False, at=late), [], [Period(start=late, end=None)])
        )
