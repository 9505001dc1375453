"""Plain pydantic messages exchanged between API, workflows and activities (sandbox-safe)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from models.enums import CaseOutcome, CaseStage, Channel, PolicyPack, Segment
from models.values import BoundedDate, Money, PositiveMoney


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
    channel: Channel
    outcome: Literal["reached", "no_answer", "left_message", "wrong_number"]


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


# ---------------------------------------------------------------- workflow input and memory
class ActionRecord(BaseModel):
    """Something the case did or refused, with the rule that caused it."""

    key: str
    kind: str
    status: Literal["done", "refused", "suppressed"]
    rule_id: str
    citation: str
    at: datetime
    due: date | None = None
    channel: Channel | None = None
    document: str | None = None
    amount: Decimal | None = None
    collection: bool = True
    foreclosure: bool = False
    detail: str = ""


class ScheduledAction(BaseModel):
    key: str
    kind: str
    due: date
    rule_id: str
    citation: str
    detail: str = ""


class TaskView(BaseModel):
    key: str
    kind: str
    rule_id: str
    citation: str
    due: date
    status: Literal["open", "escalated", "done", "cancelled"] = "open"
    decision: str | None = None
    decided_by: str | None = None


class Hold(BaseModel):
    kind: Literal["stay", "dispute", "cease", "scra"]
    since: date
    until: date | None = None
    channels: list[Channel] = Field(default_factory=list)
    rule_id: str
    citation: str


class Period(BaseModel):
    start: datetime
    end: datetime | None = None


class ApplicationState(BaseModel):
    number: int
    received_on: date
    complete_on: date | None = None
    sale_date: date | None = None
    status: Literal[
        "received", "incomplete", "evaluating", "denied", "appealed", "offered", "approved", "closed"
    ]
    first_decider: str | None = None
    appeal_requested: bool = False


class StayState(BaseModel):
    chapter: int
    court_case: str
    filed_on: date
    ends_on: date | None = None
    resolution: Literal["relief", "dismissal", "discharge", "expired"] | None = None
    resume_stage: CaseStage


class EbaStatus(BaseModel):
    forborne: bool = False
    non_performing: bool = False
    forborne_since: date | None = None
    cure_period_ends: date | None = None
    probation_ends: date | None = None
    reforbearance_count: int = 0
    defaulted_on: date | None = None  # CRR Art. 178: >90 days past due on a material amount


class StageChange(BaseModel):
    stage: CaseStage
    at: datetime
    reason: str


class CaseMemory(BaseModel):
    """Everything a case remembers; carried whole across continue-as-new."""

    stage: CaseStage = CaseStage.EARLY
    outcome: CaseOutcome | None = None
    arrears: Decimal
    fees: Decimal = Decimal("0")
    segment: Segment = Segment.GOOD
    broken_promises: int = 0
    promise: PromiseToPay | None = None
    promise_paid: Decimal = Decimal("0")
    payments_applied: list[str] = Field(default_factory=list)
    done: dict[str, date] = Field(default_factory=dict)  # step key -> the day it was taken
    series_last: dict[str, date] = Field(default_factory=dict)
    actions: list[ActionRecord] = Field(default_factory=list)
    tasks: dict[str, TaskView] = Field(default_factory=dict)
    holds: list[Hold] = Field(default_factory=list)
    stays: list[Period] = Field(default_factory=list)
    applications_pending: list[Period] = Field(default_factory=list)
    application: ApplicationState | None = None
    applications: int = 0
    stay: StayState | None = None
    filing_without_stay: BankruptcyFiling | None = None  # a repeat filing, until a court imposes one
    forbearance: ForbearanceRequest | None = None
    eba: EbaStatus = Field(default_factory=EbaStatus)
    enforcement_started: date | None = None
    history: list[StageChange] = Field(default_factory=list)
    resume_stage: CaseStage | None = None
    close_proposal: CloseProposal | None = None


class CaseInput(BaseModel):
    """What a case workflow starts from (and, after continue-as-new, what it carries)."""

    case_id: uuid.UUID
    loan_id: uuid.UUID
    loan_external_id: str
    policy_pack: PolicyPack
    currency: str
    arrears: Decimal
    days_past_due: int
    as_of: date
    exposure: Decimal | None = None  # the loan's balance, for the relative materiality threshold
    reminder_fee_agreed: bool = False  # the loan agreement provides for a reminder fee
    memory: CaseMemory | None = None


class CaseState(BaseModel):
    """The answer to the `state` query."""

    case_id: uuid.UUID
    loan_external_id: str
    policy_pack: PolicyPack
    stage: CaseStage
    outcome: CaseOutcome | None
    segment: Segment
    arrears: Decimal
    fees: Decimal
    currency: str
    delinquent_since: date
    days_past_due: int = Field(description="as of `as_of`, the case's last activity")
    as_of: datetime
    payments_applied: list[str]
    next_actions: list[ScheduledAction]
    open_tasks: list[TaskView]
    holds: list[Hold]
    application: ApplicationState | None
    forbearance: ForbearanceRequest | None
    eba: EbaStatus
    actions: list[ActionRecord]
    history: list[StageChange]
    stay_periods: list[Period]
    application_periods: list[Period] = Field(description="complete applications pending decision")
    close_proposal: CloseProposal | None = Field(default=None, description="a close awaiting approval")


# ---------------------------------------------------------------- activity inputs
class StageUpdate(BaseModel):
    case_id: uuid.UUID
    stage: CaseStage
    at: datetime
    reason: str
    sequence: int
    days_past_due: int
    facts: dict[str, str] = {}  # e.g. the bankruptcy chapter, for the reports


class PaymentRecord(BaseModel):
    case_id: uuid.UUID
    loan_id: uuid.UUID
    payment: PaymentSignal
    arrears_after: Decimal


class CaseClosure(BaseModel):
    case_id: uuid.UUID
    outcome: CaseOutcome
    at: datetime
    reason: str


class ActionInput(BaseModel):
    case_id: uuid.UUID
    loan_id: uuid.UUID
    record: ActionRecord
    actor: str = "case-workflow"
    role: str = "system"
    reason: str = ""


class TaskInput(BaseModel):
    case_id: uuid.UUID
    task: TaskView
    at: datetime


class TaskOutcome(BaseModel):
    case_id: uuid.UUID
    key: str
    status: Literal["escalated", "done", "cancelled"]
    at: datetime
    decision: dict[str, Any] | None = None
    actor: str = "case-workflow"
    role: str | None = None
    reason: str = ""
    # The task itself, so that a cancel that overtakes its own creation (a worker killed while
    # creating it) can still leave the row in its final state.
    task: TaskView | None = None


# ---------------------------------------------------------------- documents and messages
class SendRequest(BaseModel):
    """Render a step's document and deliver it, once: the key is (case, step, sequence)."""

    case_id: uuid.UUID
    step: str
    sequence: int = 0
    document: str
    channel: Channel | None  # None: render and store only (a court filing's cover sheet)
    collection: bool = True
    holds: list[str] = Field(default_factory=list)  # active holds that bar this message
    # the case's facts as the workflow knows them, for the letter
    arrears: Decimal
    fees: Decimal
    days_past_due: int
    delinquent_since: date
    amount: Decimal | None = None
    deadline: date | None = None
    facts: dict[str, str] = Field(default_factory=dict)
    # The step's own audit record: written in the send's transaction once the send has an
    # outcome (status, detail and time filled in then), so the step costs one activity.
    record: ActionRecord | None = None

    @property
    def idempotency_key(self) -> str:
        return f"{self.case_id}:{self.step}:{self.sequence}"


class SendResult(BaseModel):
    """What became of a send: sent, batched for print, stored, refused for now, suppressed, failed."""

    status: Literal["sent", "batched", "stored", "refused", "suppressed", "failed"]
    channel: Channel | None
    document_id: uuid.UUID | None = None
    message_id: str | None = None
    reason: str = ""
    rule_id: str | None = None
    citation: str | None = None
    retry_at: datetime | None = None
    record: ActionRecord | None = None  # the step's record, when the request carried one

    @property
    def final(self) -> bool:
        """Anything but a "not now": the step is over, whatever became of the message."""
        return self.status != "refused" or self.retry_at is None

    def step_outcome(self, document: str, detail: str) -> tuple[Literal["done", "suppressed"], str]:
        """The status and detail the step's audit record gets for this outcome."""
        status: Literal["done", "suppressed"] = "suppressed" if self.status == "suppressed" else "done"
        outcome = f"{document} {self.status}" + (
            f" by {self.channel.value}" if self.channel is not None else ""
        )
        return status, "; ".join(part for part in (detail, outcome, self.reason) if part)
