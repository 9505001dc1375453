"""Closing through the API: refused with the rule where the facts do not fit; four eyes on request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from api.app import create_app
from arrears.db import Database
from arrears.intake import IntakeService
from arrears.settings import Settings
from models.enums import Role
from tests.api.conftest import Auth
from tests.api.test_end_to_end import eventually
from tests.factories import delinquency


async def _open(client: httpx.AsyncClient, auth: Auth) -> str:
    row = delinquency(days_past_due=12, as_of=datetime.now(UTC).date().isoformat())
    response = await client.post("/v1/delinquencies", json={"records": [row]}, headers=auth(Role.SUPERVISOR))
    case_id: str = response.json()["case_ids"][0]
    return case_id


async def test_a_us_case_at_12_days_cannot_be_closed_as_foreclosed_or_cured(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    case_id = await _open(client, auth)
    supervisor = auth(Role.SUPERVISOR, subject="sup-close")
    for outcome, rule in [("foreclosed", "case.close.sale_held"), ("cured", "case.close.nothing_due")]:
        response = await client.post(
            f"/v1/cases/{case_id}/close",
            json={"outcome": outcome, "reason": "account reviewed"},
            headers=supervisor,
        )
        assert response.status_code == 409, response.text
        assert rule in response.json()["message"]
    terse = await client.post(
        f"/v1/cases/{case_id}/close", json={"outcome": "transferred", "reason": "0"}, headers=supervisor
    )
    assert terse.status_code == 409 and "case.close.reason" in terse.json()["message"]
    detail = (await client.get(f"/v1/cases/{case_id}", headers=supervisor)).json()
    assert detail["case"]["status"] == "open" and detail["state"]["outcome"] is None


@pytest.fixture
async def four_eyes_client(
    settings: Settings, db: Database, intake: IntakeService
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        settings=settings.model_copy(update={"close_requires_approval": True}), db=db, intake=intake
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=60
    ) as c:
        yield c


async def test_with_four_eyes_a_second_supervisor_decides_the_close(
    four_eyes_client: httpx.AsyncClient, auth: Auth
) -> None:
    client = four_eyes_client
    case_id = await _open(client, auth)
    first, second = auth(Role.SUPERVISOR, subject="sup-one"), auth(Role.SUPERVISOR, subject="sup-two")
    proposed = await client.post(
        f"/v1/cases/{case_id}/close",
        json={"outcome": "transferred", "reason": "servicing moves to another servicer"},
        headers=first,
    )
    assert proposed.status_code == 200 and "proposed" in proposed.json()["result"]

    async def approval_task() -> dict[str, Any] | None:
        page = (
            await client.get("/v1/tasks", params={"kind": "close_approval", "limit": 200}, headers=first)
        ).json()
        return next((t for t in page["items"] if t["case_id"] == case_id), None)

    task = await eventually(approval_task, "the close-approval task")
    decision = {"decision": "approve", "reason": "transfer papers checked"}
    own = await client.post(f"/v1/tasks/{task['id']}/complete", json=decision, headers=first)
    assert own.status_code == 409 and "someone other than sup-one" in own.json()["message"]
    assert (
        await client.post(f"/v1/tasks/{task['id']}/complete", json=decision, headers=second)
    ).status_code == 200

    async def closed() -> dict[str, Any] | None:
        detail = (await client.get(f"/v1/cases/{case_id}", headers=second)).json()
        return detail if detail["case"]["status"] == "closed" else None

    assert (await eventually(closed, "the approved close"))["case"]["outcome"] == "transferred"
