"""The case workflow as the API calls it: its update, signal and query names, addressed by run.

A case is its run: the workflow ID is the loan's and is reused by the loan's next case, so every
call names the run ID recorded on the case row, never the ID alone, and an action on a closed
case is refused (`CaseClosed`), never forwarded to the loan's newer run.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from enum import StrEnum

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import CaseClosed, CaseStarting, Conflict, ServiceUnavailable
from models.cases import Case
from models.enums import CaseStatus
from workflows.commands import CallbackRequest
from workflows.dto import (
    Appeal,
    BankruptcyCaseEnd,
    BankruptcyFacts,
    BankruptcyFiling,
    BankruptcyResolution,
    CaseState,
    CloseRequest,
    ContactRecord,
    ForbearanceRequest,
    HoldChange,
    LossMitigationApplication,
    PaymentChange,
    PaymentSignal,
    PostPetitionFee,
    PromiseToPay,
    ScoredSegment,
    Staff,
    StayOrder,
    TaskDecision,
)

UPDATE_ATTEMPTS = 4
QUERY_TIMEOUT = timedelta(seconds=5)
FINAL_STATE_WAIT = 5.0  # seconds a closed case's run may take to finish before its read answers


class Update(StrEnum):
    """The updates `CaseWorkflow` registers: staff decisions it accepts or refuses at once."""

    RECORD_CONTACT = "record_contact"
    RECORD_PROMISE = "record_promise"
    SUBMIT_APPLICATION = "submit_application"
    APPEAL = "appeal"
    REQUEST_FORBEARANCE = "request_forbearance"
    RECORD_BANKRUPTCY = "record_bankruptcy"
    RESOLVE_BANKRUPTCY = "resolve_bankruptcy"
    RECORD_BANKRUPTCY_FACTS = "record_bankruptcy_facts"
    END_BANKRUPTCY_CASE = "end_bankruptcy_case"
    RECORD_STAY_ORDER = "record_stay_order"
    RECORD_PAYMENT_CHANGE = "record_payment_change"
    RECORD_POST_PETITION_FEE = "record_post_petition_fee"
    SET_HOLD = "set_hold"
    REQUEST_CALLBACK = "request_callback"
    COMPLETE_TASK = "complete_task"
    CLOSE_CASE = "close_case"
    SET_SCORED_SEGMENT = "set_scored_segment"  # sent by `arrears score run`, no route of its own


class Signal(StrEnum):
    """The signals `CaseWorkflow` registers: facts from outside."""

    PAYMENT = "payment"


class Query(StrEnum):
    """The queries `CaseWorkflow` registers."""

    STATE = "state"


# The command each update takes: the API builds exactly this message for it.
COMMANDS: dict[Update, type[Staff]] = {
    Update.RECORD_CONTACT: ContactRecord,
    Update.RECORD_PROMISE: PromiseToPay,
    Update.SUBMIT_APPLICATION: LossMitigationApplication,
    Update.APPEAL: Appeal,
    Update.REQUEST_FORBEARANCE: ForbearanceRequest,
    Update.RECORD_BANKRUPTCY: BankruptcyFiling,
    Update.RESOLVE_BANKRUPTCY: BankruptcyResolution,
    Update.RECORD_BANKRUPTCY_FACTS: BankruptcyFacts,
    Update.END_BANKRUPTCY_CASE: BankruptcyCaseEnd,
    Update.RECORD_STAY_ORDER: StayOrder,
    Update.RECORD_PAYMENT_CHANGE: PaymentChange,
    Update.RECORD_POST_PETITION_FEE: PostPetitionFee,
    Update.SET_HOLD: HoldChange,
    Update.REQUEST_CALLBACK: CallbackRequest,
    Update.COMPLETE_TASK: TaskDecision,
    Update.CLOSE_CASE: CloseRequest,
    Update.SET_SCORED_SEGMENT: ScoredSegment,
}


def _closed(case: Case) -> CaseClosed:
    outcome = f" as {case.outcome.value}" if case.outcome is not None else ""
    return CaseClosed(f"case {case.id} is closed{outcome}: it takes no more actions")


def _chain(client: Client, case: Case) -> WorkflowHandle[object, object]:
    """The case's own run chain: its first run, and the runs it continued as new into.

    A case is its run: the workflow ID is the loan's and is reused by the loan's next case, so
    every call names the first run ID recorded on the case row, never the ID alone.
    """
    if case.status is not CaseStatus.OPEN:
        raise _closed(case)
    if case.run_id is None:
        raise CaseStarting("the case's workflow is still starting; retry in a moment")
    return client.get_workflow_handle(case.workflow_id, first_execution_run_id=case.run_id)


async def live_run(client: Client, case: Case) -> WorkflowHandle[object, object]:
    """The running execution of the case's own chain, by its run ID; `CaseClosed` if there is none.

    Queries and signals name one run (the engine takes no chain for them), so the loan's latest
    run is looked up and used only if it continues the run recorded on the case row.
    """
    _chain(client, case)
    try:
        description = await client.get_workflow_handle(case.workflow_id).describe(rpc_timeout=QUERY_TIMEOUT)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise _closed(case) from exc
        raise ServiceUnavailable(f"the workflow engine did not answer: {exc.message}") from exc
    info = description.raw_description.workflow_execution_info
    first = info.first_run_id or description.run_id
    if (
        case.run_id not in (first, description.run_id)
        or description.status != WorkflowExecutionStatus.RUNNING
    ):
        raise _closed(case)
    return client.get_workflow_handle(
        case.workflow_id, run_id=description.run_id, first_execution_run_id=case.run_id
    )


async def update(client: Client, case: Case, name: Update, command: Staff) -> str:
    """Run a workflow update on the case's own run and return its result; a refusal becomes a
    409 with the reason."""
    handle = _chain(client, case)
    # One ID for every attempt: the engine runs an update ID once, so a retry cannot repeat it.
    update_id = str(uuid.uuid4())
    for attempt in range(UPDATE_ATTEMPTS):
        try:
            result: str = await handle.execute_update(name.value, command, id=update_id, result_type=str)
            return result
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            reason = cause.message if isinstance(cause, ApplicationError) else str(cause or exc)
            raise Conflict(reason) from exc
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                # the engine found no running execution in this case's chain: the run is over
                raise _closed(case) from exc
            # The workflow task that carried the update was turned back (an event arrived while
            # it ran, e.g. an activity finished): transient, the engine asks for a retry.
            if "workflow task failure" in exc.message and attempt + 1 < UPDATE_ATTEMPTS:
                await asyncio.sleep(0.2 * 2**attempt)
                continue
            raise ServiceUnavailable(f"the workflow engine did not answer: {exc.message}") from exc
    raise AssertionError("unreachable")  # pragma: no cover


async def signal_payment(client: Client, case: Case, payment: PaymentSignal) -> bool:
    """Signal a payment to the case's own run; False when that run is over (never a newer case's)."""
    for _ in range(2):  # once more if the run continued as new between the lookup and the signal
        try:
            handle = await live_run(client, case)
            await handle.signal(Signal.PAYMENT.value, payment)
            return True
        except CaseClosed:
            return False
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise ServiceUnavailable(f"the workflow engine did not answer: {exc.message}; retry") from exc
    return False


async def state(client: Client, case: Case) -> CaseState | None:
    """The case's own `state`: live from its running execution, or the final state its run
    returned once closed; None when the engine cannot answer just now."""
    try:
        if case.status is not CaseStatus.OPEN:
            if case.run_id is None:
                return None
            chain = client.get_workflow_handle(case.workflow_id, run_id=case.run_id, result_type=CaseState)
            final: CaseState = await asyncio.wait_for(
                chain.result(rpc_timeout=QUERY_TIMEOUT), FINAL_STATE_WAIT
            )
            return final
        handle = await live_run(client, case)
        answer: CaseState = await handle.query(
            Query.STATE.value, result_type=CaseState, rpc_timeout=QUERY_TIMEOUT
        )
    except (RPCError, WorkflowQueryRejectedError, CaseClosed, CaseStarting, ServiceUnavailable, TimeoutError):
        return None
    except WorkflowFailureError:  # a run that failed or was terminated has no final state to show
        return None
    return answer
