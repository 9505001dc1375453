"""us_mortgage: every deadline walked on the time-skipping server, checking the day it fires."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError

from models.enums import CaseStage
from policies.calendar import add_business_days, us_holidays
from policies.us_mortgage import US_MORTGAGE
from policies.validation_notice import validation_period_end
from workflows.case import CaseWorkflow
from workflows.dto import (
    BankruptcyFiling,
    BankruptcyResolution,
    HoldChange,
    LossMitigationApplication,
    PlanTerms,
)


async def test_live_contact_task_is_due_by_day_36_and_escalates_after(open_case: Any) -> None:
    case = await open_case(days_past_due=1)
    task = next(t for t in (await case.state()).open_tasks if t.kind == "live_contact")
    assert task.due == case.day(36)
    assert task.rule_id == "us_mortgage.early_intervention.live_contact"
    assert task.citation == "12 CFR 1024.39(a)"
    await case.to(case.day(36), hour=23)
    state = await case.state()
    assert next(t for t in state.open_tasks if t.key == task.key).status == "open"
    await case.to(case.day(37), hour=1)
    state = await case.state()
    assert next(t for t in state.open_tasks if t.key == task.key).status == "escalated"
    # one live-contact task at a time: the next due date (about day 30) waits on the escalated one
    assert [t.key for t in state.open_tasks if t.kind == "live_contact"] == [task.key]
    # a contact on day 37 is within 36 days of that due date too: no task for it; the one after
    # it (about day 60) gets its own, due 36 days after it
    await case.decide("live_contact", "contacted")
    await case.to(case.day(64))
    later = [t for t in (await case.state()).open_tasks if t.kind == "live_contact"]
    assert len(later) == 1 and later[0].key != task.key
    assert case.day(58 + 36) <= later[0].due <= case.day(62 + 36)


async def test_written_notice_on_day_40_and_never_again_within_180_days(open_case: Any) -> None:
    case = await open_case(days_past_due=1, arrears="3000.00", balance="150000.00")
    await case.to(case.day(39))
    assert await case.fired_on("early_intervention.written_notice") == []
    await case.to(case.day(40))
    assert await case.fired_on("early_intervention.written_notice") == [case.day(40)]
    notice = (await case.actions("early_intervention.written_notice"))[0]
    assert notice.rule_id == "us_mortgage.early_intervention.written_notice"
    assert notice.citation == "12 CFR 1024.39(b)" and notice.at.date() <= case.day(45)
    await case.to(case.day(219))
    assert await case.fired_on("early_intervention.written_notice") == [case.day(40)]
    await case.to(case.day(220))
    assert await case.fired_on("early_intervention.written_notice") == [case.day(40), case.day(220)]


async def test_foreclosure_not_on_day_120_but_on_day_121(open_case: Any) -> None:
    case = await open_case(days_past_due=100)
    await case.to(case.day(120), hour=23)
    state = await case.state()
    assert state.stage == CaseStage.EARLY
    assert not [a for a in state.actions if a.foreclosure]
    await case.to(case.day(121), hour=1)
    assert (await case.state()).stage == CaseStage.ENFORCEMENT
    await case.decide("scra_check", "not_active")
    assert await case.fired_on("foreclosure.attorney_referral") == [case.day(121)]
    await case.to(case.day(151))
    assert await case.fired_on("foreclosure.first_filing") == [case.day(151)]


def test_the_120_day_rule_refuses_day_120_and_allows_day_121() -> None:
    since = date(2026, 1, 1)
    blocked = US_MORTGAGE.foreclosure_blocked(
        day=since + timedelta(days=120), delinquent_since=since, application_pending=False, scra=False
    )
    assert blocked is not None and blocked.citation == "12 CFR 1024.41(f)(1)"
    assert (
        US_MORTGAGE.foreclosure_blocked(
            day=since + timedelta(days=121), delinquent_since=since, application_pending=False, scra=False
        )
        is None
    )


async def test_a_loan_imported_at_130_days_starts_in_enforcement(open_case: Any) -> None:
    case = await open_case(days_past_due=130)
    state = await case.state()
    assert state.stage == CaseStage.ENFORCEMENT
    assert [t.kind for t in state.open_tasks if t.kind == "scra_check"] == ["scra_check"]


def _holiday_window_start(today: date) -> date:
    """The first day from tomorrow whose 5-business-day window holds a US federal holiday."""
    day = today + timedelta(days=1)
    while True:
        window = [day + timedelta(days=i) for i in range(1, 12)]
        holidays = us_holidays(day.year) | us_holidays(day.year + 1)
        ack = add_business_days(day, 5, "US")
        if any(d in holidays and d <= ack and d.weekday() < 5 for d in window):
            return day
        day += timedelta(days=1)


async def test_acknowledgment_fires_on_business_day_5_over_a_weekend_and_a_holiday(
    open_case: Any, time_env: Any
) -> None:
    start = _holiday_window_start((await time_env.get_current_time()).date())
    await time_env.sleep(timedelta(days=(start - (await time_env.get_current_time()).date()).days, hours=1))
    case = await open_case(days_past_due=10)
    received = await case.today()
    due = add_business_days(received, 5, "US")
    assert (due - received).days >= 8  # a weekend and a holiday lie in between
    await case.handle.execute_update(
        CaseWorkflow.submit_application,
        LossMitigationApplication(
            by="agent", reason="borrower applied", received_on=received, complete=False
        ),
    )
    await case.to(due - timedelta(days=1), hour=23)
    assert await case.fired_on("loss_mitigation.1.acknowledgment") == []
    await case.to(due, hour=1)
    ack = await case.actions("loss_mitigation.1.acknowledgment")
    assert [a.at.date() for a in ack] == [due]
    assert ack[0].citation == "12 CFR 1024.41(b)(2)(i)(B)" and "incomplete" in ack[0].detail


async def test_complete_application_evaluated_within_30_days_else_escalated(open_case: Any) -> None:
    case = await open_case(days_past_due=50)
    today = await case.today()
    await case.handle.execute_update(
        CaseWorkflow.submit_application,
        LossMitigationApplication(by="agent", reason="complete package", received_on=today, complete=True),
    )
    await case.settle()
    assert await case.fired_on("loss_mitigation.1.acknowledgment") == [today]
    evaluation = next(t for t in (await case.state()).open_tasks if t.kind == "evaluation")
    assert evaluation.due == today + timedelta(days=30)
    await case.to(today + timedelta(days=30), hour=23)
    assert next(t for t in (await case.state()).open_tasks if t.kind == "evaluation").status == "open"
    await case.to(today + timedelta(days=31), hour=1)
    assert next(t for t in (await case.state()).open_tasks if t.kind == "evaluation").status == "escalated"


async def test_denial_appeal_window_is_14_days_and_the_reviewer_must_differ(open_case: Any) -> None:
    case = await open_case(days_past_due=50)
    today = await case.today()
    await case.handle.execute_update(
        CaseWorkflow.submit_application,
        LossMitigationApplication(by="agent", reason="complete", received_on=today, complete=True),
    )
    await case.settle()
    await case.decide("evaluation", "deny", by="alice", denial_reasons=["income below the program minimum"])
    letter = (await case.actions("loss_mitigation.1.evaluation_decision"))[0]
    assert "income below the program minimum" in letter.detail
    assert [a.due for a in (await case.state()).next_actions] == [today + timedelta(days=14)]
    await case.to(today + timedelta(days=13))
    await case.handle.execute_update(CaseWorkflow.appeal, _appeal())
    await case.settle()
    review = next(t for t in (await case.state()).open_tasks if t.kind == "appeal_review")
    assert review.due == today + timedelta(days=13 + 30)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await case.decide(
            "appeal_review",
            "approve",
            by="alice",
            plan=PlanTerms(kind="trial", months=3, amount=Decimal("900")),
        )
    assert "other than the first decider" in str(refused.value.cause)
    await case.decide(
        "appeal_review", "approve", by="bob", plan=PlanTerms(kind="trial", months=3, amount=Decimal("900"))
    )
    await case.decide("offer_acceptance", "accepted")
    assert (await case.state()).stage == CaseStage.FORBEARANCE


async def _offered(case: Any, sale_in_days: int | None = None) -> date:
    today: date = await case.today()
    await case.handle.execute_update(
        CaseWorkflow.submit_application,
        LossMitigationApplication(
            by="agent",
            reason="complete",
            received_on=today,
            complete=True,
            sale_date=today + timedelta(days=sale_in_days) if sale_in_days else None,
        ),
    )
    await case.settle()
    await case.decide("evaluation", "approve", plan=PlanTerms(kind="trial", months=3, amount=Decimal("900")))
    return today


async def test_an_offer_not_accepted_within_14_days_lapses_as_a_rejection(open_case: Any) -> None:
    case = await open_case(days_past_due=50)
    today = await _offered(case)
    task = next(t for t in (await case.state()).open_tasks if t.kind == "offer_acceptance")
    assert task.due == today + timedelta(days=14) and task.citation == "12 CFR 1024.41(e)"
    letter = (await case.actions("loss_mitigation.1.evaluation_decision"))[0]
    assert letter.status == "done"
    await case.to(today + timedelta(days=14), hour=23)
    state = await case.state()
    assert state.application is not None and state.application.status == "offered"
    assert state.application_periods[-1].end is None  # still protected while the offer stands
    await case.to(today + timedelta(days=15), hour=1)
    state = await case.state()
    assert state.stage == CaseStage.EARLY and state.application is not None
    assert state.application.status == "closed" and state.application_periods[-1].end is not None
    assert await case.fired_on("loss_mitigation.1.offer_lapsed") == [today + timedelta(days=15)]


async def test_an_offer_accepted_on_day_14_starts_the_plan(open_case: Any) -> None:
    case = await open_case(days_past_due=50)
    today = await _offered(case)
    await case.to(today + timedelta(days=14), hour=20)
    await case.decide("offer_acceptance", "accepted")
    assert (await case.state()).stage == CaseStage.FORBEARANCE


async def test_near_a_sale_the_offer_stands_7_days(open_case: Any) -> None:
    case = await open_case(days_past_due=50)
    today = await _offered(case, sale_in_days=60)  # complete 60 days before the sale: 7 days
    task = next(t for t in (await case.state()).open_tasks if t.kind == "offer_acceptance")
    assert task.due == today + timedelta(days=7)


async def test_no_appeal_within_14_days_returns_to_the_earlier_stage(open_case: Any) -> None:
    case = await open_case(days_past_due=50)
    today = await case.today()
    await case.handle.execute_update(
        CaseWorkflow.submit_application,
        LossMitigationApplication(by="agent", reason="complete", received_on=today, complete=True),
    )
    await case.settle()
    await case.decide("evaluation", "deny", denial_reasons=["investor does not permit"])
    await case.to(today + timedelta(days=13))
    assert (await case.state()).stage == CaseStage.LOSS_MITIGATION
    await case.to(today + timedelta(days=14), hour=1)
    assert (await case.state()).stage == CaseStage.EARLY


async def test_pending_complete_application_holds_foreclosure_back(open_case: Any) -> None:
    case = await open_case(days_past_due=125)
    start = await case.today()
    await case.decide("scra_check", "not_active")
    assert await case.fired_on("foreclosure.attorney_referral") == [start]
    await case.to(start + timedelta(days=5))
    await case.handle.execute_update(
        CaseWorkflow.submit_application,
        LossMitigationApplication(
            by="agent", reason="complete", received_on=start + timedelta(days=5), complete=True
        ),
    )
    await case.to(start + timedelta(days=40))  # the first filing was due on start + 30
    state = await case.state()
    assert state.stage == CaseStage.LOSS_MITIGATION
    assert await case.fired_on("foreclosure.first_filing") == []
    await case.decide("evaluation", "deny", denial_reasons=["not eligible"])
    decided = await case.today()
    await case.to(decided + timedelta(days=15))
    assert (await case.state()).stage == CaseStage.ENFORCEMENT
    filed = await case.fired_on("foreclosure.first_filing")
    assert filed == [decided + timedelta(days=14)]  # right after the appeal window closed


async def test_scra_active_duty_refuses_foreclosure_until_a_year_after_service(open_case: Any) -> None:
    case = await open_case(days_past_due=125)
    start = await case.today()
    service_end = start - timedelta(days=300)  # protected until a year after: 65 days from now
    protected_until = service_end + timedelta(days=365)
    await case.decide("scra_check", "active", service_end=service_end)
    refused = await case.actions("foreclosure.attorney_referral.refused")
    assert [a.citation for a in refused] == ["50 U.S.C. 3953(c)"]
    await case.to(protected_until - timedelta(days=1), hour=23)
    assert await case.fired_on("foreclosure.attorney_referral") == []
    await case.to(protected_until, hour=1)
    assert await case.fired_on("foreclosure.attorney_referral") == [protected_until]


async def test_one_prior_dismissal_gives_a_30_day_stay(open_case: Any) -> None:
    case = await open_case(days_past_due=20)
    filed = await case.today()
    reply = await case.handle.execute_update(CaseWorkflow.record_bankruptcy, _filing(filed, prior=1))
    assert reply == f"stay in force until {(filed + timedelta(days=30)).isoformat()}"
    await case.settle()
    assert (await case.state()).stage == CaseStage.BANKRUPTCY_STAY
    await case.to(filed + timedelta(days=29))
    assert (await case.state()).stage == CaseStage.BANKRUPTCY_STAY
    await case.to(filed + timedelta(days=30), hour=1)
    assert (await case.state()).stage == CaseStage.EARLY


async def test_two_prior_dismissals_give_no_stay(open_case: Any) -> None:
    case = await open_case(days_past_due=20)
    reply = await case.handle.execute_update(
        CaseWorkflow.record_bankruptcy, _filing(await case.today(), prior=2)
    )
    assert reply == "no stay arises"
    state = await case.state()
    assert state.stage == CaseStage.EARLY
    assert state.actions[-1].citation == "11 U.S.C. 362(c)(4)(A)"


async def test_stay_stops_collection_and_asks_for_a_proof_of_claim_by_day_70(open_case: Any) -> None:
    case = await open_case(days_past_due=1)
    filed = await case.today()
    await case.handle.execute_update(CaseWorkflow.record_bankruptcy, _filing(filed))
    await case.settle()
    state = await case.state()
    assert state.stage == CaseStage.BANKRUPTCY_STAY
    assert [t.kind for t in state.open_tasks] == ["proof_of_claim"]
    assert state.open_tasks[0].due == filed + timedelta(days=70)
    assert any(h.kind == "stay" and h.citation == "11 U.S.C. 362(a)" for h in state.holds)
    await case.to(filed + timedelta(days=71), hour=1)
    state = await case.state()
    assert state.open_tasks[0].status == "escalated"
    assert [a for a in state.actions if a.collection and a.status == "done" and a.at.date() > filed] == []
    await case.handle.execute_update(
        CaseWorkflow.resolve_bankruptcy,
        BankruptcyResolution(by="legal", reason="order entered", kind="relief", on=await case.today()),
    )
    await case.settle()
    assert (await case.state()).stage == CaseStage.EARLY


def _filing(filed: date, prior: int = 0) -> BankruptcyFiling:
    return BankruptcyFiling(
        by="legal",
        reason="petition filed",
        chapter=13,
        court_case="26-10001",
        filed_on=filed,
        prior_dismissed_within_year=prior,
    )


def _appeal() -> Any:
    from workflows.dto import Appeal

    return Appeal(by="borrower-line", reason="borrower disputes the income figure")


async def test_validation_notice_goes_with_the_opening_and_personnel_are_assigned_by_day_45(
    open_case: Any,
) -> None:
    case = await open_case(days_past_due=3)
    opened = await case.today()
    notice = (await case.actions("reg_f.validation_notice"))[0]
    assert notice.at.date() == opened and notice.citation == "12 CFR 1006.34(a)(1)"
    # 30 days after receipt, assumed 5 business days after the next day's print run (1006.34(b)(5))
    assert f"dispute until {validation_period_end(opened).isoformat()}" in notice.detail
    task = next(t for t in (await case.state()).open_tasks if t.kind == "assign_personnel")
    assert task.due == case.day(45) and task.citation == "12 CFR 1024.40(a)"
    await case.to(case.day(45), hour=23)
    assert next(t for t in (await case.state()).open_tasks if t.kind == "assign_personnel").status == "open"
    await case.to(case.day(46), hour=1)
    assert (
        next(t for t in (await case.state()).open_tasks if t.kind == "assign_personnel").status == "escalated"
    )


async def test_scra_status_asks_for_the_6_percent_cap_within_30_days(open_case: Any) -> None:
    case = await open_case(days_past_due=10)
    today = await case.today()
    await case.handle.execute_update(
        CaseWorkflow.set_hold,
        HoldChange(
            by="agent", reason="orders received", kind="scra", active=True, until=today + timedelta(days=200)
        ),
    )
    await case.settle()
    cap = next(t for t in (await case.state()).open_tasks if t.kind == "scra_rate_cap")
    assert cap.due == today + timedelta(days=30) and cap.citation == "50 U.S.C. 3937(a)"


@pytest.mark.parametrize(("days_before_sale", "protected"), [(37, False), (38, True)])
async def test_application_37_days_or_less_before_a_sale_does_not_hold_it(
    open_case: Any, days_before_sale: int, protected: bool
) -> None:
    case = await open_case(days_past_due=130)
    await case.decide("scra_check", "not_active")
    today = await case.today()
    await case.handle.execute_update(
        CaseWorkflow.submit_application,
        LossMitigationApplication(
            by="agent",
            reason="complete package",
            received_on=today,
            complete=True,
            sale_date=today + timedelta(days=days_before_sale),
        ),
    )
    await case.settle()
    state = await case.state()
    pending = [p for p in state.application_periods if p.end is None]
    assert bool(pending) is protected
    late = await case.actions("loss_mitigation.1.late_application")
    assert bool(late) is not protected
    if late:
        assert late[0].citation == "12 CFR 1024.41(c)(1), (g)"


async def test_chapter_13_payment_change_needs_21_days_and_fees_a_notice_within_180(open_case: Any) -> None:
    from workflows.dto import PaymentChange, PostPetitionFee

    case = await open_case(days_past_due=20)
    filed = await case.today()
    await case.handle.execute_update(CaseWorkflow.record_bankruptcy, _filing(filed))
    await case.settle()
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await case.handle.execute_update(
            CaseWorkflow.record_payment_change,
            PaymentChange(
                by="escrow",
                reason="escrow analysis",
                new_amount=Decimal("1620"),
                effective_on=filed + timedelta(days=20),
            ),
        )
    assert "FRBP 3002.1(b)" in str(refused.value.cause) and "21 days" in str(refused.value.cause)
    await case.handle.execute_update(
        CaseWorkflow.record_payment_change,
        PaymentChange(
            by="escrow",
            reason="escrow analysis",
            new_amount=Decimal("1620"),
            effective_on=filed + timedelta(days=21),
        ),
    )
    await case.settle()
    notice = (await case.actions("bankruptcy.26-10001.payment_change"))[0]
    assert notice.at.date() == filed and not notice.collection and notice.due == filed
    reply = await case.handle.execute_update(
        CaseWorkflow.record_post_petition_fee,
        PostPetitionFee(
            by="legal",
            reason="inspection",
            amount=Decimal("25"),
            incurred_on=filed,
            description="property inspection",
        ),
    )
    assert reply == f"fee notice due by {(filed + timedelta(days=180)).isoformat()}"
    await case.settle()
    task = next(t for t in (await case.state()).open_tasks if t.kind == "fee_notice")
    assert task.due == filed + timedelta(days=180) and task.citation == "FRBP 3002.1(c)"
