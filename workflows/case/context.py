"""The case's shared context: its memory, pack and input, the clock, sleeps and wake-ups.

Every domain object of the case holds the one `Case` of its run; the workflow is its only owner.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.enums import CaseOutcome, CaseStage
    from policies import Pack, Rule, Step, get_pack
    from policies.delinquency import days_past_due, delinquent_since, due_dates
    from workflows import search
    from workflows.dto import CaseInput, CaseMemory, Hold, PaymentSignal, ScheduledAction, TaskDecision


@dataclass(frozen=True, slots=True)
class Transition:
    """Where a stage, or an interruption, sends the case next."""

    stage: CaseStage | None
    reason: str
    outcome: CaseOutcome | None = None
    priority: int = 0  # close (3) > stay (2) > cure (1) > anything else


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), UTC)


class Case:
    """What every part of the case shares: memory (`m`), pack, input, and the run's state."""

    def __init__(self, case: CaseInput) -> None:
        self.inp = case
        # the pack as it applies to this loan (the Belgian pack's book follows the product)
        self.pack: Pack = get_pack(case.policy_pack).for_loan(
            product=case.product,
            installment=case.installment,
            opened_on=case.as_of,
            days_past_due=case.days_past_due,
        )
        self.m = case.memory or CaseMemory(arrears=case.arrears)
        self.pending: list[PaymentSignal] = []
        self.decisions: dict[str, TaskDecision] = {}
        self.interrupt: Transition | None = None
        self.stage_task: asyncio.Task[Transition] | None = None
        self.next: list[ScheduledAction] = []
        self.version = 0  # bumped on every change a waiting coroutine may care about
        self.watchers: list[asyncio.Task[None]] = []  # SLA timers: left to fire, never cancelled
        self.generation = 0  # the code generation the run started on (see GENERATIONS)

    # ------------------------------------------------------------------ interruptions
    def interrupt_with(self, transition: Transition) -> None:
        if self.interrupt is None or transition.priority >= self.interrupt.priority:
            self.interrupt = transition
        if self.stage_task is not None and not self.stage_task.done():
            self.stage_task.cancel()

    def close(self, outcome: CaseOutcome, by: str, reason: str) -> None:
        self.interrupt_with(Transition(None, f"closed by {by}: {reason}", outcome, 3))

    def require_open(self) -> None:
        if self.m.outcome is not None or (self.interrupt is not None and self.interrupt.outcome):
            raise ApplicationError("the case is closed or closing")

    # ------------------------------------------------------------------ clock and sleeps
    def today(self) -> date:
        return workflow.now().date()

    def delinquent_since(self) -> date:
        """The day the delinquency began: the oldest unpaid instalment's due date where the case
        carries its schedule (the last instalment's once all are paid), else the reported day."""
        if self.m.schedule:
            return delinquent_since(self.m.schedule) or self.m.schedule[-1].due
        return self.inp.as_of - timedelta(days=self.inp.days_past_due)

    def due_dates(self, *, until: date | None = None) -> tuple[date, ...]:
        """The payment due dates from the delinquency's start on (the schedule's, then one a month
        on the loan's due day): two years of them, or up to the first after `until`."""
        schedule = self.m.schedule or []
        since = self.delinquent_since()
        day = self.inp.due_day or (schedule[0].due.day if schedule else since.day)
        months = 24 if until is None else max(24, (until - since).days // 28 + 2)
        return due_dates(since, due_day=day, count=months)

    def days_past_due(self) -> int:
        if self.m.schedule is not None:
            return 0 if self.m.arrears <= 0 else (self.today() - self.delinquent_since()).days
        return days_past_due(
            reported=self.inp.days_past_due, as_of=self.inp.as_of, on=self.today(), arrears=self.m.arrears
        )

    async def sleep_until(self, day: date, wake: Callable[[], bool]) -> bool:
        """Sleep until the start of `day` (UTC); True if `wake` became true first."""
        delta = midnight(day) - workflow.now()
        if wake():
            return True
        if delta <= timedelta(0):
            return False
        try:
            await workflow.wait_condition(wake, timeout=delta)
        except TimeoutError:
            return False
        return True

    def changed(self) -> Callable[[], bool]:
        """A wake-up condition: anything changed since now."""
        version = self.version
        return lambda: self.version != version

    def patched(self, patch_id: str) -> bool:
        """A patch: applied in runs started on this code (one marker for all), else as recorded."""
        return self.generation >= 1 or workflow.patched(patch_id)

    # ------------------------------------------------------------------ what the case shows
    def show(self, steps: list[Step]) -> None:
        self.next = [
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

    def show_one(self, key: str, kind: str, due: date, rule: Rule) -> None:
        self.next = [ScheduledAction(key=key, kind=kind, due=due, rule_id=rule.id, citation=rule.citation)]

    def upsert_search_attributes(self) -> None:
        updates: list[SearchAttributeUpdate[Any]] = [
            search.CASE_STAGE.value_set(self.m.stage.value),
            search.DAYS_PAST_DUE.value_set(self.days_past_due()),
            search.POLICY_PACK.value_set(self.inp.policy_pack.value),
            search.ARREARS_AMOUNT.value_set(float(self.m.arrears)),
        ]
        if self.generation >= 2:
            # one history event saved when nothing changed (the opening stage, as intake set it)
            known = workflow.info().typed_search_attributes
            updates = [u for u in updates if known.get(u.key) != u.value]
            if not updates:
                return
        workflow.upsert_search_attributes(updates)

    # ------------------------------------------------------------------ facts read from memory
    def active_holds(self) -> list[Hold]:
        today = self.today()
        return [h for h in self.m.holds if h.until is None or h.until > today]

    def scra_active(self) -> bool:
        return any(h.kind == "scra" for h in self.active_holds())

    def application_pending(self) -> bool:
        return bool(self.m.applications_pending) and self.m.applications_pending[-1].end is None

    def end_pending_application(self) -> None:
        if self.m.applications_pending and self.m.applications_pending[-1].end is None:
            self.m.applications_pending[-1].end = workflow.now()
            self.version += 1
