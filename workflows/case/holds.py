"""Holds: a dispute, a cease-communication request or SCRA service, set or lifted by staff.

A hold suppresses the collection messages it names (see `Effects.do`); an SCRA hold also holds
foreclosure back until a year after service ends.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from policies.contact import HOLD_RULES
    from workflows.dto import Hold, HoldChange

from workflows.case.context import Case
from workflows.case.effects import Effects
from workflows.case.patches import SCRA_RATE_CAP_PATCH
from workflows.case.tasks import Tasks


class Holds:
    """Setting and lifting the case's holds."""

    def __init__(self, c: Case, fx: Effects, tasks: Tasks) -> None:
        self.c = c
        self.fx = fx
        self.tasks = tasks

    async def set(self, change: HoldChange) -> None:
        c = self.c
        today = c.today()
        for hold in c.active_holds():
            if hold.kind == change.kind:
                hold.until = today
        if change.active:
            rule = HOLD_RULES[change.kind]
            until = change.until + timedelta(days=365) if change.kind == "scra" and change.until else None
            c.m.holds.append(
                Hold(
                    kind=change.kind,
                    since=today,
                    until=until,
                    channels=change.channels,
                    rule_id=rule.id,
                    citation=rule.citation,
                )
            )
        c.version += 1
        cap = c.pack.scra_rate_cap()
        if change.kind == "scra" and change.active and cap is not None and c.patched(SCRA_RATE_CAP_PATCH):
            await self.tasks.task(
                f"scra.rate_cap.{len(c.m.holds)}",
                "scra_rate_cap",
                cap,
                today + timedelta(days=30),
                wait=False,
            )
        await self.fx.staff_record(
            change,
            key=f"hold.{change.kind}.{len(c.m.holds)}.{'on' if change.active else 'off'}",
            kind="hold",
            rule=HOLD_RULES[change.kind],
            detail=f"{change.kind} {'set' if change.active else 'lifted'}: {change.reason}",
        )

    # ------------------------------------------------------------------ the set_hold update
    async def update(self, change: HoldChange) -> str:
        """A dispute, cease-communication request or SCRA status, set or lifted."""
        await self.set(change)
        return f"{change.kind} {'set' if change.active else 'lifted'}"

    def validate(self, change: HoldChange) -> None:
        self.c.require_open()
        if change.kind == "scra" and change.active and change.until is None:
            raise ApplicationError("an SCRA hold needs the end of service (until)")
