"""Cases: the list, the detail, the timeline, documents and messages, and the staff actions.

Every action is a workflow update: the workflow's validator accepts or refuses it (409 with
the reason), and the workflow writes the audit event with the caller as actor.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Integer, and_, case, cast, func
from sqlmodel import col, select

from api.access import CaseReader, CaseWorker, DocumentReader, Supervisor, borrower_view, visible_cases
from api.cases import workflow
from api.cases.workflow import Update
from api.deps import DatabaseDep, SettingsDep, TemporalDep
from api.errors import Conflict, Forbidden, NotFound, ServiceUnavailable, Unauthorized, error_responses
from api.models import AuditEventOut, Page, event_out
from api.service import Accepted, ShortText, Text, actor, load_case
from arrears import audit
from arrears.auth import Principal
from models.audit import AuditEvent
from models.borrowers import Borrower
from models.cases import Case
from models.documents import Document, Message
from models.enums import CaseOutcome, CaseStage, CaseStatus, Channel, MessageStatus, PolicyPack
from models.loans import Loan
from models.payments import Payment
from models.tasks import Task
from models.values import BoundedDate, Money, PositiveMoney
from workflows.dto import (
    Appeal,
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
    Staff,
)

router = APIRouter(prefix="/v1/cases", tags=["cases"])

MAX_PAGE = 200
READ_ERRORS = error_responses(Unauthorized, Forbidden)
ONE_ERRORS = error_responses(Unauthorized, Forbidden, NotFound)
ACTION_ERRORS = error_responses(Unauthorized, Forbidden, NotFound, Conflict, ServiceUnavailable)
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"page size, at most {MAX_PAGE}")]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]

DpdBucket = Literal["0-29", "30-59", "60-89", "90-119", "120+"]
BUCKETS: dict[str, tuple[int, int | None]] = {
    "0-29": (0, 29),
    "30-59": (30, 59),
    "60-89": (60, 89),
    "90-119": (90, 119),
    "120+": (120, None),
}


def days_past_due() -> ColumnElement[int]:
    """Today's days past due of an open case with arrears, in SQL (0 otherwise)."""
    counted = cast(func.current_date() - col(Case.opened_as_of), Integer) + col(Case.days_past_due_at_open)
    return case(
        (and_(col(Case.status) == CaseStatus.OPEN, col(Case.arrears) > 0), counted),
        else_=0,
    )


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


def _summary(case_row: Case, loan: Loan, dpd: int) -> CaseSummary:
    return CaseSummary(
        id=case_row.id,
        loan_id=case_row.loan_id,
        loan_external_id=loan.external_id,
        policy_pack=case_row.policy_pack,
        product=loan.product,
        stage=case_row.stage,
        status=case_row.status,
        outcome=case_row.outcome,
        days_past_due=dpd,
        arrears=case_row.arrears,
        currency=case_row.currency,
        team=case_row.team,
        assignee=case_row.assignee,
        opened_at=case_row.opened_at,
        closed_at=case_row.closed_at,
    )


