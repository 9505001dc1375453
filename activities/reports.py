"""Report generation as an activity, for the monthly schedule."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import activity

from arrears import audit
from arrears.db import Database
from arrears.reports import service
from workflows.reports import ReportDone, ReportJob


class ReportActivities:
    def __init__(self, db: Database, *, servicer: str) -> None:
        self.db = db
        self.servicer = servicer

    @activity.defn(name="generate_report")
    async def generate_report(self, job: ReportJob) -> ReportDone:
        """Generate and store one report (once per idempotency key)."""
        report = await service.generate(
            self.db,
            service.ReportParams(job.kind, job.period_start, job.period_end, job.policy_pack),
            actor=audit.Actor("report-schedule", "system"),
            trigger=job.trigger,
            servicer=self.servicer,
            idempotency_key=job.idempotency_key,
        )
        return ReportDone(report_id=report.id, kind=report.kind, row_counts=report.row_counts)

    def all(self) -> list[Callable[..., Awaitable[Any]]]:
        return [self.generate_report]
