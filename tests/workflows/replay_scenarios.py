"""Every path a case can take, played on the time-skipping server: the histories the replay suite
records for each code generation and replays on every later commit (tests/workflows/test_replay.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from temporalio.contrib.pydantic import pydantic_data_converter

from arrears.strategy import strategies
from models.enums import CaseOutcome, Channel, PolicyPack, Segment
from policies.strategy import Variant
from workflows.case import CaseWorkflow
from workflows.case.segments import SET_SCORED_SEGMENT
from workflows.dto import (
    Appeal,
    BankruptcyCaseEnd,
    BankruptcyFiling,
    BankruptcyResolution,
    CaseInput,
    CloseRequest,
    ContactRecord,
    ForbearanceRequest,
    HoldChange,
    LossMitigationApplication,
    PaymentChange,
    PlanTerms,
    PostPetitionFee,
    PromiseToPay,
    ScoredSegment,
)

Play = Callable[[Any], Awaitable[None]]


async def _update(case: Any, update: Any, arg: Any) -> None:
    await case.handle.execute_update(update, arg)
    await case.settle()


async def _promise(case: Any, amount: str, in_days: int) -> None:
    due = await case.today() + timedelta(days=in_days)
    await _update(
        case, CaseWorkflow.record_promise, PromiseToPay(by="agent", reason="phone", amount=amount, due=due)
    )


async def _apply(case: Any, *, sale_in_days: int | None = None) -> None:
    today = await case.today()
    application = LossMitigationApplication(
        by="agent",
        reason="complete package",
        received_on=today,
        complete=True,
        sale_date=today + timedelta(days=sale_in_days) if sale_in_days else None,
    )
    await _update(case, CaseWorkflow.submit_application, application)


async def _file(case: Any, chapter: int = 13) -> None:
    filing = BankruptcyFiling(
        by="legal", reason="petition", court_case="26-20001", chapter=chapter, filed_on=await case.today()
    )
    await _update(case, CaseWorkflow.record_bankruptcy, filing)


async def _resolve(case: Any, kind: str) -> None:
    await _update(
        case,
        CaseWorkflow.resolve_bankruptcy,
        BankruptcyResolution(by="legal", reason="order", kind=kind, on=await case.today()),
    )


async def _later(case: Any, days: int) -> None:
    await case.to(await case.today() + timedelta(days=days))


# ------------------------------------------------------------------ early stage, promises
async def early_stage(case: Any) -> None:
    """The early stage's reminders, letters and tasks over 45 days."""
    await case.to(case.day(45))


async def promise_kept_then_cure(case: Any) -> None:
    await _promise(case, "500.00", 5)
    await _later(case, 3)
    await case.pay("500.00")
    await _later(case, 5)
    await case.pay("1000.00")


async def promise_broken(case: Any) -> None:
    await _promise(case, "500.00", 5)
    await _later(case, 12)


# ------------------------------------------------------------------ loss mitigation
async def loss_mitigation_approved(case: Any) -> None:
    await _apply(case)
    await case.decide(
        "evaluation", "approve", plan=PlanTerms(kind="repayment_plan", months=6, amount=Decimal("300"))
    )
    await case.decide("offer_acceptance", "accepted")
    await _later(case, 20)


async def loss_mitigation_denied_then_appeal(case: Any) -> None:
    await _apply(case)
    await case.decide("evaluation", "deny", by="alice", denial_reasons=["income below the program minimum"])
    await _later(case, 10)
    await _update(case, CaseWorkflow.appeal, Appeal(by="agent", reason="new income evidence"))
    await case.decide(
        "appeal_review", "approve", by="bob", plan=PlanTerms(kind="trial", months=3, amount=Decimal("900"))
    )
    await case.decide("offer_acceptance", "accepted")
    await _later(case, 10)


async def loss_mitigation_offer_lapsed(case: Any) -> None:
    await _apply(case)
    await case.decide("evaluation", "approve", plan=PlanTerms(kind="trial", months=3, amount=Decimal("900")))
    await _later(case, 16)


