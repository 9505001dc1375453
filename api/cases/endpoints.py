"""Cases: the list, the detail, the timeline, documents and messages, and the staff actions.

Every action is a workflow update: the workflow's validator accepts or refuses it (409 with
the reason), and the workflow writes the audit event with the caller as actor.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.access import CaseReader, CaseWorker, DocumentReader, Supervisor
from api.cases import service
from api.cases.schemas import (
    Accepted,
    ApplicationIn,
    BankruptcyCaseEndIn,
    BankruptcyFactsIn,
    BankruptcyIn,
    CaseDetail,
    CaseSummary,
    CloseIn,
    ContactIn,
    DocumentOut,
    DpdBucket,
    Explained,
    FeeIn,
    ForbearanceIn,
    HoldIn,
    MessageOut,
    PaymentChangeIn,
    PromiseIn,
    ResolutionIn,
    StayOrderIn,
)
from api.cases.workflow import Update
from api.deps import DatabaseDep, SettingsDep, TemporalDep
from api.errors import Conflict, Forbidden, NotFound, ServiceUnavailable, Unauthorized, error_responses
from api.models import AuditEventOut, Page
from api.service import Limit, Offset, ShortText
from models.enums import CaseStage, CaseStatus, PolicyPack

router = APIRouter(prefix="/v1/cases", tags=["cases"])

READ_ERRORS = error_responses(Unauthorized, Forbidden)
ONE_ERRORS = error_responses(Unauthorized, Forbidden, NotFound)
ACTION_ERRORS = error_responses(Unauthorized, Forbidden, NotFound, Conflict, ServiceUnavailable)


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
    return await service.list_cases(
        db=db,
        principal=principal,
        stage=stage,
        status=status,
        dpd=dpd,
        pack=pack,
        assignee=assignee,
        limit=limit,
        offset=offset,
    )


@router.get("/{case_id}", summary="One case: its records and its workflow's state", responses=ONE_ERRORS)
async def get_case(
    case_id: uuid.UUID, principal: CaseReader, db: DatabaseDep, client: TemporalDep
) -> CaseDetail:
    """The case row, loan, borrower (masked for roles that do not contact borrowers), open tasks,
    payments and the workflow's live `state`. An unmasked read is written to the audit trail."""
    return await service.get_case(db=db, client=client, principal=principal, case_id=case_id)


@router.get("/{case_id}/timeline", summary="The case's audit trail, oldest first", responses=ONE_ERRORS)
async def timeline(
    case_id: uuid.UUID, principal: CaseReader, db: DatabaseDep, limit: Limit = 100, offset: Offset = 0
) -> Page[AuditEventOut]:
    """Every event the audit trail holds for the case: stages, letters, tasks, decisions, payments."""
    return await service.timeline(db=db, principal=principal, case_id=case_id, limit=limit, offset=offset)


