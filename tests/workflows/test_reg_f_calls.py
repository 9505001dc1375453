"""Reg F call frequency (12 CFR 1006.14(b)(2)): the calls staff place, counted per debt, walked
day by day on the time-skipping server. Days are the pack's calendar days (New York); the
timeline's noon UTC falls on the same day there."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlmodel import col, select

from arrears.db import Database
from models.cases import Case
from models.enums import CallDirection, Channel
from workflows.dto import ContactRecord

CAP = "us_mortgage.reg_f.call_frequency"
AFTER_TALK = "us_mortgage.reg_f.call_after_conversation"


async def _call(case: Any, outcome: str = "no_answer", direction: str = "outbound") -> str:
    contact = ContactRecord.model_validate(
        {
            "by": "agent",
            "reason": "collection call",
            "channel": Channel.CALL,
            "outcome": outcome,
            "direction": CallDirection(direction),
        }
    )
    # by name: the SDK types a handler declared with `name=` as returning its coroutine
    reply: str = await case.handle.execute_update("record_contact", contact, result_type=str)
    return reply


async def _refused(case: Any, outcome: str = "no_answer") -> str:
    """A call placed over the frequency: recorded all the same, under the rule it breaks, and
    flagged in the reply, in the case's record and in the audit trail."""
    reply = await _call(case, outcome)
    assert reply.startswith("recorded over the call frequency: "), reply
    record = [a for a in (await case.state()).actions if a.kind == "contact"][-1]
    assert record.status == "done" and record.rule_id in (CAP, AFTER_TALK), record
    assert record.detail.startswith("placed over the call frequency"), record.detail
    return reply


async def _start(case: Any) -> date:
    """Noon UTC on the day after opening: the day the test's first call is placed."""
    first: date = await case.today() + timedelta(days=1)
    await case.to(first)
    return first


async def test_an_eighth_placed_call_in_seven_days_waits_for_the_window_to_move_on(
    open_case: Any, db: Database
) -> None:
    case = await open_case(days_past_due=10)
    first = await _start(case)
    for day in range(4):  # two calls a day: seven by the fourth day
        if day:
            await case.to(first + timedelta(days=day))
        for _ in range(2 if day < 3 else 1):
            assert await _call(case) == "recorded"
    reason = await _refused(case)
    allowed = first + timedelta(days=7)
    assert CAP in reason and "12 CFR 1006.14(b)(2)(i)(A)" in reason
    assert f"next call allowed on {allowed.isoformat()}" in reason
    state = await case.state()
    assert state.next_call.rule_id == CAP and state.next_call.at is not None
    assert state.next_call.at.date() == allowed
    async with db.session() as session:
        row = (await session.exec(select(Case).where(col(Case.id) == state.case_id))).one()
    assert row.next_call_rule == CAP and row.next_call_at == state.next_call.at
    await case.to(first + timedelta(days=6))
    await _refused(case)
    await case.to(allowed)
    # the two calls placed over it count too: the eighth day's window holds seven placed calls
    reason = await _refused(case)
    assert f"next call allowed on {(allowed + timedelta(days=1)).isoformat()}" in reason


async def test_a_call_over_the_frequency_is_recorded_and_audited_not_lost(
    open_case: Any, db: Database
) -> None:
    """Staff dial, then report: an eighth call placed is in the record and the trail, flagged."""
    from models.audit import AuditEvent

    case = await open_case(days_past_due=10)
    await _start(case)
    for _ in range(7):
        assert await _call(case) == "recorded"
    reply = await _refused(case)
    assert "12 CFR 1006.14(b)(2)(i)(A)" in reply
    state = await case.state()
    calls = [a for a in state.actions if a.kind == "contact"]
    assert len(calls) == 8 and [a.rule_id for a in calls].count(CAP) == 1
    async with db.session() as session:
        events = (
            await session.exec(select(AuditEvent).where(col(AuditEvent.case_id) == state.case_id))
        ).all()
    flagged = [e for e in events if e.rule_id == CAP]
    assert len(flagged) == 1 and flagged[0].action == "contact.done"
    assert flagged[0].actor == "agent" and "over the call frequency" in flagged[0].reason


async def test_after_a_conversation_no_call_until_the_eighth_day(open_case: Any) -> None:
    case = await open_case(days_past_due=10)
    first = await _start(case)
    # the borrower called and spoke to staff: a conversation, whoever placed the call
    assert await _call(case, "reached", "inbound") == "recorded"
    reason = await _refused(case)
    allowed = first + timedelta(days=7)
    assert AFTER_TALK in reason and "12 CFR 1006.14(b)(2)(i)(B)" in reason
    assert f"on {first.isoformat()}" in reason and f"allowed on {allowed.isoformat()}" in reason
    await case.to(first + timedelta(days=6))
    assert "12 CFR 1006.14(b)(2)(i)(B)" in await _refused(case)
    # a call never connected to the dialed number is not counted (1006.14(b)(3)(ii))
    assert await _call(case, "not_connected") == "recorded"
    await case.to(allowed)
    assert await _call(case, "reached") == "recorded"
    # that call was itself a conversation: the next week starts again
    assert f"allowed on {(allowed + timedelta(days=7)).isoformat()}" in await _refused(case)


async def test_the_borrowers_own_calls_are_accepted_and_not_counted(open_case: Any) -> None:
    case = await open_case(days_past_due=10)
    await _start(case)
    for _ in range(6):
        await _call(case)
    for _ in range(3):  # voicemails the borrower left, and a call that never connected
        assert await _call(case, "left_message", "inbound") == "recorded"
    assert await _call(case, "not_connected") == "recorded"
    assert await _call(case) == "recorded"  # the seventh placed call
    assert (await case.state()).next_call.rule_id == CAP
    assert await _call(case, "no_answer", "inbound") == "recorded"  # still accepted
    await _refused(case)
