"""The SQL behind the cases routes: the list, a case's records, its timeline, documents and messages.

Days past due come from `models.delinquency`, the one rule the reports and the work queue share."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.access import visible_cases
from api.cases.schemas import DpdBucket
from api.service import MAX_PAGE
from arrears.auth import Principal
from models.audit import AuditEvent
from models.borrowers import Borrower
from models.cases import Case
from models.delinquency import case_days_past_due
from models.documents import Document, Message
from models.enums import CaseStage, CaseStatus, PolicyPack
from models.loans import Loan
from models.payments import Payment
from models.tasks import Task

BUCKETS: dict[DpdBucket, tuple[int, int | None]] = {
    "0-29": (0, 29),
    "30-59": (30, 59),
    "60-89": (60, 89),
    "90-119": (90, 119),
    "120+": (120, None),
}


async def cases_page(
    session: AsyncSession,
    *,
    principal: Principal,
    stage: CaseStage | None,
    status: CaseStatus | None,
    dpd: DpdBucket | None,
    pack: PolicyPack | None,
    assignee: str | None,
    limit: int,
    offset: int,
) -> tuple[int, Sequence[tuple[Case, Loan, int]]]:
    """How many cases the caller may see match, and one page of them with their loans and days
    past due, most days past due first."""
    dpd_expr = case_days_past_due()
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
    return total, [(c, loan, int(d)) for c, loan, d in rows]


async def loan_and_borrower(session: AsyncSession, case_row: Case) -> tuple[Loan, Borrower]:
    """The case's loan and its borrower (both exist: foreign keys)."""
    loan = await session.get(Loan, case_row.loan_id)
    assert loan is not None
    borrower = await session.get(Borrower, loan.borrower_id)
    assert borrower is not None
    return loan, borrower


async def days_past_due_of(session: AsyncSession, case_id: uuid.UUID) -> int:
    """One case's days past due today."""
    return int((await session.exec(select(case_days_past_due()).where(col(Case.id) == case_id))).one())


async def tasks_of(session: AsyncSession, case_id: uuid.UUID) -> Sequence[Task]:
    """The case's tasks, earliest deadline first."""
    return (
        await session.exec(
            select(Task).where(col(Task.case_id) == case_id).order_by(col(Task.due_at)).limit(MAX_PAGE)
        )
    ).all()


async def payments_of(session: AsyncSession, case_id: uuid.UUID) -> Sequence[Payment]:
    """The payments applied to the case, oldest first."""
    return (
        await session.exec(
            select(Payment)
            .where(col(Payment.case_id) == case_id)
            .order_by(col(Payment.received_at))
            .limit(MAX_PAGE)
        )
    ).all()


async def timeline(
    session: AsyncSession, case_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[int, Sequence[AuditEvent]]:
    """How many audit events the case has, and one page of them in the trail's order."""
    where = col(AuditEvent.case_id) == case_id
    total = (await session.exec(select(func.count()).select_from(AuditEvent).where(where))).one()
    events = (
        await session.exec(
            select(AuditEvent).where(where).order_by(col(AuditEvent.arrival)).limit(limit).offset(offset)
        )
    ).all()
    return total, events


async def documents_of(session: AsyncSession, case_id: uuid.UUID) -> Sequence[Document]:
    """The case's documents, oldest first."""
    return (
        await session.exec(
            select(Document).where(col(Document.case_id) == case_id).order_by(col(Document.created_at))
        )
    ).all()


async def document_of(session: AsyncSession, case_id: uuid.UUID, document_id: uuid.UUID) -> Document | None:
    """One document, if it belongs to the case."""
    document = await session.get(Document, document_id)
    if document is None or document.case_id != case_id:
        return None
    return document


async def messages_of(session: AsyncSession, case_id: uuid.UUID) -> Sequence[Message]:
    """The case's messages, oldest first."""
    return (
        await session.exec(
            select(Message).where(col(Message.case_id) == case_id).order_by(col(Message.created_at))
        )
    ).all()
