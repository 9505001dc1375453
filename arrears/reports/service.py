"""Generate a report, store it with its files' hashes, and write it to the audit trail: one commit."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from arrears import audit
from arrears.db import Database
from arrears.reports import figures, render
from models.audit_actions import AuditAction
from models.enums import PolicyPack, ReportFormat, ReportKind
from models.reports import Report, ReportFile


class ReportRequestInvalid(ValueError):
    """The parameters cannot make a report (a period not yet over, an unknown pack …)."""


@dataclass(frozen=True, slots=True)
class ReportParams:
    kind: ReportKind
    period_start: date
    period_end: date
    policy_pack: PolicyPack | None = None

    def check(self, today: date) -> None:
        if self.period_end < self.period_start:
            raise ReportRequestInvalid("period_end is before period_start")
        if self.period_end >= today:
            raise ReportRequestInvalid(
                f"the period must be over: period_end {self.period_end.isoformat()} is not before "
                f"today ({today.isoformat()}); figures are taken as of the period's last instant"
            )
        if (self.period_end - self.period_start).days > 366:
            raise ReportRequestInvalid("a period spans at most 366 days")

    def key(self) -> str:
        pack = self.policy_pack.value if self.policy_pack else "all"
        return f"{self.kind.value}:{pack}:{self.period_start.isoformat()}:{self.period_end.isoformat()}"


async def generate(
    db: Database,
    params: ReportParams,
    *,
    actor: audit.Actor,
    trigger: str,
    servicer: str,
    idempotency_key: str | None = None,
    today: date | None = None,
) -> Report:
    """Compute, render and store one report; a repeated idempotency key returns the first run."""
    params.check(today or datetime.now(UTC).date())
    key = idempotency_key or f"on_demand:{params.key()}:{uuid.uuid4()}"
    async with db.session() as session:
        existing = (await session.exec(select(Report).where(Report.idempotency_key == key))).first()
        if existing is not None:
            return existing
        pack = params.policy_pack.value if params.policy_pack else None
        data = await figures.build(
            session, kind=params.kind, start=params.period_start, end=params.period_end, pack=pack
        )
    # Rendering is CPU work (the PDF above all): off the event loop, outside any transaction.
    files = await asyncio.to_thread(render.render_all, data, servicer=servicer)
    async with db.session() as session:
        report = Report(
            kind=params.kind,
            policy_pack=pack,
            period_start=params.period_start,
            period_end=params.period_end,
            as_of=data.as_of,
            trigger=trigger,
            requested_by=actor.name,
            idempotency_key=key,
            row_counts=data.row_counts(),
            parameters={
                "kind": params.kind.value,
                "policy_pack": pack,
                "period_start": params.period_start.isoformat(),
                "period_end": params.period_end.isoformat(),
            },
        )
        session.add(report)
        await session.flush()
        for f in files:
            session.add(
                ReportFile(
                    report_id=report.id,
                    format=f.format,
                    media_type=f.media_type,
                    size=len(f.content),
                    sha256=f.sha256,
                    content=f.content,
                )
            )
        await audit.append(
            session,
            actor=actor,
            action=AuditAction.REPORT_GENERATED,
            reason=f"{params.kind.value} report for {params.period_start} to {params.period_end}",
            payload={
                "report_id": str(report.id),
                **report.parameters,
                "trigger": trigger,
                "row_counts": report.row_counts,
                "sha256": {f.format.value: f.sha256 for f in files},
            },
            idempotency_key=f"report:{key}",
        )
    return report


async def files_of(session: AsyncSession, report_id: uuid.UUID) -> list[ReportFile]:
    """A report's files without their content, in format order."""
    rows = (
        await session.exec(
            select(ReportFile).where(ReportFile.report_id == report_id).order_by(col(ReportFile.format))
        )
    ).all()
    return list(rows)


async def file_content(
    session: AsyncSession, report_id: uuid.UUID, format: ReportFormat
) -> ReportFile | None:
    return (
        await session.exec(
            select(ReportFile).where(ReportFile.report_id == report_id, ReportFile.format == format)
        )
    ).first()


async def listing(
    session: AsyncSession,
    *,
    kind: ReportKind | None,
    pack: PolicyPack | None,
    limit: int,
    offset: int,
) -> tuple[list[Report], int]:
    """Reports, newest period first, and how many match."""
    where = []
    if kind is not None:
        where.append(col(Report.kind) == kind)
    if pack is not None:
        where.append(col(Report.policy_pack) == pack.value)
    total = (await session.exec(select(func.count()).select_from(Report).where(*where))).one()
    rows = (
        await session.exec(
            select(Report)
            .where(*where)
            .order_by(col(Report.period_end).desc(), col(Report.generated_at).desc(), col(Report.id))
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return list(rows), total
