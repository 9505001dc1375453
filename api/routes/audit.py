"""Compliance: search the audit trail, verify its hash chain, export it as CSV or JSON Lines."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime, BaseModel
from sqlalchemy import ColumnElement, func
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from api.access import ComplianceOfficer
from api.deps import DatabaseDep
from api.errors import Forbidden, NotFound, Unauthorized, error_responses
from api.models import AuditEventOut, Page, event_out
from api.service import Limit, Offset, ShortText, actor
from arrears import audit, audit_sequencer, spreadsheet
from arrears.db import Database
from models.audit import AuditEvent, AuditLeaf
from models.audit_actions import AuditAction
from models.values import BoundedDateTime

router = APIRouter(prefix="/v1/audit", tags=["compliance"])
ERRORS = error_responses(Unauthorized, Forbidden)
EXPORT_BATCH = 2000
COLUMNS = list(AuditEventOut.model_fields)


def _filters(
    case_id: uuid.UUID | None,
    actor_name: str | None,
    action: str | None,
    since: AwareDatetime | None,
    until: AwareDatetime | None,
) -> list[ColumnElement[bool]]:
    """The search parameters as a WHERE clause, shared by search and export."""
    where: list[ColumnElement[bool]] = []
    if case_id is not None:
        where.append(col(AuditEvent.case_id) == case_id)
    if actor_name is not None:
        where.append(col(AuditEvent.actor) == actor_name)
    if action is not None:
        where.append(col(AuditEvent.action) == action)
    if since is not None:
        where.append(col(AuditEvent.occurred_at) >= since)
    if until is not None:
        where.append(col(AuditEvent.occurred_at) < until)
    return where


@router.get("/events", summary="Search the audit trail", responses=ERRORS)
async def search(
    principal: ComplianceOfficer,
    db: DatabaseDep,
    case_id: uuid.UUID | None = None,
    actor_name: Annotated[ShortText | None, Query(alias="actor")] = None,
    action: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9_.]+$")] = None,
    since: Annotated[BoundedDateTime | None, Query(description="from this time, inclusive")] = None,
    until: Annotated[BoundedDateTime | None, Query(description="up to this time, exclusive")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[AuditEventOut]:
    """Events by case, actor, action and time range, in sequence order."""
    where = _filters(case_id, actor_name, action, since, until)
    async with db.session() as session:
        total = (await session.exec(select(func.count()).select_from(AuditEvent).where(*where))).one()
        rows = (
            await session.exec(
                _with_leaves().where(*where).order_by(col(AuditEvent.arrival)).limit(limit).offset(offset)
            )
        ).all()
    return Page(items=[event_out(e, leaf) for e, leaf in rows], total=total, limit=limit, offset=offset)


def _with_leaves() -> SelectOfScalar[tuple[AuditEvent, AuditLeaf | None]]:
    """Events with their place in the log, where the sequencer has given them one."""
    return select(AuditEvent, AuditLeaf).outerjoin(  # type: ignore[return-value]
        AuditLeaf,
        (col(AuditLeaf.event_id) == col(AuditEvent.id))
        & (col(AuditLeaf.occurred_at) == col(AuditEvent.occurred_at)),
    )


class InclusionProof(BaseModel):
    """An event, its chain hash and RFC 9162 audit path against a signed tree head: checkable
    offline with `arrears audit verify-proof` and the log's public key."""

    kind: str
    event: dict[str, Any]
    hash: str
    leaf_index: int
    tree_size: int
    audit_path: list[str]
    head: dict[str, Any]


@router.get(
    "/events/{event_id}/proof",
    summary="Inclusion proof of one audit event against the latest signed tree head",
    responses=error_responses(Unauthorized, Forbidden, NotFound),
)
async def proof(event_id: uuid.UUID, principal: ComplianceOfficer, db: DatabaseDep) -> InclusionProof:
    """404 until the sequencer has integrated the event and signed a head that covers it."""
    async with db.session() as session:
        try:
            document = await audit_sequencer.inclusion_proof(session, event_id)
        except audit_sequencer.NotSequenced as exc:
            raise NotFound(str(exc)) from exc
    return InclusionProof.model_validate(document)


class VerifyResult(BaseModel):
    ok: bool
    events: int
    head_seq: int
    head_hash: str
    first_broken_seq: int | None
    problem: str | None
    heads_checked: int = 0
    pending: int = 0


@router.get("/verify", summary="Verify the audit trail's hash chain", responses=ERRORS)
async def verify(principal: ComplianceOfficer, db: DatabaseDep) -> VerifyResult:
    """Walks the chain from the first event and names the first broken sequence number."""
    async with db.session() as session:
        result = await audit.verify(session)
    return VerifyResult(
        ok=result.ok,
        events=result.events,
        head_seq=result.head_seq,
        head_hash=result.head_hash,
        first_broken_seq=result.first_broken_seq,
        problem=result.problem,
        heads_checked=result.heads_checked,
        pending=result.pending,
    )


@router.get(
    "/export",
    summary="Export audit events as CSV or JSON Lines, streamed",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {}, "application/x-ndjson": {}}, "description": "the events"},
        **ERRORS,
    },
)
async def export(
    principal: ComplianceOfficer,
    db: DatabaseDep,
    format: Literal["csv", "jsonl"] = "jsonl",
    case_id: uuid.UUID | None = None,
    actor_name: Annotated[ShortText | None, Query(alias="actor")] = None,
    action: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9_.]+$")] = None,
    since: Annotated[BoundedDateTime | None, Query(description="from this time, inclusive")] = None,
    until: Annotated[BoundedDateTime | None, Query(description="up to this time, exclusive")] = None,
) -> StreamingResponse:
    """Every matching event in sequence order, read in batches so that memory stays flat.
    The export itself is written to the audit trail first."""
    where = _filters(case_id, actor_name, action, since, until)
    async with db.session() as session:
        await audit.append(
            session,
            actor=actor(principal),
            action=AuditAction.AUDIT_EXPORTED,
            reason=f"audit export as {format}",
            payload={"format": format, "case_id": str(case_id) if case_id else None, "action": action},
        )
    media = "text/csv" if format == "csv" else "application/x-ndjson"
    return StreamingResponse(
        _rows(db, where, format),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="audit.{format}"'},
    )


async def _rows(db: Database, where: list[ColumnElement[bool]], format: str) -> AsyncIterator[str]:
    if format == "csv":
        yield _csv_line(COLUMNS)
    last = 0
    while True:
        async with db.session() as session:
            batch = (
                await session.exec(
                    _with_leaves()
                    .where(col(AuditEvent.arrival) > last, *where)
                    .order_by(col(AuditEvent.arrival))
                    .limit(EXPORT_BATCH)
                )
            ).all()
        if not batch:
            return
        for event, leaf in batch:
            data = event_out(event, leaf).model_dump(mode="json")
            if format == "csv":
                yield _csv_line([json.dumps(v) if isinstance(v, dict) else v for v in data.values()])
            else:
                yield json.dumps(data, ensure_ascii=False) + "\n"
        last = batch[-1][0].arrival or 0


def _csv_line(values: Sequence[object]) -> str:
    """One CSV row; a value a spreadsheet would run as a formula goes out as text."""
    out = io.StringIO()
    spreadsheet.writer(out).writerow(["" if v is None else v for v in values])
    return out.getvalue()
