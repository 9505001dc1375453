"""The report kinds: each kind's title and the builder of its figures, and `build` to run one.

Each kind is defined in a module of its own; `arrears.reports.common` says what they share,
`arrears.reports.portfolio` how a loan's state at an instant is read from the records.
"""

from __future__ import annotations

from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from arrears.reports import bankruptcy_enforcement, delinquency, kpi, loss_mitigation, non_performing_forborne
from arrears.reports.common import Builder, ReportData, cutoff
from models.enums import ReportKind

__all__ = ["REPORTS", "ReportData", "build", "cutoff"]

REPORTS: dict[ReportKind, tuple[str, Builder]] = {
    ReportKind.DELINQUENCY: (delinquency.TITLE, delinquency.delinquency),
    ReportKind.NON_PERFORMING_FORBORNE: (
        non_performing_forborne.TITLE,
        non_performing_forborne.non_performing_forborne,
    ),
    ReportKind.LOSS_MITIGATION: (loss_mitigation.TITLE, loss_mitigation.loss_mitigation),
    ReportKind.BANKRUPTCY_ENFORCEMENT: (
        bankruptcy_enforcement.TITLE,
        bankruptcy_enforcement.bankruptcy_enforcement,
    ),
    ReportKind.KPI: (kpi.TITLE, kpi.kpi),
}


async def build(
    session: AsyncSession, *, kind: ReportKind, start: date, end: date, pack: str | None
) -> ReportData:
    """The figures of one report kind for a period and a pack (None: every pack)."""
    title, builder = REPORTS[kind]
    return ReportData(
        kind=kind,
        title=title,
        period_start=start,
        period_end=end,
        policy_pack=pack,
        as_of=cutoff(end),
        tables=await builder(session, start, end, pack),
    )