@router.get("", summary="List cases", responses=READ_ERRORS)
async def list_cases(
    principal: CaseReader,
    db: DatabaseDep,
    stage: CaseStage | None = None,
    status: CaseStatus | None = CaseStatus.OPEN,
    dpd: Annotated[DpdBucket | None, Query(description="days-past-due bucket")] = None,
    pack: PolicyPack | None = None,
    assignee: ShortText | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[CaseSummary]:
    """Cases the caller may see, most days past due first, filtered and paginated."""
    dpd_expr = days_past_due()
    where: list[ColumnElement[bool]] = [visible_cases(principal)]
    if stage is not None:
        where.append(col(Case.stage) == stage)
    if status is not None:
        where.append(col(Case.status) == status)
    if pack is not None:
        where.append(col(Case.policy_pack) == pack)
    if assignee is not None:
        where.append(col(Case.assignee) == assignee)
    if dpd is not None:
        low, high = BUCKETS[dpd]
        where.append(dpd_expr >= low)
        if high is not None:
            where.append(dpd_expr <= high)
    async with db.session() as session:
        total = (await session.exec(select(func.count()).select_from(Case).where(*where))).one()
        rows = (
            await session.exec(
                select(Case, Loan, dpd_expr)
                .join(Loan, col(Loan.id) == col(Case.loan_id))
                .where(*where)
                .order_by(dpd_expr.desc(), col(Case.id))
                .limit(limit)
                .offset(offset)
            )
        ).all()
    return Page(
        items=[_summary(c, loan, int(d)) for c, loan, d in rows], total=total, limit=limit, offset=offset
    )


@router.get("/{case_id}", summary="One case: its records and its workflow's state", responses=ONE_ERRORS)
async def get_case(
    case_id: uuid.UUID, principal: CaseReader, db: DatabaseDep, client: TemporalDep
) -> CaseDetail:
    """The case row, loan, borrower (masked for roles that do not contact borrowers), open tasks,
    payments and the workflow's live `state`. An unmasked read is written to the audit trail."""
    async with db.session() as session:
        case_row = await load_case(session, principal, case_id)
        loan = await session.get(Loan, case_row.loan_id)
        assert loan is not None
        borrower = await session.get(Borrower, loan.borrower_id)
        assert borrower is not None
        dpd = (await session.exec(select(days_past_due()).where(col(Case.id) == case_id))).one()
        tasks = (
            await session.exec(
                select(Task).where(col(Task.case_id) == case_id).order_by(col(Task.due_at)).limit(MAX_PAGE)
            )
        ).all()
        payments = (
            await session.exec(
                select(Payment)
                .where(col(Payment.case_id) == case_id)
                .order_by(col(Payment.received_at))
                .limit(MAX_PAGE)
            )
        ).all()
        view = borrower_view(principal, borrower)
        if not view["masked"]:
            await audit.append(
                session,
                actor=actor(principal),
                action="pii.read",
                reason="case detail with the borrower's contact details",
                case_id=case_row.id,
                loan_id=loan.id,
                payload={"fields": ["name", "email", "phone", "address"]},
            )
    live = await workflow.state(client, case_row)
    return CaseDetail(
        case=_summary(case_row, loan, int(dpd)),
        loan=LoanView.model_validate(loan, from_attributes=True),
        borrower=BorrowerView.model_validate(view),
        state=live,
        tasks=[TaskBrief.model_validate(t, from_attributes=True) for t in tasks],
        payments=[PaymentOut.model_validate(p, from_attributes=True) for p in payments],
    )


@router.get("/{case_id}/timeline", summary="The case's audit trail, oldest first", responses=ONE_ERRORS)
async def timeline(
    case_id: uuid.UUID, principal: CaseReader, db: DatabaseDep, limit: Limit = 100, offset: Offset = 0
) -> Page[AuditEventOut]:
    """Every event the audit trail holds for the case: stages, letters, tasks, decisions, payments."""
    async with db.session() as session:
        await load_case(session, principal, case_id)
        where = col(AuditEvent.case_id) == case_id
        total = (await session.exec(select(func.count()).select_from(AuditEvent).where(where))).one()
        events = (
            await session.exec(
                select(AuditEvent).where(where).order_by(col(AuditEvent.seq)).limit(limit).offset(offset)
            )
        ).all()
    return Page(items=[event_out(e) for e in events], total=total, limit=limit, offset=offset)


@router.get("/{case_id}/documents", summary="Documents rendered for the case", responses=ONE_ERRORS)
async def documents(case_id: uuid.UUID, principal: DocumentReader, db: DatabaseDep) -> list[DocumentOut]:
    """Each document with its template, template version and the SHA-256 of its PDF."""
    async with db.session() as session:
        await load_case(session, principal, case_id)
        rows = (
            await session.exec(
                select(Document).where(col(Document.case_id) == case_id).order_by(col(Document.created_at))
            )
        ).all()
    return [DocumentOut.model_validate(d, from_attributes=True) for d in rows]


@router.get(
    "/{case_id}/documents/{document_id}/pdf",
    summary="Download a document's PDF, byte for byte as it was sent",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "the PDF"}, **ONE_ERRORS},
)
async def document_pdf(
    case_id: uuid.UUID, document_id: uuid.UUID, principal: DocumentReader, db: DatabaseDep
) -> Response:
    """The stored bytes; their SHA-256 is in the `ETag`. The read is written to the audit trail."""
    async with db.session() as session:
        case_row = await load_case(session, principal, case_id)
        document = await session.get(Document, document_id)
        if document is None or document.case_id != case_id:
            raise NotFound(f"no document {document_id} on case {case_id}")
        await audit.append(
            session,
            actor=actor(principal),
            action="document.read",
            reason="document downloaded",
            case_id=case_row.id,
            loan_id=case_row.loan_id,
            payload={"document_id": str(document.id), "sha256": document.sha256},
        )
    return Response(
        content=document.pdf,
        media_type="application/pdf",
        headers={
            "ETag": f'"{document.sha256}"',
            "Content-Disposition": f'attachment; filename="{document.template.replace("/", "_")}.pdf"',
        },
    )


