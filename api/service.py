"""What the routes share: loading an object the caller may see, and talking to its workflow."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, StringConstraints
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WorkflowQueryRejectedError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.access import may_see
from api.errors import Conflict, NotFound, ServiceUnavailable
from arrears import audit
from arrears.auth import Principal
from models.cases import Case
from workflows.dto import CaseState

# Free text from people: printable, so that nothing the database or a letter cannot hold gets in.
PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
Text = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=PRINTABLE)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=PRINTABLE)]
UPDATE_ATTEMPTS = 4
QUERY_TIMEOUT = timedelta(seconds=5)


class Accepted(BaseModel):
    """The workflow accepted the action."""

    case_id: uuid.UUID
    result: str


def actor(principal: Principal) -> audit.Actor:
    return audit.Actor(principal.subject, principal.role.value)


async def load_case(session: AsyncSession, principal: Principal, case_id: uuid.UUID) -> Case:
    """The case, if it exists and the caller may see it; 404 in both other cases (no probing)."""
    case = await session.get(Case, case_id)
    if case is None or not may_see(principal, case):
        raise NotFound(f"no case {case_id}")
    return case


async def update(client: Client, case: Case, name: str, arg: BaseModel) -> Accepted:
    """Run a workflow update; its validator's refusal becomes a 409 with the reason."""
    handle = client.get_workflow_handle(case.workflow_id)
    # One ID for every attempt: the engine runs an update ID once, so a retry cannot repeat it.
    update_id = str(uuid.uuid4())
    for attempt in range(UPDATE_ATTEMPTS):
        try:
            result = await handle.execute_update(name, arg, id=update_id, result_type=str)
            return Accepted(case_id=case.id, result=result)
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            reason = cause.message if isinstance(cause, ApplicationError) else str(cause or exc)
            raise Conflict(reason) from exc
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise Conflict("the case is closed: its workflow has completed") from exc
            # The workflow task that carried the update was turned back (an event arrived while
            # it ran, e.g. an activity finished): transient, the engine asks for a retry.
            if "workflow task failure" in exc.message and attempt + 1 < UPDATE_ATTEMPTS:
                await asyncio.sleep(0.2 * 2**attempt)
                continue
            raise ServiceUnavailable(f"the workflow engine did not answer: {exc.message}") from exc
    raise AssertionError("unreachable")  # pragma: no cover


async def state(client: Client, case: Case) -> CaseState | None:
    """The workflow's `state` query, or None when the engine cannot answer it just now."""
    handle = client.get_workflow_handle(case.workflow_id)
    try:
        answer: CaseState = await handle.query("state", result_type=CaseState, rpc_timeout=QUERY_TIMEOUT)
    except (RPCError, WorkflowQueryRejectedError):
        return None
    return answer
