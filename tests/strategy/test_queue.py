"""Fifty shades of red: within a band of the work queue the score decides the order, and the queue
says why (the JSON and the workbench's "why here")."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx

from api.routes.tasks import TaskOut
from api.web.pages import _why
from arrears.db import Database
from models.enums import PolicyPack, Role, Segment
from models.strategy import CaseScore, ScoreRun
from models.tasks import Task
from policies import get_pack
from policies.strategy import days_to_legal_step, scored_segment, shade, shade_reason
from tests.api.conftest import Auth
from tests.factories import delinquency

TODAY = datetime.now(UTC).date()


async def _case(client: httpx.AsyncClient, auth: Auth, team: str, dpd: int) -> uuid.UUID:
    row = delinquency(team=team, days_past_due=dpd, as_of=TODAY.isoformat(), arrears="1500.00")
    response = await client.post("/v1/delinquencies", json={"records": [row]}, headers=auth(Role.SUPERVISOR))
    assert response.status_code == 200, response.text
    return uuid.UUID(response.json()["case_ids"][0])


async def _red_task(db: Database, case_id: uuid.UUID, name: str) -> None:
    async with db.session() as session:
        session.add(
            Task(
                case_id=case_id,
                kind="shade_probe",
                rule_id=name,
                citation="test",
                idempotency_key=f"{case_id}:probe.{name}",
                due_at=datetime.now(UTC) - timedelta(hours=1),
            )
        )


async def _score(db: Database, scores: dict[uuid.UUID, tuple[float, float, int]]) -> None:
    async with db.session() as session:
        run = ScoreRun(
            model_name="test",
            model_version=1,
            model_sha256="0" * 64,
            cases_scored=len(scores),
            psi_cure=0,
            psi_roll=0,
            drift="stable",
        )
        session.add(run)
        await session.flush()
        for case_id, (p_cure, p_roll, dpd) in scores.items():
            deadline = days_to_legal_step(get_pack(PolicyPack.US_MORTGAGE), dpd)
            session.add(
                CaseScore(
                    case_id=case_id,
                    run_id=run.id,
                    p_cure=p_cure,
                    p_roll=p_roll,
                    shade=shade(p_cure=p_cure, p_roll=p_roll, days_past_due=dpd, deadline_days=deadline),
                    segment=scored_segment(Segment.GOOD, p_cure=p_cure, p_roll=p_roll),
                    reason=shade_reason(
                        p_cure=p_cure, p_roll=p_roll, days_past_due=dpd, deadline_days=deadline
                    ),
                )
            )


async def test_within_red_the_score_orders_the_work_and_says_why(
    client: httpx.AsyncClient,
    auth: Auth,
    db: Database,
) -> None:
    team = f"shades-{uuid.uuid4().hex[:6]}"
    rolling = await _case(client, auth, team, dpd=12)  # early, but the score sees it rolling
    curing = await _case(client, auth, team, dpd=95)  # late, but paying again: likely to cure
    unscored = await _case(client, auth, team, dpd=100)
    for case_id, name in ((curing, "curing"), (rolling, "rolling"), (unscored, "unscored")):
        await _red_task(db, case_id, name)
    await _score(db, {rolling: (0.05, 0.9, 12), curing: (0.85, 0.1, 95)})

    page = (
        await client.get("/v1/tasks", params={"kind": "shade_probe"}, headers=auth(Role.AGENT, team=team))
    ).json()
    assert [t["rule_id"] for t in page["items"]] == ["rolling", "curing", "unscored"]
    first, second, last = page["items"]
    assert first["score"]["shade"] < second["score"]["shade"]
    assert first["score"]["reason"] == "roll 90%, cure 5%, 12 days past due, legal step possible in 109 days"
    assert last["score"] is None
    # the workbench shows the same reason beside the SLA and the risk tier
    why = _why(TaskOut.model_validate(first))
    assert (
        "shade %(shade)s of 50: %(why)s",
        {"shade": first["score"]["shade"], "why": first["score"]["reason"]},
    ) in why


def test_the_score_moves_a_case_within_the_pack_rules_only() -> None:
    assert (
        scored_segment(Segment.BAD, p_cure=0.95, p_roll=0.0) is Segment.BAD
    )  # the pack's strict track stays
    assert scored_segment(Segment.GOOD, p_cure=0.1, p_roll=0.7) is Segment.BAD
    assert scored_segment(Segment.GOOD, p_cure=0.7, p_roll=0.1) is Segment.FORGETFUL
    assert scored_segment(Segment.GOOD, p_cure=0.4, p_roll=0.4) is Segment.GOOD
    near = shade(p_cure=0.3, p_roll=0.5, days_past_due=115, deadline_days=6)
    far = shade(p_cure=0.3, p_roll=0.5, days_past_due=115, deadline_days=None)
    assert near < far  # a legal step close by moves the case up
