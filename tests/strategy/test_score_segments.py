"""`arrears score run` sends each case whose scored segment moved to its run, on the real dev server
with a worker on the strategy tests' own database: the case's cadence follows, a refusal is counted
with its reason, and a case already moved is not sent again."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import select
from temporalio.client import Client

from arrears import audit
from arrears.channels import Channels
from arrears.db import Database
from arrears.embedded import EmbeddedPostgres, TemporalDevServer
from arrears.intake import IntakeService
from arrears.strategy import scoring
from arrears.strategy.scorecard import Bins, ScoreModel, Target
from arrears.temporal import build_worker
from models.audit import AuditEvent
from models.audit_actions import AuditAction
from models.cases import Case
from models.enums import CaseOutcome, CaseStage, Segment
from tests.factories import delinquency
from tests.strategy.test_cli import _arrears
from workflows.case import CaseWorkflow
from workflows.dto import CaseState, CloseRequest, LossMitigationApplication

ACTOR = audit.Actor("test", "admin")
MODEL = "segment-test"


def _target(name: str, intercept: float) -> Target:
    """A target that gives every case the same probability: 1 / (1 + e^-intercept)."""
    flat = Bins("days_past_due", [], [0.0], 0.0, [0.5], [1])
    metrics = {"auc": 0.5, "gini": 0.0, "ks": 0.0, "brier": 0.25, "event_rate": 0.5}
    return Target(name, [flat], intercept, {"days_past_due": 0.0}, metrics, [], [0.5], [0.5, 0.5])


@pytest.fixture
async def rolling_model(strategy_db: Database) -> AsyncIterator[ScoreModel]:
    """An active model that sees every case rolling (p_roll 0.95) and none curing (p_cure 0.05)."""
    async with strategy_db.session() as session:
        version = await scoring.next_version(session, MODEL)
        model = ScoreModel(
            MODEL,
            version,
            "2026-12-03",
            100,
            "test",
            {"cure": _target("cure", -2.944), "roll": _target("roll", 2.944)},
        )
        await scoring.store(session, model, actor=ACTOR)
    yield model
    async with strategy_db.session() as session:
        await session.execute(
            text("UPDATE score_model_versions SET active = false WHERE name = :n"), {"n": MODEL}
        )


@pytest.fixture
async def strategy_intake(
    strategy_db: Database, dev_client: Client, channels: Channels
) -> AsyncIterator[IntakeService]:
    queue = f"score-{uuid.uuid4()}"
    async with build_worker(dev_client, strategy_db, task_queue=queue, channels=channels):
        yield IntakeService(strategy_db, dev_client, task_queue=queue)


async def _open(intake: IntakeService, client: Client, **row: Any) -> tuple[Case, Any]:
    record = delinquency("us_mortgage", as_of=datetime.now(UTC).date(), **row)
    result = await intake.ingest([(1, record)], source="test")
    assert result.opened == 1, result.errors
    async with intake.db.session() as session:
        case = (await session.exec(select(Case).where(Case.workflow_id == f"loan-{record['loan_id']}"))).one()
    assert case.run_id is not None
    return case, client.get_workflow_handle(case.workflow_id, run_id=case.run_id, result_type=CaseState)


async def _segment_events(db: Database, case: Case) -> list[AuditEvent]:
    async with db.session() as session:
        return list(
            (
                await session.exec(
                    select(AuditEvent).where(
                        AuditEvent.case_id == case.id, AuditEvent.action == AuditAction.SEGMENT_DONE
                    )
                )
            ).all()
        )


async def test_a_score_run_moves_the_cases_the_score_sees_rolling_to_the_strict_cadence(
    strategy_db: Database,
    strategy_intake: IntakeService,
    dev_client: Client,
    dev_server: TemporalDevServer,
    postgres: EmbeddedPostgres,
    rolling_model: ScoreModel,
    tmp_path: Path,
) -> None:
    # 20 days late: the pack's good track; the score sees both rolling
    early, early_run = await _open(strategy_intake, dev_client, days_past_due=20)
    applied, applied_run = await _open(strategy_intake, dev_client, days_past_due=20)
    assert (await early_run.query(CaseWorkflow.state)).segment is Segment.GOOD
    await applied_run.execute_update(
        "submit_application",
        LossMitigationApplication(
            by="agent", reason="package", received_on=datetime.now(UTC).date(), complete=True
        ),
    )
    for _ in range(50):
        if (await applied_run.query(CaseWorkflow.state)).stage is CaseStage.LOSS_MITIGATION:
            break
        await asyncio.sleep(0.1)
    try:
        env = {
            **os.environ,
            "DATABASE_URL": postgres.app_url("arrears_strategy"),
            "TEMPORAL_ADDRESS": dev_server.address,
            "DATA_DIR": str(tmp_path / "data"),
            "COLUMNS": "240",
            "PYTHONWARNINGS": "ignore",
        }
        code, out, err = await _arrears("score", "run", env=env)
        assert code == 0, err + out
        assert f"scored with {MODEL} v{rolling_model.version}" in out
        assert (
            "2 cases scored into another segment: 1 moved, 0 already in it, 1 refused, 0 not reached" in out
        )
        assert (
            "refused (1): the segment sets the early stage's cadence; the case is in loss_mitigation" in out
        )

        state = await early_run.query(CaseWorkflow.state)
        assert state.segment is Segment.BAD
        [record] = [a for a in state.actions if a.key.startswith("segment.")]
        assert record.detail.startswith(f"segment good -> bad: scored by {MODEL} v{rolling_model.version}")
        [event] = await _segment_events(strategy_db, early)
        assert event.actor == scoring.SCORE_RUN_ACTOR and event.payload["key"] == record.key
        assert await _segment_events(strategy_db, applied) == []

        # the next run knows the moved case is in its segment (the trail says so); the refused one
        # is sent again, and refused again while it is past the early stage
        async with strategy_db.session() as session:
            again = await scoring.run(session, actor=ACTOR)
        assert {c.case_id: (c.current, c.segment) for c in again.changes} == {
            applied.id: (Segment.GOOD, Segment.BAD)
        }
        sends = await scoring.send_segments(dev_client, again)
        assert (sends.moved, sends.unreached, sends.refused_total) == (0, 0, 1)
    finally:
        for handle in (early_run, applied_run):
            await handle.execute_update(
                "close_case", CloseRequest(by="test", reason="test over", outcome=CaseOutcome.TRANSFERRED)
            )
            await asyncio.wait_for(handle.result(), timeout=30)
