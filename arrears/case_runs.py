"""A case's own workflow run: started once, never shared with another case of the same loan.

Every case of a loan runs under the workflow ID `loan-<loan id>`, so that the engine holds one
open execution per loan. A case is its run: the first run ID is recorded on the case row and
every call names it. A start never attaches a case to a run that belongs to another case (the
loan's previous case, closed in the database and still finishing its run): it waits for that run
to end and starts a run of its own. Each run carries its case ID in its memo, which is how a
start recognises a run that is its own (a start retried after a crash).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from decimal import Decimal

from sqlmodel import col, select
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowFailureError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from arrears import audit
from arrears.db import Database
from arrears.strategy import experiments
from models.audit_actions import AuditAction
from models.base import utcnow
from models.cases import Case
from models.enums import CaseStatus
from models.loans import Loan
from policies import get_pack
from workflows import search
from workflows.case import CaseWorkflow, workflow_id
from workflows.dto import CaseInput

log = logging.getLogger(__name__)

MEMO_CASE_ID = "case_id"
# How long a start waits for the loan's previous run to finish. That run has closed its case row
# and has a workflow task or two left; past this, the case is left for `restart_orphans`.
FINISHING_WAIT = 30.0
RUNNING_CASES = "WorkflowType = 'CaseWorkflow' AND ExecutionStatus = 'Running'"


def case_input(
    case: Case,
    loan_external_id: str,
    *,
    exposure: Decimal | None = None,
    reminder_fee_agreed: bool = False,
    installment: Decimal | None = None,
    due_day: int | None = None,
    product: str | None = None,
) -> CaseInput:
    """The workflow input for a case row and its loan's terms (`exposure`: the balance;
    `reminder_fee_agreed`: the agreement provides for a reminder fee; `installment` and `due_day`:
    the periodic payment and the day of the month it falls due, for the due schedule; `product`:
    the loan's product, which picks the Belgian pack's book)."""
    return CaseInput(
        case_id=case.id,
        loan_id=case.loan_id,
        loan_external_id=loan_external_id,
        policy_pack=case.policy_pack,
        currency=case.currency,
        arrears=case.arrears,
        # counted from the oldest instalment still unpaid: what intake reported for a new case,
        # where payments moved it for an open case whose run is started again
        days_past_due=(case.opened_as_of - case.delinquent_since).days,
        as_of=case.opened_as_of,
        exposure=exposure,
        reminder_fee_agreed=reminder_fee_agreed,
        installment=installment,
        due_day=due_day,
        product=product,
    )


def initial_search_attributes(case: CaseInput) -> TypedSearchAttributes:
    pack = get_pack(case.policy_pack)
    return TypedSearchAttributes(
        [
            SearchAttributePair(search.CASE_STAGE, pack.initial_stage(case.days_past_due).value),
            SearchAttributePair(search.DAYS_PAST_DUE, case.days_past_due),
            SearchAttributePair(search.POLICY_PACK, case.policy_pack.value),
            SearchAttributePair(search.ARREARS_AMOUNT, float(case.arrears)),
        ]
    )


def _first_run(description: WorkflowExecutionDescription) -> str:
    return description.raw_description.workflow_execution_info.first_run_id or description.run_id


class CaseRuns:
    """Starts case runs, and restarts the open cases whose run has ended."""

    def __init__(
        self, db: Database, client: Client, *, task_queue: str, finishing_wait: float = FINISHING_WAIT
    ) -> None:
        self.db = db
        self.client = client
        self.task_queue = task_queue
        self.finishing_wait = finishing_wait

    async def start(self, case: CaseInput) -> str | None:
        """Start the case's run and return its first run ID; the run already started for this
        case if there is one. None when the loan's previous run did not finish in time."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.finishing_wait
        wid = workflow_id(case.loan_external_id)
        while True:
            try:
                handle = await self.client.start_workflow(
                    CaseWorkflow.run,
                    case,
                    id=wid,
                    task_queue=self.task_queue,
                    id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                    id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                    search_attributes=initial_search_attributes(case),
                    memo={MEMO_CASE_ID: str(case.case_id)},
                )
                return handle.first_execution_run_id or handle.result_run_id
            except WorkflowAlreadyStartedError:
                pass
            description = await self.client.get_workflow_handle(wid).describe()
            if description.status != WorkflowExecutionStatus.RUNNING:
                continue  # it ended between the start and the look: start again
            if await self._owner(description) in (case.case_id, None):
                return _first_run(description)
            remaining = deadline - loop.time()
            if remaining <= 0:
                log.warning(
                    "case %s: the loan's previous run is still running; left to restart", case.case_id
                )
                return None
            previous = self.client.get_workflow_handle(wid, run_id=description.run_id)
            with contextlib.suppress(WorkflowFailureError, TimeoutError):  # ended badly, or not yet
                await asyncio.wait_for(previous.result(follow_runs=False), remaining)

    async def _owner(self, description: WorkflowExecutionDescription) -> uuid.UUID | None:
        """The case a running execution belongs to: its memo, or for runs started before the memo,
        the case row that recorded its first run ID (None: a run no row recorded)."""
        memo = await description.memo()
        if MEMO_CASE_ID in memo:
            return uuid.UUID(str(memo[MEMO_CASE_ID]))
        async with self.db.session() as session:
            owner = (
                await session.exec(
                    select(col(Case.id))
                    .where(
                        col(Case.workflow_id) == description.id, col(Case.run_id) == _first_run(description)
                    )
                    # a case attached to another's run before this rule: the run is the first case's
                    .order_by(col(Case.opened_at))
                )
            ).first()
        return owner

    async def open_cases(self, *, started: bool) -> list[tuple[Case, CaseInput]]:
        """The open cases whose run was recorded (`started`) or not yet, with their workflow input."""
        recorded = col(Case.run_id).is_not(None) if started else col(Case.run_id).is_(None)
        async with self.db.session() as session:
            rows = (
                await session.exec(
                    select(Case, Loan)
                    .join(Loan, col(Loan.id) == col(Case.loan_id))
                    .where(Case.status == CaseStatus.OPEN, recorded)
                )
            ).all()
            kept = await experiments.kept_strategies(session, [case for case, _ in rows])
        return [
            (
                case,
                case_input(
                    case,
                    loan.external_id,
                    exposure=loan.balance,
                    reminder_fee_agreed=loan.reminder_fee_agreed,
                    installment=loan.installment,
                    due_day=loan.due_day,
                    product=loan.product,
                ).model_copy(update={"strategy": kept.get(case.id)}),
            )
            for case, loan in rows
        ]

    async def restart_orphans(self) -> int:
        """Give a run of its own to every open case whose recorded run is no longer running
        (terminated by an operator, or taken by a case before this rule); audited."""
        running: dict[str, str] = {}
        async for execution in self.client.list_workflows(RUNNING_CASES):
            running[execution.id] = execution.raw_info.first_run_id or execution.run_id
        restarted = 0
        for case, start_input in await self.open_cases(started=True):
            if running.get(case.workflow_id) == case.run_id:
                continue
            # a run just started may not be listed yet: the start then finds it and changes nothing
            run_id = await self.start(start_input)
            if run_id is None or run_id == case.run_id:
                continue
            async with self.db.session() as session:
                row = await session.get(Case, case.id, with_for_update=True)
                if row is None or row.status is not CaseStatus.OPEN or row.run_id != case.run_id:
                    continue  # closed or restarted meanwhile
                row.run_id = run_id
                row.updated_at = utcnow()
                await audit.append(
                    session,
                    actor=audit.SYSTEM,
                    action=AuditAction.CASE_RESTARTED,
                    reason="the case's workflow run had ended while the case was open",
                    case_id=case.id,
                    loan_id=case.loan_id,
                    payload={"previous_run_id": case.run_id, "run_id": run_id},
                )
            restarted += 1
        return restarted
