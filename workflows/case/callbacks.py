"""Call-back requests: the borrower asks, from their page, to be called at a chosen time.

The request becomes a staff task (a `live_contact`, decided as contacted or attempted) due on the
chosen day. It is an inbound request, not a call: nothing here touches the call log that Reg F's
call frequency counts (12 CFR 1006.14(b)), which holds only calls staff place and record.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from policies import Rule
    from workflows.commands import CallbackRequest

from workflows.case.context import Case
from workflows.case.effects import Effects
from workflows.case.tasks import Tasks

# A call the borrower asked for: given with their prior consent, it is not a call the
# frequency presumption counts (12 CFR 1006.14(b)(3)(i)).
CALLBACK_RULE = Rule("contact.callback_requested", "12 CFR 1006.14(b)(3)(i)")
CALLBACK_TASK = "live_contact"
MAX_AHEAD = timedelta(days=30)


class Callbacks:
    """The request_callback update."""

    def __init__(self, c: Case, fx: Effects, tasks: Tasks) -> None:
        self.c = c
        self.fx = fx
        self.tasks = tasks

    async def request(self, request: CallbackRequest) -> str:
        c = self.c
        key = f"callback.{len(c.m.actions)}"
        await self.tasks.task(key, CALLBACK_TASK, CALLBACK_RULE, request.at.date(), wait=False)
        await self.fx.staff_record(
            request,
            key=f"{key}.requested",
            kind="contact",
            rule=CALLBACK_RULE,
            detail=f"call back requested for {request.at.strftime('%Y-%m-%d %H:%M')} UTC: {request.reason}",
        )
        return "call back requested"

    def validate(self, request: CallbackRequest) -> None:
        c = self.c
        c.require_open()
        now = workflow.now()
        if request.at <= now:
            raise ApplicationError("the call-back time must be in the future")
        if request.at > now + MAX_AHEAD:
            raise ApplicationError("a call back may be asked for at most 30 days ahead")
