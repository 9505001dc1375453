"""Plain pydantic messages exchanged between API, workflows and activities (sandbox-safe)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from models.enums import CallDirection, CaseOutcome, CaseStage, Channel, PolicyPack, Segment
from policies.delinquency import Instalment
from policies.strategy import Variant
from workflows.commands import (
    Appeal as Appeal,
)
from workflows.commands import (
    BankruptcyCaseEnd as BankruptcyCaseEnd,
)
from workflows.commands import (
    BankruptcyFacts as BankruptcyFacts,
)
from workflows.commands import (
    BankruptcyFiling as BankruptcyFiling,
)
from workflows.commands import (
    BankruptcyResolution as BankruptcyResolution,
)
from workflows.commands import (
    CloseProposal as CloseProposal,
)
from workflows.commands import (
    CloseRequest as CloseRequest,
)
from workflows.commands import (
    ContactRecord as ContactRecord,
)
from workflows.commands import (
    ForbearanceRequest as ForbearanceRequest,
)
from workflows.commands import (
    HoldChange as HoldChange,
)
from workflows.commands import (
    LossMitigationApplication as LossMitigationApplication,
)
from workflows.commands import (
    PaymentChange as PaymentChange,
)
from workflows.commands import (
    PaymentSignal as PaymentSignal,
)
from workflows.commands import (
    PlanTerms as PlanTerms,
)
from workflows.commands import (
    PostPetitionFee as PostPetitionFee,
)
from workflows.commands import (
    PromiseToPay as PromiseToPay,
)
from workflows.commands import (  # re-exported: every layer imports the messages from here
    Staff as Staff,
)
from workflows.commands import (
    StayOrder as StayOrder,
)
from workflows.commands import (
    TaskDecision as TaskDecision,
)


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
    surrender: bool = False  # the plan or statement of intention surrenders the dwelling


class DebtorCase(BaseModel):
    """A bankruptcy case of the borrower's, from its filing to its end: what early intervention
    follows (12 CFR 1024.39(c)), which outlives the stay (relief ends the stay, not the case)."""

    court_case: str
    chapter: int
    filed_on: date
    surrender: bool = False
    plan_provides_for_arrearage: bool | None = None
    lien_avoided: bool = False
    collection_ceased_by_order: bool = False
    stay_lifted: bool = False  # relief from the stay: a court order lifting it
    ended: Literal["dismissed", "closed", "discharged"] | None = None
    ended_on: date | None = None


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


class CallLog(BaseModel):
    """A telephone call on the case, as the call-frequency rule counts it (no personal data)."""

    at: datetime
    direction: CallDirection
    outcome: str


class NextCall(BaseModel):
    """When staff may next call about the debt, and why not before; `at` None: now."""

    at: datetime | None = None
    rule_id: str | None = None
    citation: str | None = None
    reason: str = ""


class CaseMemory(BaseModel):
    """Everything a case remembers; carried whole across continue-as-new."""

    stage: CaseStage = CaseStage.EARLY
    outcome: CaseOutcome | None = None
    arrears: Decimal
    fees: Decimal = Decimal("0")
    segment: Segment = Segment.GOOD
    # the segment the score set within the pack's rules (`set_scored_segment`); None: never scored
    scored_segment: Segment | None = None
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
    calls: list[CallLog] = Field(default_factory=list)  # the recent ones (Reg F call frequency)
    early_intervention_resumes_on: date | None = None  # after a bankruptcy case (1024.39(c)(2))
    bankruptcy: DebtorCase | None = None  # the borrower's latest bankruptcy case, while and after
    # The instalments past due at opening and what covered each one (oldest first); None for
    # runs that count from the reported day alone (started before the schedule was carried).
    schedule: list[Instalment] | None = None


class ScoredSegment(Staff):
    """The segment a score run gave the case, within its pack's rules: the early stage's cadence
    follows it. Names the model and the run it came from, never a figure about the borrower."""

    segment: Segment
    model: str = Field(min_length=1, max_length=64)
    model_version: int = Field(ge=1, le=1_000_000)
    run_id: uuid.UUID


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
    # the loan's periodic instalment and due day, from which the due schedule is built
    installment: Decimal | None = None
    due_day: int | None = None
    product: str | None = None  # the loan's product, where the pack's rules follow it (BE)
    memory: CaseMemory | None = None
    # the strategy the case is worked under (an experiment's arm or the promoted champion);
    # None: the pack as it is. A case keeps it for life, across continue-as-new.
    strategy: Variant | None = None


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
    next_call: NextCall = Field(
        default_factory=NextCall, description="when staff may next call about the debt, and why not before"
    )
    schedule: list[Instalment] = Field(
        default_factory=list,
        description="the instalments past due at opening, oldest first, and the payments that covered each",
    )


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
    delinquent_since: date | None = None  # after the payment, where the case carries its schedule


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


class CallInput(ActionInput):
    """A call's audit record, and when the next call is allowed (for the work queue)."""

    next_call: NextCall


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
