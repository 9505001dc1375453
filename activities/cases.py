"""Activities that keep the case row, payments and the audit trail in step with the workflow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from arrears import audit
from arrears.db import Database
from models.audit_actions import AuditAction
from models.cases import Case
from models.enums import CaseStage, CaseStatus
from models.payments import Payment
from workflows.dto import ActionInput, CallInput, CaseClosure, PaymentRecord, StageUpdate


async def append_action(session: AsyncSession, data: ActionInput) -> None:
    """Append a step's record to the audit trail in the caller's transaction, once."""
    record = data.record
    await audit.append(
        session,
        actor=audit.Actor(data.actor, data.role),
        action=AuditAction.for_step(record.kind, record.status),
        reason=data.reason[:500],
        case_id=data.case_id,
        loan_id=data.loan_id,
        rule_id=record.rule_id,
        citation=record.citation,
        payload=record.model_dump(mode="json", exclude={"rule_id", "citation"}),
        idempotency_key=f"{data.case_id}:{record.key}:{record.status}:{record.at.isoformat()}",
    )


class CaseActivities:
    """Case read-model writers. Each is idempotent: a retry changes nothing twice."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @activity.defn(name="record_stage")
    async def record_stage(self, update: StageUpdate) -> None:
        """Move the case row to a stage and audit the change."""
        async with self.db.session() as session:
            case = await session.get(Case, update.case_id, with_for_update=True)
            if case is None:
                raise LookupError(f"case {update.case_id} has no row")
            if case.stage != update.stage and case.status == CaseStatus.OPEN:
                case.stage = update.stage
                case.stage_changed_at = update.at
                case.updated_at = update.at
            await audit.append(
                session,
                actor=audit.WORKFLOW,
                action=AuditAction.CASE_STAGE_CHANGED,
                reason=update.reason,
                case_id=case.id,
                loan_id=case.loan_id,
                payload={
                    "stage": update.stage.value,
                    "days_past_due": update.days_past_due,
                    "effective_at": update.at.isoformat(),
                    **update.facts,
                },
                idempotency_key=f"{case.id}:stage:{update.sequence}",
            )

    @activity.defn(name="record_payment")
    async def record_payment(self, record: PaymentRecord) -> None:
        """Store a payment once (by external ID) and the case's arrears after it."""
        payment = record.payment
        async with self.db.session() as session:
            await session.exec(
                insert(Payment)
                .values(
                    external_id=payment.external_id,
                    loan_id=record.loan_id,
                    case_id=record.case_id,
                    amount=payment.amount,
                    currency=payment.currency,
                    received_at=payment.received_at,
                )
                .on_conflict_do_nothing(index_elements=["external_id"])
            )
            case = await session.get(Case, record.case_id, with_for_update=True)
            if case is None:
                raise LookupError(f"case {record.case_id} has no row")
            case.arrears = record.arrears_after
            if record.delinquent_since is not None:
                case.delinquent_since = record.delinquent_since
            await audit.append(
                session,
                actor=audit.WORKFLOW,
                action=AuditAction.PAYMENT_APPLIED,
                reason="payment received from the loan system",
                case_id=case.id,
                loan_id=case.loan_id,
                payload={
                    "external_id": payment.external_id,
                    "amount": str(payment.amount),
                    "currency": payment.currency,
                    "arrears_after": str(record.arrears_after),
                    **(
                        {"delinquent_since": record.delinquent_since.isoformat()}
                        if record.delinquent_since is not None
                        else {}
                    ),
                },
                idempotency_key=f"{case.id}:payment:{payment.external_id}",
            )

    @activity.defn(name="close_case")
    async def close_case(self, closure: CaseClosure) -> None:
        """Close the case row with its outcome and audit it."""
        async with self.db.session() as session:
            case = await session.get(Case, closure.case_id, with_for_update=True)
            if case is None:
                raise LookupError(f"case {closure.case_id} has no row")
            if case.status == CaseStatus.OPEN:
                case.status = CaseStatus.CLOSED
                case.stage = CaseStage.CLOSED
                case.outcome = closure.outcome
                case.closed_at = closure.at
                case.updated_at = closure.at
            await audit.append(
                session,
                actor=audit.WORKFLOW,
                action=AuditAction.CASE_CLOSED,
                reason=closure.reason,
                case_id=case.id,
                loan_id=case.loan_id,
                payload={"outcome": closure.outcome.value, "effective_at": closure.at.isoformat()},
                idempotency_key=f"{case.id}:closed",
            )

    @activity.defn(name="record_action")
    async def record_action(self, data: ActionInput) -> None:
        """Audit one step the case took, refused or suppressed, with its rule and citation."""
        async with self.db.session() as session:
            await append_action(session, data)

    @activity.defn(name="record_call")
    async def record_call(self, data: CallInput) -> None:
        """Audit a call recorded on the case, and keep the case row's next allowed call with it,
        so that the work queue shows it (Reg F call frequency, 12 CFR 1006.14(b)(2))."""
        async with self.db.session() as session:
            case = await session.get(Case, data.case_id, with_for_update=True)
            if case is None:
                raise LookupError(f"case {data.case_id} has no row")
            case.next_call_at = data.next_call.at
            case.next_call_rule = data.next_call.rule_id
            case.next_call_reason = data.next_call.reason[:300] or None
            await append_action(session, data)

    def all(self) -> list[Callable[..., Awaitable[None]]]:
        """Every activity of this class, for worker registration."""
        return [self.record_stage, self.record_payment, self.close_case, self.record_action, self.record_call]
