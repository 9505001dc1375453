"""Reg X early intervention while the borrower is a debtor in bankruptcy (12 CFR 1024.39(c)),
walked on the time-skipping server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

import pytest
from temporalio.client import WorkflowUpdateFailedError

from policies.delinquency import due_dates
from workflows.dto import BankruptcyCaseEnd, BankruptcyFacts, BankruptcyFiling, BankruptcyResolution

COURT_CASE = "26-30003"
MODIFIED = f"early_intervention.bankruptcy.{COURT_CASE}.written_notice"


async def _file(case: Any, chapter: Literal[7, 11, 12, 13], surrender: bool = False, **facts: Any) -> None:
    filing = BankruptcyFiling(
        by="legal",
        reason="petition filed",
        chapter=chapter,
        court_case=COURT_CASE,
        filed_on=await case.today(),
        surrender=surrender,
        **facts,
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


async def test_a_chapter_7_or_11_debtor_whose_plan_keeps_the_home_gets_the_modified_notice(
    open_case: Any,
) -> None:
    for chapter in (7, 11):
        case = await open_case(days_past_due=10)
        await _file(case, chapter)
        await case.to(case.day(39))
        assert await case.fired_on(MODIFIED) == []
        await case.to(case.day(40))
        assert await case.fired_on(MODIFIED) == [case.day(40)]
        assert await case.actions(f"early_intervention.bankruptcy.{COURT_CASE}.exempt") == []


async def test_surrender_the_plan_or_a_court_order_exempts_the_notice(open_case: Any) -> None:
    """12 CFR 1024.39(c)(1)(ii): each fact, recorded with the filing or after it, before day 40."""
    facts: tuple[tuple[dict[str, Any], dict[str, Any], str], ...] = (
        ({"surrender": True}, {}, "12 CFR 1024.39(c)(1)(i), (ii)(A), (C)"),
        ({}, {"surrender": True}, "12 CFR 1024.39(c)(1)(i), (ii)(A), (C)"),
        ({}, {"plan_provides_for_arrearage": False}, "12 CFR 1024.39(c)(1)(i), (ii)(A)"),
        ({"lien_avoided": True}, {}, "12 CFR 1024.39(c)(1)(i), (ii)(A), (B)"),
        ({}, {"collection_ceased_by_order": True}, "12 CFR 1024.39(c)(1)(i), (ii)(B)"),
    )
    for at_filing, later, citation in facts:
        case = await open_case(days_past_due=10)
        await _file(case, 13, **at_filing)
        if later:
            await case.to(case.day(20))
            update = BankruptcyFacts(by="legal", reason="plan filed", on=await case.today(), **later)
            assert "exempt" in await case.handle.execute_update(
                "record_bankruptcy_facts", update, result_type=str
            )
            await case.settle()
        await case.to(case.day(41))
        assert await case.fired_on(MODIFIED) == [], (at_filing, later)
        exempt = await case.actions(f"early_intervention.bankruptcy.{COURT_CASE}.exempt", "suppressed")
        assert [a.citation for a in exempt] == [citation], (at_filing, later)
        assert await case.fired_on("early_intervention.written_notice") == []


async def test_after_relief_early_intervention_waits_for_the_bankruptcy_case_to_end(open_case: Any) -> None:
    case = await open_case(days_past_due=10, due_day="oldest")
    dues = due_dates(case.delinquent_since, due_day=case.delinquent_since.day, count=6)
    await _file(case, 13)
    await case.to(case.day(20))
    relief = BankruptcyResolution(by="legal", reason="stay lifted", kind="relief", on=await case.today())
    await case.handle.execute_update("resolve_bankruptcy", relief, result_type=str)
    await case.settle()
    # a debtor still: relief is a court order lifting the stay, so the notice is exempt ((c)(1)(ii))
    exempt = await case.actions(f"early_intervention.bankruptcy.{COURT_CASE}.exempt", "suppressed")
    assert [a.citation for a in exempt] == ["12 CFR 1024.39(c)(1)(i), (ii)(B)"]
    # and no live contact, no notice, for two due dates after the relief
    await case.to(case.day(75))
    assert [t for t in (await case.state()).open_tasks if t.kind == "live_contact"] == []
    assert await case.fired_on("early_intervention.") == []
    assert await case.fired_on(MODIFIED) == []

    end = BankruptcyCaseEnd(by="legal", reason="case closed", kind="closed", on=await case.today())
    following = next(d for d in dues if d > case.day(75))
    result = await case.handle.execute_update("end_bankruptcy_case", end, result_type=str)
    assert result == f"early intervention resumes after {following.isoformat()}"
    await case.settle()
    recorded = await case.actions(f"bankruptcy.{COURT_CASE}.case_end.closed")
    assert [(r.citation, r.collection) for r in recorded] == [("12 CFR 1024.39(c)(2)", False)]
    await case.to(following - timedelta(days=1))
    assert [t for t in (await case.state()).open_tasks if t.kind == "live_contact"] == []
    await case.to(following)
    assert [t.due for t in (await case.state()).open_tasks if t.kind == "live_contact"] == [
        following + timedelta(days=36)
    ]
    await case.to(following + timedelta(days=40))
    assert await case.fired_on("early_intervention.resumed.") == [following + timedelta(days=40)]


async def test_the_case_end_is_refused_while_the_stay_is_in_force_or_without_a_case(open_case: Any) -> None:
    case = await open_case(days_past_due=10)
    end = BankruptcyCaseEnd(by="legal", reason="closed", kind="closed", on=await case.today())
    with pytest.raises(WorkflowUpdateFailedError) as none:
        await case.handle.execute_update("end_bankruptcy_case", end, result_type=str)
    assert "no bankruptcy case is open" in str(none.value.cause)
    await _file(case, 13)
    with pytest.raises(WorkflowUpdateFailedError) as stayed:
        await case.handle.execute_update("end_bankruptcy_case", end, result_type=str)
    assert "the stay is in force" in str(stayed.value.cause)


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


async def test_after_a_discharge_the_resumed_notice_asks_for_no_payment(open_case: Any) -> None:
    case = await open_case(days_past_due=10, due_day="oldest")
    dues = due_dates(case.delinquent_since, due_day=case.delinquent_since.day, count=6)
    await _file(case, 7)
    await case.to(case.day(20))
    relief = BankruptcyResolution(by="legal", reason="stay lifted", kind="relief", on=await case.today())
    await case.handle.execute_update("resolve_bankruptcy", relief, result_type=str)
    await case.settle()
    await case.to(case.day(30))
    end = BankruptcyCaseEnd(by="legal", reason="discharge order", kind="discharged", on=await case.today())
    await case.handle.execute_update("end_bankruptcy_case", end, result_type=str)
    await case.settle()
    following = next(d for d in dues if d > case.day(30))
    await case.to(following + timedelta(days=40))
    [resumed] = await case.actions("early_intervention.resumed.")
    assert resumed.at.date() == following + timedelta(days=40)
    assert resumed.document == "early_intervention_notice_bankruptcy" and not resumed.collection
    assert (await case.state()).outcome is None  # the lien survives the discharge: the case goes on