# ------------------------------------------------------------------ forbearance
async def forbearance_then_review(case: Any) -> None:
    request = ForbearanceRequest(
        by="agent", reason="job loss", kind="reduced", months=2, reduced_amount=Decimal("200")
    )
    await _update(case, CaseWorkflow.request_forbearance, request)
    await _later(case, 65)
    await case.decide(
        "forbearance_review",
        "repayment_plan",
        plan=PlanTerms(kind="repayment_plan", months=6, amount=Decimal("400")),
    )
    await _later(case, 5)


# ------------------------------------------------------------------ enforcement
async def us_foreclosure_with_scra_hold(case: Any) -> None:
    """Opened past day 120: the SCRA check finds active duty, which holds foreclosure until a
    year after service: the referral is refused until then."""
    service_end = await case.today() - timedelta(days=340)
    await case.decide("scra_check", "active", service_end=service_end)
    await case.to(service_end + timedelta(days=364), hour=23)


async def nl_enforcement(case: Any) -> None:
    await case.to(case.day(33))
    await case.decide("forbearance_assessment", "not_appropriate")
    await case.to(case.day(45))


async def se_enforcement(case: Any) -> None:
    await case.to(case.day(23))
    await case.decide("forbearance_assessment", "not_appropriate")
    await case.to(case.day(60))


async def default_marking(case: Any) -> None:
    """An EU exposure more than 90 days past due on a material amount: defaulted on day 91."""
    await case.to(case.day(95))


# ------------------------------------------------------------------ holds
async def dispute_and_cease_holds(case: Any) -> None:
    await _update(
        case,
        CaseWorkflow.set_hold,
        HoldChange(by="agent", reason="borrower disputes", kind="dispute", active=True),
    )
    await _later(case, 10)
    await _update(
        case, CaseWorkflow.set_hold, HoldChange(by="agent", reason="verified", kind="dispute", active=False)
    )
    cease = HoldChange(by="agent", reason="stop e-mails", kind="cease", active=True, channels=[Channel.EMAIL])
    await _update(case, CaseWorkflow.set_hold, cease)
    await _later(case, 15)


# ------------------------------------------------------------------ bankruptcy
async def stay_ended_by_relief(case: Any) -> None:
    await _file(case, chapter=7)
    await _later(case, 30)
    await _resolve(case, "relief")
    await _later(case, 20)


async def stay_ended_by_dismissal(case: Any) -> None:
    await _file(case, chapter=13)
    await _later(case, 40)
    await _resolve(case, "dismissal")
    await _later(case, 20)


async def stay_ended_by_discharge(case: Any) -> None:
    await _file(case, chapter=7)
    await _later(case, 90)
    await _resolve(case, "discharge")


async def relief_then_bankruptcy_case_closed(case: Any) -> None:
    """Relief ends the stay, not the case: early intervention waits for the case to close."""
    await _file(case, chapter=7)
    await _later(case, 20)
    await _resolve(case, "relief")
    await _later(case, 30)
    end = BankruptcyCaseEnd(by="legal", reason="case closed", kind="closed", on=await case.today())
    await _update(case, CaseWorkflow.end_bankruptcy_case, end)
    await _later(case, 40)


async def chapter_13_notices(case: Any) -> None:
    await _file(case, chapter=13)
    filed = await case.today()
    change = PaymentChange(
        by="escrow",
        reason="escrow analysis",
        new_amount=Decimal("1620"),
        effective_on=filed + timedelta(days=21),
    )
    await _update(case, CaseWorkflow.record_payment_change, change)
    fee = PostPetitionFee(
        by="legal",
        reason="inspection",
        amount=Decimal("25"),
        incurred_on=filed,
        description="property inspection",
    )
    await _update(case, CaseWorkflow.record_post_petition_fee, fee)
    await _later(case, 30)


async def payment_covers_the_oldest_instalments(case: Any) -> None:
    """Two of three instalments paid: the delinquency moves to the third's due date."""
    await case.pay("2000.00")
    await _later(case, 40)


async def early_intervention_after_a_moved_start(case: Any) -> None:
    """The oldest instalment paid: live contacts and the written notice planned from the new start."""
    await case.pay("1000.00")
    await _later(case, 45)


