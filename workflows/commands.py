"""The commands staff and the loan system send a case: updates with who asks and why, and the
payment signal. Plain pydantic, sandbox-safe; the API derives its request bodies from them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from models.enums import CallDirection, CaseOutcome, Channel
from models.values import BoundedDate, BoundedDateTime, Money, PositiveMoney


# ---------------------------------------------------------------- staff and outside facts
class Staff(BaseModel):
    """Who asks, and why: every update carries an explanation for the audit trail."""

    by: str = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=500)
    role: str | None = Field(
        default=None, max_length=32, description="the caller's role, for the audit trail"
    )


class PaymentSignal(BaseModel):
    """A payment reported by the loan system."""

    external_id: str = Field(min_length=1, max_length=100)
    amount: PositiveMoney
    currency: str
    received_at: datetime


class ContactRecord(Staff):
    """A contact with the borrower, or an attempt. A call is placed by staff (outbound) or came
    from the borrower (inbound); "reached" is a conversation with the borrower, "not_connected"
    a call that never reached the dialed number (busy, not in service)."""

    channel: Channel
    outcome: Literal["reached", "no_answer", "left_message", "wrong_number", "not_connected"]
    direction: CallDirection = CallDirection.OUTBOUND
    at: BoundedDateTime | None = Field(default=None, description="when the call was made; default now")


class CallbackRequest(Staff):
    """The borrower asks to be called back at a time (aware): a task for staff."""

    at: BoundedDateTime


class PromiseToPay(Staff):
    amount: PositiveMoney
    due: BoundedDate


class LossMitigationApplication(Staff):
    received_on: BoundedDate
    complete: bool
    sale_date: BoundedDate | None = None


class Appeal(Staff):
    pass


class ForbearanceRequest(Staff):
    kind: Literal["pause", "reduced"]
    months: int = Field(ge=1, le=24)
    reduced_amount: Money | None = None


class BankruptcyFiling(Staff):
    chapter: Literal[7, 11, 12, 13] = 13
    court_case: str = Field(min_length=1, max_length=64)
    filed_on: BoundedDate
    prior_dismissed_within_year: int = Field(default=0, ge=0, le=20)
    surrender: bool = Field(
        default=False,
        description="the plan or statement of intention surrenders the dwelling (12 CFR 1024.39(c)(1)(ii))",
    )
    plan_provides_for_arrearage: bool | None = Field(
        default=None,
        description="the plan provides for the pre-petition arrearage or the maintenance of payments "
        "(false: it does not); null while no plan is known",
    )
    lien_avoided: bool = Field(default=False, description="the plan or a court order avoids the lien")
    collection_ceased_by_order: bool = Field(
        default=False, description="a court order requires the servicer to cease collection efforts"
    )


class BankruptcyFacts(Staff):
    """What became known of a bankruptcy case after its filing: a plan or statement of intention,
    a court order (12 CFR 1024.39(c)(1)(ii)). A field left out keeps what was recorded."""

    on: BoundedDate
    surrender: bool | None = None
    plan_provides_for_arrearage: bool | None = None
    lien_avoided: bool | None = None
    collection_ceased_by_order: bool | None = None


class BankruptcyCaseEnd(Staff):
    """The bankruptcy case ended: dismissed, closed or discharged (12 CFR 1024.39(c)(2))."""

    kind: Literal["dismissed", "closed", "discharged"]
    on: BoundedDate


class StayOrder(Staff):
    """A court order on the stay: extended past its 30-day lapse (11 U.S.C. 362(c)(3)(B)), or
    imposed where none arose (362(c)(4)(B)), effective on `on`."""

    kind: Literal["extend", "impose"]
    on: BoundedDate


class BankruptcyResolution(Staff):
    kind: Literal["relief", "dismissal", "discharge"]
    on: BoundedDate


class PaymentChange(Staff):
    """A new installment amount during a chapter 13 case (FRBP 3002.1(b))."""

    new_amount: PositiveMoney
    effective_on: BoundedDate


class PostPetitionFee(Staff):
    """A fee incurred after the petition in a chapter 13 case (FRBP 3002.1(c))."""

    amount: PositiveMoney
    incurred_on: BoundedDate
    description: str = Field(min_length=1, max_length=200)


class HoldChange(Staff):
    kind: Literal["dispute", "cease", "scra"]
    active: bool
    channels: list[Channel] = Field(default_factory=list)  # dispute/cease: empty means all
    until: BoundedDate | None = None  # scra: end of military service


class PlanTerms(BaseModel):
    kind: Literal["repayment_plan", "trial", "modification"]
    months: int = Field(default=6, ge=1, le=60)
    # what the borrower pays each month; the decision letter prints it
    amount: PositiveMoney | None = None


class TaskDecision(Staff):
    task: str = Field(description="the task key, as listed in the state query")
    decision: str
    plan: PlanTerms | None = None
    denial_reasons: list[str] = Field(default_factory=list)
    service_end: BoundedDate | None = None  # scra_check: end of active duty


class CloseRequest(Staff):
    outcome: CaseOutcome
    approval_required: bool = Field(
        default=False, description="four eyes: the close waits for a second supervisor's approval"
    )


class CloseProposal(BaseModel):
    """A close that waits for a second supervisor (four eyes)."""

    outcome: CaseOutcome
    by: str
    reason: str
    at: datetime
    task: str  # the approval task's key
