"""The daily print batch is a Temporal Schedule, created at start-up and runnable by the worker."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from sqlmodel import select
from temporalio.client import Client, ScheduleActionStartWorkflow
from temporalio.worker import Worker

from arrears.db import Database
from arrears.temporal import ensure_schedules
from models.enums import ReportKind
from models.reports import Report
from workflows.printing import PRINT_SCHEDULE_ID, PrintBatchWorkflow
from workflows.reports import REPORT_SCHEDULE_ID


async def test_print_schedule_is_created_once_and_its_workflow_runs(
    dev_client: Client, dev_worker: Worker, task_queue: str
) -> None:
    first = await ensure_schedules(dev_client, task_queue=task_queue)
    again = await ensure_schedules(dev_client, task_queue=task_queue)
    assert first == [PRINT_SCHEDULE_ID, REPORT_SCHEDULE_ID] and again == []
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


async def test_monthly_report_schedule_exists_and_triggering_it_stores_every_report(
    dev_client: Client, dev_worker: Worker, task_queue: str, db: Database
) -> None:
    await ensure_schedules(dev_client, task_queue=task_queue)
    handle = dev_client.get_schedule_handle(REPORT_SCHEDULE_ID)
    described = await handle.describe()
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow) and action.workflow == "MonthlyReportsWorkflow"
    [calendar] = described.schedule.spec.calendars
    assert [r.start for r in calendar.day_of_month] == [1] and [r.start for r in calendar.hour] == [4]

    await handle.trigger()  # as "Trigger" in the Temporal UI does
    month_end = datetime.now(UTC).date().replace(day=1) - timedelta(days=1)
    for _ in range(240):
        async with db.session() as session:
            stored = (
                await session.exec(
                    select(Report).where(Report.trigger == "schedule", Report.period_end == month_end)
                )
            ).all()
        if len(stored) == len(ReportKind):
            break
        await asyncio.sleep(0.5)
    assert sorted(r.kind for r in stored) == sorted(ReportKind)
    assert all(r.period_start == month_end.replace(day=1) and r.policy_pack is None for r in stored)
