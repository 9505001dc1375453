"""US early intervention keyed by payment due date, walked on the time-skipping server: a payment
that covers the oldest instalments moves the delinquency's start (12 CFR 1024.31), and the live
contacts (12 CFR 1024.39(a)) and written notices (1024.39(b)) are planned again from the new start,
none skipped and none doubled."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

from models.enums import CaseOutcome
from policies.delinquency import due_dates
from workflows.case import CaseWorkflow
from workflows.dto import CloseRequest

LIVE_CONTACT = "early_intervention.live_contact."
NOTICE = "early_intervention.written_notice."


def _on_a_due_day(today: date, around: int) -> int:
    """Days past due near `around` whose oldest due date falls on a day every month has."""
    return next(d for d in range(around, around + 4) if (today - timedelta(days=d)).day <= 28)


async def _open(open_case: Any, time_env: Any, around: int, instalments: int) -> tuple[Any, tuple[date, ...]]:
    today = (await time_env.get_current_time()).date()
    dpd = _on_a_due_day(today, around)
    oldest = today - timedelta(days=dpd)
    case = await open_case(
        days_past_due=dpd,
        arrears=f"{1000 * instalments}.00",
        installment="1000.00",
        due_day=oldest.day,
    )
    dues = due_dates(oldest, due_day=oldest.day, count=8)
    assert [i.due for i in (await case.state()).schedule] == list(dues[:instalments])
    return case, dues


async def _live_contacts(case: Any) -> dict[str, date]:
    """Every live-contact task the case created (open, escalated or done), by key: its due date."""
    memory = await case.handle.query(CaseWorkflow.memory)
    return {key: task.due for key, task in memory.tasks.items() if task.kind == "live_contact"}


async def test_a_moved_start_plans_the_next_live_contact_and_notice_from_it(
    open_case: Any, time_env: Any
) -> None:
    case, dues = await _open(open_case, time_env, 35, instalments=2)
    d0, d1, d2 = dues[0], dues[1], dues[2]
    # at opening: one live contact, for the oldest due date, due 36 days after it
    opened = await case.state()
    assert [t.due for t in opened.open_tasks if t.kind == "live_contact"] == [d0 + timedelta(days=36)]
    # the contact made today (day 35) is within 36 days of d1 too: d1 needs no task of its own
    await case.decide("live_contact", "contacted")
    assert f"{LIVE_CONTACT}{d1.isoformat()}" in (await case.handle.query(CaseWorkflow.memory)).done

    await case.pay("1000.00", external_id="P-oldest")  # covers the oldest: the start moves to d1
    assert (await case.state()).delinquent_since == d1

    # the notice counted from the old start (day 40 after d0) does not go out
    await case.to(d0 + timedelta(days=41))
    assert await case.fired_on(NOTICE) == []
    # the next due date's live contact opens on it, due 36 days later, and once
    await case.to(d2 - timedelta(days=1), hour=23)
    assert d2 + timedelta(days=36) not in (await _live_contacts(case)).values()
    await case.to(d2, hour=1)
    contacts = await _live_contacts(case)
    assert sorted(contacts.values()) == [d + timedelta(days=36) for d in (d0, d2)]
    assert contacts[f"{LIVE_CONTACT}{d2.isoformat()}"] == d2 + timedelta(days=36)
    # the written notice: by day 45 counted from the new start (sent on day 40)
    await case.to(d1 + timedelta(days=39), hour=23)
    assert await case.fired_on(NOTICE) == []
    await case.to(d1 + timedelta(days=40), hour=1)
    assert await case.fired_on(NOTICE) == [d1 + timedelta(days=40)]
    notice = (await case.actions(NOTICE))[0]
    assert notice.key == f"{NOTICE}{d1.isoformat()}.0" and notice.citation == "12 CFR 1024.39(b)"


async def test_a_moved_start_after_a_notice_keeps_180_days_and_skips_no_due_date(
    open_case: Any, time_env: Any
) -> None:
    case, dues = await _open(open_case, time_env, 70, instalments=3)
    opened = await case.today()
    d2, d3, d4 = dues[2], dues[3], dues[4]
    # opened past day 45: the written notice goes at once
    assert await case.fired_on(NOTICE) == [opened]

    await case.decide("live_contact", "attempted")  # d2's, the one whose window is still open
    await case.pay("2000.00", external_id="P-two-oldest")  # the start moves to the third due date
    assert (await case.state()).delinquent_since == d2

    await case.to(d3, hour=1)
    await case.decide("live_contact", "contacted")
    await case.to(d2 + timedelta(days=41))  # day 45 counted from the new start
    assert await case.fired_on(NOTICE) == [opened]
    await case.to(d4, hour=1)
    contacts = await _live_contacts(case)
    # d2's contact was taken at opening; d3 and d4 follow on their days: none skipped, none twice
    assert contacts == {f"{LIVE_CONTACT}{d.isoformat()}": d + timedelta(days=36) for d in (d2, d3, d4)}, (
        contacts
    )
    assert not [k for k, n in Counter(a.key for a in (await case.state()).actions).items() if n > 1]
    # the notice for the new start waits out 180 days from the one sent (1024.39(b)(2))
    await case.to(opened + timedelta(days=179), hour=23)
    assert await case.fired_on(NOTICE) == [opened]
    await case.to(opened + timedelta(days=180), hour=1)
    assert await case.fired_on(NOTICE) == [opened, opened + timedelta(days=180)]


async def test_live_contacts_taken_under_numbered_keys_count_for_their_due_date(
    open_case: Any, time_env: Any, skipping_intake: Any, db: Any
) -> None:
    """A run that took live contacts before they were keyed by due date (`...live_contact.0`) does
    not take them again under the new key: the task's SLA tells the due date it was for."""
    from arrears.case_runs import case_input
    from models.cases import Case

    case, dues = await _open(open_case, time_env, 10, instalments=1)
    d0, d1 = dues[0], dues[1]
    memory = await case.handle.query(CaseWorkflow.memory)
    dated = f"{LIVE_CONTACT}{d0.isoformat()}"
    assert dated in memory.tasks
    # as a run before the patch would carry it: the same task under its numbered key
    # (decided: an open one would hold back the next due date's, one live-contact task at a time)
    memory.tasks[f"{LIVE_CONTACT}0"] = memory.tasks.pop(dated).model_copy(
        update={"key": f"{LIVE_CONTACT}0", "status": "done", "decision": "contacted"}
    )
    memory.done[f"{LIVE_CONTACT}0"] = memory.done.pop(dated)
    state = await case.state()
    async with db.session() as session:
        row = await session.get(Case, state.case_id)
    carried = case_input(row, state.loan_external_id).model_copy(update={"memory": memory})
    await case.handle.terminate("replaced by a run carrying numbered keys")
    resumed = await time_env.client.start_workflow(
        CaseWorkflow.run, carried, id=f"{case.handle.id}-numbered", task_queue=skipping_intake.task_queue
    )
    case.handle = time_env.client.get_workflow_handle_for(CaseWorkflow.run, resumed.id)
    await case.settle()
    assert set(await _live_contacts(case)) == {f"{LIVE_CONTACT}0"}  # d0's is not taken again
    await case.to(d1, hour=1)
    assert await _live_contacts(case) == {
        f"{LIVE_CONTACT}0": d0 + timedelta(days=36),
        f"{LIVE_CONTACT}{d1.isoformat()}": d1 + timedelta(days=36),
    }
    await case.handle.execute_update(
        "close_case", CloseRequest(by="test", reason="test over", outcome=CaseOutcome.TRANSFERRED)
    )