@router.get("/{case_id}/documents", summary="Documents rendered for the case", responses=ONE_ERRORS)
async def documents(case_id: uuid.UUID, principal: DocumentReader, db: DatabaseDep) -> list[DocumentOut]:
    """Each document with its template, template version and the SHA-256 of its PDF."""
    return await service.documents(db=db, principal=principal, case_id=case_id)


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
    document = await service.document_pdf(
        db=db, principal=principal, case_id=case_id, document_id=document_id
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
    return await service.messages(db=db, principal=principal, case_id=case_id)


# ---------------------------------------------------------------------------- actions
@router.post("/{case_id}/contacts", summary="Record a contact attempt", responses=ACTION_ERRORS)
async def record_contact(
    case_id: uuid.UUID, body: ContactIn, principal: CaseWorker, db: DatabaseDep, client: TemporalDep
) -> Accepted:
    return await service.act(
        db=db, client=client, principal=principal, case_id=case_id, update=Update.RECORD_CONTACT, body=body
    )


@router.post("/{case_id}/promises", summary="Record a promise to pay", responses=ACTION_ERRORS)
async def record_promise(
    case_id: uuid.UUID, body: PromiseIn, principal: CaseWorker, db: DatabaseDep, client: TemporalDep
) -> Accepted:
    """The workflow waits for the promised date: a kept promise continues, a broken one moves on."""
    return await service.act(
        db=db, client=client, principal=principal, case_id=case_id, update=Update.RECORD_PROMISE, body=body
    )


@router.post(
    "/{case_id}/applications", summary="Submit a loss-mitigation application", responses=ACTION_ERRORS
)
async def submit_application(
    case_id: uuid.UUID, body: ApplicationIn, principal: CaseWorker, db: DatabaseDep, client: TemporalDep
) -> Accepted:
    """Acknowledged within 5 business days; a complete one opens a 30-day evaluation task."""
    return await service.act(
        db=db,
        client=client,
        principal=principal,
        case_id=case_id,
        update=Update.SUBMIT_APPLICATION,
        body=body,
    )


@router.post("/{case_id}/appeals", summary="Appeal a loss-mitigation denial", responses=ACTION_ERRORS)
async def appeal(
    case_id: uuid.UUID, body: Explained, principal: CaseWorker, db: DatabaseDep, client: TemporalDep
) -> Accepted:
    return await service.act(
        db=db, client=client, principal=principal, case_id=case_id, update=Update.APPEAL, body=body
    )


@router.post("/{case_id}/forbearance", summary="Request forbearance", responses=ACTION_ERRORS)
async def request_forbearance(
    case_id: uuid.UUID, body: ForbearanceIn, principal: CaseWorker, db: DatabaseDep, client: TemporalDep
) -> Accepted:
    return await service.act(
        db=db,
        client=client,
        principal=principal,
        case_id=case_id,
        update=Update.REQUEST_FORBEARANCE,
        body=body,
    )


@router.post("/{case_id}/bankruptcy", summary="Record a bankruptcy filing", responses=ACTION_ERRORS)
async def record_bankruptcy(
    case_id: uuid.UUID, body: BankruptcyIn, principal: CaseWorker, db: DatabaseDep, client: TemporalDep
) -> Accepted:
    """The stay (full, 30 days or none, by the repeat-filer rule) takes effect at once."""
    return await service.act(
        db=db, client=client, principal=principal, case_id=case_id, update=Update.RECORD_BANKRUPTCY, body=body
    )


@router.post(
    "/{case_id}/bankruptcy/resolution",
    summary="Record relief, dismissal or discharge",
    responses=ACTION_ERRORS,
)
async def resolve_bankruptcy(
    case_id: uuid.UUID, body: ResolutionIn, principal: CaseWorker, db: DatabaseDep, client: TemporalDep
) -> Accepted:
    return await service.act(
        db=db,
        client=client,
        principal=principal,
        case_id=case_id,
        update=Update.RESOLVE_BANKRUPTCY,
        body=body,
    )


@router.post(
    "/{case_id}/bankruptcy/facts",
    summary="Record the plan's, the statement of intention's or a court order's facts (12 CFR 1024.39(c))",
    responses=ACTION_ERRORS,
)
async def record_bankruptcy_facts(
    case_id: uuid.UUID, body: BankruptcyFactsIn, principal: CaseWorker, db: DatabaseDep, client: TemporalDep
) -> Accepted:
    """Surrender, the plan's treatment of the arrearage, a lien avoided, an order to cease
    collection: they decide whether the written early-intervention notice is owed."""
    return await service.act(
        db=db,
        client=client,
        principal=principal,
        case_id=case_id,
        update=Update.RECORD_BANKRUPTCY_FACTS,
        body=body,
    )


@router.post(
    "/{case_id}/bankruptcy/case-end",
    summary="Record that the bankruptcy case was dismissed, closed or discharged (12 CFR 1024.39(c)(2))",
    responses=ACTION_ERRORS,
)
async def end_bankruptcy_case(
    case_id: uuid.UUID, body: BankruptcyCaseEndIn, principal: CaseWorker, db: DatabaseDep, client: TemporalDep
) -> Accepted:
    """After relief from the stay the borrower is still a debtor; early intervention resumes
    after the next payment due date that follows the case's end."""
    return await service.act(
        db=db,
        client=client,
        principal=principal,
        case_id=case_id,
        update=Update.END_BANKRUPTCY_CASE,
        body=body,
    )


@router.post(
    "/{case_id}/bankruptcy/orders",
    summary="Record a court order extending (11 U.S.C. 362(c)(3)(B)) or imposing (362(c)(4)(B)) the stay",
    responses=ACTION_ERRORS,
)
async def record_stay_order(
    case_id: uuid.UUID, body: StayOrderIn, principal: CaseWorker, db: DatabaseDep, client: TemporalDep
) -> Accepted:
    """An extended stay no longer lapses on day 30; an imposed stay takes effect at once."""
    return await service.act(
        db=db,
        client=client,
        principal=principal,
        case_id=case_id,
        update=Update.RECORD_STAY_ORDER,
        body=body,
    )


@router.post(
    "/{case_id}/bankruptcy/payment-changes",
    summary="Record a chapter 13 payment change (FRBP 3002.1(b))",
    responses=ACTION_ERRORS,
)
async def record_payment_change(
    case_id: uuid.UUID, body: PaymentChangeIn, principal: CaseWorker, db: DatabaseDep, client: TemporalDep
) -> Accepted:
    return await service.act(
        db=db,
        client=client,
        principal=principal,
        case_id=case_id,
        update=Update.RECORD_PAYMENT_CHANGE,
        body=body,
    )


@router.post(
    "/{case_id}/bankruptcy/fees",
    summary="Record a post-petition fee in chapter 13 (FRBP 3002.1(c))",
    responses=ACTION_ERRORS,
)
async def record_post_petition_fee(
    case_id: uuid.UUID, body: FeeIn, principal: CaseWorker, db: DatabaseDep, client: TemporalDep
) -> Accepted:
    return await service.act(
        db=db,
        client=client,
        principal=principal,
        case_id=case_id,
        update=Update.RECORD_POST_PETITION_FEE,
        body=body,
    )


@router.post(
    "/{case_id}/holds",
    summary="Start or end a dispute, cease-communication or SCRA hold",
    responses=ACTION_ERRORS,
)
async def set_hold(
    case_id: uuid.UUID, body: HoldIn, principal: CaseWorker, db: DatabaseDep, client: TemporalDep
) -> Accepted:
    return await service.act(
        db=db, client=client, principal=principal, case_id=case_id, update=Update.SET_HOLD, body=body
    )


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
    return await service.act(
        db=db,
        client=client,
        principal=principal,
        case_id=case_id,
        update=Update.CLOSE_CASE,
        body=body,
        approval_required=settings.close_requires_approval,
    )
