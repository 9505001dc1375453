"""Reports for regulators and investors: generate on demand, list, download (byte for byte)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from api.deps import DatabaseDep, SettingsDep, require_roles
from api.errors import Conflict, Forbidden, NotFound, Unauthorized, error_responses
from api.models import Page
from api.service import Limit, Offset, actor
from arrears import audit
from arrears.auth import Principal
from arrears.reports import service
from models.audit_actions import AuditAction
from models.enums import PolicyPack, ReportFormat, ReportKind, Role
from models.reports import Report
from models.values import BoundedDate


class PeriodRefused(Conflict):
    """The period is well formed but cannot be reported: not over yet, reversed, or too long."""

    code = "period_refused"


router = APIRouter(prefix="/v1/reports", tags=["reports"])
ERRORS = error_responses(Unauthorized, Forbidden)
OBJECT_ERRORS = error_responses(Unauthorized, Forbidden, NotFound)

ReportReader = Annotated[Principal, Depends(require_roles(Role.REGULATOR, Role.COMPLIANCE, Role.ADMIN))]
ReportRequester = Annotated[Principal, Depends(require_roles(Role.COMPLIANCE, Role.ADMIN))]


class ReportRequest(BaseModel):
    kind: ReportKind
    period_start: BoundedDate
    period_end: BoundedDate = Field(description="the last day of the period; it must be over")
    policy_pack: PolicyPack | None = Field(default=None, description="one pack, or every pack")


class ReportFileOut(BaseModel):
    format: ReportFormat
    media_type: str
    size: int
    sha256: str


class ReportOut(BaseModel):
    id: uuid.UUID
    kind: ReportKind
    policy_pack: str | None
    period_start: date
    period_end: date
    as_of: datetime = Field(description="the figures are the records as they stood at this instant")
    trigger: str
    generated_at: datetime
    row_counts: dict[str, int]
    files: list[ReportFileOut]


async def _out(db: DatabaseDep, report: Report) -> ReportOut:
    async with db.session() as session:
        files = await service.files_of(session, report.id)
    return ReportOut(
        id=report.id,
        kind=report.kind,
        policy_pack=report.policy_pack,
        period_start=report.period_start,
        period_end=report.period_end,
        as_of=report.as_of,
        trigger=report.trigger,
        generated_at=report.generated_at,
        row_counts=report.row_counts,
        files=[
            ReportFileOut(format=f.format, media_type=f.media_type, size=f.size, sha256=f.sha256)
            for f in files
        ],
    )


@router.post(
    "",
    status_code=201,
    summary="Generate a report for a period and a pack",
    responses=error_responses(Unauthorized, Forbidden, PeriodRefused),
)
async def generate(
    request: ReportRequest, principal: ReportRequester, db: DatabaseDep, settings: SettingsDep
) -> ReportOut:
    """Computes the figures as of the period's end, stores CSV, JSON and PDF with their SHA-256."""
    params = service.ReportParams(request.kind, request.period_start, request.period_end, request.policy_pack)
    try:
        report = await service.generate(
            db, params, actor=actor(principal), trigger="on_demand", servicer=settings.servicer_name
        )
    except service.ReportRequestInvalid as exc:
        # a well-formed request that the reporting rules refuse (not a schema error): 409
        raise PeriodRefused(str(exc), [{"field": "period_end", "reason": str(exc)}]) from exc
    return await _out(db, report)


@router.get("", summary="List generated reports", responses=ERRORS)
async def list_reports(
    principal: ReportReader,
    db: DatabaseDep,
    kind: ReportKind | None = None,
    policy_pack: PolicyPack | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ReportOut]:
    """Newest period first."""
    async with db.session() as session:
        rows, total = await service.listing(session, kind=kind, pack=policy_pack, limit=limit, offset=offset)
    return Page(items=[await _out(db, r) for r in rows], total=total, limit=limit, offset=offset)


async def _report(db: DatabaseDep, report_id: uuid.UUID) -> Report:
    async with db.session() as session:
        report = await session.get(Report, report_id)
    if report is None:
        raise NotFound(f"no report {report_id}")
    return report


@router.get("/{report_id}", summary="One report's parameters, row counts and files", responses=OBJECT_ERRORS)
async def get_report(report_id: uuid.UUID, principal: ReportReader, db: DatabaseDep) -> ReportOut:
    """The report's metadata; the files are downloaded separately."""
    return await _out(db, await _report(db, report_id))


@router.get(
    "/{report_id}/files/{format}",
    summary="Download a report file",
    response_class=Response,
    responses={
        200: {
            "content": {"text/csv": {}, "application/json": {}, "application/pdf": {}},
            "description": "the stored bytes; ETag is their SHA-256",
        },
        **OBJECT_ERRORS,
    },
)
async def download(
    report_id: uuid.UUID, format: ReportFormat, principal: ReportReader, db: DatabaseDep
) -> Response:
    """The file exactly as generated. The download is written to the audit trail."""
    report = await _report(db, report_id)
    async with db.session() as session:
        stored = await service.file_content(session, report.id, format)
        if stored is None:
            raise NotFound(f"report {report_id} has no {format.value} file")
        await audit.append(
            session,
            actor=actor(principal),
            action=AuditAction.REPORT_DOWNLOADED,
            reason=f"{report.kind.value} report as {format.value}",
            payload={"report_id": str(report.id), "format": format.value, "sha256": stored.sha256},
        )
    name = f"{report.kind.value}-{report.policy_pack or 'all'}-{report.period_start}-{report.period_end}"
    return Response(
        content=stored.content,
        media_type=stored.media_type,
        headers={
            "ETag": f'"{stored.sha256}"',
            "Content-Disposition": f'attachment; filename="{name}.{format.value}"',
        },
    )
