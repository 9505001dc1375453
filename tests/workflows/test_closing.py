"""A staff close takes only the outcomes the case's facts show, and can need a second supervisor."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError

from models.enums import CaseOutcome, CaseStage
from workflows.case import CaseWorkflow
from workflows.dto import CaseState, CloseRequest, TaskDecision


def _close(outcome: CaseOutcome, reason: str = "borrower's account reviewed", **extra: Any) -> CloseRequest:
    return CloseRequest(by="sue", role="supervisor", reason=reason, outcome=outcome, **extra)


async def _refusal(case: Any, request: CloseRequest) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await case.handle.execute_update(CaseWorkflow.close_case, request)
    return str(refused.value.cause)


@pytest.mark.parametrize(
    ("outcome", "reason", "rule"),
    [
        (CaseOutcome.FORECLOSED, "sale confirmed by phone", "case.close.sale_held"),
        (CaseOutcome.CURED, "borrower says it is paid", "case.close.nothing_due"),
        (CaseOutcome.PAID_OFF, "loan repaid in full", "case.close.nothing_due"),
        (CaseOutcome.CHARGED_OFF, "no prospect of recovery", "us_mortgage.charge_off"),
        (CaseOutcome.TRANSFERRED, "0", "case.close.reason"),
    ],
)
async def test_a_close_the_facts_do_not_show_is_refused_with_its_rule(
    open_case: Any, outcome: CaseOutcome, reason: str, rule: str
) -> None:
    case = await open_case(days_past_due=12, arrears="1500.00")
    why = await _refusal(case, _close(outcome, reason))
    assert rule in why
    state = await case.state()
    assert state.outcome is None and state.stage is CaseStage.EARLY


async def test_us_charge_off_is_refused_on_day_179_and_taken_on_day_180(open_case: Any) -> None:
    case = await open_case(days_past_due=100, arrears="9000.00")
    await case.to(case.day(179))
    why = await _refusal(case, _close(CaseOutcome.CHARGED_OFF))
    assert "from 180 days past due; the case is at 179" in why
    assert "65 FR 36903" in why  # the citation travels with the refusal
    await case.to(case.day(180))
    await case.handle.execute_update(CaseWorkflow.close_case, _close(CaseOutcome.CHARGED_OFF))
    final: CaseState = await case.handle.result()
    assert final.outcome is CaseOutcome.CHARGED_OFF


async def test_nl_charge_off_needs_the_crr_default_and_180_days(open_case: Any) -> None:
    case = await open_case("nl_consumer", days_past_due=150, arrears="3000.00")
    await case.to(case.day(179))
    assert (await case.state()).eba.defaulted_on == case.day(150)  # marked on the day it opened past 90
    assert "nl_consumer.charge_off" in await _refusal(case, _close(CaseOutcome.CHARGED_OFF))
    await case.to(case.day(180))
    await case.handle.execute_update(CaseWorkflow.close_case, _close(CaseOutcome.CHARGED_OFF))
    assert (await case.handle.result()).outcome is CaseOutcome.CHARGED_OFF


async def test_nl_charge_off_is_refused_without_a_default(open_case: Any) -> None:
    case = await open_case("nl_consumer", days_past_due=150, arrears="60.00")  # below EUR 100: no default
    await case.to(case.day(185))
    assert (await case.state()).eba.defaulted_on is None
    assert "needs the exposure in default" in await _refusal(case, _close(CaseOutcome.CHARGED_OFF))


async def test_cured_is_taken_once_nothing_is_due(open_case: Any) -> None:
    case = await open_case(days_past_due=12, arrears="1500.00")
    await case.pay("1499.99")
    assert "0.01 is still due" in await _refusal(case, _close(CaseOutcome.CURED))


async def _plain_close(case: Any) -> Any:
    return await case.handle.execute_update(CaseWorkflow.close_case, _close(CaseOutcome.TRANSFERRED))


async def test_four_eyes_a_second_supervisor_approves_the_close(open_case: Any) -> None:
    case = await open_case(days_past_due=12, arrears="1500.00")
    proposed = await case.handle.execute_update(
        CaseWorkflow.close_case, _close(CaseOutcome.TRANSFERRED, approval_required=True)
    )
    assert "proposed" in proposed
    await case.settle()
    state = await case.state()
    assert state.outcome is None and state.close_proposal is not None
    key = await case.task_key("close_approval")

    async def decide(by: str, role: str) -> None:
        await case.handle.execute_update(
            CaseWorkflow.complete_task,
            TaskDecision(task=key, decision="approve", by=by, role=role, reason="checked the file"),
        )

    async def refused(attempt: Any) -> str:
        with pytest.raises(WorkflowUpdateFailedError) as error:
            await attempt
        return str(error.value.cause)

    assert "someone other than sue" in await refused(decide("sue", "supervisor"))
    assert "a supervisor approves" in await refused(decide("ann", "agent"))
    assert "awaits approval" in await refused(_plain_close(case))
    assert (await case.state()).outcome is None
    await decide("tom", "supervisor")
    final: CaseState = await case.handle.result()
    assert final.outcome is CaseOutcome.TRANSFERRED
    assert "approved by tom" in final.history[-1].reason


async def test_four_eyes_a_rejected_close_leaves_the_case_open(open_case: Any) -> None:
    case = await open_case(days_past_due=12, arrears="1500.00")
    await case.handle.execute_update(
        CaseWorkflow.close_case, _close(CaseOutcome.TRANSFERRED, approval_required=True)
    )
    await case.settle()
    await case.decide("close_approval", "reject", by="tom", role="supervisor")
    await case.settle()
    state = await case.state()
    assert state.outcome is None and state.close_proposal is None
    assert [t.kind for t in state.open_tasks if t.kind == "close_approval"] == []
