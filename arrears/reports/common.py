"""What every report kind shares: its tables, the period's cut-off, number formats, and reads
of the audit trail as it stood at the cut-off.

Every query reads only what was recorded by the cut-off instant (the last microsecond of the
period's last day, UTC): delinquency snapshots received by then, cases opened by then, audit
events that occurred by then. Rows written later, whatever they say about the past, do not
move a past period's figures, so a re-run gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audit_actions import AuditAction
from models.enums import PolicyPack, ReportKind

if TYPE_CHECKING:
    from arrears.analytics.charts import Chart

Cell = str | int


@dataclass(frozen=True, slots=True)
class Table:
    """One table of a report: a machine name, a title, columns and rows of text or integers."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[Cell]]
    note: str = ""
    chart: Chart | None = None  # drawn above the table in the PDF (the KPI report's charts)


@dataclass(frozen=True, slots=True)
class ReportData:
    """A report's figures, independent of the format it is rendered to."""

    kind: ReportKind
    title: str
    period_start: date
    period_end: date
    policy_pack: str | None
    as_of: datetime
    tables: list[Table] = field(default_factory=list)

    def row_counts(self) -> dict[str, int]:
        return {t.name: len(t.rows) for t in self.tables}


# The figures of one report kind for a period [start, end] and a pack (None: every pack).
Builder = Callable[[AsyncSession, date, date, str | None], Awaitable[list[Table]]]


def cutoff(day: date) -> datetime:
    """The last instant of a UTC day: what was recorded by then counts for that day."""
    return datetime.combine(day, time.max, UTC)


def money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def share(part: int, whole: int) -> str:
    """A share as a fraction with four places; empty when there is nothing to divide."""
    return str((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))) if whole else ""


def covered_packs(pack: str | None, *found: Iterable[str]) -> list[str]:
    """The packs a report covers: the one asked for, else every pack (zero rows included)."""
    if pack is not None:
        return [pack]
    return sorted({p.value for p in PolicyPack} | {p for group in found for p in group})


async def execute(session: AsyncSession, statement: Any, params: dict[str, Any]) -> Any:
    """A raw SQL read in the session's transaction (the figures are SQL aggregates, not ORM rows)."""
    connection = await session.connection()
    return await connection.execute(statement, params)


_EVENTS_SQL = text(
    """
SELECT e.arrival, e.case_id, e.occurred_at, e.payload, c.policy_pack
FROM audit_events e JOIN cases c ON c.id = e.case_id
WHERE e.action = :action AND e.occurred_at >= :since AND e.occurred_at <= :t
  AND (CAST(:pack AS text) IS NULL OR c.policy_pack = CAST(:pack AS text))
  AND (CAST(:key AS text) IS NULL OR e.payload->>CAST(:key AS text) = CAST(:value AS text))
ORDER BY e.arrival
"""
)


async def events(
    session: AsyncSession,
    *,
    action: AuditAction,
    start: date,
    end: date,
    pack: str | None,
    payload: tuple[str, str] | None = None,
) -> Sequence[Any]:
    """Audit events of one action that occurred in [start, end], with their case's pack; with
    `payload` (key, value), only those whose payload has that value (filtered in the database)."""
    rows = await execute(
        session,
        _EVENTS_SQL,
        {
            "key": payload[0] if payload else None,
            "value": payload[1] if payload else None,
            "action": action.value,
            "since": datetime.combine(start, time.min, UTC),
            "t": cutoff(end),
            "pack": pack,
        },
    )
    found: Sequence[Any] = rows.all()
    return found
