"""Cases as the routes serve them: what the caller may see of a case, and the staff actions.

Every action is a workflow update: the workflow's validator accepts or refuses it (409 with
the reason), and the workflow writes the audit event with the caller as actor. Reads that show
personal data or a document write their own audit event.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from api.access import borrower_view, may_see
from api.cases import queries, workflow
from api.cases.schemas import (
    Accepted,
    BorrowerView,
    CaseDetail,
    CaseSummary,
    CommandBody,
    DocumentFile,
    DocumentOut,
    DpdBucket,
    LoanView,
    MessageOut,
    PaymentOut,
    TaskBrief,
)
from api.errors import NotFound
from api.models import AuditEventOut, Page, event_out
from api.service import actor
from arrears import audit
from arrears.auth import Principal
from arrears.db import Database
from models.audit_actions import AuditAction
from models.base import utcnow
from models.cases import Case
from models.enums import CaseStage, CaseStatus, PolicyPack
from models.loans import Loan


async def load_case(session: AsyncSession, principal: Principal, case_id: uuid.UUID) -> Case:
    """The case, if it exists and the caller may see it; 404 in both other cases (no probing)."""
    case = await session.get(Case, case_id)
    if case is None or not may_see(principal, case):
        raise NotFound(f"no case {case_id}")
    return case


def _summary(case_row: Case, loan: Loan, dpd: int) -> CaseSummary:
    waiting = next_call_barred(case_row, utcnow())
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
        next_call_at=case_row.next_call_at if waiting else None,
        next_call_rule=case_row.next_call_rule if waiting else None,
        next_call_reason=case_row.next_call_reason if waiting else None,
    )


def next_call_barred(case_row: Case, now: datetime) -> bool:
    """Whether a call-frequency rule still bars staff from calling about the case's debt."""
    return case_row.next_call_at is not None and case_row.next_call_at > now


async def list_cases(
    *,
    db: Database,
    principal: Principal,
    stage: CaseStage | None,
    status: CaseStatus | None,
    dpd: DpdBucket | None,
    pack: PolicyPack | None,
    assignee: str | None,
    limit: int,
    offset: int,
) -> Page[CaseSummary]:
    """One page of the cases the caller may see, most days past due first."""
    async with db.session() as session:
        total, rows = await queries.cases_page(
            session,
            principal=principal,
            stage=stage,
            status=status,
            dpd=dpd,
            pack=pack,
            assignee=assignee,
            limit=limit,
            offset=offset,
        )
    return Page(items=[_summary(c, loan, d) for c, loan, d in rows], total=total, limit=limit, offset=offset)


async def get_case(*, db: Database, client: Client, principal: Principal, case_id: uuid.UUID) -> CaseDetail:
    """The case with its records and its workflow's state; an unmasked read of the borrower is
    written to the audit trail."""
    async with db.session() as session:
        case_row = await load_case(session, principal, case_id)
        loan, borrower = await queries.loan_and_borrower(session, case_row)
        dpd = await queries.days_past_due_of(session, case_id)
        tasks = await queries.tasks_of(session, case_id)
        payments = await queries.payments_of(session, case_id)
        view = borrower_view(principal, borrower)
        if not view["masked"]:
            await audit.append(
                session,
                actor=actor(principal),
                action=AuditAction.PII_READ,
                reason="case detail with the borrower's contact details",
                case_id=case_row.id,
                loan_id=loan.id,
                payload={"fields": ["name", "email", "phone", "address"]},
            )
    live = await workflow.state(client, case_row)
    return CaseDetail(
        case=_summary(case_row, loan, dpd),
        loan=LoanView.model_validate(loan, from_attributes=True),
        borrower=BorrowerView.model_validate(view),
        state=live,
        tasks=[TaskBrief.model_validate(t, from_attributes=True) for t in tasks],
        payments=[PaymentOut.model_validate(p, from_attributes=True) for p in payments],
    )


async def timeline(
    *, db: Database, principal: Principal, case_id: uuid.UUID, limit: int, offset: int
) -> Page[AuditEventOut]:
    """One page of the case's audit trail, oldest first."""
    async with db.session() as session:
        await load_case(session, principal, case_id)
        total, events = await queries.timeline(session, case_id, limit=limit, offset=offset)
    return Page(items=[event_out(e) for e in events], total=total, limit=limit, offset=offset)


async def documents(*, db: Database, principal: Principal, case_id: uuid.UUID) -> list[DocumentOut]:
    """The case's documents, oldest first."""
    async with db.session() as session:
        await load_case(session, principal, case_id)
        rows = await queries.documents_of(session, case_id)
    return [DocumentOut.model_validate(d, from_attributes=True) for d in rows]


async def document_pdf(
    *, db: Database, principal: Principal, case_id: uuid.UUID, document_id: uuid.UUID
) -> DocumentFile:
    """One document's PDF; the read is written to the audit trail."""
    async with db.session() as session:
        case_row = await load_case(session, principal, case_id)
        document = await queries.document_of(session, case_id, document_id)
        if document is None:
            raise NotFound(f"no document {document_id} on case {case_id}")
        await audit.append(
            session,
            actor=actor(principal),
            action=AuditAction.DOCUMENT_READ,
            reason="document downloaded",
            case_id=case_row.id,
            loan_id=case_row.loan_id,
            payload={"document_id": str(document.id), "sha256": document.sha256},
        )
    return DocumentFile(pdf=document.pdf, sha256=document.sha256, template=document.template)


async def messages(*, db: Database, principal: Principal, case_id: uuid.UUID) -> list[MessageOut]:
    """The case's messages, oldest first."""
    async with db.session() as session:
        await load_case(session, principal, case_id)
        rows = await queries.messages_of(session, case_id)
    return [MessageOut.model_validate(m, from_attributes=True) for m in rows]


async def act(
    *,
    db: Database,
    client: Client,
    principal: Principal,
    case_id: uuid.UUID,
    update: workflow.Update,
    body: CommandBody,
    **facts: object,
) -> Accepted:
    """Send the update's command to the case's own run: the body, who asks, and any facts the
    server adds."""
    command = workflow.COMMANDS[update](
        by=principal.subject, role=principal.role.value, **body.model_dump(), **facts
    )
    async with db.session() as session:
        case_row = await load_case(session, principal, case_id)
    return Accepted(case_id=case_row.id, result=await workflow.update(client, case_row, update, command))
