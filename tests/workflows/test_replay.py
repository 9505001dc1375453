"""Replay: today's CaseWorkflow code must replay the histories of cases already in flight.

The histories in tests/histories/ were recorded from real runs, one set per code generation:
`<scenario>.json` from before the generation markers, `<scenario>.<marker>.json` from runs that
started on that generation (workflows/case.py, GENERATIONS). Record the current generation's set
(only when a change is deliberately incompatible and guarded by a new generation) with:

    ARREARS_RECORD_HISTORIES=<marker> .venv/bin/pytest tests/workflows/test_replay.py
"""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from arrears.temporal import sandbox_runner
from workflows.case import GENERATIONS, CaseWorkflow
from workflows.dto import BankruptcyFiling, BankruptcyResolution, LossMitigationApplication, PromiseToPay

HISTORIES = Path(__file__).resolve().parent.parent / "histories"


def _replayer() -> Replayer:
    return Replayer(
        workflows=[CaseWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=sandbox_runner(),
    )


def test_recorded_histories_exist() -> None:
    assert len(list(HISTORIES.glob("*.json"))) >= 3
    # every generation but the current one has cases in flight somewhere
    for marker in GENERATIONS[:-1]:
        assert list(HISTORIES.glob(f"*.{marker}.json")), f"no recorded history of generation {marker}"


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_recorded_history_replays_on_current_code(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    await _replayer().replay_workflow(history)


async def _scenario_cure(case: Any) -> None:
    await case.handle.execute_update(
        CaseWorkflow.record_promise,
        PromiseToPay(
            by="agent", reason="phone", amount=Decimal("500"), due=await case.today() + timedelta(days=5)
        ),
    )
    await case.to(await case.today() + timedelta(days=10))
    await case.pay("1500.00")


async def _scenario_stay(case: Any) -> None:
    await case.to(await case.today() + timedelta(days=20))
    await case.handle.execute_update(
        CaseWorkflow.record_bankruptcy,
        BankruptcyFiling(by="legal", reason="petition", court_case="26-1", filed_on=await case.today()),
    )
    await case.to(await case.today() + timedelta(days=30))
    await case.handle.execute_update(
        CaseWorkflow.resolve_bankruptcy,
        BankruptcyResolution(by="legal", reason="order", kind="relief", on=await case.today()),
    )
    await case.to(await case.today() + timedelta(days=60))


async def _scenario_loss_mitigation(case: Any) -> None:
    await case.handle.execute_update(
        CaseWorkflow.submit_application,
        LossMitigationApplication(
            by="agent", reason="applied", received_on=await case.today(), complete=True
        ),
    )
    await case.settle()
    await case.decide("evaluation", "deny", denial_reasons=["investor guidelines"])
    await case.to(await case.today() + timedelta(days=20))


SCENARIOS = {
    "us_promise_then_cure": ("us_mortgage", 10, _scenario_cure),
    "us_stay_then_relief": ("us_mortgage", 100, _scenario_stay),
    "nl_stay_then_relief": ("nl_consumer", 5, _scenario_stay),
    "se_loss_mitigation_denied": ("se_consumer", 40, _scenario_loss_mitigation),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_fresh_history_replays_and_can_be_recorded(open_case: Any, name: str) -> None:
    pack, days, play = SCENARIOS[name]
    case = await open_case(pack, days_past_due=days)
    await play(case)
    history = await case.handle.fetch_history()
    await _replayer().replay_workflow(history)
    if marker := os.environ.get("ARREARS_RECORD_HISTORIES"):
        (HISTORIES / f"{name}.{marker}.json").write_text(history.to_json())
