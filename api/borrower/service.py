"""The borrower's page: what their one case shows, and what they may do on it.

Reads come from the case row and the workflow's `state`; every action is the same workflow
update staff use (promise, forbearance plan, hold, call back), so the same validator accepts or
refuses it, and the workflow records it with actor `borrower`. Beside it the service writes a
`borrower.*` audit event and the engagement event. Pay-now only starts a checkout at the
payment provider: the case learns of the payment through the signed payments webhook alone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlmodel import col, select
from temporalio.client import Client

from api.borrower.access import BORROWER, Visitor
from api.borrower.questions import Intent, classify
from api.cases import workflow
from api.errors import Conflict, ServiceUnavailable
from arrears import audit, engagement
from arrears.borrower_links import Expired
from arrears.db import Database
from models.audit_actions import AuditAction
from models.borrowers import Borrower
from models.cases import Case
from models.engagement import EngagementEvent, EngagementKind
from models.enums import CaseStage, CaseStatus, PolicyPack
from models.loans import Loan
from models.payments import Payment
from policies import get_pack
from workflows.commands import CallbackRequest, ForbearanceRequest, HoldChange, PromiseToPay
from workflows.dto import CaseState

PROMISE_DAYS = 60  # the workflow's own limit, shown as the date field's bound
PLAN_MONTHS = (3, 6, 12)
WHO = {"by": "borrower", "role": "borrower"}


class NotOffered(Exception):
    """The option is not open on this case (the page does not show it either)."""


@dataclass(frozen=True, slots=True)
class FeeLine:
    amount: Decimal
    rule_id: str
    citation: str
    on: date


@dataclass(frozen=True, slots=True)
class NextStep:
    kind: str
    due: date
    rule_id: str
    citation: str
    document: str


@dataclass(frozen=True, slots=True)
class CaseView:
    """What the borrower's page shows: figures, the fees with their rules, what comes next."""

    case_id: uuid.UUID
    reference: str
    pack: PolicyPack
    country: str
    language: str
    currency: str
    open: bool
    outcome: str | None
    stage: CaseStage
    arrears: Decimal
    fees: Decimal
    fee_lines: list[FeeLine]
    next_steps: list[NextStep]
    holds: list[str]
    today: date
    can_promise: bool
    plan_fee: Decimal | None
    plan_citation: str | None
    can_pay: bool
    plan_months: tuple[int, ...] = PLAN_MONTHS

    @property
    def total(self) -> Decimal:
        return self.arrears + self.fees

    @property
    def promise_until(self) -> date:
        return self.today + timedelta(days=PROMISE_DAYS)

    def plan_amount(self, months: int) -> Decimal:
        """What a plan over `months` asks each month: the arrears spread evenly, rounded up."""
        return (self.arrears / months).quantize(Decimal("0.01"), rounding="ROUND_UP")


async def _rows(db: Database, case_id: uuid.UUID) -> tuple[Case, Loan, Borrower]:
    async with db.session() as session:
        case = await session.get(Case, case_id)
        if case is None:
            raise Expired
        loan = await session.get(Loan, case.loan_id)
        assert loan is not None
        borrower = await session.get(Borrower, loan.borrower_id)
        assert borrower is not None
    return case, loan, borrower


async def _state(client: Client, case: Case) -> CaseState:
    state = await workflow.state(client, case)
    if state is None:
        raise ServiceUnavailable("the case cannot be read just now; try again in a moment")
    return state


async def view(
    *, db: Database, client: Client, visitor: Visitor, provider: str | None, record_view: bool = True
) -> CaseView:
    """The visitor's case, and only theirs: the session names it."""
    case, _, borrower = await _rows(db, visitor.case_id)
    state = await _state(client, case)
    pack = get_pack(case.policy_pack)
    is_open = case.status is CaseStatus.OPEN and state.outcome is None
    holds: list[str] = sorted({h.kind for h in state.holds})
    fee = pack.plan_fee()
    collection_open = is_open and "stay" not in holds
    result = CaseView(
        case_id=case.id,
        reference=str(case.id)[:8].upper(),
        pack=case.policy_pack,
        country=pack.country,
        language=borrower.language,
        currency=case.currency,
        open=is_open,
        outcome=state.outcome.value if state.outcome else None,
        stage=state.stage,
        arrears=state.arrears,
        fees=state.fees,
        fee_lines=[
            FeeLine(amount=a.amount, rule_id=a.rule_id, citation=a.citation, on=a.at.date())
            for a in state.actions
            if a.kind == "fee" and a.status == "done" and a.amount is not None
        ],
        next_steps=[
            NextStep(kind=n.kind, due=n.due, rule_id=n.rule_id, citation=n.citation, document=n.detail)
            for n in state.next_actions
        ][:3]
        if is_open
        else [],
        holds=holds,
        today=datetime.now(UTC).date(),
        can_promise=collection_open and state.stage is CaseStage.EARLY,
        plan_fee=fee[0] if fee else None,
        plan_citation=fee[1].citation if fee else None,
        can_pay=collection_open and provider is not None and state.arrears + state.fees > 0,
    )
    if record_view:
        await _event(db, visitor, EngagementKind.PAGE_VIEWED)
    return result


