"""Non-performing and forborne exposures, in the shape of FINREP templates F18 and F19."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from arrears.reports.common import Cell, Table, covered_packs, cutoff, execute, money
from arrears.reports.portfolio import portfolio
from models.audit_actions import AuditAction
from models.enums import CaseOutcome, CaseStage, PolicyPack
from policies import get_pack
from policies.calendar import add_months

TITLE = "Non-performing and forborne exposures (FINREP F18 / F19 shape)"
CURE_MONTHS = 12  # EBA/GL/2018/06: a non-performing forborne exposure cures after one year
PROBATION_MONTHS = 24  # then two years as performing forborne before the flag is lifted
F18_COLUMNS = [
    "performing_le_30",
    "performing_31_60",
    "performing_61_90",
    "np_unlikely_to_pay",
    "np_91_180",
    "np_181_365",
    "np_over_365",
]
F19_COLUMNS = ("forborne", "term_modification", "refinancing", "probation", "non_performing")


def _f18_column(non_performing: bool, dpd: int) -> str:
    if not non_performing:
        return "performing_le_30" if dpd <= 30 else "performing_31_60" if dpd <= 60 else "performing_61_90"
    if dpd <= 90:
        return "np_unlikely_to_pay"
    return "np_91_180" if dpd <= 180 else "np_181_365" if dpd <= 365 else "np_over_365"


@dataclass(frozen=True, slots=True)
class Measure:
    granted: date
    non_performing_at_grant: bool


_MEASURES_SQL = text(
    """
SELECT c.loan_id, e.occurred_at, e.payload
FROM audit_events e JOIN cases c ON c.id = e.case_id
WHERE e.occurred_at <= :t
  AND ((e.action = :stage_changed AND e.payload->>'stage' = :stage)
       OR (e.action = :case_closed AND e.payload->>'outcome' = :outcome))
  AND (CAST(:pack AS text) IS NULL OR c.policy_pack = CAST(:pack AS text))
ORDER BY e.arrival
"""
)


async def _measures(session: AsyncSession, end: date, pack: str | None) -> dict[uuid.UUID, list[Measure]]:
    """Forbearance measures per loan granted by the end of `end`: forbearance plans and modifications."""
    rows = await execute(
        session,
        _MEASURES_SQL,
        {
            "t": cutoff(end),
            "pack": pack,
            "stage_changed": AuditAction.CASE_STAGE_CHANGED.value,
            "stage": CaseStage.FORBEARANCE.value,
            "case_closed": AuditAction.CASE_CLOSED.value,
            "outcome": CaseOutcome.MODIFIED.value,
        },
    )
    measures: defaultdict[uuid.UUID, list[Measure]] = defaultdict(list)
    for row in rows:
        dpd = int(row.payload.get("days_past_due", 0))
        measures[row.loan_id].append(Measure(row.occurred_at.date(), dpd > 90))
    return measures


async def non_performing_forborne(
    session: AsyncSession, start: date, end: date, pack: str | None
) -> list[Table]:
    """Performing and non-performing exposures by days past due, and forborne exposures."""
    states = [s for s in await portfolio(session, end, pack) if not s.exited]
    measures = await _measures(session, end, pack)
    packs = covered_packs(pack, (s.pack for s in states))
    currency = {p: get_pack(PolicyPack(p)).currency for p in packs}

    f18_n: Counter[tuple[str, str]] = Counter()
    f18_b: defaultdict[tuple[str, str], Decimal] = defaultdict(Decimal)
    f19_n: Counter[tuple[str, str]] = Counter()
    f19_b: defaultdict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for s in states:
        live = [
            m
            for m in measures.get(s.loan_id, [])
            if end < add_months(m.granted, CURE_MONTHS + PROBATION_MONTHS)
        ]
        latest = live[-1] if live else None
        non_performing = (
            s.days_past_due > 90
            or s.defaulted
            or s.stage == CaseStage.BANKRUPTCY_STAY
            or len(live) > 1  # re-forbearance while still forborne
            or (
                latest is not None
                and latest.non_performing_at_grant
                and end < add_months(latest.granted, CURE_MONTHS)
            )
        )
        column = _f18_column(non_performing, s.days_past_due)
        f18_n[(s.pack, column)] += 1
        f18_b[(s.pack, column)] += s.balance
        if latest is not None:
            for col in ("forborne", "term_modification", "non_performing" if non_performing else "probation"):
                f19_n[(s.pack, col)] += 1
                f19_b[(s.pack, col)] += s.balance

    f18_rows: list[list[Cell]] = []
    for p in packs:
        n = [f18_n[(p, c)] for c in F18_COLUMNS]
        b = [f18_b[(p, c)] for c in F18_COLUMNS]
        f18_rows.append([p, currency[p], "exposures", *n, sum(n)])
        f18_rows.append([p, currency[p], "gross_carrying_amount", *map(money, b), money(sum(b, Decimal(0)))])
    f19_rows: list[list[Cell]] = []
    for p in packs:
        f19_rows.append([p, currency[p], "exposures", *(f19_n[(p, c)] for c in F19_COLUMNS)])
        f19_rows.append(
            [p, currency[p], "gross_carrying_amount", *(money(f19_b[(p, c)]) for c in F19_COLUMNS)]
        )
    return [
        Table(
            "f18",
            f"Performing and non-performing exposures on {end.isoformat()} (F18 shape)",
            ["pack", "currency", "measure", *F18_COLUMNS, "total"],
            f18_rows,
            note="non-performing: more than 90 days past due, defaulted (CRR Art. 178), under a "
            "bankruptcy stay, re-forborne, or forborne while non-performing and within its one-year "
            "cure period; unlikely to pay: non-performing at 90 days past due or fewer",
        ),
        Table(
            "f19",
            f"Forborne exposures on {end.isoformat()} (F19 shape)",
            [
                "pack",
                "currency",
                "measure",
                "forborne",
                "term_modification",
                "refinancing",
                "of_which_under_probation",
                "of_which_non_performing",
            ],
            f19_rows,
            note="forborne from the grant of a forbearance plan or modification until the one-year cure "
            "and two-year probation have run; every measure the case workflow grants (payment pause, "
            "reduced payments, repayment plan, modification) changes the terms, so refinancing is zero",
        ),
    ]
