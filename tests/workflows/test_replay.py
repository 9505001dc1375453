"""Replay: today's CaseWorkflow code must replay the histories of cases already in flight.

The histories in tests/histories/ were recorded from real runs, one set per code generation:
`<scenario>.json` from before the generation markers, `<scenario>.<marker>.json` from runs that
started on that generation (workflows/case/patches.py, GENERATIONS). The current generation has one for
every path a case can take (tests/workflows/replay_scenarios.py). Record a new generation's set
(when a change is deliberately incompatible and guarded by a new generation) with:

    ARREARS_RECORD_HISTORIES=<marker> .venv/bin/pytest tests/workflows/test_replay.py
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from arrears.db import Database
from arrears.intake import IntakeService
from arrears.temporal import sandbox_runner
from tests.workflows.conftest import continue_from_memory
from tests.workflows.replay_scenarios import SCENARIOS
from workflows.case import GENERATIONS, CaseWorkflow

CONTINUED = "nl_continued_as_new"

HISTORIES = Path(__file__).resolve().parent.parent / "histories"


def _replayer() -> Replayer:
    return Replayer(
        workflows=[CaseWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=sandbox_runner(),
    )


def test_recorded_histories_exist() -> None:
    assert len(list(HISTORIES.glob("*.json"))) >= 3
    # every generation, the current one included, has cases in flight somewhere
    for marker in GENERATIONS:
        assert list(HISTORIES.glob(f"*.{marker}.json")), f"no recorded history of generation {marker}"


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_recorded_history_replays_on_current_code(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    await _replayer().replay_workflow(history)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_fresh_history_replays_and_can_be_recorded(open_case: Any, name: str) -> None:
    pack, days, row, play = SCENARIOS[name]
    case = await open_case(pack, days_past_due=days, **row)
    await play(case)
    await _replay_and_record(name, await case.handle.fetch_history())


async def test_a_run_continued_as_new_replays_and_can_be_recorded(
    open_case: Any, skipping_intake: IntakeService, time_env: WorkflowEnvironment, db: Database
) -> None:
    """A run that starts from carried memory, as continue-as-new starts it."""
    case = await open_case("nl_consumer", days_past_due=1, arrears="600.00")
    await case.to(case.day(22))
    await continue_from_memory(case, skipping_intake, time_env, db)
    await case.to(case.day(33))
    await case.decide("forbearance_assessment", "not_appropriate")
    await case.to(case.day(40))
    await _replay_and_record(CONTINUED, await case.handle.fetch_history())


def test_every_path_is_recorded_for_the_current_generation() -> None:
    current = GENERATIONS[-1]
    missing = [n for n in [*SCENARIOS, CONTINUED] if not (HISTORIES / f"{n}.{current}.json").exists()]
    assert not missing, f"record them: ARREARS_RECORD_HISTORIES={current} ...; missing: {missing}"


async def _replay_and_record(name: str, history: WorkflowHistory) -> None:
    await _replayer().replay_workflow(history)
    if marker := os.environ.get("ARREARS_RECORD_HISTORIES"):
        (HISTORIES / f"{name}.{marker}.json").write_text(history.to_json())
