"""Intake of delinquency reports from the loan system."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.deps import IntakeDep, require_roles
from api.errors import Forbidden, PayloadTooLarge, Unauthorized, error_responses
from arrears import audit
from arrears.auth import Principal
from models.enums import Role

router = APIRouter(prefix="/v1/delinquencies", tags=["delinquencies"])

MAX_BATCH = 5000


class DelinquencyBatch(BaseModel):
    """A batch of delinquency rows; each is validated on its own so good rows still go in."""

    # Any object per row: the rows are judged one by one (fields as in `arrears import`), and a
    # rejected row is reported beside the accepted ones rather than refusing the batch.
    records: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description="delinquency rows: loan_id, borrower_id, borrower_name, email, phone, address, "
        "timezone, language, policy_pack, product, currency, principal, balance, arrears, "
        "installment, due_day, next_due_date, days_past_due, as_of, team",
    )


class RowErrorOut(BaseModel):
    row: int = Field(description="1-based position in `records`")
    field: str
    reason: str


class IntakeSummary(BaseModel):
    received: int
    accepted: int
    opened: int
    unchanged: int
    errors: list[RowErrorOut]
    case_ids: list[uuid.UUID]


Intaker = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR, Role.SYSTEM))]


@router.post(
    "",
    summary="Take in a batch of delinquency reports",
    responses=error_responses(Unauthorized, Forbidden, PayloadTooLarge),
)
async def post_delinquencies(batch: DelinquencyBatch, intake: IntakeDep, principal: Intaker) -> IntakeSummary:
    """Upsert borrowers and loans and open a case per newly delinquent loan, idempotently.

    Rows are judged one by one: good rows go in beside rejected ones, each rejected row listed
    with its position, field and reason (200 whenever the batch itself is well formed, even
    when no row was accepted: `accepted` says how many were)."""
    result = await intake.ingest(
        enumerate(batch.records, start=1),
        source="api",
        actor=audit.Actor(principal.subject, principal.role.value),
    )
    return IntakeSummary(
        received=result.received,
        accepted=result.accepted,
        opened=result.opened,
        unchanged=result.unchanged,
        errors=[RowErrorOut(row=e.row, field=e.field, reason=e.reason) for e in result.errors],
        case_ids=result.case_ids,
    )