async def calls_and_a_conversation(case: Any) -> None:
    """Staff calls counted per debt, one conversation, and a call from the borrower."""
    for outcome in ("no_answer", "left_message", "reached"):
        contact = ContactRecord(by="agent", reason="call", channel=Channel.CALL, outcome=outcome)
        await _update(case, CaseWorkflow.record_contact, contact)
    inbound = ContactRecord(
        by="agent", reason="borrower called", channel=Channel.CALL, outcome="reached", direction="inbound"
    )
    await _update(case, CaseWorkflow.record_contact, inbound)
    await _later(case, 10)


async def call_over_the_frequency(case: Any) -> None:
    """A conversation, then a call placed the same day: recorded over the frequency, flagged."""
    for outcome in ("reached", "no_answer"):
        contact = ContactRecord(by="agent", reason="call", channel=Channel.CALL, outcome=outcome)
        await _update(case, CaseWorkflow.record_contact, contact)
    await _later(case, 8)


async def belgian_credit_formal_notice(case: Any) -> None:
    """Book VII: the registered formal notice and the month that follows it."""
    await _later(case, 60)


async def belgian_notice_at_the_threshold(case: Any) -> None:
    """Book VII: a payment takes the default below two instalments before the notice's day."""
    await _later(case, 5)
    await case.pay("700.00")
    await _later(case, 70)


# ------------------------------------------------------------------ strategy
async def _score(case: Any, segment: Segment) -> None:
    scored = ScoredSegment(
        by="arrears-score-run",
        role="system",
        reason="score run",
        segment=segment,
        model="default",
        model_version=1,
        run_id=uuid.UUID("00000000-0000-4000-8000-000000000021"),
    )
    await _update(case, SET_SCORED_SEGMENT, scored)


async def scored_segment(case: Any) -> None:
    """A score run sees the case rolling (the strict cadence from the next day), the next one likely
    to cure (the nudges again)."""
    await _score(case, Segment.BAD)
    await _later(case, 5)
    await _score(case, Segment.FORGETFUL)
    await _later(case, 15)


async def _under_strategy(case: Any, name: str) -> None:
    """Start the case's run again under a built-in strategy."""
    await under_variant(case, strategies.builtin(name))


async def under_variant(case: Any, variant: Variant) -> None:
    """Start the case's run again under a strategy variant, as intake starts a case an experiment
    drew: the same input with the variant (the run intake started is ended first)."""
    history = await case.handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    [opened] = pydantic_data_converter.payload_converter.from_payloads(started.input.payloads, [CaseInput])
    await case.handle.terminate("started again under a strategy")
    handle = await case.env.client.start_workflow(
        CaseWorkflow.run,
        opened.model_copy(update={"strategy": variant}),
        id=f"{case.handle.id}-{variant.name}",
        task_queue=started.task_queue.name,
    )
    case.handle = case.env.client.get_workflow_handle_for(CaseWorkflow.run, handle.id)
    await case.settle()


async def nl_early_letter_strategy(case: Any) -> None:
    """Under nl-early-letter: the 14-dagenbrief on day 14 with 21 days to pay, e-mail first; closed
    by a supervisor once the letter's period has run."""
    await _under_strategy(case, "nl-early-letter")
    await case.to(case.day(45))
    assert await case.fired_on("wik.veertiendagenbrief") == [case.day(14)]  # the pack's: day 21
    await _update(
        case,
        CaseWorkflow.close_case,
        CloseRequest(by="supervisor", reason="recorded", outcome=CaseOutcome.TRANSFERRED),
    )


def fee_variant(kronor: int) -> Variant:
    """A Swedish variant that changes nothing but the reminder fee."""
    return Variant(pack=PolicyPack.SE_CONSUMER, name=f"se-fee-{kronor}", reminder_fee=Decimal(kronor))


async def _variant_reminder_fee(case: Any, kronor: int) -> None:
    """Under a variant with its own reminder fee, on a loan that agreed one: the first reminder on
    day 3 with the fee, the second on day 8; closed by a supervisor on day 10."""
    await under_variant(case, fee_variant(kronor))
    await case.to(case.day(10))
    await _update(
        case,
        CaseWorkflow.close_case,
        CloseRequest(by="supervisor", reason="recorded", outcome=CaseOutcome.TRANSFERRED),
    )


