"""Loss-mitigation timeliness (Reg X, 12 CFR 1024.41): acknowledgments, evaluations, appeals."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from arrears.reports.common import Cell, Table, covered_packs, cutoff, events, execute, share
from models.audit_actions import (
    ACKNOWLEDGMENT_KEY_LIKE,
    APPEAL_REVIEW_TASK,
    EVALUATION_TASK,
    AuditAction,
    application_of,
)
from models.enums import CaseStage, PolicyPack
from policies import get_pack

TITLE = "Loss-mitigation timeliness (Reg X, 12 CFR 1024.41)"


@dataclass(slots=True)
class _Deadline:
    pack: str
    case_id: uuid.UUID
    due: date
    done_on: date | None = None


def _timeliness(
    measure: str, items: list[_Deadline], end: date, packs: list[str]
) -> tuple[list[list[Cell]], list[list[Cell]]]:
    rows: list[list[Cell]] = []
    late_rows: list[list[Cell]] = []
    for p in packs:
        mine = [i for i in items if i.pack == p]
        on_time = [i for i in mine if i.done_on is not None and i.done_on <= i.due]
        late = [
            i
            for i in mine
            if (i.done_on is not None and i.done_on > i.due) or (i.done_on is None and i.due < end)
        ]
        pending = len(mine) - len(on_time) - len(late)
        decided = len(on_time) + len(late)
        rows.append([p, measure, len(mine), len(on_time), len(late), pending, share(len(on_time), decided)])
        for i in sorted(late, key=lambda i: (i.due, str(i.case_id))):
            late_rows.append(
                [p, measure, str(i.case_id), i.due.isoformat(), i.done_on.isoformat() if i.done_on else ""]
            )
    return rows, late_rows


_DONE_SQL = text(
    """
SELECT e.case_id, e.payload->>'task' AS task, min(e.occurred_at) AS at
FROM audit_events e
WHERE e.action = :done AND e.occurred_at <= :t AND e.case_id = ANY(:cases)
GROUP BY e.case_id, e.payload->>'task'
"""
)


async def _tasks(
    session: AsyncSession, kind: str, start: date, end: date, pack: str | None
) -> list[_Deadline]:
    """Tasks of a kind created in the period, with their SLA day and the day they were decided."""
    created = await events(
        session, action=AuditAction.TASK_CREATED, start=start, end=end, pack=pack, payload=("kind", kind)
    )
    if not created:
        return []
    rows = await execute(
        session,
        _DONE_SQL,
        {"t": cutoff(end), "cases": list({e.case_id for e in created}), "done": AuditAction.TASK_DONE.value},
    )
    done = {(r.case_id, r.task): r.at.date() for r in rows}
    items: dict[tuple[uuid.UUID, str], _Deadline] = {}
    for e in created:  # a task reopened after a stay keeps its first creation
        key = (e.case_id, e.payload["task"])
        if key not in items:
            items[key] = _Deadline(
                e.policy_pack, e.case_id, date.fromisoformat(e.payload["due"]), done.get(key)
            )
    return list(items.values())


_ACKNOWLEDGMENTS_SQL = text(
    """
SELECT e.case_id, e.arrival, e.action, e.occurred_at, e.payload
FROM audit_events e
WHERE e.case_id = ANY(:cases) AND e.occurred_at <= :t
  AND ((e.action = :stage_changed AND e.payload->>'stage' = :stage)
       OR (e.action = :message_done AND e.payload->>'key' LIKE :acknowledgment))
ORDER BY e.arrival
"""
)


async def _acknowledgments(session: AsyncSession, received: Sequence[Any], end: date) -> list[_Deadline]:
    """Each application received with its acknowledgment's due day and the day it went out."""
    if not received:
        return []
    rows = await execute(
        session,
        _ACKNOWLEDGMENTS_SQL,
        {
            "t": cutoff(end),
            "cases": list({e.case_id for e in received}),
            "stage_changed": AuditAction.CASE_STAGE_CHANGED.value,
            "stage": CaseStage.LOSS_MITIGATION.value,
            "message_done": AuditAction.MESSAGE_DONE.value,
            "acknowledgment": ACKNOWLEDGMENT_KEY_LIKE,
        },
    )
    numbers: Counter[uuid.UUID] = Counter()
    number_of: dict[int, int] = {}
    acked: dict[tuple[uuid.UUID, int], tuple[date, date | None]] = {}
    for r in rows:
        if r.action == AuditAction.CASE_STAGE_CHANGED:
            numbers[r.case_id] += 1
            number_of[r.arrival] = numbers[r.case_id]
        else:
            due = date.fromisoformat(r.payload["due"]) if r.payload.get("due") else None
            acked[(r.case_id, application_of(r.payload["key"]))] = (r.occurred_at.date(), due)
    acks: list[_Deadline] = []
    for e in received:
        the_pack = get_pack(PolicyPack(e.policy_pack))
        due_by = the_pack.business_days_after(e.occurred_at.date(), the_pack.ack_business_days)
        done_on, recorded_due = acked.get((e.case_id, number_of[e.arrival]), (None, None))
        acks.append(_Deadline(e.policy_pack, e.case_id, recorded_due or due_by, done_on))
    return acks


async def loss_mitigation(session: AsyncSession, start: date, end: date, pack: str | None) -> list[Table]:
    """Applications received, acknowledged in 5 business days, evaluated and appealed in 30 days."""
    received = await events(
        session,
        action=AuditAction.CASE_STAGE_CHANGED,
        start=start,
        end=end,
        pack=pack,
        payload=("stage", CaseStage.LOSS_MITIGATION.value),
    )
    acks = await _acknowledgments(session, received, end)
    evaluations = await _tasks(session, EVALUATION_TASK, start, end, pack)
    appeals = await _tasks(session, APPEAL_REVIEW_TASK, start, end, pack)
    packs = covered_packs(pack, (e.policy_pack for e in received))

    summary: list[list[Cell]] = [
        [p, "applications_received", sum(1 for e in received if e.policy_pack == p), "", "", "", ""]
        for p in packs
    ]
    late: list[list[Cell]] = []
    for measure, items in (
        ("acknowledged_within_5_business_days", acks),
        ("evaluated_within_30_days", evaluations),
        ("appeal_decided_within_30_days", appeals),
    ):
        rows_, late_ = _timeliness(measure, items, end, packs)
        summary += rows_
        late += late_
    summary.sort(key=lambda r: str(r[0]))
    return [
        Table(
            "timeliness",
            f"Loss-mitigation deadlines from {start.isoformat()} to {end.isoformat()}",
            ["pack", "measure", "count", "on_time", "late", "pending", "share_on_time"],
            summary,
            note="count: applications received, or evaluations and appeals opened, in the period; "
            "late: decided after the deadline, or still open after it; pending: open, deadline ahead; "
            "share on time: of those decided or overdue",
        ),
        Table("late_cases", "Late cases", ["pack", "measure", "case_id", "due", "done_on"], late),
    ]
