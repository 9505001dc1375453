"""Tasks for staff: created with the SLA their rule gives, decided by an update, escalated when
the SLA passes, cancelled by a stay or the close."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from policies import Rule
    from workflows.dto import PlanTerms, TaskDecision, TaskInput, TaskOutcome, TaskView

from workflows.case.context import Case, midnight
from workflows.case.effects import Effects
from workflows.case.patches import ESCALATE_OVERDUE_PATCH

DECISIONS: dict[str, set[str]] = {
    "live_contact": {"contacted", "attempted"},
    "scra_check": {"active", "not_active"},
    "completeness_review": {"complete", "incomplete"},
    "evaluation": {"approve", "deny"},
    "appeal_review": {"approve", "deny"},
    "forbearance_review": {"reinstatement", "repayment_plan", "modification"},
    "proof_of_claim": {"filed"},
    "assign_personnel": {"assigned"},
    "scra_rate_cap": {"applied", "not_applicable"},
    "forbearance_assessment": {"offered", "not_appropriate", "declined_by_borrower"},
    "fee_notice": {"filed"},
    "offer_acceptance": {"accepted", "declined"},
    "close_approval": {"approve", "reject"},
}


def require_plan_amount(plan: PlanTerms | None) -> None:
    # the agreement letter states the monthly amount: without one it could never be sent
    if plan is not None and plan.kind != "modification" and plan.amount is None:
        raise ApplicationError(f"a {plan.kind} needs its monthly amount (plan.amount)")


class Tasks:
    """The case's tasks and their SLAs."""

    def __init__(self, c: Case, fx: Effects) -> None:
        self.c = c
        self.fx = fx

    async def task(
        self,
        key: str,
        kind: str,
        rule: Rule,
        due: date,
        *,
        wait: bool = True,
        fallback: bool = False,
        fallback_on: date | None = None,
    ) -> TaskDecision | None:
        """Create a task for staff; wait for the decision, or (fallback) give up at the start of
        `fallback_on` (default: the SLA day)."""
        c = self.c
        existing = c.m.tasks.get(key)
        if existing is None or existing.status == "cancelled":  # new, or reopened after a stay
            view = TaskView(key=key, kind=kind, rule_id=rule.id, citation=rule.citation, due=due)
            c.m.tasks[key] = view
            c.version += 1
            await self.fx.activity(
                "create_task", TaskInput(case_id=c.inp.case_id, task=view, at=workflow.now())
            )
            c.watchers.append(asyncio.create_task(self.watch_sla(key, due)))
        if not wait:
            return None
        if fallback:
            await c.sleep_until(fallback_on or due, lambda: key in c.decisions)
            if key not in c.decisions:
                await self.cancel(c.m.tasks[key], "deadline reached: handled by the fallback")
            return c.decisions.pop(key, None)
        await workflow.wait_condition(lambda: key in c.decisions)
        return c.decisions.pop(key)

    async def watch_sla(self, key: str, due: date) -> None:
        """Escalate the task to a supervisor when its due day is over and it is still open.

        A plain sleep, never cancelled: a decided task's timer just fires and finds nothing to do.
        """
        c = self.c
        delay = midnight(due + timedelta(days=1)) - workflow.now()
        if delay > timedelta(0):
            await workflow.sleep(delay)
        elif not c.patched(ESCALATE_OVERDUE_PATCH):
            return  # before the patch a past SLA day failed this watcher: it never escalated
        task = c.m.tasks.get(key)
        if task is None or task.status != "open" or task.due != due:
            return
        task.status = "escalated"
        c.version += 1
        await self.fx.activity(
            "finish_task",
            TaskOutcome(
                case_id=c.inp.case_id,
                key=task.key,
                status="escalated",
                at=workflow.now(),
                reason=f"SLA {task.due.isoformat()} passed; escalated to a supervisor",
            ),
        )

    async def cancel_open(self, reason: str) -> None:
        for task in list(self.c.m.tasks.values()):
            if task.status in ("open", "escalated") and task.kind != "proof_of_claim":
                await self.cancel(task, reason)

    async def cancel(self, task: TaskView, reason: str) -> None:
        task.status = "cancelled"
        self.c.version += 1
        await self.fx.activity(
            "finish_task",
            TaskOutcome(
                case_id=self.c.inp.case_id,
                key=task.key,
                status="cancelled",
                at=workflow.now(),
                reason=reason,
                task=task,
            ),
        )

    # ------------------------------------------------------------------ the complete_task update
    async def complete(self, decision: TaskDecision) -> str:
        """Staff decide a task; the waiting stage continues with the decision."""
        c = self.c
        task = c.m.tasks[decision.task]
        task.status = "done"
        task.decision = decision.decision
        task.decided_by = decision.by
        proposal = c.m.close_proposal
        if task.kind == "close_approval" and proposal is not None:
            c.m.close_proposal = None
            if decision.decision == "approve":
                c.close(proposal.outcome, proposal.by, f"{proposal.reason} (approved by {decision.by})")
        else:
            c.decisions[decision.task] = decision
        c.version += 1
        await self.fx.activity(
            "finish_task",
            TaskOutcome(
                case_id=c.inp.case_id,
                key=task.key,
                status="done",
                at=workflow.now(),
                decision=decision.model_dump(mode="json", exclude={"by", "reason", "task", "role"}),
                actor=decision.by,
                role=decision.role,
                reason=decision.reason,
            ),
        )
        return f"{task.kind}: {decision.decision}"

    def validate_decision(self, decision: TaskDecision) -> TaskView:
        """Refuse a decision the task does not take; the task, for the caller's further checks."""
        task = self.c.m.tasks.get(decision.task)
        if task is None:
            raise ApplicationError(f"no task {decision.task!r} on this case")
        if task.status not in ("open", "escalated"):
            raise ApplicationError(f"task {decision.task!r} is {task.status}")
        allowed = DECISIONS[task.kind]
        if decision.decision not in allowed:
            raise ApplicationError(f"{task.kind} takes one of {sorted(allowed)}, not {decision.decision!r}")
        if task.kind in ("evaluation", "appeal_review"):
            if decision.decision == "approve" and decision.plan is None:
                raise ApplicationError("an approval needs plan terms")
            if decision.decision == "approve":
                require_plan_amount(decision.plan)
            if decision.decision == "deny" and not decision.denial_reasons:
                raise ApplicationError("a denial needs its specific reasons")
        if task.kind == "appeal_review":
            app = self.c.m.application
            if app is not None and app.first_decider == decision.by:
                raise ApplicationError("the appeal must be decided by someone other than the first decider")
        if task.kind == "forbearance_review" and decision.decision == "repayment_plan":
            require_plan_amount(decision.plan or PlanTerms(kind="repayment_plan"))
        if task.kind == "scra_check" and decision.decision == "active" and decision.service_end is None:
            raise ApplicationError("active duty needs service_end")
        return task
