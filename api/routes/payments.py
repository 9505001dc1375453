"""The payments webhook: the loan system reports payments, signed with a shared HMAC secret.

Signature: header `Arrears-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`
under `PAYMENTS_WEBHOOK_SECRET`. The timestamp must be within `WEBHOOK_TOLERANCE_SECONDS` of now,
so a captured request cannot be replayed days later; within that window the external payment
ID makes every retry harmless.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, Field
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select

from api.cases import workflow
from api.deps import DatabaseDep, SettingsDep, TemporalDep
from api.errors import DomainError, PayloadTooLarge, ServiceUnavailable, Unauthorized, error_responses
from arrears import audit
from models.audit_actions import AuditAction
from models.cases import Case
from models.enums import CaseStatus
from models.loans import Loan
from models.payments import Payment
from models.values import BoundedDateTime, PositiveMoney
from workflows.dto import PaymentSignal

router = APIRouter(prefix="/v1/payments", tags=["payments"])

SIGNATURE_HEADER = "Arrears-Signature"
LOAN_SYSTEM = audit.Actor("loan-system", "system")


class UnknownLoan(DomainError):
    status_code = 422
    code = "unknown_loan"


class PaymentIn(BaseModel):
    external_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")
    loan_id: str = Field(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$", description="the loan's ID"
    )
    amount: PositiveMoney
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    received_at: BoundedDateTime


class PaymentReceipt(BaseModel):
    payment_id: uuid.UUID
    external_id: str
    duplicate: bool = Field(description="true when this external ID was already received")
    case_id: uuid.UUID | None = Field(description="the open case the payment was applied to, if any")


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The header value the loan system sends (also used by tests and the bench)."""
    return f"t={timestamp},v1={_mac(secret, body, timestamp)}"


def _mac(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


# ASCII digits and lowercase hex only: str.isdigit() also says yes to "²", which int() refuses
_STAMP = re.compile(r"[0-9]{1,12}")
_DIGEST = re.compile(r"[0-9a-f]{64}")
MAX_SIGNATURE = 512


async def verified(
    request: Request,
    settings: SettingsDep,
    signature: Annotated[
        str | None,
        Header(alias=SIGNATURE_HEADER, description="t=<unix seconds>,v1=<hex HMAC-SHA256>"),
    ] = None,
) -> None:
    """401 unless the raw body carries a fresh, valid signature; a header that cannot be read is
    an unauthenticated request like any other, never a server error."""
    if not signature:
        raise Unauthorized(f"the {SIGNATURE_HEADER} header is required")
    parts = dict(p.split("=", 1) for p in signature[: MAX_SIGNATURE + 1].split(",") if "=" in p)
    stamp, given = parts.get("t", ""), parts.get("v1", "")
    if len(signature) > MAX_SIGNATURE or not _STAMP.fullmatch(stamp) or not _DIGEST.fullmatch(given):
        raise Unauthorized(f"{SIGNATURE_HEADER} must read t=<unix seconds>,v1=<64 hex digits>")
    if abs(time.time() - int(stamp)) > settings.webhook_tolerance_seconds:
        raise Unauthorized("the signature's timestamp is too old or in the future")
    body = await request.body()
    expected = _mac(settings.payments_webhook_secret.get_secret_value(), body, int(stamp))
    if not hmac.compare_digest(expected, given):
        raise Unauthorized("the signature does not match the body")


@router.post(
    "",
    summary="Receive a payment from the loan system (HMAC-signed webhook)",
    dependencies=[Depends(verified)],
    responses=error_responses(Unauthorized, UnknownLoan, PayloadTooLarge, ServiceUnavailable),
)
async def receive_payment(payment: PaymentIn, db: DatabaseDep, client: TemporalDep) -> PaymentReceipt:
    """Stores the payment once per external ID and hands it to the loan's open case, whose
    workflow applies it once (a payment that brings arrears to zero cures the case). Replays
    answer with the first receipt. A payment for an unknown loan is refused and nothing is kept."""
    async with db.session() as session:
        loan = (await session.exec(select(Loan).where(col(Loan.external_id) == payment.loan_id))).first()
        if loan is None:
            raise UnknownLoan(f"no loan {payment.loan_id}", [{"field": "loan_id", "reason": "unknown loan"}])
        if payment.currency != loan.currency:
            raise UnknownLoan(
                f"loan {payment.loan_id} is in {loan.currency}, not {payment.currency}",
                [{"field": "currency", "reason": f"expected {loan.currency}"}],
            )
        case = (
            await session.exec(
                select(Case).where(col(Case.loan_id) == loan.id, col(Case.status) == CaseStatus.OPEN)
            )
        ).first()
        inserted = (
            await session.exec(
                insert(Payment)
                .values(
                    id=uuid.uuid4(),
                    external_id=payment.external_id,
                    loan_id=loan.id,
                    case_id=case.id if case else None,
                    amount=payment.amount,
                    currency=payment.currency,
                    received_at=payment.received_at,
                )
                .on_conflict_do_nothing(index_elements=["external_id"])
                .returning(col(Payment.id))
            )
        ).first()
        stored = (
            await session.exec(select(Payment).where(col(Payment.external_id) == payment.external_id))
        ).one()
        if stored.loan_id != loan.id or stored.amount != payment.amount:
            raise UnknownLoan(
                f"payment {payment.external_id} was already received with other facts",
                [{"field": "external_id", "reason": "reused for a different payment"}],
            )
        if inserted is not None:
            await audit.append(
                session,
                actor=LOAN_SYSTEM,
                action=AuditAction.PAYMENT_RECEIVED,
                reason="payment reported by the loan system",
                case_id=stored.case_id,
                loan_id=loan.id,
                payload={
                    "external_id": payment.external_id,
                    "amount": str(payment.amount),
                    "currency": payment.currency,
                },
                idempotency_key=f"payment.received:{payment.external_id}",
            )
    target = stored.case_id
    if target is not None:
        await _signal(client, target, db, payment, stored.received_at)
    return PaymentReceipt(
        payment_id=stored.id, external_id=stored.external_id, duplicate=inserted is None, case_id=target
    )


async def _signal(
    client: TemporalDep, case_id: uuid.UUID, db: DatabaseDep, payment: PaymentIn, received_at: datetime
) -> None:
    """Every replay signals again: the workflow ignores an external ID it has applied, so a
    crash between storing and signalling is healed by the loan system's own retry."""
    async with db.session() as session:
        case = await session.get(Case, case_id)
    assert case is not None
    signal = PaymentSignal(
        external_id=payment.external_id,
        amount=payment.amount,
        currency=payment.currency,
        received_at=received_at,
    )
    # To the run of the case the payment was stored against: if that case has closed meanwhile,
    # the payment stays stored against the loan and never reaches the loan's newer case.
    await workflow.signal_payment(client, case, signal)
