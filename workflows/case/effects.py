"""What the case does to the world: steps taken, documents sent, audit records and row writes.

Every effect is an activity (a local one for short row writes) recorded in the history; the
order of these calls is the case's command sequence and must not change.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any, Literal

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, CancelledError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from policies import Rule, Step, StepKind
    from policies.contact import HOLD_RULES
    from workflows.dto import (
        ActionInput,
        ActionRecord,
        CallInput,
        Hold,
        NextCall,
        SendRequest,
        SendResult,
        Staff,
    )

from workflows.case.context import Case
from workflows.case.patches import DOCUMENTS_PATCH, LOCAL_WRITES_PATCH

# Activities write to PostgreSQL; a database outage is retried for as long as it lasts.
ACTIVITY_TIMEOUT = timedelta(seconds=30)
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(seconds=30)
)
# A send renders a PDF and talks to SMTP or the SMS gateway: more time than a row write.
SEND_TIMEOUT = timedelta(seconds=60)
SEND_HEARTBEAT = timedelta(seconds=10)  # a worker killed mid-send is noticed this fast
ACTIONS_KEPT = 400  # the audit trail has them all; the workflow keeps the recent ones


def cancelled(exc: ActivityError) -> bool:
    return isinstance(exc.cause, CancelledError)


def observe(task: asyncio.Task[Any]) -> None:
    """Collect a cancelled side task's outcome: its activity's cancellation is expected."""
    if not task.cancelled():
        error = task.exception()
        if error is not None and not (isinstance(error, ActivityError) and cancelled(error)):
            workflow.logger.warning("side task failed: %r", error)


class Effects:
    """Steps, sends and records of one case."""

    def __init__(self, c: Case) -> None:
        self.c = c

    async def activity(self, name: str, arg: BaseModel) -> None:
        """A short, idempotent row write: a local activity (a regular one in runs from before)."""
        if self.c.patched(LOCAL_WRITES_PATCH):
            await workflow.execute_local_activity(
                name, arg, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY
            )
        else:
            await workflow.execute_activity(
                name, arg, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY
            )

    async def do(self, step: Step, *, due: date | None = None) -> None:
        """Take one step now, unless a hold suppresses it; record it with its rule either way."""
        c = self.c
        hold = self._suppressing_hold(step)
        if hold is not None:
            await self.record(
                key=step.key,
                kind=step.kind.value,
                status="suppressed",
                rule=Rule(
                    HOLD_RULES[hold.kind].id if hold.kind in HOLD_RULES else hold.rule_id, hold.citation
                ),
                step=step,
                due=due or step.day,
                detail=f"{hold.kind} hold: {step.document or step.key} not sent",
            )
        else:
            if step.kind is StepKind.FEE and step.amount is not None:
                c.m.fees += step.amount
            detail = step.detail
            status: Literal["done", "suppressed"] = "done"
            sent: SendResult | None = None
            if step.document is not None and c.patched(DOCUMENTS_PATCH):
                draft = (
                    self.action(
                        key=step.key,
                        kind=step.kind.value,
                        status="done",
                        rule=step.rule,
                        step=step,
                        due=due or step.day,
                        detail=detail,
                    )
                    if c.generation >= 2
                    else None
                )
                sent = await self.send(step, draft)
                status, detail = sent.step_outcome(step.document, detail)
            if sent is not None and sent.record is not None:
                self.remember(sent.record)  # the send wrote it, in the transaction of its outcome
            else:
                await self.record(
                    key=step.key,
                    kind=step.kind.value,
                    status=status,
                    rule=step.rule,
                    step=step,
                    due=due or step.day,
                    detail=detail,
                )
            if step.series is not None:
                c.m.series_last[step.series] = c.today()
        c.m.done[step.key] = c.today()

    async def send(self, step: Step, record: ActionRecord | None) -> SendResult:
        """Render and deliver the step's document; wait out a contact rule's "not now" and retry.

        With `record`, the activity also writes the step's audit record once the send is over.
        """
        c = self.c
        assert step.document is not None
        refusals = 0
        while True:
            request = SendRequest(
                case_id=c.inp.case_id,
                step=step.key,
                document=step.document,
                channel=step.channel,
                collection=step.collection,
                holds=self._barring_holds(step),
                arrears=c.m.arrears,
                fees=c.m.fees,
                days_past_due=c.days_past_due(),
                delinquent_since=c.delinquent_since(),
                amount=step.amount,
                deadline=step.deadline,
                facts=dict(step.facts),
                record=record,
            )
            result: SendResult = await workflow.execute_activity(
                "send_document",
                request,
                result_type=SendResult,
                start_to_close_timeout=SEND_TIMEOUT,
                heartbeat_timeout=SEND_HEARTBEAT,
                retry_policy=ACTIVITY_RETRY,
            )
            if result.final or result.retry_at is None:
                return result
            refusals += 1
            await self.record(
                key=f"{step.key}.refused.{refusals}",
                kind="message",
                status="refused",
                rule=Rule(result.rule_id or "contact", result.citation or ""),
                step=step,
                detail=f"{result.reason}; retry at {result.retry_at.isoformat()}",
            )
            await workflow.sleep(max(result.retry_at - workflow.now(), timedelta(seconds=1)))

    def _barring_holds(self, step: Step) -> list[str]:
        """The holds under which this message may not go out (checked again at the send)."""
        if not step.collection:
            return []
        kinds = ["stay"] if self.c.m.stay is not None else []
        for hold in self.c.active_holds():
            if hold.kind in ("cease", "dispute") and (not hold.channels or step.channel in hold.channels):
                kinds.append(hold.kind)
        return kinds

    def _suppressing_hold(self, step: Step) -> Hold | None:
        if step.kind is not StepKind.MESSAGE or not step.collection:
            return None
        for hold in self.c.active_holds():
            if hold.kind in ("dispute", "cease") and (not hold.channels or step.channel in hold.channels):
                return hold
        return None

    async def record(
        self,
        *,
        key: str,
        kind: str,
        status: Literal["done", "refused", "suppressed"],
        rule: Rule,
        step: Step | None = None,
        due: date | None = None,
        detail: str = "",
        collection: bool | None = None,
        foreclosure: bool | None = None,
        actor: str = "case-workflow",
        role: str = "system",
        next_call: NextCall | None = None,
    ) -> None:
        """Remember and audit a record; with `next_call`, a call's, which also sets the case row's
        next allowed call."""
        record = self.action(
            key=key,
            kind=kind,
            status=status,
            rule=rule,
            step=step,
            due=due,
            detail=detail,
            collection=collection,
            foreclosure=foreclosure,
        )
        self.remember(record)
        action = ActionInput(
            case_id=self.c.inp.case_id,
            loan_id=self.c.inp.loan_id,
            record=record,
            actor=actor,
            role=role,
            reason=detail or key,
        )
        if next_call is not None:
            await self.activity("record_call", CallInput(**dict(action), next_call=next_call))
        else:
            await self.activity("record_action", action)

    def action(
        self,
        *,
        key: str,
        kind: str,
        status: Literal["done", "refused", "suppressed"],
        rule: Rule,
        step: Step | None = None,
        due: date | None = None,
        detail: str = "",
        collection: bool | None = None,
        foreclosure: bool | None = None,
    ) -> ActionRecord:
        return ActionRecord(
            key=key,
            kind=kind,
            status=status,
            rule_id=rule.id,
            citation=rule.citation,
            at=workflow.now(),
            due=due,
            channel=step.channel if step else None,
            document=step.document if step else None,
            amount=step.amount if step else None,
            collection=(step.collection if step else True) if collection is None else collection,
            foreclosure=(step.foreclosure if step else False) if foreclosure is None else foreclosure,
            detail=detail,
        )

    def remember(self, record: ActionRecord) -> None:
        self.c.m.actions.append(record)
        del self.c.m.actions[:-ACTIONS_KEPT]

    async def staff_record(
        self,
        who: Staff,
        *,
        key: str,
        kind: str,
        rule: Rule,
        detail: str,
        role: str = "staff",
        next_call: NextCall | None = None,
    ) -> None:
        """Record what a person did or decided on the case, under its rule."""
        await self.record(
            key=key,
            kind=kind,
            status="done",
            rule=rule,
            detail=detail,
            collection=False,
            actor=who.by,
            role=who.role or role,
            next_call=next_call,
        )
