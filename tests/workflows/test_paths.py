"""Each lifecycle path end to end on the time-skipping server."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import select
from temporalio.client import WorkflowUpdateFailedError

from models.audit import AuditEvent
from models.enums import CaseOutcome, CaseStage
from workflows.case import CaseWorkflow
from workflows.dto import (
    BankruptcyFiling,
    BankruptcyResolution,
    ForbearanceRequest,
    LossMitigationApplication,
    PlanTerms,
    PromiseToPay,
)


async def _apply(case: Any, complete: bool = True) -> None:
    await case.handle.execute_update(
        CaseWorkflow.submit_application,
        LossMitigationApplication(
            by="agent", reason="applied", received_on=await case.today(), complete=complete
        ),
    )
    await case.settle()


async def _forbear(case: Any, months: int = 3) -> None:
    await case.handle.execute_update(
        CaseWorkflow.request_forbearance,
        ForbearanceRequest(by="agent", reason="job loss", kind="pause", months=months),
    )
    await case.settle()


async def _file(case: Any) -> None:
    await case.handle.execute_update(
        CaseWorkflow.record_bankruptcy,
        BankruptcyFiling(
            by="legal", reason="petition", chapter=7, court_case="26-777", filed_on=await case.today()
        ),
    )
    await case.settle()


async def _resolve(case: Any, kind: str) -> None:
    await case.handle.execute_update(
        CaseWorkflow.resolve_bankruptcy,
        BankruptcyResolution(by="legal", reason="court order", kind=kind, on=await case.today()),
    )
    await case.settle()


@pytest.mark.parametrize("stage", ["loss_mitigation", "forbearance", "enforcement"])
async def test_full_payment_cures_in_every_stage(open_case: Any, stage: str) -> None:
    case = await open_case(days_past_due=130 if stage == "enforcement" else 30, arrears="1500.00")
    if stage == "loss_mitigation":
        await _apply(case)
    elif stage == "forbearance":
        await _forbear(case)
    assert (await case.state()).stage == CaseStage(stage)
    await case.pay("1500.00")
    final = await case.handle.result()
    assert final.outcome == CaseOutcome.CURED
    assert [h.stage for h in final.history][-2:] == [CaseStage(stage), CaseStage.CLOSED]


async def test_payment_during_a_stay_does_not_cure_until_dismissal(open_case: Any) -> None:
    case = await open_case(days_past_due=30, arrears="1500.00")
    await _file(case)
    await case.pay("1500.00")
    assert (await case.state()).stage == CaseStage.BANKRUPTCY_STAY  # the plan rules
    await _resolve(case, "dismissal")
    assert (await case.handle.result()).outcome == CaseOutcome.CURED


async def test_promise_kept_continues_the_cadence(open_case: Any) -> None:
    case = await open_case(days_past_due=3, arrears="1500.00")
    due = await case.today() + timedelta(days=10)
    await case.handle.execute_update(
        CaseWorkflow.record_promise,
        PromiseToPay(by="agent", reason="on the phone", amount=Decimal("500"), due=due),
    )
    await case.to(due - timedelta(days=2))
    await case.pay("500.00")
    await case.to(due + timedelta(days=3))
    state = await case.state()
    assert [a.detail.split(":")[0] for a in state.actions if a.kind == "promise"][-1] == "kept"
    assert state.stage == CaseStage.EARLY and state.segment == "forgetful"
    during = [a for a in await case.actions("reminder", "done") if a.at.date() > due - timedelta(days=10)]
    kept_on = due + timedelta(days=2)
    assert [a for a in during if a.at.date() < kept_on] == [], "reminders waited while the promise ran"


async def test_promise_broken_moves_on_and_counts_in_the_segment(open_case: Any) -> None:
    case = await open_case(days_past_due=3, arrears="1500.00")
    today = await case.today()
    for round_ in range(2):
        due = await case.today() + timedelta(days=5)
        await case.handle.execute_update(
            CaseWorkflow.record_promise,
            PromiseToPay(by="agent", reason=f"promise {round_}", amount=Decimal("500"), due=due),
        )
        await case.to(due + timedelta(days=2), hour=1)  # two days' grace, then it is broken
        assert await case.fired_on("reminder") != [] or round_ == 0
    state = await case.state()
    assert state.segment == "bad"  # two broken promises: the strict track
    broken = [a for a in state.actions if a.kind == "promise" and a.detail.startswith("broken")]
    assert [a.at.date() for a in broken] == [today + timedelta(days=7), today + timedelta(days=14)]


async def test_promise_validator_refuses_a_past_date(open_case: Any) -> None:
    case = await open_case(days_past_due=3)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await case.handle.execute_update(
            CaseWorkflow.record_promise,
            PromiseToPay(by="agent", reason="x", amount=Decimal("5"), due=date(2020, 1, 1)),
        )
    assert "future" in str(refused.value.cause)


async def test_loss_mitigation_approved_modification_closes_modified(open_case: Any) -> None:
    case = await open_case(days_past_due=60)
    await _apply(case)
    await case.decide("evaluation", "approve", plan=PlanTerms(kind="modification"))
    await case.decide("offer_acceptance", "accepted")
    final = await case.handle.result()
    assert final.outcome == CaseOutcome.MODIFIED
    assert "approved: modification" in (await _last(final, "loss_mitigation.1.evaluation_decision")).detail


async def test_incomplete_application_completed_by_review_is_evaluated(open_case: Any) -> None:
    case = await open_case(days_past_due=60)
    await _apply(case, complete=False)
    await case.decide("completeness_review", "complete")
    ack = (await case.actions("loss_mitigation.1.acknowledgment"))[0]
    assert "application complete" in ack.detail
    assert [t.kind for t in (await case.state()).open_tasks if t.kind == "evaluation"] == ["evaluation"]


async def test_forbearance_ends_in_reinstatement(open_case: Any) -> None:
    case = await open_case(days_past_due=5, arrears="1500.00")
    start = await case.today()
    await _forbear(case, months=2)
    state = await case.state()
    assert state.eba.forborne and state.eba.forborne_since == start
    assert state.eba.probation_ends is not None and state.eba.probation_ends.year == start.year + 3
    assert not [t for t in state.open_tasks if t.kind == "forbearance_review"]
    await case.to(start + timedelta(days=63))
    review = next(t for t in (await case.state()).open_tasks if t.kind == "forbearance_review")
    await case.decide("forbearance_review", "reinstatement")
    state = await case.state()
    assert review.due > start + timedelta(days=58)
    assert state.stage == CaseStage.EARLY and state.history[-1].reason.startswith("forbearance over")


@pytest.mark.parametrize(
    ("stage", "resolution", "expected"),
    [
        ("early", "relief", CaseStage.EARLY),
        ("loss_mitigation", "dismissal", CaseStage.EARLY),
        ("forbearance", "discharge", CaseOutcome.CHARGED_OFF),
        ("enforcement", "relief", CaseStage.ENFORCEMENT),
    ],
)
async def test_bankruptcy_in_every_stage_then_relief_dismissal_or_discharge(
    open_case: Any, stage: str, resolution: str, expected: Any
) -> None:
    case = await open_case(days_past_due=130 if stage == "enforcement" else 30, arrears="1500.00")
    if stage == "loss_mitigation":
        await _apply(case)
    elif stage == "forbearance":
        await _forbear(case)
    filed = await case.today()
    await _file(case)
    state = await case.state()
    assert state.stage == CaseStage.BANKRUPTCY_STAY
    assert [t.kind for t in state.open_tasks] == ["proof_of_claim"]  # every collection task cancelled
    await case.to(filed + timedelta(days=20))
    late = [
        a for a in (await case.state()).actions if a.collection and a.status == "done" and a.at.date() > filed
    ]
    assert late == []
    await _resolve(case, resolution)
    if isinstance(expected, CaseOutcome):
        assert (await case.handle.result()).outcome == expected
    else:
        assert (await case.state()).stage == expected


async def _last(final: Any, key: str) -> Any:
    return next(a for a in reversed(final.actions) if a.key == key)


@pytest.mark.parametrize("pack", ["us_mortgage", "nl_consumer", "se_consumer"])
async def test_ninety_days_of_reminders_fit_in_100_history_events(open_case: Any, db: Any, pack: str) -> None:
    """A case's history is what a worker replays and what the cluster stores: the standard early
    path stays small, and every step it took is in the audit trail exactly once."""
    case = await open_case(pack)
    await case.to(case.opened + timedelta(days=90), hour=23)
    history = (await case.handle.fetch_history()).events
    # 100, plus the markers a run now records at its start (its generation, the due schedule)
    assert len(history) <= 104, f"{pack}: {len(history)} history events over 90 days"
    taken = await case.actions(status="done")
    sent = [a for a in taken if a.document is not None]
    assert len(sent) >= 3, [a.key for a in taken]
    async with db.session() as session:
        rows = (
            await session.exec(
                select(AuditEvent.reason).where(
                    AuditEvent.case_id == (await case.state()).case_id, AuditEvent.action == "message.done"
                )
            )
        ).all()
    assert sorted(rows) == sorted(a.detail for a in sent)
