"""The daily print batch, started by a Temporal Schedule so it shows in the UI and never runs twice."""

from __future__ import annotations

from datetime import date, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

PRINT_SCHEDULE_ID = "arrears-daily-print-batch"


@workflow.defn(name="PrintBatchWorkflow")
class PrintBatchWorkflow:
    @workflow.run
    async def run(self, day: date | None = None) -> int:
        """Batch every letter queued up to `day` (default: the day the schedule fires)."""
        target = day or workflow.now().date()
        letters: int = await workflow.execute_activity(
            "build_print_batch",
            target,
            result_type=int,
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1)),
        )
        return letters