async def se_variant_reminder_fee(case: Any) -> None:
    """A variant's lower reminder fee (30 kr)."""
    await _variant_reminder_fee(case, 30)


async def se_variant_without_reminder_fee(case: Any) -> None:
    """A variant that charges no reminder fee."""
    await _variant_reminder_fee(case, 0)


# name: (pack, days past due at opening, intake overrides, play); a due_day of "oldest" is the
# day of the month the oldest unpaid instalment fell due (tests/workflows/conftest.py)
SCENARIOS: dict[str, tuple[str, int, dict[str, Any], Play]] = {
    "us_early_stage": ("us_mortgage", 1, {}, early_stage),
    "nl_early_stage": ("nl_consumer", 1, {}, early_stage),
    "se_early_stage": ("se_consumer", 1, {}, early_stage),
    "us_promise_kept_then_cure": ("us_mortgage", 10, {}, promise_kept_then_cure),
    "nl_promise_broken": ("nl_consumer", 5, {}, promise_broken),
    "us_loss_mitigation_approved": ("us_mortgage", 50, {}, loss_mitigation_approved),
    "us_loss_mitigation_denied_then_appeal": ("us_mortgage", 50, {}, loss_mitigation_denied_then_appeal),
    "us_loss_mitigation_offer_lapsed": ("us_mortgage", 50, {}, loss_mitigation_offer_lapsed),
    "nl_forbearance_then_review": ("nl_consumer", 20, {}, forbearance_then_review),
    "us_foreclosure_with_scra_hold": ("us_mortgage", 125, {}, us_foreclosure_with_scra_hold),
    "nl_enforcement": ("nl_consumer", 1, {}, nl_enforcement),
    "se_enforcement": ("se_consumer", 1, {}, se_enforcement),
    "nl_default_marking": ("nl_consumer", 80, {"arrears": "3000.00"}, default_marking),
    "us_dispute_and_cease_holds": ("us_mortgage", 10, {}, dispute_and_cease_holds),
    "us_stay_ended_by_relief": ("us_mortgage", 60, {}, stay_ended_by_relief),
    "us_stay_ended_by_dismissal": ("us_mortgage", 60, {}, stay_ended_by_dismissal),
    "se_stay_ended_by_discharge": ("se_consumer", 30, {}, stay_ended_by_discharge),
    "us_chapter_13_notices": ("us_mortgage", 20, {}, chapter_13_notices),
    "us_relief_then_bankruptcy_case_closed": ("us_mortgage", 10, {}, relief_then_bankruptcy_case_closed),
    "us_payment_covers_oldest_instalments": (
        "us_mortgage",
        70,
        {"arrears": "3000.00", "installment": "1000.00", "due_day": "oldest"},
        payment_covers_the_oldest_instalments,
    ),
    "us_calls_and_a_conversation": ("us_mortgage", 10, {}, calls_and_a_conversation),
    "us_call_over_the_frequency": ("us_mortgage", 10, {}, call_over_the_frequency),
    "us_early_intervention_after_a_moved_start": (
        "us_mortgage",
        35,
        {"arrears": "2000.00", "installment": "1000.00", "due_day": "oldest"},
        early_intervention_after_a_moved_start,
    ),
    "be_invoice_early_stage": ("be_consumer", 1, {"product": "energy_invoice"}, early_stage),
    "be_credit_formal_notice": (
        "be_consumer",
        40,
        {"arrears": "1200.00", "installment": "600.00", "product": "personal_loan"},
        belgian_credit_formal_notice,
    ),
    "be_credit_notice_at_the_threshold": (
        "be_consumer",
        5,
        {"arrears": "1200.00", "installment": "600.00", "product": "personal_loan"},
        belgian_notice_at_the_threshold,
    ),
    "us_scored_segment": ("us_mortgage", 1, {}, scored_segment),
    "nl_early_letter_strategy": ("nl_consumer", 1, {}, nl_early_letter_strategy),
    "se_variant_reminder_fee": ("se_consumer", 1, {"reminder_fee_agreed": True}, se_variant_reminder_fee),
    "se_variant_without_reminder_fee": (
        "se_consumer",
        1,
        {"reminder_fee_agreed": True},
        se_variant_without_reminder_fee,
    ),
}
