"""Enforcement: foreclosure or legal collection on the pack's schedule, each foreclosure step
held back while a rule forbids it (dual tracking, the 120-day bar, SCRA)."""

from __future__ import annotations

from datetime import date, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from policies import Step, StepKind
    from workflows.dto import HoldChange

from workflows.case.context import Case, Transition
from workflows.case.effects import Effects
from workflows.case.holds import Holds
from workflows.case.tasks import Tasks


class Enforcement:
    """The enforcement stage."""

    def __init__(self, c: Case, fx: Effects, tasks: Tasks, holds: Holds) -> None:
        self.c = c
        self.fx = fx
        self.tasks = tasks
        self.holds = holds

    async def run(self) -> Transition:
        c = self.c
        if c.m.enforcement_started is None:
            c.m.enforcement_started = c.today()
        steps = c.pack.enforcement_steps(start=c.m.enforcement_started, arrears=c.m.arrears)
        for step in steps:
            if step.key in c.m.done:
                continue
            c.show([s for s in steps if s.key not in c.m.done])
            await c.sleep_until(step.day, lambda: False)
            if step.foreclosure:
                await self._foreclosure_clear(step)
            if step.kind is StepKind.TASK and step.task_kind is not None and step.sla_due is not None:
                decision = await self.tasks.task(step.key, step.task_kind, step.rule, step.sla_due)
                if decision is not None and decision.decision == "active":
                    await self.holds.set(
                        HoldChange(
                            by=decision.by,
                            reason="SCRA check: active duty",
                            kind="scra",
                            active=True,
                            until=decision.service_end,
                        )
                    )
                c.m.done[step.key] = c.today()
                continue
            await self.fx.do(step)
            if step.closes_with is not None:
                return Transition(None, step.detail or step.rule.id, step.closes_with)
        c.show([])
        await workflow.wait_condition(lambda: False)  # with legal collection: until paid or closed
        raise AssertionError("unreachable")

    async def _foreclosure_clear(self, step: Step) -> None:
        """Hold a foreclosure step until no rule forbids it, recording each refusal once."""
        c = self.c
        refused: set[str] = set()
        while True:
            rule = c.pack.foreclosure_blocked(
                day=c.today(),
                delinquent_since=c.delinquent_since(),
                application_pending=c.application_pending(),
                scra=c.scra_active(),
            )
            if rule is None:
                return
            if rule.id not in refused:
                refused.add(rule.id)
                await self.fx.record(
                    key=f"{step.key}.refused.{rule.id}",
                    kind=step.kind.value,
                    status="refused",
                    rule=rule,
                    detail=f"{step.key} held back",
                    foreclosure=False,
                )
            await c.sleep_until(self._clearance_day(), c.changed())

    def _clearance_day(self) -> date:
        """The next day a foreclosure block may lift by itself (else a change wakes the wait)."""
        c = self.c
        days = [
            c.delinquent_since() + timedelta(days=c.pack.enforcement_day()),
            *(h.until for h in c.active_holds() if h.kind == "scra" and h.until is not None),
        ]
        ahead = [d for d in days if d > c.today()]
        return min(ahead) if ahead else c.today() + timedelta(days=365)
