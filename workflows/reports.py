"""Monthly regulator reports, started by a Temporal Schedule so they show in the UI and run once."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy

from models.enums import PolicyPack, ReportKind
from workflows.case.patches import KPI_REPORT_PATCH

REPORT_SCHEDULE_ID = "arrears-monthly-reports"


class ReportJob(BaseModel):
    """One report to generate; the key makes a retried activity store it once."""

    kind: ReportKind
    period_start: date
    period_end: date
    policy_pack: PolicyPack | None = None
    idempotency_key: str
    trigger: str = "schedule"


class ReportDone(BaseModel):
    report_id: uuid.UUID
    kind: ReportKind
    row_counts: dict[str, int]


@workflow.defn(name="MonthlyReportsWorkflow")
class MonthlyReportsWorkflow:
    @workflow.run
    async def run(self, month_end: date | None = None) -> list[ReportDone]:
        """Every report kind for the month that ends on `month_end` (default: the month before now)."""
        end = month_end or (workflow.now().date().replace(day=1) - timedelta(days=1))
        start = end.replace(day=1)
        done: list[ReportDone] = []
        for kind in ReportKind:
            if kind is ReportKind.KPI and not workflow.patched(KPI_REPORT_PATCH):
                continue
            job = ReportJob(
                kind=kind,
                period_start=start,
                period_end=end,
                idempotency_key=f"schedule:{kind.value}:all:{start.isoformat()}:{end.isoformat()}",
            )
            done.append(
                await workflow.execute_activity(
                    "generate_report",
                    job,
                    result_type=ReportDone,
                    start_to_close_timeout=timedelta(minutes=30),
                    retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5)),
                )
            )
        return done
