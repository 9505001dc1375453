"""Reg X early intervention while the borrower is a debtor in bankruptcy (12 CFR 1024.39(c)),
walked on the time-skipping server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from policies.delinquency import due_dates
from workflows.dto import BankruptcyFiling, BankruptcyResolution

COURT_CASE = "26-30003"
MODIFIED = f"early_intervention.bankruptcy.{COURT_CASE}.written_notice"


async def _file(case: Any, chapter: Literal[7, 11, 12, 13], surrender: bool = False) -> None:
    filing = BankruptcyFiling(
        by="legal",
        reason="petition filed",
        chapter=chapter,
        court_case=COURT_CASE,
        filed_on=await case.today(),
        surrender=surrender,
    )
    await case.handle.execute_update("record_bankruptcy", filing, result_type=str)
    await case.settle()


async def test_a_chapter_13_debtor_gets_the_modified_notice_on_day_40_and_no_live_contact(
    open_case: Any,
) -> None:
    case = await open_case(days_past_due=10)
    await _file(case, 13)
    await case.to(case.day(39))
    assert await case.fired_on(MODIFIED) == []
    await case.to(case.day(40))
    assert await case.fired_on(MODIFIED) == [case.day(40)]
    notice = (await case.actions(MODIFIED))[0]
    assert (
        notice.citation == "12 CFR 1024.39(c)(1)(iii)"
        and notice.document == "early_intervention_notice_bankruptcy"
    )
    assert not notice.collection
    state = await case.state()
    assert await case.fired_on("early_intervention.written_notice") == []
    assert [t for t in state.open_tasks if t.kind == "live_contact"] == []


async def test_chapter_7_or_a_surrendering_plan_exempts_the_notice(open_case: Any) -> None:
    cases: tuple[tuple[Literal[7, 11, 12, 13], bool], ...] = ((7, False), (13, True))
    for chapter, surrender in cases:
        case = await open_case(days_past_due=10)
        await _file(case, chapter, surrender)
        await case.to(case.day(41))
        assert await case.fired_on(MODIFIED) == []
        exempt = await case.actions(f"early_intervention.bankruptcy.{COURT_CASE}.exempt", "suppressed")
        assert [a.citation for a in exempt] == ["12 CFR 1024.39(c)(1)(i), (ii)"]
        assert await case.fired_on("early_intervention.written_notice") == []


async def test_after_dismissal_early_intervention_resumes_from_the_next_due_date(open_case: Any) -> None:
    case = await open_case(days_past_due=10, due_day="oldest")
    dues = due_dates(case.delinquent_since, due_day=case.delinquent_since.day, count=4)
    await _file(case, 13)
    await case.to(case.day(50))
    resolution = BankruptcyResolution(
        by="legal", reason="case dismissed", kind="dismissal", on=await case.today()
    )
    await case.handle.execute_update("resolve_bankruptcy", resolution, result_type=str)
    await case.settle()
    state = await case.state()
    # the next payment due date after the dismissal (day 50): its live contact is due 36 days on
    following = next(d for d in dues if d > case.day(50))
    assert [t.due for t in state.open_tasks if t.kind == "live_contact"] == []
    await case.to(following)
    state = await case.state()
    assert [t.due for t in state.open_tasks if t.kind == "live_contact"] == [following + timedelta(days=36)]
    await case.to(following + timedelta(days=39))
    assert await case.fired_on("early_intervention.resumed.") == []
    await case.to(following + timedelta(days=40))
    assert await case.fired_on("early_intervention.resumed.") == [following + timedelta(days=40)]
    resumed = (await case.actions("early_intervention.resumed."))[0]
    assert resumed.citation == "12 CFR 1024.39(c)(2)"
