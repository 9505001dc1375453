"""Forbearance: a pause or reduced payments for N months, its EBA forborne status, and the
review at its end."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.enums import CaseOutcome, CaseStage, Channel
    from policies import Step, StepKind
    from policies.calendar import add_months
    from workflows.dto import ForbearanceRequest, PlanTerms

from workflows.case.context import Case, Transition
from workflows.case.effects import Effects
from workflows.case.tasks import Tasks


def approved(c: Case, plan: PlanTerms) -> Transition:
    """Where an approved plan takes the case: closed as modified, or into forbearance."""
    if plan.kind == "modification":
        return Transition(None, "permanent loan modification approved", CaseOutcome.MODIFIED)
    c.m.forbearance = ForbearanceRequest(
        by="loss_mitigation",
        reason=f"{plan.kind} approved",
        kind="reduced",
        months=plan.months,
        reduced_amount=plan.amount,
    )
    return Transition(CaseStage.FORBEARANCE, f"{plan.kind} approved for {plan.months} months")


class Forbearance:
    """The forbearance stage and the request_forbearance update."""

    def __init__(self, c: Case, fx: Effects, tasks: Tasks) -> None:
        self.c = c
        self.fx = fx
        self.tasks = tasks

    async def run(self) -> Transition:
        c = self.c
        plan = c.m.forbearance
        assert plan is not None
        pack, today = c.pack, c.today()
        eba = c.m.eba
        if eba.forborne:
            eba.reforbearance_count += 1
            eba.non_performing = True  # re-forbearance during probation: back to non-performing
        else:
            eba.forborne = True
            eba.non_performing = c.days_past_due() > 90
        eba.forborne_since = today
        eba.cure_period_ends = add_months(today, 12)
        eba.probation_ends = add_months(eba.cure_period_ends, 24)
        key = f"forbearance.{len(c.m.history)}"
        await self.fx.do(
            Step(
                key=f"{key}.agreement",
                day=today,
                kind=StepKind.MESSAGE,
                rule=pack.forbearance_rule,
                channel=Channel.LETTER,
                document="forbearance_agreement",
                collection=False,
                amount=plan.reduced_amount,
                facts={
                    "kind": plan.kind,
                    "months": str(plan.months),
                    "ends_on": add_months(today, plan.months).isoformat(),
                },
                detail=f"{plan.kind} for {plan.months} months; EBA forborne, "
                f"cure period to {eba.cure_period_ends}, probation to {eba.probation_ends}",
            )
        )
        fee = pack.plan_fee()
        if fee is not None:
            await self.fx.do(Step(key=f"{key}.fee", day=today, kind=StepKind.FEE, rule=fee[1], amount=fee[0]))
        end = add_months(today, plan.months)
        c.show_one(f"{key}.review", "task", end, pack.forbearance_rule)
        await c.sleep_until(end, lambda: False)
        review = await self.tasks.task(
            f"{key}.review",
            "forbearance_review",
            pack.forbearance_rule,
            end + timedelta(days=pack.forbearance_review_days),
        )
        assert review is not None
        c.m.forbearance = None
        if review.decision == "modification":
            return Transition(None, "forbearance ended in a modification", CaseOutcome.MODIFIED)
        if review.decision == "repayment_plan":
            terms = review.plan or PlanTerms(kind="repayment_plan")
            return approved(c, terms)
        if c.m.arrears <= 0:
            return Transition(None, "reinstated with arrears paid", CaseOutcome.CURED)
        return Transition(CaseStage.EARLY, "forbearance over: reinstated, arrears still due")

    # ------------------------------------------------------------------ the request_forbearance update
    async def request(self, request: ForbearanceRequest) -> str:
        """Grant a forbearance plan: a pause or reduced payments for N months."""
        c = self.c
        c.m.forbearance = request
        if c.m.stage in (CaseStage.EARLY, CaseStage.ENFORCEMENT):
            c.m.resume_stage = c.m.stage
        c.interrupt_with(Transition(CaseStage.FORBEARANCE, f"forbearance: {request.reason}"))
        return "forbearance granted"

    def validate_request(self, request: ForbearanceRequest) -> None:
        c = self.c
        c.require_open()
        if c.m.stay is not None:
            raise ApplicationError("a bankruptcy stay is in force")
        if c.m.stage in (CaseStage.FORBEARANCE, CaseStage.LOSS_MITIGATION):
            raise ApplicationError(f"not while in {c.m.stage.value}")
        if request.kind == "reduced" and request.reduced_amount is None:
            raise ApplicationError("reduced payments need reduced_amount")
