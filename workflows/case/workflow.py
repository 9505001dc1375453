"""CaseWorkflow: one durable execution per delinquent loan, `loan-<loan id>`.

Structure: one workflow per case, each stage a coroutine run as a cancellable task inside it
(not child workflows). A bankruptcy filing, a cure or a supervisor's close cancels the stage
task at once, so every pending timer and reminder stops within the same workflow task, and
the workflow stays the single writer of case state. The policy pack says what comes next and
when; every step records the rule and citation it was taken under.

This class is the shell: the run loop, the handlers and the queries. The stages and the rules
behind the handlers live in one helper object per domain, all sharing one `Case` context.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from models.enums import CaseStage
    from policies.delinquency import due_schedule
    from policies.strategy import VariantRefused
    from policies.strategy import apply as apply_variant
    from workflows.commands import CallbackRequest
    from workflows.dto import (
        Appeal,
        BankruptcyCaseEnd,
        BankruptcyFacts,
        BankruptcyFiling,
        BankruptcyResolution,
        CaseInput,
        CaseMemory,
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
        StageChange,
        StageUpdate,
        StayOrder,
        TaskDecision,
    )

from workflows.case.bankruptcy import Bankruptcy
from workflows.case.callbacks import Callbacks
from workflows.case.closing import Closing
from workflows.case.context import Case, Transition
from workflows.case.effects import Effects, cancelled, observe
from workflows.case.enforcement import Enforcement
from workflows.case.forbearance import Forbearance
from workflows.case.holds import Holds
from workflows.case.loss_mitigation import LossMitigation
from workflows.case.patches import (
    DUE_SCHEDULE_PATCH,
    EBA_DEFAULT_PATCH,
    GENERATIONS,
    STRATEGY_VARIANT_PATCH,
)
from workflows.case.payments import Payments
from workflows.case.reminders import Reminders
from workflows.case.segments import SET_SCORED_SEGMENT, Segments
from workflows.case.tasks import Tasks


@workflow.defn(name="CaseWorkflow")
class CaseWorkflow:
    """Runs a case from intake to its outcome."""

    @workflow.init
    def __init__(self, case: CaseInput) -> None:
        self._c = c = Case(case)
        self._fx = fx = Effects(c)
        self._tasks = tasks = Tasks(c, fx)
        self._holds = holds = Holds(c, fx, tasks)
        self._payments = Payments(c, fx)
        self._reminders = Reminders(c, fx, tasks)
        self._loss_mitigation = LossMitigation(c, fx, tasks)
        self._forbearance = Forbearance(c, fx, tasks)
        self._bankruptcy = Bankruptcy(c, fx, tasks)
        self._enforcement = Enforcement(c, fx, tasks, holds)
        self._closing = Closing(c, fx, tasks)
        self._callbacks = Callbacks(c, fx, tasks)
        self._segments = Segments(c, fx)

    # ------------------------------------------------------------------ main loop
    @workflow.run
    async def run(self, case: CaseInput) -> CaseState:
        c = self._c
        # decided in the run's first workflow task: 0 for every run started before the markers
        c.generation = next(
            (n for n in range(len(GENERATIONS), 0, -1) if workflow.patched(GENERATIONS[n - 1])), 0
        )
        if case.strategy is not None and workflow.patched(STRATEGY_VARIANT_PATCH):
            try:
                c.pack = apply_variant(c.pack, case.strategy)
            except VariantRefused as refused:  # stored variants are checked: the pack's own rules
                workflow.logger.warning("strategy not applied: %s", refused)
        if case.memory is None and case.installment is not None and workflow.patched(DUE_SCHEDULE_PATCH):
            c.m.schedule = list(
                due_schedule(
                    arrears=case.arrears,
                    installment=case.installment,
                    days_past_due=case.days_past_due,
                    as_of=case.as_of,
                    due_day=case.due_day,
                )
            )
        background = [asyncio.create_task(self._payments.loop())]
        if c.pack.default_materiality is not None and c.patched(EBA_DEFAULT_PATCH):
            background.append(asyncio.create_task(self._payments.watch_default()))
        for view in c.m.tasks.values():  # after continue-as-new: watch the open tasks again
            if view.status == "open":
                c.watchers.append(asyncio.create_task(self._tasks.watch_sla(view.key, view.due)))
        if case.memory is None:
            c.m.segment = c.pack.segment(broken_promises=0, days_past_due_at_open=case.days_past_due)
            first = c.pack.initial_stage(c.days_past_due())
            await self._enter(first, f"case opened at {case.days_past_due} days past due")
        while c.m.outcome is None:
            transition = await self._run_stage()
            await self._apply(transition)
            if c.m.outcome is None and workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(lambda: not c.pending and workflow.all_handlers_finished())
                for task in background:
                    task.cancel()
                workflow.continue_as_new(case.model_copy(update={"memory": c.m}))
        for task in background:
            task.cancel()
        await self._closing.finish()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    async def _run_stage(self) -> Transition:
        c = self._c
        if c.interrupt is not None:  # arrived between stages
            pending, c.interrupt = c.interrupt, None
            return pending
        runners: dict[CaseStage, Callable[[], Coroutine[Any, Any, Transition]]] = {
            CaseStage.EARLY: self._reminders.run,
            CaseStage.LOSS_MITIGATION: self._loss_mitigation.run,
            CaseStage.FORBEARANCE: self._forbearance.run,
            CaseStage.ENFORCEMENT: self._enforcement.run,
            CaseStage.BANKRUPTCY_STAY: self._bankruptcy.run,
        }
        runner = runners[c.m.stage]
        with_obligations = c.m.stage in (
            CaseStage.EARLY,
            CaseStage.LOSS_MITIGATION,
            CaseStage.ENFORCEMENT,
        )
        c.stage_task = asyncio.create_task(
            self._alongside_obligations(runner) if with_obligations else runner()
        )
        try:
            return await c.stage_task
        except (asyncio.CancelledError, ActivityError) as exc:
            # An activity the stage was awaiting may report its own cancellation (when the server
            # cancelled it before any worker started it) instead of the task's CancelledError.
            if c.interrupt is None or (isinstance(exc, ActivityError) and not cancelled(exc)):
                raise  # the workflow itself is being cancelled, or a real failure
            pending, c.interrupt = c.interrupt, None
            return pending
        finally:
            c.stage_task = None
            c.next = []

    async def _alongside_obligations(
        self, runner: Callable[[], Coroutine[Any, Any, Transition]]
    ) -> Transition:
        obligations = asyncio.create_task(self._reminders.obligations())
        obligations.add_done_callback(observe)
        try:
            return await runner()
        finally:
            obligations.cancel()

    async def _apply(self, transition: Transition) -> None:
        if transition.outcome is not None:
            self._c.m.outcome = transition.outcome
            await self._enter(CaseStage.CLOSED, transition.reason)
        elif transition.stage is not None:
            await self._enter(transition.stage, transition.reason)

    async def _enter(self, stage: CaseStage, reason: str) -> None:
        c = self._c
        c.m.stage = stage
        now = workflow.now()
        c.m.history.append(StageChange(stage=stage, at=now, reason=reason))
        c.version += 1
        c.upsert_search_attributes()
        await self._fx.activity(
            "record_stage",
            StageUpdate(
                case_id=c.inp.case_id,
                stage=stage,
                at=now,
                reason=reason,
                sequence=len(c.m.history),
                days_past_due=c.days_past_due(),
                facts=self._stage_facts(stage),
            ),
        )

    def _stage_facts(self, stage: CaseStage) -> dict[str, str]:
        """Facts the reports group a stage by (an activity input, so history replays unchanged)."""
        stay = self._c.m.stay
        if stage is CaseStage.BANKRUPTCY_STAY and stay is not None:
            return {"chapter": str(stay.chapter), "court_case": stay.court_case}
        return {}

    # ------------------------------------------------------------------ signal and updates
    @workflow.signal(name="payment")
    def payment(self, payment: PaymentSignal) -> None:
        """A payment arrived from the loan system."""
        self._c.pending.append(payment)

    @workflow.update(name="record_contact")
    async def record_contact(self, contact: ContactRecord) -> str:
        """Staff reached (or tried to reach) the borrower."""
        return await self._reminders.record_contact(contact)

    @record_contact.validator
    def _validate_contact(self, contact: ContactRecord) -> None:
        self._reminders.validate_contact(contact)

    @workflow.update(name="record_promise")
    async def record_promise(self, promise: PromiseToPay) -> str:
        """Record a promise to pay: reminders wait until its date."""
        return await self._reminders.record_promise(promise)

    @record_promise.validator
    def _validate_promise(self, promise: PromiseToPay) -> None:
        self._reminders.validate_promise(promise)

    @workflow.update(name="submit_application")
    async def submit_application(self, application: LossMitigationApplication) -> str:
        """A loss-mitigation application was received."""
        return await self._loss_mitigation.submit_application(application)

    @submit_application.validator
    def _validate_application(self, application: LossMitigationApplication) -> None:
        self._loss_mitigation.validate_application(application)

    @workflow.update(name="appeal")
    async def appeal(self, appeal: Appeal) -> str:
        """The borrower appeals a denial within the appeal window."""
        return await self._loss_mitigation.appeal(appeal)

    @appeal.validator
    def _validate_appeal(self, appeal: Appeal) -> None:
        self._loss_mitigation.validate_appeal(appeal)

    @workflow.update(name="request_forbearance")
    async def request_forbearance(self, request: ForbearanceRequest) -> str:
        """Grant a forbearance plan: a pause or reduced payments for N months."""
        return await self._forbearance.request(request)

    @request_forbearance.validator
    def _validate_forbearance(self, request: ForbearanceRequest) -> None:
        self._forbearance.validate_request(request)

    @workflow.update(name="record_bankruptcy")
    async def record_bankruptcy(self, filing: BankruptcyFiling) -> str:
        """A bankruptcy filing: the stay stops every collection action at once, if it arises."""
        return await self._bankruptcy.record_filing(filing)

    @record_bankruptcy.validator
    def _validate_bankruptcy(self, filing: BankruptcyFiling) -> None:
        self._bankruptcy.validate_filing(filing)

    @workflow.update(name="resolve_bankruptcy")
    async def resolve_bankruptcy(self, resolution: BankruptcyResolution) -> str:
        """Relief from stay, dismissal or discharge."""
        return await self._bankruptcy.resolve(resolution)

    @resolve_bankruptcy.validator
    def _validate_resolution(self, resolution: BankruptcyResolution) -> None:
        self._bankruptcy.validate_resolution(resolution)

    @workflow.update(name="record_bankruptcy_facts")
    async def record_bankruptcy_facts(self, facts: BankruptcyFacts) -> str:
        """The plan, the statement of intention or a court order: what the written notice follows."""
        return await self._bankruptcy.record_facts(facts)

    @record_bankruptcy_facts.validator
    def _validate_bankruptcy_facts(self, facts: BankruptcyFacts) -> None:
        self._bankruptcy.validate_facts(facts)

    @workflow.update(name="end_bankruptcy_case")
    async def end_bankruptcy_case(self, end: BankruptcyCaseEnd) -> str:
        """The bankruptcy case was dismissed, closed or discharged: early intervention resumes."""
        return await self._bankruptcy.end_case(end)

    @end_bankruptcy_case.validator
    def _validate_bankruptcy_case_end(self, end: BankruptcyCaseEnd) -> None:
        self._bankruptcy.validate_case_end(end)

    @workflow.update(name="record_stay_order")
    async def record_stay_order(self, order: StayOrder) -> str:
        """A court order: the stay extended past its lapse, or imposed where none arose."""
        return await self._bankruptcy.record_order(order)

    @record_stay_order.validator
    def _validate_stay_order(self, order: StayOrder) -> None:
        self._bankruptcy.validate_order(order)

    @workflow.update(name="record_payment_change")
    async def record_payment_change(self, change: PaymentChange) -> str:
        """Give the chapter 13 payment-change notice (a stay-safe notice the court rules require)."""
        return await self._bankruptcy.payment_change(change)

    @record_payment_change.validator
    def _validate_payment_change(self, change: PaymentChange) -> None:
        self._bankruptcy.validate_payment_change(change)

    @workflow.update(name="record_post_petition_fee")
    async def record_post_petition_fee(self, fee: PostPetitionFee) -> str:
        """A post-petition fee: a task to file its notice within the rule's days."""
        return await self._bankruptcy.post_petition_fee(fee)

    @record_post_petition_fee.validator
    def _validate_fee(self, fee: PostPetitionFee) -> None:
        self._bankruptcy.validate_fee(fee)

    @workflow.update(name="set_hold")
    async def set_hold(self, change: HoldChange) -> str:
        """A dispute, cease-communication request or SCRA status, set or lifted."""
        return await self._holds.update(change)

    @set_hold.validator
    def _validate_hold(self, change: HoldChange) -> None:
        self._holds.validate(change)

    @workflow.update(name="request_callback")
    async def request_callback(self, request: CallbackRequest) -> str:
        """The borrower asks to be called back: a task for staff, not a call."""
        return await self._callbacks.request(request)

    @request_callback.validator
    def _validate_callback(self, request: CallbackRequest) -> None:
        self._callbacks.validate(request)

    @workflow.update(name="complete_task")
    async def complete_task(self, decision: TaskDecision) -> str:
        """Staff decide a task; the waiting stage continues with the decision."""
        # before the task is done, so the obligations see the due dates its contact covers
        self._reminders.cover_live_contacts(decision)
        return await self._tasks.complete(decision)

    @complete_task.validator
    def _validate_decision(self, decision: TaskDecision) -> None:
        task = self._tasks.validate_decision(decision)
        if task.kind == "close_approval":
            self._closing.validate_approval(decision)

    @workflow.update(name=SET_SCORED_SEGMENT)
    async def set_scored_segment(self, scored: ScoredSegment) -> str:
        """A score run's segment, within the pack's rules: the early stage's cadence follows it."""
        return await self._segments.set(scored)

    @set_scored_segment.validator
    def _validate_scored_segment(self, scored: ScoredSegment) -> None:
        self._segments.validate(scored)

    @workflow.update(name="close_case")
    async def close_case(self, request: CloseRequest) -> str:
        """A supervisor closes the case with an outcome; with four eyes, a second approves it."""
        return await self._closing.close_case(request)

    @close_case.validator
    def _validate_close(self, request: CloseRequest) -> None:
        self._closing.validate_close(request)

    # ------------------------------------------------------------------ queries
    @workflow.query(name="state")
    def state(self) -> CaseState:
        """Where the case stands: stage, next actions, tasks, holds, history."""
        c = self._c
        case, m = c.inp, c.m
        return CaseState(
            case_id=case.case_id,
            loan_external_id=case.loan_external_id,
            policy_pack=case.policy_pack,
            stage=m.stage,
            outcome=m.outcome,
            segment=m.segment,
            arrears=m.arrears,
            fees=m.fees,
            currency=case.currency,
            delinquent_since=c.delinquent_since(),
            days_past_due=c.days_past_due(),
            as_of=workflow.now(),
            payments_applied=list(m.payments_applied),
            next_actions=list(c.next),
            open_tasks=[t for t in m.tasks.values() if t.status in ("open", "escalated")],
            holds=c.active_holds(),
            application=m.application,
            forbearance=m.forbearance,
            eba=m.eba,
            actions=list(m.actions),
            history=list(m.history),
            stay_periods=list(m.stays),
            application_periods=list(m.applications_pending),
            close_proposal=m.close_proposal,
            next_call=self._reminders.next_call(workflow.now()),
            schedule=list(m.schedule or []),
        )

    @workflow.query(name="memory")
    def memory(self) -> CaseMemory:
        """Everything the case remembers: what continue-as-new carries into the next run."""
        return self._c.m
