"""The facts of a Reg F validation notice, read from the records when the notice is rendered.

The workflow knows the case's fees; the loan system's reports and payments are in PostgreSQL.
The itemization and the dates follow `policies.validation_notice`.

The validation period's end is computed once per notice, from the day the send was first
attempted (the day the letter is queued for the print run), and the letter and the step's audit
record both state that value: every retry of the send computes the same one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.cases import Case
from models.loans import DelinquencySnapshot, Loan
from models.payments import Payment
from policies import validation_notice as reg_f
from workflows.dto import SendRequest


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, UTC)


async def _paid(session: AsyncSession, loan: Loan, after: date, until: datetime) -> Decimal:
    """Payments on the loan received after the day `after` and before `until`."""
    total = await session.exec(
        select(func.coalesce(func.sum(Payment.amount), 0)).where(
            Payment.loan_id == loan.id,
            col(Payment.received_at) >= _start_of(after + timedelta(days=1)),
            col(Payment.received_at) < until,
        )
    )
    return Decimal(str(total.one()))


async def itemization(
    session: AsyncSession, *, case: Case, loan: Loan, fees: Decimal, at: datetime
) -> reg_f.Itemization:
    """The debt on the itemization date (the report the case opened on) and what changed it up to `at`."""
    day = case.opened_as_of
    reports = (
        await session.exec(
            select(DelinquencySnapshot)
            .where(DelinquencySnapshot.loan_id == loan.id, col(DelinquencySnapshot.as_of) <= at.date())
            .order_by(col(DelinquencySnapshot.as_of))
        )
    ).all()
    on_day = [r for r in reports if r.as_of <= day]
    balance_on_day = on_day[-1].balance if on_day else loan.balance
    later = [r for r in reports if r.as_of > day]
    latest = later[-1] if later else None
    return reg_f.itemize(
        itemization_date=day,
        balance_on_itemization_date=balance_on_day,
        latest_balance=latest.balance if latest else balance_on_day,
        paid_before_latest_report=(
            await _paid(session, loan, day, _start_of(latest.as_of + timedelta(days=1)))
            if latest
            else Decimal(0)
        ),
        payments_since=await _paid(session, loan, day, at),
        fees_since=fees,
    )


def period_end(first_attempt: datetime) -> date:
    """The validation period's end for a notice whose send was first attempted at `first_attempt`."""
    return reg_f.validation_period_end(first_attempt.date())


def stamped(request: SendRequest, *, end: date, opened_on: date) -> SendRequest:
    """The send with the period's end as its deadline and in the step's audit record."""
    record = request.record
    if record is not None:
        record = record.model_copy(update={"due": end, "detail": reg_f.period_detail(opened_on, end)})
    return request.model_copy(update={"deadline": end, "record": record})


async def facts(
    session: AsyncSession,
    *,
    case: Case,
    loan: Loan,
    fees: Decimal,
    servicer: dict[str, str],
    at: datetime,
    end: date,
) -> dict[str, Any]:
    """What the validation notice states beyond the case: the itemization, the creditor, the dates."""
    items = await itemization(session, case=case, loan=loan, fees=fees, at=at)
    creditor = servicer.get("creditor") or servicer["name"]
    return {
        "itemization_date": items.itemization_date,
        "amount_on_itemization_date": str(items.amount_on_itemization_date),
        "interest": str(items.interest),
        "fees": str(items.fees),
        "payments_and_credits": str(items.payments_and_credits),
        "current_amount": str(items.current_amount),
        # the creditor on the itemization date and now: the servicer collects for one creditor
        "creditor_on_itemization_date": creditor,
        "creditor": creditor,
        "end_date": end,
        "cfpb_website": reg_f.CFPB_WEBSITE,
    }
