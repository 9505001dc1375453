"""Loss mitigation (12 CFR 1024.41): acknowledgment, evaluation, appeal and the offer, with the
dual-tracking protection a complete application gives."""

from __future__ import annotations

from datetime import date, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.audit_actions import APPEAL_REVIEW_TASK, EVALUATION_TASK, acknowledgment_key
    from models.enums import CaseStage, Channel
    from policies import Step, StepKind
    from workflows.dto import Appeal, ApplicationState, LossMitigationApplication, Period, TaskDecision

from workflows.case.context import Case, Transition
from workflows.case.effects import Effects
from workflows.case.forbearance import approved
from workflows.case.patches import OFFER_ACCEPTANCE_PATCH
from workflows.case.tasks import Tasks


class LossMitigation:
    """The loss-mitigation stage and the application updates."""

    def __init__(self, c: Case, fx: Effects, tasks: Tasks) -> None:
        self.c = c
        self.fx = fx
        self.tasks = tasks

    async def run(self) -> Transition:
        c = self.c
        app = c.m.application
        assert app is not None
        pack = c.pack
        back = c.m.resume_stage or CaseStage.EARLY
        ack_due = pack.business_days_after(app.received_on, pack.ack_business_days)
        complete = app.complete_on is not None
        if not complete:
            review = await self.tasks.task(
                f"loss_mitigation.{app.number}.completeness_review",
                "completeness_review",
                pack.ack_rule,
                ack_due,
                fallback=True,
            )
            complete = review is not None and review.decision == "complete"
        await self.fx.do(
            Step(
                key=acknowledgment_key(app.number),
                day=c.today(),
                kind=StepKind.MESSAGE,
                rule=pack.ack_rule,
                channel=Channel.LETTER,
                document="loss_mitigation_acknowledgment",
                collection=False,
                detail=f"application {'complete' if complete else 'incomplete'}; "
                f"due by {ack_due.isoformat()}",
                facts={
                    "received_on": app.received_on.isoformat(),
                    "complete": "yes" if complete else "no",
                    "decide_by": (
                        (app.complete_on or c.today()) + timedelta(days=pack.evaluation_days)
                    ).isoformat(),
                },
            ),
            due=ack_due,
        )
        if not complete:
            app.status = "incomplete"
            return Transition(back, "application incomplete: borrower asked for the missing documents")
        if app.complete_on is None:
            app.complete_on = c.today()
            if self._protected(app):
                c.m.applications_pending.append(Period(start=workflow.now()))
        if not self._protected(app):
            await self.fx.record(
                key=f"loss_mitigation.{app.number}.late_application",
                kind="loss_mitigation",
                status="done",
                rule=pack.late_application_rule,
                detail=f"complete {app.complete_on} with a sale on {app.sale_date}: Reg X gives no "
                "30-day deadline and no dual-tracking protection; evaluated all the same",
                collection=False,
            )
        app.status = "evaluating"
        decision = await self.tasks.task(
            f"loss_mitigation.{app.number}.evaluation",
            EVALUATION_TASK,
            pack.evaluation_rule,
            app.complete_on + timedelta(days=pack.evaluation_days),
        )
        assert decision is not None
        app.first_decider = decision.by
        appealable = decision.decision == "deny" and self._appeal_eligible(app)
        window_end = c.today() + timedelta(days=pack.appeal_window_days)
        await self._decision_letter(
            app.number, "evaluation", decision, window_end if appealable else None, self._accept_by(app)
        )
        if appealable:
            app.status = "denied"
            c.show_one(
                f"loss_mitigation.{app.number}.appeal_window", "deadline", window_end, pack.appeal_rule
            )
            await c.sleep_until(window_end, lambda: app.appeal_requested)
            if app.appeal_requested:
                app.status = "appealed"
                decision = await self.tasks.task(
                    f"loss_mitigation.{app.number}.appeal_review",
                    APPEAL_REVIEW_TASK,
                    pack.appeal_rule,
                    c.today() + timedelta(days=pack.appeal_decision_days),
                )
                assert decision is not None
                await self._decision_letter(app.number, "appeal", decision, None, self._accept_by(app))
        if decision.decision == "approve" and decision.plan is not None:
            if c.patched(OFFER_ACCEPTANCE_PATCH):
                refused = await self._await_acceptance(app)
                if refused is not None:
                    c.end_pending_application()
                    app.status = "closed"
                    return Transition(back, refused)
            c.end_pending_application()
            app.status = "approved"
            return approved(c, decision.plan)
        c.end_pending_application()
        app.status = "closed"
        return Transition(back, "loss mitigation denied")

    async def _await_acceptance(self, app: ApplicationState) -> str | None:
        """The borrower accepts the offer within 14 days (7 near a sale); silence is a rejection.

        The application stays pending meanwhile, so the foreclosure protections hold. Returns
        why the offer lapsed, or None when it was accepted.
        """
        c = self.c
        last_day = self._accept_by(app)
        days = (last_day - c.today()).days
        app.status = "offered"
        answer = await self.tasks.task(
            f"loss_mitigation.{app.number}.offer_acceptance",
            "offer_acceptance",
            c.pack.acceptance_rule,
            last_day,
            fallback=True,
            fallback_on=last_day + timedelta(days=1),
        )
        if answer is None:
            await self.fx.record(
                key=f"loss_mitigation.{app.number}.offer_lapsed",
                kind="loss_mitigation",
                status="done",
                rule=c.pack.acceptance_rule,
                detail=f"offer not accepted by {last_day.isoformat()}: treated as rejected",
                collection=False,
            )
            return f"offer not accepted within {days} days"
        if answer.decision != "accepted":
            return "offer declined by the borrower"
        return None

    def _protected(self, app: ApplicationState) -> bool:
        """A complete application more than 37 days before a sale holds foreclosure back."""
        complete = app.complete_on or app.received_on
        if app.sale_date is None:
            return True
        return (app.sale_date - complete).days >= self.c.pack.protection_min_days_before_sale

    def _appeal_eligible(self, app: ApplicationState) -> bool:
        if app.sale_date is None or app.complete_on is None:
            return True
        return (app.sale_date - app.complete_on).days >= self.c.pack.appeal_min_days_before_sale

    def _accept_by(self, app: ApplicationState) -> date:
        pack = self.c.pack
        days = pack.acceptance_days if self._appeal_eligible(app) else pack.acceptance_days_near_sale
        return self.c.today() + timedelta(days=days)

    async def _decision_letter(
        self,
        number: int,
        kind: str,
        decision: TaskDecision,
        appeal_until: date | None = None,
        accept_by: date | None = None,
    ) -> None:
        plan = decision.plan if decision.decision == "approve" else None
        facts = {
            "review": kind,
            "decision": decision.decision,
            "plan_kind": plan.kind if plan else "",
            "months": str(plan.months) if plan else "",
            "plan_amount": str(plan.amount) if plan and plan.amount is not None else "",
            "reasons": "; ".join(decision.denial_reasons),
            "appeal_until": appeal_until.isoformat() if appeal_until else "",
            "accept_by": accept_by.isoformat() if accept_by and plan else "",
        }
        terms = (
            f"approved: {decision.plan.kind} for {decision.plan.months} months"
            if decision.decision == "approve" and decision.plan
            else "denied: " + "; ".join(decision.denial_reasons)
        )
        await self.fx.do(
            Step(
                key=f"loss_mitigation.{number}.{kind}_decision",
                day=self.c.today(),
                kind=StepKind.MESSAGE,
                rule=self.c.pack.evaluation_rule if kind == "evaluation" else self.c.pack.appeal_rule,
                channel=Channel.LETTER,
                document="evaluation_decision",
                collection=False,
                detail=terms,
                facts=facts,
            )
        )

    # ------------------------------------------------------------------ updates
    async def submit_application(self, application: LossMitigationApplication) -> str:
        """A loss-mitigation application was received."""
        c = self.c
        c.m.applications += 1
        app = ApplicationState(
            number=c.m.applications,
            received_on=application.received_on,
            complete_on=application.received_on if application.complete else None,
            sale_date=application.sale_date,
            status="received",
        )
        c.m.application = app
        if application.complete and self._protected(app):
            c.m.applications_pending.append(Period(start=workflow.now()))
        if c.m.stage in (CaseStage.EARLY, CaseStage.ENFORCEMENT):
            c.m.resume_stage = c.m.stage
        c.version += 1
        c.interrupt_with(Transition(CaseStage.LOSS_MITIGATION, f"application received: {application.reason}"))
        return f"application {app.number} received"

    def validate_application(self, application: LossMitigationApplication) -> None:
        c = self.c
        c.require_open()
        if c.m.stay is not None:
            raise ApplicationError("a bankruptcy stay is in force; the court's plan rules")
        if c.m.stage is CaseStage.LOSS_MITIGATION:
            raise ApplicationError("an application is already being handled")
        if application.received_on > c.today():
            raise ApplicationError("received_on is in the future")

    async def appeal(self, appeal: Appeal) -> str:
        """The borrower appeals a denial within the appeal window."""
        assert self.c.m.application is not None
        self.c.m.application.appeal_requested = True
        self.c.version += 1
        return "appeal received"

    def validate_appeal(self, appeal: Appeal) -> None:
        app = self.c.m.application
        if app is None or app.status != "denied" or self.c.m.stage is not CaseStage.LOSS_MITIGATION:
            raise ApplicationError("there is no denial open to appeal")
