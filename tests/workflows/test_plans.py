"""A plan's letter states its monthly amount: a plan without one is refused, never wedged."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError

from arrears import documents
from models.enums import CaseStage
from tests.docs_templates.test_letters import context
from workflows.case import CaseWorkflow
from workflows.dto import ForbearanceRequest, LossMitigationApplication, PlanTerms


async def _evaluation(case: Any) -> None:
    application = LossMitigationApplication(
        by="agent", reason="complete", received_on=await case.today(), complete=True
    )
    await case.handle.execute_update(CaseWorkflow.submit_application, application)
    await case.settle()


async def test_an_approved_trial_without_its_amount_is_refused(open_case: Any) -> None:
    case = await open_case(days_past_due=50)
    await _evaluation(case)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await case.decide("evaluation", "approve", plan=PlanTerms(kind="trial", months=3))
    assert "needs its monthly amount" in str(refused.value.cause)
    assert (await case.state()).stage == CaseStage.LOSS_MITIGATION


async def test_reduced_payments_without_their_amount_are_refused(open_case: Any) -> None:
    case = await open_case("nl_consumer", days_past_due=20)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await case.handle.execute_update(
            CaseWorkflow.request_forbearance,
            ForbearanceRequest(by="agent", reason="hardship", kind="reduced", months=2),
        )
    assert "reduced_amount" in str(refused.value.cause)


async def test_an_accepted_trial_sends_its_agreement_letter(open_case: Any) -> None:
    case = await open_case(days_past_due=50)
    await _evaluation(case)
    await case.decide("evaluation", "approve", plan=PlanTerms(kind="trial", months=3, amount=Decimal("900")))
    await case.decide("offer_acceptance", "accepted")
    await case.to(await case.today() + timedelta(days=1))
    agreements = [a for a in await case.actions("forbearance.") if a.document == "forbearance_agreement"]
    assert [a.status for a in agreements] == ["done"]


def test_an_agreement_from_before_the_rule_still_renders_without_an_amount() -> None:
    """Runs that granted reduced payments without an amount must still be able to send the letter."""
    ctx = context()
    ctx["step"] = {**ctx["step"], "amount": None}
    _, html = documents.render_html(
        pack="nl_consumer", country="NL", language="en", document="forbearance_agreement", context=ctx
    )
    assert "the amount set in the plan agreed with you" in html
