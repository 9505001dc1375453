"""A run started from carried memory (what continue-as-new passes on) picks up where it was."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.testing import WorkflowEnvironment

from arrears.db import Database
from arrears.intake import IntakeService
from models.enums import CaseStage
from policies.nl_consumer import NL_CONSUMER
from tests.workflows.conftest import continue_from_memory
from workflows.case import CaseWorkflow


async def test_carried_memory_resumes_without_repeating_or_losing_steps(
    open_case: Any, skipping_intake: IntakeService, time_env: WorkflowEnvironment, db: Database
) -> None:
    case = await open_case("nl_consumer", days_past_due=1, arrears="600.00")
    await case.to(case.day(22))  # the 14-day letter went out on day 21
    memory = await case.handle.query(CaseWorkflow.memory)
    assert "wik.veertiendagenbrief" in memory.done
    before = await continue_from_memory(case, skipping_intake, time_env, db)
    await case.settle()
    state = await case.state()
    assert state.stage == CaseStage.EARLY and state.history == before.history
    assert await case.fired_on("wik.veertiendagenbrief") == [case.day(21)]  # not sent again
    await case.to(case.day(33))
    await case.decide("forbearance_assessment", "not_appropriate")
    # the period runs from the day after receipt of the letter posted on day 21 (Atw art. 1, 3)
    handover = NL_CONSUMER.letter_deadline(case.day(21)) + timedelta(days=1)
    await case.to(handover, hour=1)
    assert (await case.state()).stage == CaseStage.ENFORCEMENT  # the deadline kept its day
    assert await case.fired_on("wik.veertiendagenbrief") == [case.day(21)]
    await case.handle.terminate("test over")
