"""Closing: a supervisor's close (with four eyes, a second approves it), the checks an outcome
must pass, and the case's last writes."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.enums import CaseOutcome
    from policies.closing import APPROVAL_SLA_DAYS, CLOSE_RULE, FOUR_EYES_RULE, CloseFacts, close_refusal
    from workflows.dto import CaseClosure, CloseProposal, CloseRequest, TaskDecision

from workflows.case.context import Case
from workflows.case.effects import Effects
from workflows.case.tasks import Tasks


class Closing:
    """The close_case update, the approval of a proposed close, and the end of the run."""

    def __init__(self, c: Case, fx: Effects, tasks: Tasks) -> None:
        self.c = c
        self.fx = fx
        self.tasks = tasks

    async def finish(self) -> None:
        """The closed case's last writes: its open tasks cancelled, its closure recorded."""
        c = self.c
        await self.tasks.cancel_open("case closed")
        assert c.m.outcome is not None
        await self.fx.activity(
            "close_case",
            CaseClosure(
                case_id=c.inp.case_id,
                outcome=c.m.outcome,
                at=workflow.now(),
                reason=c.m.history[-1].reason,
            ),
        )

    # ------------------------------------------------------------------ the close_case update
    async def close_case(self, request: CloseRequest) -> str:
        """A supervisor closes the case with an outcome; with four eyes, a second approves it."""
        c = self.c
        if request.approval_required:
            key = f"close_approval.{len(c.m.history)}.{workflow.now():%Y%m%d%H%M%S}"
            c.m.close_proposal = CloseProposal(
                outcome=request.outcome, by=request.by, reason=request.reason, at=workflow.now(), task=key
            )
            await self.fx.staff_record(
                request,
                key=f"case.close.{request.outcome.value}.proposed",
                kind="close",
                rule=FOUR_EYES_RULE,
                detail=request.reason,
                role="supervisor",
            )
            due = c.today() + timedelta(days=APPROVAL_SLA_DAYS)
            await self.tasks.task(key, "close_approval", FOUR_EYES_RULE, due, wait=False)
            return f"close as {request.outcome.value} proposed: a second supervisor approves it"
        c.close(request.outcome, request.by, request.reason)
        await self.fx.staff_record(
            request,
            key=f"case.close.{request.outcome.value}",
            kind="close",
            rule=CLOSE_RULE,
            detail=request.reason,
            role="supervisor",
        )
        return f"closing as {request.outcome.value}"

    def validate_close(self, request: CloseRequest) -> None:
        c = self.c
        c.require_open()
        if c.m.close_proposal is not None:
            raise ApplicationError(
                f"a close as {c.m.close_proposal.outcome.value} by {c.m.close_proposal.by} "
                "awaits approval; approve or reject it first"
            )
        if c.m.stay is not None and request.outcome is not CaseOutcome.TRANSFERRED:
            raise ApplicationError("during a bankruptcy stay a case can only be transferred")
        self._check_close(request.outcome, request.reason)

    def validate_approval(self, decision: TaskDecision) -> None:
        """A close_approval task's decision: a second supervisor, and the close still allowed."""
        proposal = self.c.m.close_proposal
        if proposal is None or proposal.task != decision.task:
            raise ApplicationError("no close awaits approval under this task")
        if decision.role != "supervisor":
            raise ApplicationError(f"a supervisor approves a close (rule {FOUR_EYES_RULE.id})")
        if decision.by == proposal.by:
            raise ApplicationError(
                f"the close must be approved by someone other than {proposal.by} "
                f"(rule {FOUR_EYES_RULE.id}: {FOUR_EYES_RULE.citation})"
            )
        if decision.decision == "approve":
            self.c.require_open()
            self._check_close(proposal.outcome, proposal.reason)  # the facts may have changed since

    def _check_close(self, outcome: CaseOutcome, reason: str) -> None:
        """Refuse an outcome the case's facts do not show, with the rule (the reports count it)."""
        c = self.c
        facts = CloseFacts(
            arrears=c.m.arrears,
            fees=c.m.fees,
            days_past_due=c.days_past_due(),
            sale_held="foreclosure.sale_held" in c.m.done,
            defaulted=c.m.eba.defaulted_on is not None,
        )
        refusal = close_refusal(c.pack, outcome, reason, facts)
        if refusal is not None:
            raise ApplicationError(refusal, type="CloseRefused")