@router.get(
    "/{case_id}/messages", summary="Messages sent, refused or waiting for the case", responses=ONE_ERRORS
)
async def messages(case_id: uuid.UUID, principal: DocumentReader, db: DatabaseDep) -> list[MessageOut]:
    """Each message with its channel, delivery status and Message-ID."""
    async with db.session() as session:
        await load_case(session, principal, case_id)
        rows = (
            await session.exec(
                select(Message).where(col(Message.case_id) == case_id).order_by(col(Message.created_at))
            )
        ).all()
    return [MessageOut.model_validate(m, from_attributes=True) for m in rows]


# ---------------------------------------------------------------------------- actions
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


async def _act(
    db: DatabaseDep, client: TemporalDep, principal: Principal, case_id: uuid.UUID, name: Update, arg: Staff
) -> Accepted:
    async with db.session() as session:
        case_row = await load_case(session, principal, case_id)
    return Accepted(case_id=case_row.id, result=await workflow.update(client, case_row, name, arg))


def _staff(principal: Principal, body: BaseModel) -> dict[str, Any]:
    return {"by": principal.subject, "role": principal.role.value, **body.model_dump()}


@router.post("/{case_id}/contacts", summary="Record a contact attempt", responses=ACTION_ERRORS)
async def record_contact(
    case_id: uuid.UUID, body: ContactIn, principal: CaseWorker, db: DatabaseDep, client: TemporalDep
) -> Accepted:
    return await _act(
        db, client, principal, case_id, Update.RECORD_CONTACT, ContactRecord(**_staff(principal, body))
    )


@router.post("/{case_id}/promises", summary="Record a promise to pay", responses=ACTION_ERRORS)
async def record_promise(
    case_id: uuid.UUID, body: PromiseIn, principal: CaseWorker, db: DatabaseDep, client: TemporalDep
) -> Accepted:
    """The workflow waits for the promised date: a kept promise continues, a broken one moves on."""
    return await _act(
        db, client, principal, case_id, Update.RECORD_PROMISE, PromiseToPay(**_staff(principal, body))
    )


@router.post(
    "/{case_id}/applications", summary="Submit a loss-mitigation application", responses=ACTION_ERRORS
)
async def submit_application(
    case_id: uuid.UUID, body: ApplicationIn, principal: CaseWorker, db: DatabaseDep, client: TemporalDep
) -> Accepted:
    """Acknowledged within 5 business days; a complete one opens a 30-day evaluation task."""
    dto = LossMitigationApplication(**_staff(principal, body))
    return await _act(db, client, principal, case_id, Update.SUBMIT_APPLICATION, dto)


@router.post("/{case_id}/appeals", summary="Appeal a loss-mitigation denial", responses=ACTION_ERRORS)
async def appeal(
    case_id: uuid.UUID, body: Explained, principal: CaseWorker, db: DatabaseDep, client: TemporalDep
) -> Accepted:
    return await _act(db, client, principal, case_id, Update.APPEAL, Appeal(**_staff(principal, body)))


