"""The early stage: reminders and contact on the pack's cadence, promises to pay, and the
recurring duties (US early intervention) that run beside the open stages."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.enums import CaseStage, Channel
    from policies import Pack, Rule, Step, StepKind
    from policies.be_consumer import BeConsumer
    from policies.contact import (
        CALL_LOOKBACK_DAYS,
        ContactDecision,
        counts_as_placed,
        is_conversation,
        next_call,
    )
    from policies.nl_consumer import NlConsumer
    from policies.strategy import own_reminder_fee
    from workflows.dto import (
        CallLog,
        ContactRecord,
        DebtorCase,
        NextCall,
        PromiseToPay,
        TaskDecision,
        TaskView,
    )

from workflows.case.bankruptcy import written_notice_while_debtor
from workflows.case.context import Case, Transition
from workflows.case.effects import Effects
from workflows.case.patches import (
    AT_OPENING_PATCH,
    BE_BY_THE_TEXT_PATCH,
    CCD2_ASSESSMENT_PATCH,
    EI_BY_DUE_DATE_PATCH,
    NL_LETTER_RECEIPT_PATCH,
    REG_F_CALLS_PATCH,
    REG_F_OVER_PRESUMPTION_PATCH,
    REMINDER_FEE_PATCH,
    VARIANT_REMINDER_FEE_PATCH,
)
from workflows.case.segments import after_broken_promise
from workflows.case.tasks import Tasks

_AT_OPENING = ("reg_f.", "continuity_of_contact.")
_LIVE_CONTACT = "early_intervention.live_contact."
_NUMBERED_LIVE_CONTACT = re.compile(r"early_intervention\.live_contact\.\d+")
_OPEN = ("open", "escalated")
_HALF_MONTH = timedelta(days=15)
CLOCK_SKEW = timedelta(minutes=5)  # a call's time may run this far ahead of the workflow's clock


class Reminders:
    """The early stage and its promises; the obligations that repeat."""

    def __init__(self, c: Case, fx: Effects, tasks: Tasks) -> None:
        self.c = c
        self.fx = fx
        self.tasks = tasks

    async def run(self) -> Transition:
        c = self.c
        # Cases opened before the CCD2 assessment existed go on without it.
        ccd2 = c.patched(CCD2_ASSESSMENT_PATCH)
        pack = self._letter_rules(c.pack)
        while True:
            plan = [
                s
                for s in pack.early_steps(
                    segment=c.m.segment,
                    delinquent_since=c.delinquent_since(),
                    arrears=c.m.arrears,
                    today=c.today(),
                    taken=c.m.done,
                )
                if s.key not in c.m.done and (ccd2 or not s.key.startswith("ccd2."))
            ]
            c.show(plan)
            step = plan[0]  # a plan always ends with ADVANCE
            since, segment = c.delinquent_since(), c.m.segment
            woke = await c.sleep_until(
                step.day,
                lambda: (
                    c.m.promise is not None
                    or c.delinquent_since() != since  # noqa: B023 (awaited here)
                    or c.m.segment is not segment  # noqa: B023 (a score moved it: set_scored_segment)
                ),
            )
            if woke and c.m.promise is None:
                continue  # a payment covered the oldest instalments, or the segment moved: plan again
            kept = await self._await_promise() if woke else False
            if woke and (kept or step.kind is StepKind.ADVANCE):
                continue  # kept: the cadence goes on from today; the stage's end keeps its day
            # (broken: move on to the next step at once)
            if step.kind is StepKind.ADVANCE:
                c.m.done[step.key] = c.today()
                return Transition(CaseStage.ENFORCEMENT, step.detail or "early stage over")
            if step.kind is StepKind.TASK and step.task_kind and step.sla_due:
                # a task in the early stage must be decided before the stage may move on
                await self.tasks.task(step.key, step.task_kind, step.rule, step.sla_due)
                c.m.done[step.key] = c.today()
                continue
            if not pack.still_allowed(step, arrears=c.m.arrears, on=c.today()):
                continue  # a payment took the default below the step's threshold: plan again
            await self.fx.do(step)
            if step.key.startswith("reminder."):
                await self._reminder_fee(step)

    async def _reminder_fee(self, reminder: Step) -> None:
        """The reminder fee (the variant's, else the pack's), once per case, with the first
        reminder that went out."""
        c = self.c
        key = "fees.reminder"
        if key in c.m.done or not c.inp.reminder_fee_agreed:
            return
        fee = own_reminder_fee(c.pack)
        sent = any(a.key == reminder.key and a.status == "done" for a in c.m.actions)
        if fee is None or not sent or not workflow.patched(REMINDER_FEE_PATCH):
            return
        charged = c.pack.reminder_fee(agreed=True)
        if charged != fee and workflow.patched(VARIANT_REMINDER_FEE_PATCH):
            fee = charged
            if fee is None:
                return  # the variant charges no fee
        await self.fx.do(Step(key=key, day=c.today(), kind=StepKind.FEE, rule=fee[1], amount=fee[0]))

    def _letter_rules(self, pack: Pack) -> Pack:
        """The 14-dagenbrief's period as the run planned it: runs without the patch marker (of
        any generation) keep posting + 16 days. Asked directly, so only new runs record it. The
        Belgian pack as its text reads (balance, thresholds, working days) from its patch on."""
        if isinstance(pack, NlConsumer) and not workflow.patched(NL_LETTER_RECEIPT_PATCH):
            return replace(pack, letter_rules=1)
        if isinstance(pack, BeConsumer) and workflow.patched(BE_BY_THE_TEXT_PATCH):
            return pack.read_by_the_text(balance=self.c.inp.exposure)
        return pack

    async def _await_promise(self) -> bool:
        """Wait for the promised date (plus grace); True when the promise was kept."""
        c = self.c
        promise = c.m.promise
        assert promise is not None
        deadline = promise.due + timedelta(days=c.pack.promise_grace_days)
        # what happens next: the promise is checked once its grace is over (the reminders wait)
        c.show_one("promise.check", "promise", deadline, c.pack.promise_rule)
        await c.sleep_until(deadline, lambda: c.m.promise_paid >= promise.amount)
        kept = c.m.promise_paid >= promise.amount
        c.m.promise = None
        if not kept:
            c.m.broken_promises += 1
            c.m.segment = after_broken_promise(c)  # the pack's, or the score's within it
        await self.fx.record(
            key=f"promise.{len(c.m.actions)}",
            kind="promise",
            status="done",
            rule=c.pack.promise_rule,
            detail=("kept" if kept else "broken") + f": {promise.amount} by {promise.due.isoformat()}",
            collection=False,
        )
        return kept

    async def obligations(self) -> None:
        """Recurring duties (US early intervention) that run beside the early, loss-mitigation
        and enforcement stages, never during a stay or forbearance."""
        c = self.c
        if not workflow.patched(EI_BY_DUE_DATE_PATCH):
            await self._obligations_planned_once()
            return
        while True:
            since, debtor = c.delinquent_since(), c.m.bankruptcy
            if debtor is not None and debtor.ended is None:
                await self._while_debtor(debtor)
                continue  # the case ended: plan again, from the due date it resumes after

            waiting = self._open_live_contact()

            def moved() -> bool:
                # a payment moved the start, a bankruptcy case began (a filing without a stay), or
                # staff decided the open live-contact task
                return (
                    c.delinquent_since() != since  # noqa: B023
                    or c.m.bankruptcy is not debtor  # noqa: B023
                    or (waiting is not None and waiting.status not in _OPEN)  # noqa: B023
                )

            # One live-contact task at a time: the contact that decides it may cover the due
            # dates after it too (see cover_live_contacts), so theirs wait for that decision.
            plan = self._by_day(
                [
                    s
                    for s in self._obligations(due_dates=c.due_dates())
                    if not self._legacy_done(s) and (waiting is None or s.task_kind != "live_contact")
                ]
            )
            if not plan:
                await workflow.wait_condition(moved)
                continue
            day, step = plan[0]
            if await c.sleep_until(day, moved):
                continue  # a payment covered the oldest instalments: plan again from the new start
            await self._take(step)

    async def _while_debtor(self, debtor: DebtorCase) -> None:
        """While the borrower is a debtor: no live contact (12 CFR 1024.39(c)(1)(i)); the written
        notice exempt or modified, once per bankruptcy case ((c)(1)(ii), (iii)); until it ends."""
        c = self.c
        await written_notice_while_debtor(
            c,
            self.fx,
            chapter=debtor.chapter,
            court_case=debtor.court_case,
            filed_on=debtor.filed_on,
            surrender=debtor.surrender,
            ended=lambda: debtor.ended is not None,
        )
        await workflow.wait_condition(lambda: debtor.ended is not None or c.m.bankruptcy is not debtor)

    def _obligations(self, *, due_dates: tuple[date, ...] | None) -> list[Step]:
        c = self.c
        # Cases opened before the validation notice and personnel assignment existed skip them.
        at_opening = c.patched(AT_OPENING_PATCH)
        debtor = c.m.bankruptcy
        return [
            s
            for s in c.pack.recurring_obligations(
                delinquent_since=c.delinquent_since(),
                opened_on=c.inp.as_of,
                resume_on=c.m.early_intervention_resumes_on,
                due_dates=due_dates,
                discharged=debtor is not None and debtor.ended == "discharged",
            )
            if s.key not in c.m.done and (at_opening or not s.key.startswith(_AT_OPENING))
        ]

    def _by_day(self, steps: list[Step]) -> list[tuple[date, Step]]:
        """The steps still to take, on the day each may be taken, earliest first: a contact whose
        window has closed is dropped, a notice waits out its series' gap since the last one, and
        of a series' notices already due only the newest goes."""
        c = self.c
        today, planned = c.today(), []
        for i, step in enumerate(steps):
            if step.kind is StepKind.TASK and step.sla_due is not None and step.sla_due < today:
                continue
            day = step.day
            if step.series is not None:
                if any(s.series == step.series and s.day <= today for s in steps[i + 1 :]):
                    continue
                last = c.m.series_last.get(step.series)
                if last is not None:
                    day = max(day, last + timedelta(days=step.min_gap_days))
            planned.append((day, step))
        return sorted(planned, key=lambda p: p[0])

    def _open_live_contact(self) -> TaskView | None:
        """The early-intervention live-contact task staff have still to decide, if any."""
        return next(
            (t for key, t in self.c.m.tasks.items() if key.startswith(_LIVE_CONTACT) and t.status in _OPEN),
            None,
        )

    def cover_live_contacts(self, decision: TaskDecision) -> None:
        """A live contact made, or tried in good faith, on day X meets 12 CFR 1024.39(a) for every
        due date D with D <= X <= D + 36 days: when staff decide an early-intervention live-contact
        task, those due dates are marked done on X under the keys they are planned by, so no task
        opens for them; later due dates get theirs as before."""
        c = self.c
        if decision.task not in c.m.tasks or not decision.task.startswith(_LIVE_CONTACT):
            return
        today = c.today()
        for step in self._obligations(due_dates=c.due_dates()):
            covered = step.sla_due is not None and step.day <= today <= step.sla_due
            if step.task_kind == "live_contact" and covered:
                c.m.done.setdefault(step.key, today)

    def _legacy_done(self, step: Step) -> bool:
        """A live contact a run took under a numbered key before it keyed them by due date: the
        task's SLA tells its due date, which covers the due date within half a month of it."""
        if step.task_kind != "live_contact" or step.sla_due is None:
            return False
        offset = step.sla_due - step.day
        return any(
            _NUMBERED_LIVE_CONTACT.fullmatch(key) is not None
            and abs(view.due - offset - step.day) <= _HALF_MONTH
            for key, view in self.c.m.tasks.items()
        )

    async def _take(self, step: Step) -> None:
        c = self.c
        if step.kind is StepKind.TASK and step.task_kind and step.sla_due:
            await self.tasks.task(step.key, step.task_kind, step.rule, step.sla_due, wait=False)
            c.m.done[step.key] = c.today()
        else:
            await self.fx.do(step)

    async def _obligations_planned_once(self) -> None:
        """As runs without the due-date patch take them: planned once, numbered from the start."""
        c = self.c
        steps = self._obligations(due_dates=None)
        for i, step in enumerate(steps):
            day = step.day
            if step.kind is StepKind.TASK and step.sla_due is not None and step.sla_due < c.today():
                continue  # a due date long past: its contact window has closed
            if step.series is not None:
                later = [s for s in steps[i + 1 :] if s.series == step.series and s.day <= c.today()]
                if later:
                    continue  # a newer notice of the series is due too: send only that one
                last = c.m.series_last.get(step.series)
                if last is not None:
                    day = max(day, last + timedelta(days=step.min_gap_days))
            await c.sleep_until(day, lambda: False)
            await self._take(step)

    # ------------------------------------------------------------------ updates
    async def record_contact(self, contact: ContactRecord) -> str:
        """Staff reached (or tried to reach) the borrower.

        A call staff report is recorded whatever the count: it happened, and the record is the
        evidence (12 CFR 1006.100). One placed beyond the call frequency (12 CFR 1006.14(b)(2)) is
        recorded under that rule, saying so, and the reply says it too. Staff see the next
        allowed call before they dial (the work queue and the contact form show it)."""
        c = self.c
        detail = f"{contact.channel.value}: {contact.outcome}; {contact.reason}"
        following: NextCall | None = None
        rule, reply = Rule("contact.recorded", "12 CFR 1024.39(a); 12 CFR 1006.14(b)"), "recorded"
        if contact.channel is Channel.CALL and workflow.patched(REG_F_CALLS_PATCH):
            at = contact.at or workflow.now()
            placed = counts_as_placed(contact.direction, contact.outcome)
            over = self._decide(at) if placed else None
            c.m.calls.append(CallLog(at=at, direction=contact.direction, outcome=contact.outcome))
            kept_from = max(k.at for k in c.m.calls) - timedelta(days=CALL_LOOKBACK_DAYS)
            c.m.calls = [k for k in c.m.calls if k.at >= kept_from]
            following = self.next_call(max(at, workflow.now()))
            detail = (
                f"{contact.direction.value} call at {at.isoformat()}: {contact.outcome}; {contact.reason}"
            )
            if (
                over is not None
                and not over.allowed
                and over.rule is not None
                and workflow.patched(REG_F_OVER_PRESUMPTION_PATCH)
            ):
                rule = over.rule
                reply = (
                    f"recorded over the call frequency: {over.rule.citation} ({over.rule.id}): {over.reason}"
                )
                detail = f"placed over the call frequency ({over.reason}); {detail}"
        await self.fx.staff_record(
            contact,
            key=f"contact.{len(c.m.actions)}",
            kind="contact",
            rule=rule,
            detail=detail,
            next_call=following,
        )
        return reply

    def validate_contact(self, contact: ContactRecord) -> None:
        """A call is recorded in the order calls were made, and not ahead of the clock. One over
        the call frequency is not refused: staff report it after dialling (see `record_contact`)."""
        c = self.c
        c.require_open()
        if contact.channel is not Channel.CALL:
            return
        now = workflow.now()
        at = contact.at or now
        if at > now + CLOCK_SKEW:
            raise ApplicationError("the call's time is in the future")
        if c.m.calls and at < c.m.calls[-1].at:
            raise ApplicationError(
                f"calls are recorded in the order they were made: the last one was at "
                f"{c.m.calls[-1].at.isoformat()}"
            )

    def next_call(self, at: datetime) -> NextCall:
        """When staff may next place a call about the debt, seen from `at`, and why not before."""
        decision = self._decide(at)
        if decision.allowed or decision.rule is None:
            return NextCall()
        return NextCall(
            at=decision.retry_at,
            rule_id=decision.rule.id,
            citation=decision.rule.citation,
            reason=decision.reason,
        )

    def _decide(self, at: datetime) -> ContactDecision:
        calls = self.c.m.calls
        return next_call(
            self.c.pack,
            at=at,
            placed=[k.at for k in calls if counts_as_placed(k.direction, k.outcome)],
            conversations=[k.at for k in calls if is_conversation(k.outcome)],
        )

    async def record_promise(self, promise: PromiseToPay) -> str:
        """Record a promise to pay: reminders wait until its date."""
        c = self.c
        c.m.promise = promise
        c.m.promise_paid = Decimal("0")
        c.version += 1
        await self.fx.staff_record(
            promise,
            key=f"promise.{len(c.m.actions)}.recorded",
            kind="promise",
            rule=c.pack.promise_rule,
            detail=f"promised {promise.amount} by {promise.due.isoformat()}: {promise.reason}",
        )
        return "recorded"

    def validate_promise(self, promise: PromiseToPay) -> None:
        c = self.c
        c.require_open()
        if c.m.stage is not CaseStage.EARLY:
            raise ApplicationError(f"promises are taken in the early stage, not {c.m.stage.value}")
        if c.m.promise is not None:
            raise ApplicationError("a promise is already pending")
        if promise.due <= c.today():
            raise ApplicationError("the promised date must be in the future")
        if promise.due > c.today() + timedelta(days=60):
            raise ApplicationError("a promise may run at most 60 days")
