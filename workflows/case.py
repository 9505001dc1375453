"""CaseWorkflow: one durable execution per delinquent loan, `loan-<loan id>`."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from models.enums import CaseOutcome, CaseStage
    from policies import get_pack
    from workflows import search
    from workflows.dto import (
        CaseClosure,
        CaseInput,
        CaseState,
        PaymentRecord,
        PaymentSignal,
        StageChange,
        StageUpdate,
    )

# Activities write to PostgreSQL; a database outage is retried for as long as it lasts.
ACTIVITY_TIMEOUT = timedelta(seconds=30)
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)


def workflow_id(loan_external_id: str) -> str:
    """The workflow ID of a loan's case: one open execution per loan."""
    return f"loan-{loan_external_id}"


@workflow.defn(name="CaseWorkflow")
class CaseWorkflow:
    """Runs a case from intake to its outcome."""

    @workflow.init
    def __init__(self, case: CaseInput) -> None:
        self._input = case
        self._stage = CaseStage.EARLY
        self._outcome: CaseOutcome | None = None
        self._arrears = case.arrears
        self._history: list[StageChange] = []
        self._applied: list[str] = []
        self._pending: list[PaymentSignal] = []

    @workflow.run
    async def run(self, case: CaseInput) -> CaseState:
        pack = get_pack(case.policy_pack)
        await self._enter(pack.initial_stage(self._days_past_due()), "case opened")

        while self._arrears > 0:
            await workflow.wait_condition(lambda: bool(self._pending))
            payment = self._pending.pop(0)
            if payment.external_id in self._applied:
                continue  # the loan system re-sent a payment we already applied
            self._applied.append(payment.external_id)
            self._arrears = max(Decimal("0"), self._arrears - payment.amount)
            await self._activity(
                "record_payment",
                PaymentRecord(
                    case_id=case.case_id,
                    loan_id=case.loan_id,
                    payment=payment,
                    arrears_after=self._arrears,
                ),
            )
            self._upsert_search_attributes()

        self._outcome = CaseOutcome.CURED
        await self._enter(CaseStage.CLOSED, "arrears paid in full")
        await self._activity(
            "close_case",
            CaseClosure(
                case_id=case.case_id,
                outcome=self._outcome,
                at=workflow.now(),
                reason="arrears paid in full",
            ),
        )
        return self.state()

    @workflow.signal
    def payment(self, payment: PaymentSignal) -> None:
        """A payment arrived from the loan system."""
        self._pending.append(payment)

    @workflow.query
    def state(self) -> CaseState:
        """Where the case stands now."""
        case = self._input
        return CaseState(
            case_id=case.case_id,
            loan_external_id=case.loan_external_id,
            policy_pack=case.policy_pack,
            stage=self._stage,
            outcome=self._outcome,
            arrears=self._arrears,
            currency=case.currency,
            delinquent_since=case.as_of - timedelta(days=case.days_past_due),
            days_past_due=self._days_past_due(),
            as_of=workflow.now(),
            payments_applied=list(self._applied),
            history=list(self._history),
        )

    async def _enter(self, stage: CaseStage, reason: str) -> None:
        case = self._input
        self._stage = stage
        now = workflow.now()
        self._history.append(StageChange(stage=stage, at=now, reason=reason))
        self._upsert_search_attributes()
        await self._activity(
            "record_stage",
            StageUpdate(
                case_id=case.case_id,
                stage=stage,
                at=now,
                reason=reason,
                sequence=len(self._history),
                days_past_due=self._days_past_due(),
            ),
        )

    async def _activity(self, name: str, arg: BaseModel) -> None:
        await workflow.execute_activity(
            name, arg, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY
        )

    def _days_past_due(self) -> int:
        case = self._input
        if self._arrears <= 0:
            return 0
        pack = get_pack(case.policy_pack)
        return pack.days_past_due(reported=case.days_past_due, as_of=case.as_of, today=workflow.now().date())

    def _upsert_search_attributes(self) -> None:
        case = self._input
        workflow.upsert_search_attributes(
            [
                search.CASE_STAGE.value_set(self._stage.value),
                search.DAYS_PAST_DUE.value_set(self._days_past_due()),
                search.POLICY_PACK.value_set(case.policy_pack.value),
                search.ARREARS_AMOUNT.value_set(float(self._arrears)),
            ]
        )
