"""The baseline workflow of `bench/strategy.py`: the case workflow's timers and nothing else.

Only temporalio at the top: the sandbox re-imports a workflow's module for every run, so the
baseline carries no import the case workflow's sandbox does not also pay for.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow


@workflow.defn(name="BareTimers")
class BareTimers:
    """Sleeps through the given timers (seconds from its start, ascending), then ends."""

    @workflow.run
    async def run(self, timers: list[int]) -> int:
        elapsed = 0
        for at in timers:
            if at > elapsed:
                await workflow.sleep(timedelta(seconds=at - elapsed))
                elapsed = at
        return len(timers)
