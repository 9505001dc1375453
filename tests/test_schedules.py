"""The daily print batch is a Temporal Schedule, created at start-up and runnable by the worker."""

from __future__ import annotations

from datetime import date

from temporalio.client import Client, ScheduleActionStartWorkflow
from temporalio.worker import Worker

from arrears.temporal import ensure_schedules
from workflows.printing import PRINT_SCHEDULE_ID, PrintBatchWorkflow


async def test_print_schedule_is_created_once_and_its_workflow_runs(
    dev_client: Client, dev_worker: Worker, task_queue: str
) -> None:
    first = await ensure_schedules(dev_client, task_queue=task_queue)
    again = await ensure_schedules(dev_client, task_queue=task_queue)
    assert first == [PRINT_SCHEDULE_ID] and again == []
    described = await dev_client.get_schedule_handle(PRINT_SCHEDULE_ID).describe()
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.workflow == "PrintBatchWorkflow" and action.task_queue == task_queue
    [calendar] = described.schedule.spec.calendars  # the server keeps the cron as a calendar
    assert [r.start for r in calendar.hour] == [2] and [r.start for r in calendar.minute] == [0]
    # what the schedule starts, for a day long past: an empty batch, built by the real activity
    letters = await dev_client.execute_workflow(
        PrintBatchWorkflow.run, date(2001, 1, 1), id="print-batch-test", task_queue=task_queue
    )
    assert letters == 0
