"""Helpers for walking case timelines on the time-skipping server with the real activities."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from arrears.channels import Channels
from arrears.db import Database
from arrears.intake import IntakeService
from arrears.temporal import build_worker
from models.enums import CaseOutcome
from tests.factories import delinquency
from workflows.case import CaseWorkflow
from workflows.dto import ActionRecord, CaseState, CloseRequest, PaymentSignal, TaskDecision

Handle = WorkflowHandle[CaseWorkflow, CaseState]


@pytest.fixture
async def skipping_intake(
    time_env: WorkflowEnvironment, db: Database, channels: Channels
) -> AsyncIterator[IntakeService]:
    queue = f"ts-{uuid.uuid4()}"
    async with build_worker(time_env.client, db, task_queue=queue, channels=channels):
        yield IntakeService(db, time_env.client, task_queue=queue)


@dataclass
class Timeline:
    """One case on the time-skipping server, walked day by day."""

    env: WorkflowEnvironment
    handle: Handle
    opened: date
    delinquent_since: date

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def today(self) -> date:
        return (await self.now()).date()

    def day(self, n: int) -> date:
        """Day n of delinquency."""
        return self.delinquent_since + timedelta(days=n)

    async def to(self, day: date, hour: int = 12) -> None:
        """Move the clock to `hour`:00 UTC on `day`, running every timer on the way."""
        target = datetime.combine(day, time(hour), UTC)
        delta = target - await self.now()
        assert delta > timedelta(0), f"{day} is not ahead of {await self.now()}"
        # The Java test server mishandles single skips of many months with many timers due:
        # walk in steps of at most 30 days, which is also how a case lives.
        while delta > timedelta(0):
            step = min(delta, timedelta(days=30))
            await self.env.sleep(step)
            delta -= step

    async def state(self) -> CaseState:
        return await self.handle.query(CaseWorkflow.state)

    async def actions(self, key_prefix: str = "", status: str | None = None) -> list[ActionRecord]:
        return [
            a
            for a in (await self.state()).actions
            if a.key.startswith(key_prefix) and (status is None or a.status == status)
        ]

    async def fired_on(self, key_prefix: str, status: str = "done") -> list[date]:
        return [a.at.date() for a in await self.actions(key_prefix, status)]

    async def pay(self, amount: str, external_id: str | None = None) -> None:
        await self.handle.signal(
            CaseWorkflow.payment,
            PaymentSignal(
                external_id=external_id or f"P-{uuid.uuid4().hex[:10]}",
                amount=Decimal(amount),
                currency=(await self.state()).currency,
                received_at=await self.now(),
            ),
        )
        await self.settle()

    async def settle(self) -> None:
        """Let the workflow react (signals are handled within the next second)."""
        await self.env.sleep(timedelta(seconds=5))

    async def task_key(self, kind: str) -> str:
        tasks = [t for t in (await self.state()).open_tasks if t.kind == kind]
        assert tasks, f"no open {kind} task; open: {[t.kind for t in (await self.state()).open_tasks]}"
        return tasks[-1].key

    async def decide(self, kind: str, decision: str, by: str = "alice", **extra: Any) -> str:
        key = await self.task_key(kind)
        # by name: the SDK types a handler declared with `name=` as returning its coroutine
        result: str = await self.handle.execute_update(
            "complete_task",
            TaskDecision(task=key, decision=decision, by=by, reason="test decision", **extra),
            result_type=str,
        )
        await self.settle()
        return result


@pytest.fixture
async def open_case(skipping_intake: IntakeService, time_env: WorkflowEnvironment) -> AsyncIterator[Any]:
    """Opens cases through intake; terminates them after the test so time skips stay cheap."""
    opened: list[Handle] = []

    async def _open(pack: str = "us_mortgage", *, days_past_due: int = 1, **row: Any) -> Timeline:
        today = (await time_env.get_current_time()).date()
        defaults: dict[str, Any] = {"days_past_due": days_past_due}
        if pack == "nl_consumer":
            defaults |= {"arrears": "600.00", "installment": "300.00", "language": "nl"}
        if pack == "se_consumer":
            defaults |= {"arrears": "4000.00", "installment": "2000.00", "language": "sv"}
        if row.get("due_day") == "oldest":  # the oldest unpaid instalment's day of the month
            row["due_day"] = min((today - timedelta(days=days_past_due)).day, 28)
        record = delinquency(pack, as_of=today, **(defaults | row))
        result = await skipping_intake.ingest([(1, record)], source="test")
        assert result.opened == 1, result.errors
        handle: Handle = time_env.client.get_workflow_handle(
            f"loan-{record['loan_id']}", result_type=CaseState
        )
        opened.append(handle)
        timeline = Timeline(time_env, handle, today, today - timedelta(days=days_past_due))
        await timeline.settle()
        return timeline

    yield _open
    for handle in opened:
        # Close each case as a supervisor would, so the workflow ends cleanly with its timers;
        # the Java test server keeps firing timers of terminated runs and then stops skipping time.
        try:
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.execute_update(
                    "close_case",
                    CloseRequest(by="test", reason="test over", outcome=CaseOutcome.TRANSFERRED),
                )
                await asyncio.wait_for(handle.result(), timeout=30)
        except (WorkflowUpdateFailedError, RPCError, TimeoutError):
            with contextlib.suppress(RPCError):
                await handle.terminate("test over")


async def continue_from_memory(
    case: Timeline, intake: IntakeService, env: WorkflowEnvironment, db: Database
) -> CaseState:
    """Replace the case's run by one started exactly as continue-as-new starts it: the same input,
    carrying the memory. Returns the state just before; `case.handle` now names the new run."""
    from arrears.case_runs import case_input
    from models.cases import Case

    memory = await case.handle.query(CaseWorkflow.memory)
    before: CaseState = await case.state()
    async with db.session() as session:
        row = await session.get(Case, before.case_id)
    assert row is not None
    carried = case_input(row, before.loan_external_id).model_copy(update={"memory": memory})
    await case.handle.terminate("replaced by the carried run")
    resumed = await env.client.start_workflow(
        CaseWorkflow.run, carried, id=f"{case.handle.id}-next", task_queue=intake.task_queue
    )
    case.handle = env.client.get_workflow_handle_for(CaseWorkflow.run, resumed.id)
    return before
