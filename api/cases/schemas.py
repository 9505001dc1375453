"""What the cases routes take and answer: the case list and detail, its records, and the actions."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import UnionType
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, Field, StrictBool, create_model
from pydantic.fields import FieldInfo

from api.service import ONE_LINE, PRINTABLE
from models.enums import CaseOutcome, CaseStage, CaseStatus, Channel, MessageStatus, PolicyPack
from workflows.dto import (
    Appeal,
    BankruptcyCaseEnd,
    BankruptcyFacts,
    BankruptcyFiling,
    BankruptcyResolution,
    CaseState,
    CloseRequest,
    ContactRecord,
    ForbearanceRequest,
    HoldChange,
    LossMitigationApplication,
    PaymentChange,
    PostPetitionFee,
    PromiseToPay,
    StayOrder,
)

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
    next_call_at: datetime | None = Field(
        default=None, description="the first moment staff may call about the debt; null: now"
    )
    next_call_rule: str | None = Field(default=None, description="the rule that bars a call until then")
    next_call_reason: str | None = Field(default=None, description="why, and when the next call is allowed")


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


class CommandBody(BaseModel):
    """A staff action's request body: its workflow command without who asks (the server adds that)."""


M = TypeVar("M", bound=CommandBody)

# Who asks: taken from the caller's token, never from the body.
STAFF_FIELDS = frozenset({"by", "role"})
# Where the API refuses more than the command itself: what a person types must be printable. Kept
# here, not on the commands, because a workflow re-validates its recorded messages on replay.
NARROWER: dict[str, FieldInfo] = {
    "reason": Field(pattern=PRINTABLE, description="why, for the audit trail"),
}


def _json_int(value: Any) -> Any:
    # JSON Schema's integer takes 4 and 4.0, never "4" or true, which pydantic would read
    if isinstance(value, str | bool):
        raise ValueError("must be a JSON integer")
    return value


def _strict(annotation: Any) -> tuple[Any, ...]:
    """A field as the API takes it: booleans and integers only as JSON writes them (the schema
    says so), while the workflow's command stays lenient for recorded histories. The integer
    check comes after the field's constraints, so that they stay in the OpenAPI document."""
    if annotation is bool:
        return (StrictBool,)
    options = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else (annotation,)
    if bool in options:
        return (Union[tuple(StrictBool if a is bool else a for a in options)],)  # noqa: UP007
    if int in options:
        return (annotation, BeforeValidator(_json_int))
    return (annotation,)


def command_body(
    command: type[BaseModel],
    *,
    omit: Collection[str] = (),
    narrower: Mapping[str, FieldInfo] | None = None,
) -> Callable[[type[M]], type[M]]:
    """Make the decorated class the request body of `command`: the command's fields with their
    types, defaults and constraints, less the staff fields and `omit`, and narrowed where the API
    refuses more than the workflow (`NARROWER`, then `narrower`)."""

    def build(declared: type[M]) -> type[M]:
        fields: dict[str, Any] = {}
        for name, info in command.model_fields.items():
            if name in STAFF_FIELDS or name in omit:
                continue
            narrowed = [n for n in (NARROWER.get(name), (narrower or {}).get(name)) if n is not None]
            annotation, *checks = _strict(info.annotation)
            fields[name] = Annotated[(annotation, info, *narrowed, *checks)]
        return create_model(
            declared.__name__,
            __base__=declared,
            __module__=declared.__module__,
            __doc__=declared.__doc__,
            **fields,
        )

    return build


ONE_LINE_TEXT = Field(pattern=ONE_LINE)


# the appeal's body, a reason only; the OpenAPI document names it so
@command_body(Appeal)
class Explained(CommandBody):
    pass


@command_body(ContactRecord)
class ContactIn(CommandBody):
    pass


@command_body(PromiseToPay)
class PromiseIn(CommandBody):
    pass


@command_body(LossMitigationApplication)
class ApplicationIn(CommandBody):
    pass


@command_body(ForbearanceRequest)
class ForbearanceIn(CommandBody):
    pass


@command_body(BankruptcyFiling, narrower={"court_case": ONE_LINE_TEXT})
class BankruptcyIn(CommandBody):
    pass


@command_body(BankruptcyResolution)
class ResolutionIn(CommandBody):
    pass


@command_body(StayOrder)
class StayOrderIn(CommandBody):
    pass


@command_body(BankruptcyFacts)
class BankruptcyFactsIn(CommandBody):
    pass


@command_body(BankruptcyCaseEnd)
class BankruptcyCaseEndIn(CommandBody):
    pass


@command_body(PaymentChange)
class PaymentChangeIn(CommandBody):
    pass


@command_body(PostPetitionFee, narrower={"description": ONE_LINE_TEXT})
class FeeIn(CommandBody):
    pass


# a hold names at most the four channels
@command_body(HoldChange, narrower={"channels": Field(max_length=4)})
class HoldIn(CommandBody):
    pass


# whether the close waits for a second supervisor is the servicer's setting, not the caller's
@command_body(CloseRequest, omit={"approval_required"})
class CloseIn(CommandBody):
    pass