async def _event(db: Database, visitor: Visitor, kind: EngagementKind) -> None:
    async with db.session() as session:
        await engagement.record(
            session,
            case_id=visitor.case_id,
            message_id=visitor.message_id,
            template=visitor.template,
            kind=kind,
        )


async def _audited(
    db: Database,
    visitor: Visitor,
    action: AuditAction,
    reason: str,
    payload: dict[str, Any],
    kind: EngagementKind | None,
) -> None:
    """The borrower's action in the audit trail (actor `borrower`), and its engagement event."""
    async with db.session() as session:
        case = await session.get(Case, visitor.case_id)
        assert case is not None
        await audit.append(
            session,
            actor=BORROWER,
            action=action,
            reason=reason,
            case_id=case.id,
            loan_id=case.loan_id,
            payload=payload,
        )
        if kind is not None:
            await engagement.record(
                session,
                case_id=visitor.case_id,
                message_id=visitor.message_id,
                template=visitor.template,
                kind=kind,
            )


async def _update(db: Database, client: Client, visitor: Visitor, name: workflow.Update, command: Any) -> str:
    case, _, _ = await _rows(db, visitor.case_id)
    return await workflow.update(client, case, name, command)


# ---------------------------------------------------------------------------- actions
async def promise(*, db: Database, client: Client, visitor: Visitor, amount: Decimal, due: date) -> str:
    """A promise to pay, through the staff's own update and validator."""
    command = PromiseToPay(**WHO, reason="promise made by the borrower on their page", amount=amount, due=due)
    result = await _update(db, client, visitor, workflow.Update.RECORD_PROMISE, command)
    await _audited(
        db,
        visitor,
        AuditAction.BORROWER_PROMISED,
        "promise to pay made on the borrower page",
        {"amount": str(amount), "due": due.isoformat()},
        EngagementKind.PROMISE_MADE,
    )
    return result


async def plan(*, db: Database, client: Client, visitor: Visitor, months: int) -> str:
    """A payment plan (the SE amorteringsplan, with its fee), as staff would grant it."""
    current = await view(db=db, client=client, visitor=visitor, provider=None, record_view=False)
    if current.plan_fee is None or months not in PLAN_MONTHS:
        raise NotOffered
    await _event(db, visitor, EngagementKind.PAY_LATER_CLICKED)
    amount = current.plan_amount(months)
    command = ForbearanceRequest(
        **WHO,
        reason="payment plan asked for by the borrower on their page",
        kind="reduced",
        months=months,
        reduced_amount=amount,
    )
    result = await _update(db, client, visitor, workflow.Update.REQUEST_FORBEARANCE, command)
    await _audited(
        db,
        visitor,
        AuditAction.BORROWER_PLAN_REQUESTED,
        "payment plan asked for on the borrower page",
        {"months": months, "monthly": str(amount), "fee": str(current.plan_fee)},
        EngagementKind.PLAN_REQUESTED,
    )
    return result


async def callback(*, db: Database, client: Client, visitor: Visitor, at: datetime, why: str) -> str:
    """A call back at the chosen time: a task for staff, not a placed call."""
    command = CallbackRequest(**WHO, reason=why, at=at)
    result = await _update(db, client, visitor, workflow.Update.REQUEST_CALLBACK, command)
    await _audited(
        db,
        visitor,
        AuditAction.BORROWER_CALLBACK_REQUESTED,
        why,
        {"at": at.isoformat()},
        EngagementKind.CALLBACK_REQUESTED,
    )
    return result


async def hold(*, db: Database, client: Client, visitor: Visitor, kind: str) -> str:
    """A dispute or a request to stop communication: the staff's hold, with the pack's effects."""
    if kind not in ("dispute", "cease"):
        raise NotOffered
    reason = (
        "dispute raised by the borrower" if kind == "dispute" else "borrower asked us to stop contacting them"
    )
    command = HoldChange(**WHO, reason=f"{reason} on their page", kind=kind, active=True)
    result = await _update(db, client, visitor, workflow.Update.SET_HOLD, command)
    await _audited(db, visitor, AuditAction.BORROWER_HOLD_REQUESTED, reason, {"kind": kind}, None)
    return result


