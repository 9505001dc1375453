"""Plain pydantic messages exchanged between API, workflows and activities (sandbox-safe)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from models.enums import CaseOutcome, CaseStage, PolicyPack


class CaseInput(BaseModel):
    """What a case workflow starts from."""

    case_id: uuid.UUID
    loan_id: uuid.UUID
    loan_external_id: str
    policy_pack: PolicyPack
    currency: str
    arrears: Decimal
    days_past_due: int
    as_of: date


class PaymentSignal(BaseModel):
    """A payment reported by the loan system."""

    external_id: str = Field(min_length=1, max_length=100)
    amount: Decimal = Field(gt=0)
    currency: str
    received_at: datetime


class StageChange(BaseModel):
    stage: CaseStage
    at: datetime
    reason: str


class CaseState(BaseModel):
    """The answer to the `state` query."""

    case_id: uuid.UUID
    loan_external_id: str
    policy_pack: PolicyPack
    stage: CaseStage
    outcome: CaseOutcome | None
    arrears: Decimal
    currency: str
    delinquent_since: date
    days_past_due: int = Field(description="as of `as_of`, the case's last activity")
    as_of: datetime
    payments_applied: list[str]
    history: list[StageChange]


class StageUpdate(BaseModel):
    """Activity input: move the case row to a stage."""

    case_id: uuid.UUID
    stage: CaseStage
    at: datetime
    reason: str
    sequence: int
    days_past_due: int


class PaymentRecord(BaseModel):
    """Activity input: store a payment against the case."""

    case_id: uuid.UUID
    loan_id: uuid.UUID
    payment: PaymentSignal
    arrears_after: Decimal


class CaseClosure(BaseModel):
    """Activity input: close the case row with an outcome."""

    case_id: uuid.UUID
    outcome: CaseOutcome
    at: datetime
    reason: str
