"""CaseWorkflow: one durable execution per delinquent loan, `loan-<loan id>`.

Structure: one workflow per case, each stage a coroutine run as a cancellable task inside it
(not child workflows). A bankruptcy filing, a cure or a supervisor's close cancels the stage
task at once, so every pending timer and reminder stops within the same workflow task, and
the workflow stays the single writer of case state. The policy pack says what comes next and
when; every step records the rule and citation it was taken under.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from models.enums import CaseOutcome, CaseStage, Channel
    from policies import Pack, Rule, Step, StepKind, get_pack
    from policies.base import material_arrears
    from policies.calendar import add_months
    from policies.closing import APPROVAL_SLA_DAYS, CLOSE_RULE, FOUR_EYES_RULE, CloseFacts, close_refusal
    from workflows import search
    from workflows.dto import (
        ActionInput,
        ActionRecord,
        Appeal,
        ApplicationState,
        BankruptcyFiling,
        BankruptcyResolution,
        CaseClosure,
        CaseInput,
        CaseMemory,
        CaseState,
        CloseProposal,
        CloseRequest,
        ContactRecord,
        ForbearanceRequest,
        Hold,
        HoldChange,
        LossMitigationApplication,
        PaymentChange,
        PaymentRecord,
        PaymentSignal,
        Period,
        PlanTerms,
        PostPetitionFee,
        PromiseToPay,
        ScheduledAction,
        SendRequest,
        SendResult,
        Staff,
        StageChange,
        StageUpdate,
        StayState,
        TaskDecision,
        TaskInput,
        TaskOutcome,
        TaskView,
    )

# Activities write to PostgreSQL; a database outage is retried for as long as it lasts.
ACTIVITY_TIMEOUT = timedelta(seconds=30)
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(seconds=30)
)
# A send renders a PDF and talks to SMTP or the SMS gateway: more time than a row write.
SEND_TIMEOUT = timedelta(seconds=60)
SEND_HEARTBEAT = timedelta(seconds=10)  # a worker killed mid-send is noticed this fast
DOCUMENTS_PATCH = "documents-and-messages"
# Row writes (stage, action, task, payment, closure) run as local activities: one marker event
# each instead of three events and a workflow task of their own. Runs started before keep
# scheduling them as activities until the patch marker is recorded.
LOCAL_WRITES_PATCH = "row-writes-as-local-activities"
# A run started on this code records one marker, the newest of these, and takes every patch
# above as applied: each marker also upserts a search attribute, two history events a patch per
# case. A run keeps the generation it started on (`self._generation`) to its end.
GENERATIONS = (
    "case-2026-11",  # 1: every patch above
    # 2: a step's send writes the step's audit record (no record_action of its own); search
    # attributes upserted only when one changed
    "case-2026-11.2",
)
CURRENT_CODE_PATCH = GENERATIONS[-1]
ACTIONS_KEPT = 400  # the audit trail has them all; the workflow keeps the recent ones

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
HOLD_RULES = {
    "dispute": Rule("hold.dispute", "12 CFR 1006.34(c)(3); 15 U.S.C. 1692g(b)"),
    "cease": Rule("hold.cease_communication", "12 CFR 1006.6(c); 15 U.S.C. 1692c(c)"),
    "scra": Rule("hold.scra", "50 U.S.C. 3953(c)"),
}
CURE_RULE = Rule("case.cure", "arrears paid in full")


_AT_OPENING = ("reg_f.", "continuity_of_contact.")


def _cancelled(exc: ActivityError) -> bool:
    return isinstance(exc.cause, CancelledError)


def _observe(task: asyncio.Task[Any]) -> None:
    """Collect a cancelled side task's outcome: its activity's cancellation is expected."""
    if not task.cancelled():
        error = task.exception()
        if error is not None and not (isinstance(error, ActivityError) and _cancelled(error)):
            workflow.logger.warning("side task failed: %r", error)


def workflow_id(loan_external_id: str) -> str:
    """The workflow ID of a loan's case: one open execution per loan."""
    return f"loan-{loan_external_id}"


@dataclass(frozen=True, slots=True)
class Transition:
    """Where a stage, or an interruption, sends the case next."""

    stage: CaseStage | None
    reason: str
    outcome: CaseOutcome | None = None
    priority: int = 0  # close (3) > stay (2) > cure (1) > anything else


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), UTC)


