"""An action on a case whose run has not started yet is a state of the case (409), not a fault."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from api.cases.workflow import _chain
from api.errors import CaseStarting
from models.cases import Case
from models.enums import CaseStage, PolicyPack


def test_a_case_without_its_run_yet_answers_409_case_starting() -> None:
    row = Case(
        loan_id=uuid.uuid4(),
        workflow_id="loan-X",
        policy_pack=PolicyPack.US_MORTGAGE,
        stage=CaseStage.EARLY,
        days_past_due_at_open=10,
        opened_as_of=date(2027, 1, 1),
        delinquent_since=date(2026, 12, 22),
        arrears=Decimal("100"),
        currency="USD",
    )
    with pytest.raises(CaseStarting) as refused:
        _chain(None, row)  # type: ignore[arg-type]  # the client is never reached
    assert refused.value.status_code == 409 and refused.value.code == "case_starting"


async def test_a_case_without_its_run_yet_is_read_without_its_live_state() -> None:
    from api.cases.workflow import state

    row = Case(
        loan_id=uuid.uuid4(),
        workflow_id="loan-Y",
        policy_pack=PolicyPack.US_MORTGAGE,
        stage=CaseStage.EARLY,
        days_past_due_at_open=10,
        opened_as_of=date(2027, 1, 1),
        delinquent_since=date(2026, 12, 22),
        arrears=Decimal("100"),
        currency="USD",
    )
    assert await state(None, row) is None  # type: ignore[arg-type]  # the detail shows the stored row
