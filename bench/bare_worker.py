"""The baseline worker of `bench/lifecycle.py`: a workflow that does nothing but wait for one
signal, run with the same knobs as `arrears worker`, so that the case workflow's memory and
workflow-task rate can be put against the engine's own in the same run.

    .venv/bin/python -m bench.bare_worker ADDRESS TASK_QUEUE MAX_CACHED_WORKFLOWS

Only temporalio at the top: the sandbox re-imports a workflow's module for every run, so the
baseline carries no import the case workflow's sandbox does not also pay for.
"""

from __future__ import annotations

import asyncio
import sys

from temporalio import workflow


@workflow.defn(name="BareCase")
class BareCase:
    """Opens, waits for one payment signal, closes: one workflow task per signal, no activity."""

    def __init__(self) -> None:
        self._paid = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self._paid)

    @workflow.signal
    def payment(self, amount: str) -> None:
        self._paid = True


async def serve(address: str, queue: str, cached: int) -> None:
    """The same sandbox and knobs as `arrears worker` (arrears/temporal.py, build_worker)."""
    from temporalio.client import Client
    from temporalio.worker import Worker

    from arrears.settings import Settings
    from arrears.temporal import sandbox_runner

    settings = Settings(_env_file=None)
    worker = Worker(
        await Client.connect(address),
        task_queue=queue,
        workflows=[BareCase],
        workflow_runner=sandbox_runner(),
        max_cached_workflows=cached,
        max_concurrent_workflow_tasks=settings.worker_max_workflow_tasks,
    )
    await worker.run()


if __name__ == "__main__":
    address, queue, cached = sys.argv[1], sys.argv[2], int(sys.argv[3])
    asyncio.run(serve(address, queue, cached))