@workflow.defn(name="CaseWorkflow")
class CaseWorkflow:
    """Runs a case from intake to its outcome."""

    @workflow.init
    def __init__(self, case: CaseInput) -> None:
        self._in = case
        self._pack: Pack = get_pack(case.policy_pack)
        self._m = case.memory or CaseMemory(arrears=case.arrears)
        self._pending: list[PaymentSignal] = []
        self._decisions: dict[str, TaskDecision] = {}
        self._interrupt: Transition | None = None
        self._stage_task: asyncio.Task[Transition] | None = None
        self._next: list[ScheduledAction] = []
        self._version = 0  # bumped on every change a waiting coroutine may care about
        self._watchers: list[asyncio.Task[None]] = []  # SLA timers: left to fire, never cancelled
        self._generation = 0  # the code generation the run started on (see GENERATIONS)

    # ------------------------------------------------------------------ main loop
    @workflow.run
    async def run(self, case: CaseInput) -> CaseState:
        # decided in the run's first workflow task: 0 for every run started before the markers
        self._generation = next(
            (n for n in range(len(GENERATIONS), 0, -1) if workflow.patched(GENERATIONS[n - 1])), 0
        )
        background = [asyncio.create_task(self._payments_loop())]
        if self._pack.default_materiality is not None and self._patched("eba-default-definition"):
            background.append(asyncio.create_task(self._watch_default()))
        for view in self._m.tasks.values():  # after continue-as-new: watch the open tasks again
            if view.status == "open":
                self._watchers.append(asyncio.create_task(self._watch_sla(view.key, view.due)))
        if case.memory is None:
            self._m.segment = self._pack.segment(broken_promises=0, days_past_due_at_open=case.days_past_due)
            first = self._pack.initial_stage(self._days_past_due())
            await self._enter(first, f"case opened at {case.days_past_due} days past due")
        while self._m.outcome is None:
            transition = await self._run_stage()
            await self._apply(transition)
            if self._m.outcome is None and workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(lambda: not self._pending and workflow.all_handlers_finished())
                for task in background:
                    task.cancel()
                workflow.continue_as_new(case.model_copy(update={"memory": self._m}))
        for task in background:
            task.cancel()
        await self._cancel_open_tasks("case closed")
        await self._activity(
            "close_case",
            CaseClosure(
                case_id=case.case_id,
                outcome=self._m.outcome,
                at=workflow.now(),
                reason=self._m.history[-1].reason,
            ),
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    async def _run_stage(self) -> Transition:
        if self._interrupt is not None:  # arrived between stages
            pending, self._interrupt = self._interrupt, None
            return pending
        runners: dict[CaseStage, Callable[[], Coroutine[Any, Any, Transition]]] = {
            CaseStage.EARLY: self._early,
            CaseStage.LOSS_MITIGATION: self._loss_mitigation,
            CaseStage.FORBEARANCE: self._forbearance,
            CaseStage.ENFORCEMENT: self._enforcement,
            CaseStage.BANKRUPTCY_STAY: self._stay,
        }
        runner = runners[self._m.stage]
        with_obligations = self._m.stage in (
            CaseStage.EARLY,
            CaseStage.LOSS_MITIGATION,
            CaseStage.ENFORCEMENT,
        )
        self._stage_task = asyncio.create_task(
            self._alongside_obligations(runner) if with_obligations else runner()
        )
        try:
            return await self._stage_task
        except (asyncio.CancelledError, ActivityError) as exc:
            # An activity the stage was awaiting may report its own cancellation (when the server
            # cancelled it before any worker started it) instead of the task's CancelledError.
            if self._interrupt is None or (isinstance(exc, ActivityError) and not _cancelled(exc)):
                raise  # the workflow itself is being cancelled, or a real failure
            pending, self._interrupt = self._interrupt, None
            return pending
        finally:
            self._stage_task = None
            self._next = []

    async def _alongside_obligations(
        self, runner: Callable[[], Coroutine[Any, Any, Transition]]
    ) -> Transition:
        obligations = asyncio.create_task(self._obligations())
        obligations.add_done_callback(_observe)
        try:
            return await runner()
        finally:
            obligations.cancel()

    def _interrupt_with(self, transition: Transition) -> None:
        if self._interrupt is None or transition.priority >= self._interrupt.priority:
            self._interrupt = transition
        if self._stage_task is not None and not self._stage_task.done():
            self._stage_task.cancel()

    async def _apply(self, transition: Transition) -> None:
        if transition.outcome is not None:
            self._m.outcome = transition.outcome
            await self._enter(CaseStage.CLOSED, transition.reason)
        elif transition.stage is not None:
            await self._enter(transition.stage, transition.reason)

    # ------------------------------------------------------------------ stages
    async def _early(self) -> Transition:
        # Cases opened before the CCD2 assessment existed go on without it.
        ccd2 = self._patched("ccd2-forbearance-assessment")
        while True:
            plan = [
                s
                for s in self._pack.early_steps(
                    segment=self._m.segment,
                    delinquent_since=self._delinquent_since(),
                    arrears=self._m.arrears,
                    today=self._today(),
                    taken=self._m.done,
                )
                if s.key not in self._m.done and (ccd2 or not s.key.startswith("ccd2."))
            ]
            self._show(plan)
            step = plan[0]  # a plan always ends with ADVANCE
            woke = await self._sleep_until(step.day, lambda: self._m.promise is not None)
            kept = await self._await_promise() if woke else False
            if woke and (kept or step.kind is StepKind.ADVANCE):
                continue  # kept: the cadence goes on from today; the stage's end keeps its day
            # (broken: move on to the next step at once)
            if step.kind is StepKind.ADVANCE:
                self._m.done[step.key] = self._today()
                return Transition(CaseStage.ENFORCEMENT, step.detail or "early stage over")
            if step.kind is StepKind.TASK and step.task_kind and step.sla_due:
                # a task in the early stage must be decided before the stage may move on
                await self._task(step.key, step.task_kind, step.rule, step.sla_due)
                self._m.done[step.key] = self._today()
                continue
            await self._do(step)

    async def _await_promise(self) -> bool:
        """Wait for the promised date (plus grace); True when the promise was kept."""
        promise = self._m.promise
        assert promise is not None
        deadline = promise.due + timedelta(days=self._pack.promise_grace_days)
        self._show([])
        await self._sleep_until(deadline, lambda: self._m.promise_paid >= promise.amount)
        kept = self._m.promise_paid >= promise.amount
        self._m.promise = None
        if not kept:
            self._m.broken_promises += 1
            self._m.segment = self._pack.segment(
                broken_promises=self._m.broken_promises, days_past_due_at_open=self._in.days_past_due
            )
        await self._record(
            key=f"promise.{len(self._m.actions)}",
            kind="promise",
            status="done",
            rule=self._pack.promise_rule,
            detail=("kept" if kept else "broken") + f": {promise.amount} by {promise.due.isoformat()}",
            collection=False,
        )
        return kept

    async def _loss_mitigation(self) -> Transition:
        app = self._m.application
        assert app is not None
        pack = self._pack
        back = self._m.resume_stage or CaseStage.EARLY
        ack_due = pack.business_days_after(app.received_on, pack.ack_business_days)
        complete = app.complete_on is not None
        if not complete:
            review = await self._task(
                f"loss_mitigation.{app.number}.completeness_review",
                "completeness_review",
                pack.ack_rule,
                ack_due,
                fallback=True,
            )
            complete = review is not None and review.decision == "complete"
        await self._do(
            Step(
                key=f"loss_mitigation.{app.number}.acknowledgment",
                day=self._today(),
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
                        (app.complete_on or self._today()) + timedelta(days=pack.evaluation_days)
                    ).isoformat(),
                },
            ),
            due=ack_due,
        )
        if not complete:
            app.status = "incomplete"
            return Transition(back, "application incomplete: borrower asked for the missing documents")
        if app.complete_on is None:
            app.complete_on = self._today()
            if self._protected(app):
                self._m.applications_pending.append(Period(start=workflow.now()))
        if not self._protected(app):
            await self._record(
                key=f"loss_mitigation.{app.number}.late_application",
                kind="loss_mitigation",
                status="done",
                rule=pack.late_application_rule,
                detail=f"complete {app.complete_on} with a sale on {app.sale_date}: Reg X gives no "
                "30-day deadline and no dual-tracking protection; evaluated all the same",
                collection=False,
            )
        app.status = "evaluating"
        decision = await self._task(
            f"loss_mitigation.{app.number}.evaluation",
            "evaluation",
            pack.evaluation_rule,
            app.complete_on + timedelta(days=pack.evaluation_days),
        )
        assert decision is not None
        app.first_decider = decision.by
        appealable = decision.decision == "deny" and self._appeal_eligible(app)
        window_end = self._today() + timedelta(days=pack.appeal_window_days)
        await self._decision_letter(
            app.number, "evaluation", decision, window_end if appealable else None, self._accept_by(app)
        )
        if appealable:
            app.status = "denied"
            self._show_one(
                f"loss_mitigation.{app.number}.appeal_window", "deadline", window_end, pack.appeal_rule
            )
            await self._sleep_until(window_end, lambda: app.appeal_requested)
            if app.appeal_requested:
                app.status = "appealed"
                decision = await self._task(
                    f"loss_mitigation.{app.number}.appeal_review",
                    "appeal_review",
                    pack.appeal_rule,
                    self._today() + timedelta(days=pack.appeal_decision_days),
                )
                assert decision is not None
                await self._decision_letter(app.number, "appeal", decision, None, self._accept_by(app))
        if decision.decision == "approve" and decision.plan is not None:
            if self._patched("offer-acceptance-window"):
                refused = await self._await_acceptance(app)
                if refused is not None:
                    self._end_pending_application()
                    app.status = "closed"
                    return Transition(back, refused)
            self._end_pending_application()
            app.status = "approved"
            return self._approved(decision.plan)
        self._end_pending_application()
        app.status = "closed"
        return Transition(back, "loss mitigation denied")

    async def _await_acceptance(self, app: ApplicationState) -> str | None:
        """The borrower accepts the offer within 14 days (7 near a sale); silence is a rejection.

        The application stays pending meanwhile, so the foreclosure protections hold. Returns
        why the offer lapsed, or None when it was accepted.
        """
        last_day = self._accept_by(app)
        days = (last_day - self._today()).days
        app.status = "offered"
        answer = await self._task(
            f"loss_mitigation.{app.number}.offer_acceptance",
            "offer_acceptance",
            self._pack.acceptance_rule,
            last_day,
            fallback=True,
            fallback_on=last_day + timedelta(days=1),
        )
        if answer is None:
            await self._record(
                key=f"loss_mitigation.{app.number}.offer_lapsed",
                kind="loss_mitigation",
                status="done",
                rule=self._pack.acceptance_rule,
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
        return (app.sale_date - complete).days >= self._pack.protection_min_days_before_sale

    def _appeal_eligible(self, app: ApplicationState) -> bool:
        if app.sale_date is None or app.complete_on is None:
            return True
        return (app.sale_date - app.complete_on).days >= self._pack.appeal_min_days_before_sale

    def _end_pending_application(self) -> None:
        if self._m.applications_pending and self._m.applications_pending[-1].end is None:
            self._m.applications_pending[-1].end = workflow.now()
            self._version += 1

    def _approved(self, plan: PlanTerms) -> Transition:
        if plan.kind == "modification":
            return Transition(None, "permanent loan modification approved", CaseOutcome.MODIFIED)
        self._m.forbearance = ForbearanceRequest(
            by="loss_mitigation",
            reason=f"{plan.kind} approved",
            kind="reduced",
            months=plan.months,
            reduced_amount=plan.amount,
        )
        return Transition(CaseStage.FORBEARANCE, f"{plan.kind} approved for {plan.months} months")

    def _accept_by(self, app: ApplicationState) -> date:
        pack = self._pack
        days = pack.acceptance_days if self._appeal_eligible(app) else pack.acceptance_days_near_sale
        return self._today() + timedelta(days=days)

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
        await self._do(
            Step(
                key=f"loss_mitigation.{number}.{kind}_decision",
                day=self._today(),
                kind=StepKind.MESSAGE,
                rule=self._pack.evaluation_rule if kind == "evaluation" else self._pack.appeal_rule,
                channel=Channel.LETTER,
                document="evaluation_decision",
                collection=False,
                detail=terms,
                facts=facts,
            )
        )

    async def _forbearance(self) -> Transition:
        plan = self._m.forbearance
        assert plan is not None
        pack, today = self._pack, self._today()
        eba = self._m.eba
        if eba.forborne:
            eba.reforbearance_count += 1
            eba.non_performing = True  # re-forbearance during probation: back to non-performing
        else:
            eba.forborne = True
            eba.non_performing = self._days_past_due() > 90
        eba.forborne_since = today
        eba.cure_period_ends = add_months(today, 12)
        eba.probation_ends = add_months(eba.cure_period_ends, 24)
        key = f"forbearance.{len(self._m.history)}"
        await self._do(
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
            await self._do(Step(key=f"{key}.fee", day=today, kind=StepKind.FEE, rule=fee[1], amount=fee[0]))
        end = add_months(today, plan.months)
        self._show_one(f"{key}.review", "task", end, pack.forbearance_rule)
        await self._sleep_until(end, lambda: False)
        review = await self._task(
            f"{key}.review",
            "forbearance_review",
            pack.forbearance_rule,
            end + timedelta(days=pack.forbearance_review_days),
        )
        assert review is not None
        self._m.forbearance = None
        if review.decision == "modification":
            return Transition(None, "forbearance ended in a modification", CaseOutcome.MODIFIED)
        if review.decision == "repayment_plan":
            terms = review.plan or PlanTerms(kind="repayment_plan")
            return self._approved(terms)
        if self._m.arrears <= 0:
            return Transition(None, "reinstated with arrears paid", CaseOutcome.CURED)
        return Transition(CaseStage.EARLY, "forbearance over: reinstated, arrears still due")

    async def _enforcement(self) -> Transition:
        if self._m.enforcement_started is None:
            self._m.enforcement_started = self._today()
        steps = self._pack.enforcement_steps(start=self._m.enforcement_started, arrears=self._m.arrears)
        for step in steps:
            if step.key in self._m.done:
                continue
            self._show([s for s in steps if s.key not in self._m.done])
            await self._sleep_until(step.day, lambda: False)
            if step.foreclosure:
                await self._foreclosure_clear(step)
            if step.kind is StepKind.TASK and step.task_kind is not None and step.sla_due is not None:
                decision = await self._task(step.key, step.task_kind, step.rule, step.sla_due)
                if decision is not None and decision.decision == "active":
                    await self._set_hold(
                        HoldChange(
                            by=decision.by,
                            reason="SCRA check: active duty",
                            kind="scra",
                            active=True,
                            until=decision.service_end,
                        )
                    )
                self._m.done[step.key] = self._today()
                continue
            await self._do(step)
            if step.closes_with is not None:
                return Transition(None, step.detail or step.rule.id, step.closes_with)
        self._show([])
        await workflow.wait_condition(lambda: False)  # with legal collection: until paid or closed
        raise AssertionError("unreachable")

    async def _foreclosure_clear(self, step: Step) -> None:
        """Hold a foreclosure step until no rule forbids it, recording each refusal once."""
        refused: set[str] = set()
        while True:
            rule = self._pack.foreclosure_blocked(
                day=self._today(),
                delinquent_since=self._delinquent_since(),
                application_pending=self._application_pending(),
                scra=self._scra_active(),
            )
            if rule is None:
                return
            if rule.id not in refused:
                refused.add(rule.id)
                await self._record(
                    key=f"{step.key}.refused.{rule.id}",
                    kind=step.kind.value,
                    status="refused",
                    rule=rule,
                    detail=f"{step.key} held back",
                    foreclosure=False,
                )
            await self._sleep_until(self._clearance_day(), self._changed())

    def _clearance_day(self) -> date:
        """The next day a foreclosure block may lift by itself (else a change wakes the wait)."""
        days = [
            self._delinquent_since() + timedelta(days=self._pack.enforcement_day()),
            *(h.until for h in self._active_holds() if h.kind == "scra" and h.until is not None),
        ]
        ahead = [d for d in days if d > self._today()]
        return min(ahead) if ahead else self._today() + timedelta(days=365)

    async def _stay(self) -> Transition:
        stay = self._m.stay
        assert stay is not None
        await self._cancel_open_tasks("bankruptcy stay")
        bar_date = stay.filed_on + timedelta(days=self._pack.proof_of_claim_days)
        poc_key = f"bankruptcy.{stay.court_case}.proof_of_claim"
        first = poc_key not in self._m.tasks
        await self._task(poc_key, "proof_of_claim", self._pack.proof_of_claim_rule, bar_date, wait=False)
        cover = self._pack.proof_of_claim_document
        if first and cover is not None and self._patched(DOCUMENTS_PATCH):
            # the cover sheet staff file with the claim: stored, not sent to the borrower
            await self._do(
                Step(
                    key=f"{poc_key}.cover",
                    day=self._today(),
                    kind=StepKind.MESSAGE,
                    rule=self._pack.proof_of_claim_rule,
                    document=cover,
                    collection=False,
                    deadline=bar_date,
                    facts={
                        "court_case": stay.court_case,
                        "chapter": str(stay.chapter),
                        "filed_on": stay.filed_on.isoformat(),
                    },
                    detail=f"proof of claim due {bar_date.isoformat()}",
                )
            )
        if stay.ends_on is not None:
            self._show_one(
                f"bankruptcy.{stay.court_case}.stay_ends", "deadline", stay.ends_on, self._pack.stay_rule
            )
            await self._sleep_until(stay.ends_on, lambda: stay.resolution is not None)
        else:
            await workflow.wait_condition(lambda: stay.resolution is not None)
        resolution = stay.resolution or "expired"
        stay.resolution = resolution
        self._close_stay()
        if resolution == "discharge":
            return Transition(None, "debt discharged in bankruptcy", CaseOutcome.CHARGED_OFF)
        if self._m.arrears <= 0:
            return Transition(None, f"stay {resolution}; arrears paid", CaseOutcome.CURED)
        return Transition(stay.resume_stage, f"stay ended by {resolution}")

    def _close_stay(self) -> None:
        if self._m.stays and self._m.stays[-1].end is None:
            self._m.stays[-1].end = workflow.now()
        for hold in self._m.holds:
            if hold.kind == "stay" and hold.until is None:
                hold.until = self._today()
        self._m.stay = None

    # ------------------------------------------------------------------ prudential status
    async def _watch_default(self) -> None:
        """Mark the exposure defaulted once it is more than 90 days past due on a material amount.

        Checked on day 91 and then every 30 days while the arrears stay immaterial; a default
        makes the exposure non-performing for reporting (EBA/GL/2016/07).
        """
        pack, eba = self._pack, self._m.eba
        thresholds = pack.default_materiality
        assert thresholds is not None
        check_on = self._delinquent_since() + timedelta(days=pack.default_days + 1)
        while eba.defaulted_on is None:
            await self._sleep_until(check_on, lambda: False)
            if self._m.arrears > 0 and material_arrears(
                self._m.arrears + self._m.fees, self._in.exposure, thresholds
            ):
                eba.defaulted_on = self._today()
                eba.non_performing = True
                self._version += 1
                await self._record(
                    key="eba.default",
                    kind="eba",
                    status="done",
                    rule=pack.default_rule,
                    detail=f"{self._days_past_due()} days past due on {self._m.arrears + self._m.fees} "
                    f"{self._in.currency}: defaulted, non-performing",
                    collection=False,
                )
                return
            check_on = self._today() + timedelta(days=30)

    # ------------------------------------------------------------------ obligations that repeat
    async def _obligations(self) -> None:
        """Recurring duties (US early intervention) that run beside the early, loss-mitigation
        and enforcement stages, never during a stay or forbearance."""
        # Cases opened before the validation notice and personnel assignment existed skip them.
        at_opening = self._patched("reg-f-validation-and-continuity-of-contact")
        steps = [
            s
            for s in self._pack.recurring_obligations(
                delinquent_since=self._delinquent_since(), opened_on=self._in.as_of
            )
            if s.key not in self._m.done and (at_opening or not s.key.startswith(_AT_OPENING))
        ]
        for i, step in enumerate(steps):
            day = step.day
            if step.kind is StepKind.TASK and step.sla_due is not None and step.sla_due < self._today():
                continue  # a due date long past: its contact window has closed
            if step.series is not None:
                later = [s for s in steps[i + 1 :] if s.series == step.series and s.day <= self._today()]
                if later:
                    continue  # a newer notice of the series is due too: send only that one
                last = self._m.series_last.get(step.series)
                if last is not None:
                    day = max(day, last + timedelta(days=step.min_gap_days))
            await self._sleep_until(day, lambda: False)
            if step.kind is StepKind.TASK and step.task_kind and step.sla_due:
                await self._task(step.key, step.task_kind, step.rule, step.sla_due, wait=False)
                self._m.done[step.key] = self._today()
            else:
                await self._do(step)

    # ------------------------------------------------------------------ steps, tasks, records
    async def _do(self, step: Step, *, due: date | None = None) -> None:
        """Take one step now, unless a hold suppresses it; record it with its rule either way."""
        hold = self._suppressing_hold(step)
        if hold is not None:
            await self._record(
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
                self._m.fees += step.amount
            detail = step.detail
            status: Literal["done", "suppressed"] = "done"
            sent: SendResult | None = None
            if step.document is not None and self._patched(DOCUMENTS_PATCH):
                draft = (
                    self._action(
                        key=step.key,
                        kind=step.kind.value,
                        status="done",
                        rule=step.rule,
                        step=step,
                        due=due or step.day,
                        detail=detail,
                    )
                    if self._generation >= 2
                    else None
                )
                sent = await self._send(step, draft)
                status, detail = sent.step_outcome(step.document, detail)
            if sent is not None and sent.record is not None:
                self._remember(sent.record)  # the send wrote it, in the transaction of its outcome
            else:
                await self._record(
                    key=step.key,
                    kind=step.kind.value,
                    status=status,
                    rule=step.rule,
                    step=step,
                    due=due or step.day,
                    detail=detail,
                )
            if step.series is not None:
                self._m.series_last[step.series] = self._today()
        self._m.done[step.key] = self._today()

    async def _send(self, step: Step, record: ActionRecord | None) -> SendResult:
        """Render and deliver the step's document; wait out a contact rule's "not now" and retry.

        With `record`, the activity also writes the step's audit record once the send is over.
        """
        assert step.document is not None
        refusals = 0
        while True:
            request = SendRequest(
                case_id=self._in.case_id,
                step=step.key,
                document=step.document,
                channel=step.channel,
                collection=step.collection,
                holds=self._barring_holds(step),
                arrears=self._m.arrears,
                fees=self._m.fees,
                days_past_due=self._days_past_due(),
                delinquent_since=self._delinquent_since(),
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
            await self._record(
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
        kinds = ["stay"] if self._m.stay is not None else []
        for hold in self._active_holds():
            if hold.kind in ("cease", "dispute") and (not hold.channels or step.channel in hold.channels):
                kinds.append(hold.kind)
        return kinds

    def _suppressing_hold(self, step: Step) -> Hold | None:
        if step.kind is not StepKind.MESSAGE or not step.collection:
            return None
        for hold in self._active_holds():
            if hold.kind in ("dispute", "cease") and (not hold.channels or step.channel in hold.channels):
                return hold
        return None

    async def _record(
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
    ) -> None:
        record = self._action(
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
        self._remember(record)
        await self._activity(
            "record_action",
            ActionInput(
                case_id=self._in.case_id,
                loan_id=self._in.loan_id,
                record=record,
                actor=actor,
                role=role,
                reason=detail or key,
            ),
        )

    def _action(
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

    def _remember(self, record: ActionRecord) -> None:
        self._m.actions.append(record)
        del self._m.actions[:-ACTIONS_KEPT]

    async def _staff_record(
        self, who: Staff, *, key: str, kind: str, rule: Rule, detail: str, role: str = "staff"
    ) -> None:
        """Record what a person did or decided on the case, under its rule."""
        await self._record(
            key=key,
            kind=kind,
            status="done",
            rule=rule,
            detail=detail,
            collection=False,
            actor=who.by,
            role=who.role or role,
        )

    async def _task(
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
        existing = self._m.tasks.get(key)
        if existing is None or existing.status == "cancelled":  # new, or reopened after a stay
            view = TaskView(key=key, kind=kind, rule_id=rule.id, citation=rule.citation, due=due)
            self._m.tasks[key] = view
            self._version += 1
            await self._activity(
                "create_task", TaskInput(case_id=self._in.case_id, task=view, at=workflow.now())
            )
            self._watchers.append(asyncio.create_task(self._watch_sla(key, due)))
        if not wait:
            return None
        if fallback:
            await self._sleep_until(fallback_on or due, lambda: key in self._decisions)
            if key not in self._decisions:
                await self._cancel_task(self._m.tasks[key], "deadline reached: handled by the fallback")
            return self._decisions.pop(key, None)
        await workflow.wait_condition(lambda: key in self._decisions)
        return self._decisions.pop(key)

    async def _watch_sla(self, key: str, due: date) -> None:
        """Escalate the task to a supervisor when its due day is over and it is still open.

        A plain sleep, never cancelled: a decided task's timer just fires and finds nothing to do.
        """
        delay = _midnight(due + timedelta(days=1)) - workflow.now()
        if delay > timedelta(0):
            await workflow.sleep(delay)
        elif not self._patched("escalate-overdue-task"):
            return  # before the patch a past SLA day failed this watcher: it never escalated
        task = self._m.tasks.get(key)
        if task is None or task.status != "open" or task.due != due:
            return
        task.status = "escalated"
        self._version += 1
        await self._activity(
            "finish_task",
            TaskOutcome(
                case_id=self._in.case_id,
                key=task.key,
                status="escalated",
                at=workflow.now(),
                reason=f"SLA {task.due.isoformat()} passed; escalated to a supervisor",
            ),
        )

    async def _cancel_open_tasks(self, reason: str) -> None:
        for task in list(self._m.tasks.values()):
            if task.status in ("open", "escalated") and task.kind != "proof_of_claim":
                await self._cancel_task(task, reason)

    async def _cancel_task(self, task: TaskView, reason: str) -> None:
        task.status = "cancelled"
        self._version += 1
        await self._activity(
            "finish_task",
            TaskOutcome(
                case_id=self._in.case_id,
                key=task.key,
                status="cancelled",
                at=workflow.now(),
                reason=reason,
                task=task,
            ),
        )

    # ------------------------------------------------------------------ payments and holds
    async def _payments_loop(self) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(self._pending))
            payment = self._pending.pop(0)
            if payment.external_id in self._m.payments_applied:
                continue  # the loan system re-sent a payment already applied
            self._m.payments_applied.append(payment.external_id)
            self._m.arrears = max(Decimal("0"), self._m.arrears - payment.amount)
            if self._m.promise is not None:
                self._m.promise_paid += payment.amount
            self._version += 1
            await self._activity(
                "record_payment",
                PaymentRecord(
                    case_id=self._in.case_id,
                    loan_id=self._in.loan_id,
                    payment=payment,
                    arrears_after=self._m.arrears,
                ),
            )
            self._upsert_search_attributes()
            if self._m.arrears <= 0 and self._m.outcome is None and self._m.stay is None:
                self._interrupt_with(Transition(None, "arrears paid in full", CaseOutcome.CURED, priority=1))

    async def _set_hold(self, change: HoldChange) -> None:
        today = self._today()
        for hold in self._active_holds():
            if hold.kind == change.kind:
                hold.until = today
        if change.active:
            rule = HOLD_RULES[change.kind]
            until = change.until + timedelta(days=365) if change.kind == "scra" and change.until else None
            self._m.holds.append(
                Hold(
                    kind=change.kind,
                    since=today,
                    until=until,
                    channels=change.channels,
                    rule_id=rule.id,
                    citation=rule.citation,
                )
            )
        self._version += 1
        cap = self._pack.scra_rate_cap()
        if change.kind == "scra" and change.active and cap is not None and self._patched("scra-rate-cap"):
            await self._task(
                f"scra.rate_cap.{len(self._m.holds)}",
                "scra_rate_cap",
                cap,
                today + timedelta(days=30),
                wait=False,
            )
        await self._staff_record(
            change,
            key=f"hold.{change.kind}.{len(self._m.holds)}.{'on' if change.active else 'off'}",
            kind="hold",
            rule=HOLD_RULES[change.kind],
            detail=f"{change.kind} {'set' if change.active else 'lifted'}: {change.reason}",
        )

    def _active_holds(self) -> list[Hold]:
        today = self._today()
        return [h for h in self._m.holds if h.until is None or h.until > today]

    def _scra_active(self) -> bool:
        return any(h.kind == "scra" for h in self._active_holds())

    def _application_pending(self) -> bool:
        return bool(self._m.applications_pending) and self._m.applications_pending[-1].end is None

    # ------------------------------------------------------------------ signals and updates
    @workflow.signal
    def payment(self, payment: PaymentSignal) -> None:
        """A payment arrived from the loan system."""
        self._pending.append(payment)

    @workflow.update
    async def record_contact(self, contact: ContactRecord) -> str:
        """Staff reached (or tried to reach) the borrower."""
        await self._staff_record(
            contact,
            key=f"contact.{len(self._m.actions)}",
            kind="contact",
            rule=Rule("contact.recorded", "12 CFR 1024.39(a); 12 CFR 1006.14(b)"),
            detail=f"{contact.channel.value}: {contact.outcome}; {contact.reason}",
        )
        return "recorded"

    @record_contact.validator
    def _validate_contact(self, contact: ContactRecord) -> None:
        self._require_open()

    @workflow.update
    async def record_promise(self, promise: PromiseToPay) -> str:
        """Record a promise to pay: reminders wait until its date."""
        self._m.promise = promise
        self._m.promise_paid = Decimal("0")
        self._version += 1
        await self._staff_record(
            promise,
            key=f"promise.{len(self._m.actions)}.recorded",
            kind="promise",
            rule=self._pack.promise_rule,
            detail=f"promised {promise.amount} by {promise.due.isoformat()}: {promise.reason}",
        )
        return "recorded"

    @record_promise.validator
    def _validate_promise(self, promise: PromiseToPay) -> None:
        self._require_open()
        if self._m.stage is not CaseStage.EARLY:
            raise ApplicationError(f"promises are taken in the early stage, not {self._m.stage.value}")
        if self._m.promise is not None:
            raise ApplicationError("a promise is already pending")
        if promise.due <= self._today():
            raise ApplicationError("the promised date must be in the future")
        if promise.due > self._today() + timedelta(days=60):
            raise ApplicationError("a promise may run at most 60 days")

    @workflow.update
    async def submit_application(self, application: LossMitigationApplication) -> str:
        """A loss-mitigation application was received."""
        self._m.applications += 1
        app = ApplicationState(
            number=self._m.applications,
            received_on=application.received_on,
            complete_on=application.received_on if application.complete else None,
            sale_date=application.sale_date,
            status="received",
        )
        self._m.application = app
        if application.complete and self._protected(app):
            self._m.applications_pending.append(Period(start=workflow.now()))
        if self._m.stage in (CaseStage.EARLY, CaseStage.ENFORCEMENT):
            self._m.resume_stage = self._m.stage
        self._version += 1
        self._interrupt_with(
            Transition(CaseStage.LOSS_MITIGATION, f"application received: {application.reason}")
        )
        return f"application {app.number} received"

    @submit_application.validator
    def _validate_application(self, application: LossMitigationApplication) -> None:
        self._require_open()
        if self._m.stay is not None:
            raise ApplicationError("a bankruptcy stay is in force; the court's plan rules")
        if self._m.stage is CaseStage.LOSS_MITIGATION:
            raise ApplicationError("an application is already being handled")
        if application.received_on > self._today():
            raise ApplicationError("received_on is in the future")

    @workflow.update
    async def appeal(self, appeal: Appeal) -> str:
        """The borrower appeals a denial within the appeal window."""
        assert self._m.application is not None
        self._m.application.appeal_requested = True
        self._version += 1
        return "appeal received"

    @appeal.validator
    def _validate_appeal(self, appeal: Appeal) -> None:
        app = self._m.application
        if app is None or app.status != "denied" or self._m.stage is not CaseStage.LOSS_MITIGATION:
            raise ApplicationError("there is no denial open to appeal")

    @workflow.update
    async def request_forbearance(self, request: ForbearanceRequest) -> str:
        """Grant a forbearance plan: a pause or reduced payments for N months."""
        self._m.forbearance = request
        if self._m.stage in (CaseStage.EARLY, CaseStage.ENFORCEMENT):
            self._m.resume_stage = self._m.stage
        self._interrupt_with(Transition(CaseStage.FORBEARANCE, f"forbearance: {request.reason}"))
        return "forbearance granted"

    @request_forbearance.validator
    def _validate_forbearance(self, request: ForbearanceRequest) -> None:
        self._require_open()
        if request.kind == "reduced" and request.reduced_amount is None:
            raise ApplicationError("reduced payments need their monthly amount (reduced_amount)")
        if self._m.stay is not None:
            raise ApplicationError("a bankruptcy stay is in force")
        if self._m.stage in (CaseStage.FORBEARANCE, CaseStage.LOSS_MITIGATION):
            raise ApplicationError(f"not while in {self._m.stage.value}")
        if request.kind == "reduced" and request.reduced_amount is None:
            raise ApplicationError("reduced payments need reduced_amount")

    @workflow.update
    async def record_bankruptcy(self, filing: BankruptcyFiling) -> str:
        """A bankruptcy filing: the stay stops every collection action at once, if it arises."""
        rule = self._pack.stay(prior_dismissed_within_year=filing.prior_dismissed_within_year)
        hold_rule = rule.rule
        if not rule.in_force:
            await self._staff_record(
                filing,
                key=f"bankruptcy.{filing.court_case}.no_stay",
                kind="bankruptcy",
                rule=hold_rule,
                detail=f"chapter {filing.chapter} filed {filing.filed_on}: no stay arises (repeat filer)",
            )
            return "no stay arises"
        resume = self._m.stage if self._m.stage is not CaseStage.BANKRUPTCY_STAY else CaseStage.EARLY
        ends_on = filing.filed_on + timedelta(days=rule.ends_after_days) if rule.ends_after_days else None
        self._m.stay = StayState(
            chapter=filing.chapter,
            court_case=filing.court_case,
            filed_on=filing.filed_on,
            ends_on=ends_on,
            resume_stage=resume if resume is not CaseStage.LOSS_MITIGATION else CaseStage.EARLY,
        )
        self._m.stays.append(Period(start=workflow.now()))
        self._m.holds.append(
            Hold(
                kind="stay",
                since=self._today(),
                until=None,
                rule_id=hold_rule.id,
                citation=hold_rule.citation,
            )
        )
        self._m.promise = None
        self._end_pending_application()
        self._version += 1
        self._interrupt_with(
            Transition(
                CaseStage.BANKRUPTCY_STAY, f"chapter {filing.chapter} case {filing.court_case}", priority=2
            )
        )
        return "stay in force" + (f" until {ends_on.isoformat()}" if ends_on else "")

    @record_bankruptcy.validator
    def _validate_bankruptcy(self, filing: BankruptcyFiling) -> None:
        self._require_open()
        if self._m.stay is not None:
            raise ApplicationError("a stay is already in force")
        if filing.filed_on > self._today():
            raise ApplicationError("filed_on is in the future")

    @workflow.update
    async def resolve_bankruptcy(self, resolution: BankruptcyResolution) -> str:
        """Relief from stay, dismissal or discharge."""
        assert self._m.stay is not None
        self._m.stay.resolution = resolution.kind
        self._version += 1
        await self._staff_record(
            resolution,
            key=f"bankruptcy.{self._m.stay.court_case}.{resolution.kind}",
            kind="bankruptcy",
            rule=self._pack.stay_rule,
            detail=f"{resolution.kind} on {resolution.on.isoformat()}: {resolution.reason}",
        )
        return resolution.kind

    @resolve_bankruptcy.validator
    def _validate_resolution(self, resolution: BankruptcyResolution) -> None:
        if self._m.stay is None or self._m.stay.resolution is not None:
            raise ApplicationError("no bankruptcy stay is in force")

    @workflow.update
    async def record_payment_change(self, change: PaymentChange) -> str:
        """Give the chapter 13 payment-change notice (a stay-safe notice the court rules require)."""
        rules = self._pack.chapter13_notices()
        assert rules is not None and self._m.stay is not None
        await self._do(
            Step(
                key=f"bankruptcy.{self._m.stay.court_case}.payment_change.{change.effective_on.isoformat()}",
                day=self._today(),
                kind=StepKind.MESSAGE,
                rule=rules[0],
                channel=Channel.LETTER,
                document="payment_change_notice",
                amount=change.new_amount,
                collection=False,
                facts={
                    "court_case": self._m.stay.court_case,
                    "effective_on": change.effective_on.isoformat(),
                },
                detail=f"new payment {change.new_amount} from {change.effective_on.isoformat()}",
            ),
            due=change.effective_on - timedelta(days=rules[1]),
        )
        return "notice given"

    @record_payment_change.validator
    def _validate_payment_change(self, change: PaymentChange) -> None:
        rules = self._chapter13_rules()
        if change.effective_on < self._today() + timedelta(days=rules[1]):
            raise ApplicationError(
                f"{rules[0].citation}: notice must be given at least {rules[1]} days before the new "
                f"payment is due; the earliest effective date now is "
                f"{(self._today() + timedelta(days=rules[1])).isoformat()}"
            )

    @workflow.update
    async def record_post_petition_fee(self, fee: PostPetitionFee) -> str:
        """A post-petition fee: a task to file its notice within the rule's days."""
        rules = self._chapter13_rules()
        assert self._m.stay is not None
        due = fee.incurred_on + timedelta(days=rules[3])
        await self._task(
            f"bankruptcy.{self._m.stay.court_case}.fee_notice.{fee.incurred_on.isoformat()}.{len(self._m.tasks)}",
            "fee_notice",
            rules[2],
            due,
            wait=False,
        )
        return f"fee notice due by {due.isoformat()}"

    @record_post_petition_fee.validator
    def _validate_fee(self, fee: PostPetitionFee) -> None:
        self._chapter13_rules()
        if fee.incurred_on > self._today():
            raise ApplicationError("incurred_on is in the future")

    def _chapter13_rules(self) -> tuple[Rule, int, Rule, int]:
        rules = self._pack.chapter13_notices()
        if rules is None or self._m.stay is None or self._m.stay.chapter != 13:
            raise ApplicationError("only during a chapter 13 stay under a pack with FRBP 3002.1")
        return rules

    @workflow.update
    async def set_hold(self, change: HoldChange) -> str:
        """A dispute, cease-communication request or SCRA status, set or lifted."""
        await self._set_hold(change)
        return f"{change.kind} {'set' if change.active else 'lifted'}"

    @set_hold.validator
    def _validate_hold(self, change: HoldChange) -> None:
        self._require_open()
        if change.kind == "scra" and change.active and change.until is None:
            raise ApplicationError("an SCRA hold needs the end of service (until)")

    @workflow.update
    async def complete_task(self, decision: TaskDecision) -> str:
        """Staff decide a task; the waiting stage continues with the decision."""
        task = self._m.tasks[decision.task]
        task.status = "done"
        task.decision = decision.decision
        task.decided_by = decision.by
        proposal = self._m.close_proposal
        if task.kind == "close_approval" and proposal is not None:
            self._m.close_proposal = None
            if decision.decision == "approve":
                self._close(proposal.outcome, proposal.by, f"{proposal.reason} (approved by {decision.by})")
        else:
            self._decisions[decision.task] = decision
        self._version += 1
        await self._activity(
            "finish_task",
            TaskOutcome(
                case_id=self._in.case_id,
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

    @complete_task.validator
    def _validate_decision(self, decision: TaskDecision) -> None:
        task = self._m.tasks.get(decision.task)
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
                self._require_plan_amount(decision.plan)
            if decision.decision == "deny" and not decision.denial_reasons:
                raise ApplicationError("a denial needs its specific reasons")
        if task.kind == "appeal_review":
            app = self._m.application
            if app is not None and app.first_decider == decision.by:
                raise ApplicationError("the appeal must be decided by someone other than the first decider")
        if task.kind == "forbearance_review" and decision.decision == "repayment_plan":
            self._require_plan_amount(decision.plan or PlanTerms(kind="repayment_plan"))
        if task.kind == "scra_check" and decision.decision == "active" and decision.service_end is None:
            raise ApplicationError("active duty needs service_end")
        if task.kind == "close_approval":
            self._validate_close_approval(decision)

    def _validate_close_approval(self, decision: TaskDecision) -> None:
        proposal = self._m.close_proposal
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
            self._require_open()
            self._check_close(proposal.outcome, proposal.reason)  # the facts may have changed since

    @staticmethod
    def _require_plan_amount(plan: PlanTerms | None) -> None:
        # the agreement letter states the monthly amount: without one it could never be sent
        if plan is not None and plan.kind != "modification" and plan.amount is None:
            raise ApplicationError(f"a {plan.kind} needs its monthly amount (plan.amount)")

    @workflow.update
    async def close_case(self, request: CloseRequest) -> str:
        """A supervisor closes the case with an outcome; with four eyes, a second approves it."""
        if request.approval_required:
            key = f"close_approval.{len(self._m.history)}.{workflow.now():%Y%m%d%H%M%S}"
            self._m.close_proposal = CloseProposal(
                outcome=request.outcome, by=request.by, reason=request.reason, at=workflow.now(), task=key
            )
            await self._staff_record(
                request,
                key=f"case.close.{request.outcome.value}.proposed",
                kind="close",
                rule=FOUR_EYES_RULE,
                detail=request.reason,
                role="supervisor",
            )
            due = self._today() + timedelta(days=APPROVAL_SLA_DAYS)
            await self._task(key, "close_approval", FOUR_EYES_RULE, due, wait=False)
            return f"close as {request.outcome.value} proposed: a second supervisor approves it"
        self._close(request.outcome, request.by, request.reason)
        await self._staff_record(
            request,
            key=f"case.close.{request.outcome.value}",
            kind="close",
            rule=CLOSE_RULE,
            detail=request.reason,
            role="supervisor",
        )
        return f"closing as {request.outcome.value}"

    def _close(self, outcome: CaseOutcome, by: str, reason: str) -> None:
        self._interrupt_with(Transition(None, f"closed by {by}: {reason}", outcome, 3))

    @close_case.validator
    def _validate_close(self, request: CloseRequest) -> None:
        self._require_open()
        if self._m.close_proposal is not None:
            raise ApplicationError(
                f"a close as {self._m.close_proposal.outcome.value} by {self._m.close_proposal.by} "
                "awaits approval; approve or reject it first"
            )
        if self._m.stay is not None and request.outcome is not CaseOutcome.TRANSFERRED:
            raise ApplicationError("during a bankruptcy stay a case can only be transferred")
        self._check_close(request.outcome, request.reason)

    def _check_close(self, outcome: CaseOutcome, reason: str) -> None:
        """Refuse an outcome the case's facts do not show, with the rule (the reports count it)."""
        facts = CloseFacts(
            arrears=self._m.arrears,
            fees=self._m.fees,
            days_past_due=self._days_past_due(),
            sale_held="foreclosure.sale_held" in self._m.done,
            defaulted=self._m.eba.defaulted_on is not None,
        )
        refusal = close_refusal(self._pack, outcome, reason, facts)
        if refusal is not None:
            raise ApplicationError(refusal, type="CloseRefused")

    def _require_open(self) -> None:
        if self._m.outcome is not None or (self._interrupt is not None and self._interrupt.outcome):
            raise ApplicationError("the case is closed or closing")

    # ------------------------------------------------------------------ query
    @workflow.query
    def state(self) -> CaseState:
        """Where the case stands: stage, next actions, tasks, holds, history."""
        case = self._in
        return CaseState(
            case_id=case.case_id,
            loan_external_id=case.loan_external_id,
            policy_pack=case.policy_pack,
            stage=self._m.stage,
            outcome=self._m.outcome,
            segment=self._m.segment,
            arrears=self._m.arrears,
            fees=self._m.fees,
            currency=case.currency,
            delinquent_since=self._delinquent_since(),
            days_past_due=self._days_past_due(),
            as_of=workflow.now(),
            payments_applied=list(self._m.payments_applied),
            next_actions=list(self._next),
            open_tasks=[t for t in self._m.tasks.values() if t.status in ("open", "escalated")],
            holds=self._active_holds(),
            application=self._m.application,
            forbearance=self._m.forbearance,
            eba=self._m.eba,
            actions=list(self._m.actions),
            history=list(self._m.history),
            stay_periods=list(self._m.stays),
            application_periods=list(self._m.applications_pending),
            close_proposal=self._m.close_proposal,
        )

    @workflow.query
    def memory(self) -> CaseMemory:
        """Everything the case remembers: what continue-as-new carries into the next run."""
        return self._m

    # ------------------------------------------------------------------ helpers
    async def _enter(self, stage: CaseStage, reason: str) -> None:
        self._m.stage = stage
        now = workflow.now()
        self._m.history.append(StageChange(stage=stage, at=now, reason=reason))
        self._version += 1
        self._upsert_search_attributes()
        await self._activity(
            "record_stage",
            StageUpdate(
                case_id=self._in.case_id,
                stage=stage,
                at=now,
                reason=reason,
                sequence=len(self._m.history),
                days_past_due=self._days_past_due(),
                facts=self._stage_facts(stage),
            ),
        )

    def _stage_facts(self, stage: CaseStage) -> dict[str, str]:
        """Facts the reports group a stage by (an activity input, so history replays unchanged)."""
        if stage is CaseStage.BANKRUPTCY_STAY and self._m.stay is not None:
            return {"chapter": str(self._m.stay.chapter), "court_case": self._m.stay.court_case}
        return {}

    async def _sleep_until(self, day: date, wake: Callable[[], bool]) -> bool:
        """Sleep until the start of `day` (UTC); True if `wake` became true first."""
        delta = _midnight(day) - workflow.now()
        if wake():
            return True
        if delta <= timedelta(0):
            return False
        try:
            await workflow.wait_condition(wake, timeout=delta)
        except TimeoutError:
            return False
        return True

    def _changed(self) -> Callable[[], bool]:
        """A wake-up condition: anything changed since now."""
        version = self._version
        return lambda: self._version != version

    def _show(self, steps: list[Step]) -> None:
        self._next = [
            ScheduledAction(
                key=s.key,
                kind=s.kind.value,
                due=s.day,
                rule_id=s.rule.id,
                citation=s.rule.citation,
                detail=s.detail,
            )
            for s in steps[:8]
        ]

    def _show_one(self, key: str, kind: str, due: date, rule: Rule) -> None:
        self._next = [ScheduledAction(key=key, kind=kind, due=due, rule_id=rule.id, citation=rule.citation)]

    async def _activity(self, name: str, arg: BaseModel) -> None:
        """A short, idempotent row write: a local activity (a regular one in runs from before)."""
        if self._patched(LOCAL_WRITES_PATCH):
            await workflow.execute_local_activity(
                name, arg, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY
            )
        else:
            await workflow.execute_activity(
                name, arg, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY
            )

    def _patched(self, patch_id: str) -> bool:
        """A patch: applied in runs started on this code (one marker for all), else as recorded."""
        return self._generation >= 1 or workflow.patched(patch_id)

    def _today(self) -> date:
        return workflow.now().date()

    def _delinquent_since(self) -> date:
        return self._in.as_of - timedelta(days=self._in.days_past_due)

    def _days_past_due(self) -> int:
        if self._m.arrears <= 0:
            return 0
        return (self._today() - self._delinquent_since()).days

    def _upsert_search_attributes(self) -> None:
        updates: list[SearchAttributeUpdate[Any]] = [
            search.CASE_STAGE.value_set(self._m.stage.value),
            search.DAYS_PAST_DUE.value_set(self._days_past_due()),
            search.POLICY_PACK.value_set(self._in.policy_pack.value),
            search.ARREARS_AMOUNT.value_set(float(self._m.arrears)),
        ]
        if self._generation >= 2:
            # one history event saved when nothing changed (the opening stage, as intake set it)
            known = workflow.info().typed_search_attributes
            updates = [u for u in updates if known.get(u.key) != u.value]
            if not updates:
                return
        workflow.upsert_search_attributes(updates)