def _start_before_a_due_day(today: date) -> tuple[int, int]:
    """Days past due near 10 and a due day other than the start's, such that a due date fell
    between the start and today (delinquent since 23 Nov, due on the 1st, today 3 Dec)."""
    for dpd in range(10, 30):
        since = today - timedelta(days=dpd)
        for due_day in range(1, 29):
            if since.day != due_day and since < due_dates(since, due_day=due_day, count=2)[1] < today:
                return dpd, due_day
    raise AssertionError(f"no such start before {today}")


async def test_one_live_contact_covers_every_due_date_within_36_days_of_it(
    open_case: Any, time_env: Any
) -> None:
    """12 CFR 1024.39(a): a live contact on day X (or a good-faith attempt) meets the duty for
    every due date D with D <= X <= D + 36 days. Staff get one task at a time, for the oldest
    due date still to be met; deciding it covers the due dates already passed, and the next due
    date after the contact opens a task of its own."""
    today = (await time_env.get_current_time()).date()
    dpd, due_day = _start_before_a_due_day(today)
    since = today - timedelta(days=dpd)
    dues = due_dates(since, due_day=due_day, count=6)
    case = await open_case(days_past_due=dpd, arrears="2000.00", installment="1000.00", due_day=due_day)
    assert [i.due for i in (await case.state()).schedule] == list(dues[:2])

    # one task, though two due dates have passed: the oldest's, due 36 days after it
    opened = [t for t in (await case.state()).open_tasks if t.kind == "live_contact"]
    assert [(t.key, t.due) for t in opened] == [
        (f"{LIVE_CONTACT}{since.isoformat()}", since + timedelta(days=36))
    ]

    await case.decide("live_contact", "contacted")  # on day X = today: covers both due dates
    assert [t for t in (await case.state()).open_tasks if t.kind == "live_contact"] == []
    done = (await case.handle.query(CaseWorkflow.memory)).done
    assert done[f"{LIVE_CONTACT}{dues[1].isoformat()}"] == today
    assert set(await _live_contacts(case)) == {f"{LIVE_CONTACT}{since.isoformat()}"}

    # the next due date after the contact gets its own task on its day, and only then
    await case.to(dues[2] - timedelta(days=1), hour=23)
    assert set(await _live_contacts(case)) == {f"{LIVE_CONTACT}{since.isoformat()}"}
    await case.to(dues[2], hour=1)
    opened = [t for t in (await case.state()).open_tasks if t.kind == "live_contact"]
    assert [(t.key, t.due) for t in opened] == [
        (f"{LIVE_CONTACT}{dues[2].isoformat()}", dues[2] + timedelta(days=36))
    ]

    # a good-faith attempt five days later covers that due date alone: the next one opens on its day
    await case.to(dues[2] + timedelta(days=5))
    await case.decide("live_contact", "attempted")
    await case.to(dues[3], hour=1)
    assert set(await _live_contacts(case)) == {
        f"{LIVE_CONTACT}{d.isoformat()}" for d in (since, dues[2], dues[3])
    }
    await case.handle.execute_update(
        "close_case", CloseRequest(by="test", reason="test over", outcome=CaseOutcome.TRANSFERRED)
    )
