"""The scored segment drives the early stage's cadence, within the pack's rules: walked on the
time-skipping server with the real activities, checking the day each reminder goes out."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import select
from temporalio.client import WorkflowUpdateFailedError

from arrears.db import Database
from models.audit import AuditEvent
from models.audit_actions import AuditAction
from models.enums import CaseStage, Segment
from workflows.case.segments import SET_SCORED_SEGMENT
from workflows.dto import PromiseToPay, ScoredSegment

RUN = uuid.UUID("00000000-0000-4000-8000-000000000021")


def _scored(segment: Segment) -> ScoredSegment:
    return ScoredSegment(
        by="arrears-score-run",
        role="system",
        reason="score run",
        segment=segment,
        model="default",
        model_version=3,
        run_id=RUN,
    )


async def _set(case: Any, segment: Segment) -> str:
    result: str = await case.handle.execute_update(SET_SCORED_SEGMENT, _scored(segment), result_type=str)
    await case.settle()
    return result


async def _sent(case: Any, prefix: str) -> list[tuple[date, str | None]]:
    """The reminders of `prefix` that went out: the day each went, and its document."""
    return [(a.at.date(), a.document) for a in await case.actions(prefix, "done")]


async def test_a_case_scored_bad_gets_the_strict_cadence_from_the_day_it_is_scored(
    open_case: Any, db: Database
) -> None:
    # first seen 1 day late: the pack's forgetful track (an SMS nudge on day 3, e-mail on day 10)
    case = await open_case(days_past_due=1)
    assert (await case.state()).segment is Segment.FORGETFUL
    await case.to(case.day(4))
    assert await _sent(case, "reminder.forgetful") == [(case.day(3), "reminder_direct_debit")]

    assert await _set(case, Segment.BAD) == "forgetful -> bad"
    state = await case.state()
    assert state.segment is Segment.BAD
    # the strict plan's steps still ahead, on the days the pack's bad cadence gives them
    assert [(a.key, a.due) for a in state.next_actions if a.key.startswith("reminder.")] == [
        ("reminder.bad.2", case.day(7)),
        ("reminder.bad.3", case.day(14)),
    ]
    await case.to(case.day(15))
    assert await _sent(case, "reminder.bad") == [(case.day(7), "reminder"), (case.day(14), "late_notice")]
    # the nudges still planned for the forgetful track never went
    assert await _sent(case, "reminder.forgetful") == [(case.day(3), "reminder_direct_debit")]

    [record] = await case.actions("segment.")
    assert record.rule_id == "strategy.scored_segment" and not record.collection
    assert record.detail == f"segment forgetful -> bad: scored by default v3, run {RUN}"
    async with db.session() as session:
        events = (
            await session.exec(
                select(AuditEvent).where(
                    AuditEvent.case_id == state.case_id, AuditEvent.action == AuditAction.SEGMENT_DONE
                )
            )
        ).all()
    assert [(e.actor, e.role, e.payload["key"]) for e in events] == [
        ("arrears-score-run", "system", record.key)
    ]


async def test_a_case_scored_forgetful_gets_the_nudges_again(open_case: Any) -> None:
    """A score's strict track is not the pack's: the next run may move the case back to nudges."""
    case = await open_case(days_past_due=1)
    await _set(case, Segment.BAD)
    await case.to(case.day(4))
    assert await _sent(case, "reminder.bad") == [(case.day(2), "late_notice")]

    assert await _set(case, Segment.FORGETFUL) == "bad -> forgetful"
    await case.to(case.day(17))
    # the direct-debit nudge by e-mail on day 10 and the late notice on day 16; no strict SMS on day 7
    assert await _sent(case, "reminder.forgetful") == [
        (case.day(10), "reminder_direct_debit"),
        (case.day(16), "late_notice"),
    ]
    assert await _sent(case, "reminder.bad") == [(case.day(2), "late_notice")]
    assert [a.key.split(".")[1] for a in await case.actions("segment.")] == ["bad", "forgetful"]


async def test_the_pack_strict_track_stays_whatever_the_score_says(open_case: Any) -> None:
    # first seen 65 days late: the pack puts the case on its strict track
    case = await open_case(days_past_due=65)
    assert (await case.state()).segment is Segment.BAD
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await _set(case, Segment.FORGETFUL)
    assert "strict track" in str(refused.value.cause) and "it stays bad" in str(refused.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as unchanged:
        await _set(case, Segment.BAD)
    assert "already in the bad segment" in str(unchanged.value.cause)
    state = await case.state()
    assert state.segment is Segment.BAD and not [a for a in state.actions if a.key.startswith("segment.")]


async def test_only_the_early_stage_takes_a_segment(open_case: Any) -> None:
    case = await open_case(days_past_due=125)
    assert (await case.state()).stage is CaseStage.ENFORCEMENT
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await _set(case, Segment.BAD)
    assert "the case is in enforcement" in str(refused.value.cause)


async def test_a_broken_promise_keeps_the_scored_segment_unless_the_pack_says_bad(open_case: Any) -> None:
    case = await open_case(days_past_due=1)
    await _set(case, Segment.BAD)
    due = await case.today() + timedelta(days=3)
    await case.handle.execute_update(
        "record_promise", PromiseToPay(by="agent", reason="phone", amount=Decimal("500.00"), due=due)
    )
    await case.to(due + timedelta(days=4))
    state = await case.state()
    assert any(a.key.startswith("promise.") and a.detail.startswith("broken") for a in state.actions)
    # one broken promise alone puts the pack's case on the good track; the score's strict one stays
    assert state.segment is Segment.BAD
    assert await _sent(case, "reminder.good") == []