@router.post("/{case_id}/forbearance", summary="Request forbearance", responses=ACTION_ERRORS)
async def request_forbearance(
    case_id: uuid.UUID, body: ForbearanceIn, principal: CaseWorker, db: DatabaseDep, client: TemporalDep
) -> Accepted:
    dto = ForbearanceRequest(**_staff(principal, body))
    return await _act(db, client, principal, case_id, Update.REQUEST_FORBEARANCE, dto)


@router.post("/{case_id}/bankruptcy", summary="Record a bankruptcy filing", responses=ACTION_ERRORS)
async def record_bankruptcy(
    case_id: uuid.UUID, body: BankruptcyIn, principal: CaseWorker, db: DatabaseDep, client: TemporalDep
) -> Accepted:
    """The stay (full, 30 days or none, by the repeat-filer rule) takes effect at once."""
    dto = BankruptcyFiling(**_staff(principal, body))
    return await _act(db, client, principal, case_id, Update.RECORD_BANKRUPTCY, dto)


@router.post(
    "/{case_id}/bankruptcy/resolution",
    summary="Record relief, dismissal or discharge",
    responses=ACTION_ERRORS,
)
async def resolve_bankruptcy(
    case_id: uuid.UUID, body: ResolutionIn, principal: CaseWorker, db: DatabaseDep, client: TemporalDep
) -> Accepted:
    dto = BankruptcyResolution(**_staff(principal, body))
    return await _act(db, client, principal, case_id, Update.RESOLVE_BANKRUPTCY, dto)


@router.post(
    "/{case_id}/bankruptcy/payment-changes",
    summary="Record a chapter 13 payment change (FRBP 3002.1(b))",
    responses=ACTION_ERRORS,
)
async def record_payment_change(
    case_id: uuid.UUID, body: PaymentChangeIn, principal: CaseWorker, db: DatabaseDep, client: TemporalDep
) -> Accepted:
    dto = PaymentChange(**_staff(principal, body))
    return await _act(db, client, principal, case_id, Update.RECORD_PAYMENT_CHANGE, dto)


@router.post(
    "/{case_id}/bankruptcy/fees",
    summary="Record a post-petition fee in chapter 13 (FRBP 3002.1(c))",
    responses=ACTION_ERRORS,
)
async def record_post_petition_fee(
    case_id: uuid.UUID, body: FeeIn, principal: CaseWorker, db: DatabaseDep, client: TemporalDep
) -> Accepted:
    dto = PostPetitionFee(**_staff(principal, body))
    return await _act(db, client, principal, case_id, Update.RECORD_POST_PETITION_FEE, dto)


@router.post(
    "/{case_id}/holds",
    summary="Start or end a dispute, cease-communication or SCRA hold",
    responses=ACTION_ERRORS,
)
async def set_hold(
    case_id: uuid.UUID, body: HoldIn, principal: CaseWorker, db: DatabaseDep, client: TemporalDep
) -> Accepted:
    return await _act(db, client, principal, case_id, Update.SET_HOLD, HoldChange(**_staff(principal, body)))


@router.post(
    "/{case_id}/close", summary="Close the case with an outcome (supervisor)", responses=ACTION_ERRORS
)
async def close_case(
    case_id: uuid.UUID,
    body: CloseIn,
    principal: Supervisor,
    db: DatabaseDep,
    client: TemporalDep,
    settings: SettingsDep,
) -> Accepted:
    """Only the outcomes the case's facts show: `cured` and `paid_off` with nothing due,
    `foreclosed` after the sale, `charged_off` by the pack's rule; a refusal names the rule.
    Where the servicer requires four eyes, the close waits for a second supervisor, who decides
    the `close_approval` task."""
    request = CloseRequest(**_staff(principal, body), approval_required=settings.close_requires_approval)
    return await _act(db, client, principal, case_id, Update.CLOSE_CASE, request)
