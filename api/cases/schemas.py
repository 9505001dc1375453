"""What the cases routes take and answer: the case list and detail, its records, and the actions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from api.service import Text
from models.enums import CaseOutcome, CaseStage, CaseStatus, Channel, MessageStatus, PolicyPack
from models.values import BoundedDate, Money, PositiveMoney
from workflows.dto import CaseState

DpdBucket = Literal["0-29", "30-59", "60-89", "90-119", "120+"]


# ---------------------------------------------------------------------------- reads
class CaseSummary(BaseModel):
    id: uuid.UUID
    loan_id: uuid.UUID
    loan_external_id: str
    policy_pack: PolicyPack
    product: str
    stage: CaseStage
    status: CaseStatus
    outcome: CaseOutcome | None
    days_past_due: int
    arrears: Decimal
    currency: str
    team: str
    assignee: str | None
    opened_at: datetime
    closed_at: datetime | None


class LoanView(BaseModel):
    external_id: str
    product: str
    currency: str
    principal: Decimal
    balance: Decimal
    installment: Decimal
    due_day: int
    next_due_date: date


class BorrowerView(BaseModel):
    id: uuid.UUID
    external_id: str
    name: str
    email: str | None
    phone: str | None
    address: str | None
    timezone: str
    language: str
    masked: bool = Field(description="true when the caller's role sees masked personal data")


class TaskBrief(BaseModel):
    id: uuid.UUID
    kind: str
    status: str
    due_at: datetime
    assignee: str | None


class PaymentOut(BaseModel):
    external_id: str
    amount: Decimal
    currency: str
    received_at: datetime


class CaseDetail(BaseModel):
    case: CaseSummary
    loan: LoanView
    borrower: BorrowerView
    state: CaseState | None = Field(description="the workflow's `state` query; null if it cannot answer")
    tasks: list[TaskBrief]
    payments: list[PaymentOut]


class DocumentOut(BaseModel):
    id: uuid.UUID
    template: str
    template_version: str
    language: str
    sha256: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DocumentFile:
    """A document's PDF as it was sent, with what names it."""

    pdf: bytes
    sha256: str
    template: str


class MessageOut(BaseModel):
    id: uuid.UUID
    channel: Channel
    requested_channel: str
    status: MessageStatus
    reason: str
    document_id: uuid.UUID | None
    message_id: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    retry_at: datetime | None


# ---------------------------------------------------------------------------- actions
class Accepted(BaseModel):
    """The workflow accepted the action."""

    case_id: uuid.UUID
    result: str


class Explained(BaseModel):
    reason: Text = Field(description="why, for the audit trail")


class ContactIn(Explained):
    channel: Channel
    outcome: Literal["reached", "no_answer", "left_message", "wrong_number"]


class PromiseIn(Explained):
    amount: PositiveMoney
    due: BoundedDate


class ApplicationIn(Explained):
    received_on: BoundedDate
    complete: bool
    sale_date: BoundedDate | None = None


class ForbearanceIn(Explained):
    kind: Literal["pause", "reduced"]
    months: int = Field(ge=1, le=24)
    reduced_amount: Money | None = None


class BankruptcyIn(Explained):
    chapter: Literal[7, 11, 12, 13] = 13
    court_case: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")]
    filed_on: BoundedDate
    prior_dismissed_within_year: int = Field(default=0, ge=0, le=20)


class ResolutionIn(Explained):
    kind: Literal["relief", "dismissal", "discharge"]
    on: BoundedDate


class PaymentChangeIn(Explained):
    new_amount: PositiveMoney
    effective_on: BoundedDate


class FeeIn(Explained):
    amount: PositiveMoney
    incurred_on: BoundedDate
    description: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]


class HoldIn(Explained):
    kind: Literal["dispute", "cease", "scra"]
    active: bool
    channels: list[Channel] = Field(default_factory=list, max_length=4)
    until: BoundedDate | None = None


class CloseIn(Explained):
    outcome: CaseOutcome
