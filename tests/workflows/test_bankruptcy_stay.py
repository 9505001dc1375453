"""The repeat filer's stay (11 U.S.C. 362(c)(3), (c)(4)): the chapter decides, court orders move it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal

import pytest
from temporalio.client import WorkflowUpdateFailedError

from models.enums import CaseStage
from workflows.dto import BankruptcyFiling, StayOrder

COURT_CASE = "26-20002"


def _filing(filed: date, *, chapter: Literal[7, 11, 12, 13], prior: int) -> BankruptcyFiling:
    return BankruptcyFiling(
        by="legal",
        reason="petition filed",
        chapter=chapter,
        court_case=COURT_CASE,
        filed_on=filed,
        prior_dismissed_within_year=prior,
    )


async def _file(case: Any, filing: BankruptcyFiling) -> str:
    # by name: the SDK types a handler declared with `name=` as returning its coroutine
    reply: str = await case.handle.execute_update("record_bankruptcy", filing, result_type=str)
    await case.settle()
    return reply


async def _order(case: Any, kind: Literal["extend", "impose"], on: date) -> str:
    order = StayOrder(by="legal", reason="order entered", kind=kind, on=on)
    reply: str = await case.handle.execute_update("record_stay_order", order, result_type=str)
    await case.settle()
    return reply


async def test_a_chapter_12_filing_with_one_prior_dismissal_gets_a_full_stay(open_case: Any) -> None:
    case = await open_case(days_past_due=20)
    filed = await case.today()
    assert await _file(case, _filing(filed, chapter=12, prior=1)) == "stay in force"
    await case.to(filed + timedelta(days=31), hour=1)
    state = await case.state()
    assert state.stage == CaseStage.BANKRUPTCY_STAY
    assert any(h.kind == "stay" and h.until is None and h.citation == "11 U.S.C. 362(a)" for h in state.holds)


async def test_chapter_13_with_one_prior_dismissal_lapses_on_day_30(open_case: Any) -> None:
    case = await open_case(days_past_due=20)
    filed = await case.today()
    reply = await _file(case, _filing(filed, chapter=13, prior=1))
    assert reply == f"stay in force until {(filed + timedelta(days=30)).isoformat()}"
    await case.to(filed + timedelta(days=29), hour=23)
    assert (await case.state()).stage == CaseStage.BANKRUPTCY_STAY
    await case.to(filed + timedelta(days=30), hour=1)
    assert (await case.state()).stage == CaseStage.EARLY
    with pytest.raises(WorkflowUpdateFailedError):  # too late: the stay has lapsed
        await _order(case, "extend", await case.today())


async def test_an_extension_ordered_before_day_30_keeps_the_stay(open_case: Any) -> None:
    case = await open_case(days_past_due=20)
    filed = await case.today()
    await _file(case, _filing(filed, chapter=13, prior=1))
    await case.to(filed + timedelta(days=20))
    assert await _order(case, "extend", await case.today()) == "stay extended"
    order = (await case.actions(f"bankruptcy.{COURT_CASE}.stay_order.extend"))[0]
    assert order.citation == "11 U.S.C. 362(c)(3)(B)"
    await case.to(filed + timedelta(days=31), hour=1)
    state = await case.state()
    assert state.stage == CaseStage.BANKRUPTCY_STAY
    assert [a for a in state.actions if a.collection and a.status == "done" and a.at.date() > filed] == []


async def test_two_prior_dismissals_no_stay_until_a_court_imposes_one(open_case: Any) -> None:
    case = await open_case(days_past_due=20)
    filed = await case.today()
    assert await _file(case, _filing(filed, chapter=13, prior=2)) == "no stay arises"
    with pytest.raises(WorkflowUpdateFailedError):  # nothing to extend
        await _order(case, "extend", filed)
    await case.to(filed + timedelta(days=10))
    assert (await case.state()).stage == CaseStage.EARLY
    assert await _order(case, "impose", await case.today()) == "stay in force"
    state = await case.state()
    assert state.stage == CaseStage.BANKRUPTCY_STAY
    assert any(h.kind == "stay" and h.citation == "11 U.S.C. 362(c)(4)(B), (C)" for h in state.holds)
    await case.to(filed + timedelta(days=45), hour=1)  # an imposed stay does not lapse
    assert (await case.state()).stage == CaseStage.BANKRUPTCY_STAY
    with pytest.raises(WorkflowUpdateFailedError):  # imposed once
        await _order(case, "impose", await case.today())