def next_callback_slot(now: datetime, timezone: str) -> datetime:
    """Tomorrow at 10:00 where the borrower lives: when an unanswered question is called back."""
    zone = ZoneInfo(timezone)
    return datetime.combine(now.astimezone(zone).date() + timedelta(days=1), time(10), tzinfo=zone)


@dataclass(frozen=True, slots=True)
class Answer:
    intent: Intent
    callback: bool = False


async def ask(*, db: Database, client: Client, visitor: Visitor, question: str) -> Answer:
    """The question's intent; the page answers it from the case. Anything else is a call back.
    The question's text is neither stored nor logged."""
    intent = classify(question)
    if intent is Intent.OTHER:
        when = next_callback_slot(datetime.now(UTC), await timezone_of(db=db, visitor=visitor))
        try:
            await callback(
                db=db, client=client, visitor=visitor, at=when, why="a question the page could not answer"
            )
        except Conflict:
            return Answer(intent=intent, callback=False)
        return Answer(intent=intent, callback=True)
    await _audited(
        db,
        visitor,
        AuditAction.BORROWER_QUESTION_ANSWERED,
        "question answered from the case's figures",
        {"intent": intent.value},
        None,
    )
    return Answer(intent=intent)


# ---------------------------------------------------------------------------- pay now
async def pay_page(*, db: Database, visitor: Visitor) -> None:
    await _event(db, visitor, EngagementKind.PAY_NOW_VIEWED)


async def start_payment(
    *, db: Database, client: Client, visitor: Visitor, provider: str, return_url: str
) -> str:
    """A checkout at the payment provider for the whole amount due; the provider's page address."""
    current = await view(db=db, client=client, visitor=visitor, provider=provider, record_view=False)
    if not current.can_pay:
        raise NotOffered
    _, loan, _ = await _rows(db, visitor.case_id)
    reference = f"me-{uuid.uuid4().hex}"
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.post(
                f"{provider.rstrip('/')}/checkouts",
                json={
                    "reference": reference,
                    "loan": loan.external_id,
                    "amount": str(current.total),
                    "currency": current.currency,
                    "return_url": f"{return_url}?reference={reference}",
                },
            )
            response.raise_for_status()
            url = str(response.json()["url"])
    except (httpx.HTTPError, KeyError, ValueError):
        raise ServiceUnavailable("the payment provider did not answer; try again in a moment") from None
    await _audited(
        db,
        visitor,
        AuditAction.BORROWER_PAYMENT_STARTED,
        "payment started at the payment provider",
        {"reference": reference, "amount": str(current.total), "currency": current.currency},
        EngagementKind.PAYMENT_ATTEMPTED,
    )
    return url


async def payment_returned(*, db: Database, visitor: Visitor, reference: str, status: str) -> str:
    """What became of a payment the borrower started: `succeeded` once the webhook has stored it,
    `failed` when the provider says so, else `pending`. The provider's word alone cures nothing."""
    if not reference.startswith("me-") or len(reference) > 40:
        return "pending"
    async with db.session() as session:
        stored = (await session.exec(select(Payment).where(col(Payment.external_id) == reference))).first()
        if stored is not None and stored.case_id == visitor.case_id:
            counted = (
                await session.exec(
                    select(EngagementEvent.id).where(
                        col(EngagementEvent.case_id) == visitor.case_id,
                        col(EngagementEvent.kind) == EngagementKind.PAYMENT_SUCCEEDED,
                        col(EngagementEvent.occurred_at) >= stored.recorded_at,
                    )
                )
            ).first()
            if counted is None:  # once per payment, however often the borrower comes back
                await engagement.record(
                    session,
                    case_id=visitor.case_id,
                    message_id=visitor.message_id,
                    template=visitor.template,
                    kind=EngagementKind.PAYMENT_SUCCEEDED,
                )
            return "succeeded"
    if status == "failed":
        await _event(db, visitor, EngagementKind.PAYMENT_FAILED)
        return "failed"
    return "pending"


async def timezone_of(*, db: Database, visitor: Visitor) -> str:
    """The borrower's time zone on file: a call-back time is read in it."""
    _, _, borrower = await _rows(db, visitor.case_id)
    return borrower.timezone
