"""The bankruptcy and enforcement inventory: stays by chapter, their resolutions, enforcement steps."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from arrears.reports.common import Cell, Table, covered_packs, events
from arrears.reports.portfolio import portfolio
from models.audit_actions import AuditAction, stay_resolution_of
from models.enums import CaseStage, StayResolution

TITLE = "Bankruptcy and enforcement inventory"
RESOLUTIONS = (StayResolution.RELIEF, StayResolution.DISMISSAL, StayResolution.DISCHARGE)  # columns


async def bankruptcy_enforcement(
    session: AsyncSession, start: date, end: date, pack: str | None
) -> list[Table]:
    """Open stays by chapter, filings and their resolutions, and enforcement steps per pack."""
    states = await portfolio(session, end, pack)
    stays = await events(
        session,
        action=AuditAction.CASE_STAGE_CHANGED,
        start=start,
        end=end,
        pack=pack,
        payload=("stage", CaseStage.BANKRUPTCY_STAY.value),
    )
    resolutions = await events(session, action=AuditAction.BANKRUPTCY_DONE, start=start, end=end, pack=pack)
    steps = await events(session, action=AuditAction.ENFORCEMENT_DONE, start=start, end=end, pack=pack)
    packs = covered_packs(pack, (s.pack for s in states))

    open_stays = Counter(
        (s.pack, s.chapter or "unknown") for s in states if s.stage == CaseStage.BANKRUPTCY_STAY
    )
    filed = Counter((e.policy_pack, e.payload.get("chapter", "unknown")) for e in stays)
    chapters = sorted(
        {k[1] for k in open_stays} | {k[1] for k in filed} | {"7", "13"}, key=lambda c: (len(c), c)
    )
    outcome = Counter((e.policy_pack, stay_resolution_of(str(e.payload.get("key", "")))) for e in resolutions)
    step_counts = Counter((e.policy_pack, str(e.payload.get("key", ""))) for e in steps)
    inventory = Counter(s.pack for s in states if s.stage == CaseStage.ENFORCEMENT)
    step_rows: list[list[Cell]] = [[p, step, n] for (p, step), n in sorted(step_counts.items())]
    step_rows += [[p, "in_enforcement_at_end", inventory[p]] for p in packs]
    return [
        Table(
            "stays",
            f"Bankruptcy stays: in force on {end.isoformat()}, entered in the period",
            ["pack", "chapter", "open_at_end", "entered_in_period"],
            [[p, c, open_stays[(p, c)], filed[(p, c)]] for p in packs for c in chapters],
        ),
        Table(
            "stay_resolutions",
            "Stays resolved in the period",
            ["pack", *(r.value for r in RESOLUTIONS)],
            [[p, *(outcome[(p, r.value)] for r in RESOLUTIONS)] for p in packs],
        ),
        Table(
            "enforcement_steps",
            "Enforcement steps taken in the period, and cases in enforcement at its end",
            ["pack", "step", "count"],
            step_rows,
        ),
    ]
