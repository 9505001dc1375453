"""The intake route and the API's common behaviour: auth, error shape, limits."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from pydantic import SecretStr

from arrears.auth import issue_token
from arrears.settings import Settings
from models.enums import Role
from tests.factories import delinquency


def _auth(settings: Settings, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(settings, role=role, subject=f'{role}-user')}"}


async def test_healthz_needs_no_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_batch_opens_cases_and_names_bad_rows(client: httpx.AsyncClient, settings: Settings) -> None:
    records = [delinquency(), delinquency(days_past_due="many"), delinquency("nl_consumer")]
    response = await client.post(
        "/v1/delinquencies", json={"records": records}, headers=_auth(settings, Role.ADMIN)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["received"], body["accepted"], body["opened"]) == (3, 2, 2)
    assert body["errors"] == [{"row": 2, "field": "days_past_due", "reason": body["errors"][0]["reason"]}]
    assert "integer" in body["errors"][0]["reason"]
    assert len(body["case_ids"]) == 2

    again = await client.post(
        "/v1/delinquencies", json={"records": records}, headers=_auth(settings, Role.ADMIN)
    )
    assert (again.json()["opened"], again.json()["unchanged"]) == (0, 2)


async def test_missing_or_bad_token_is_401_in_the_error_shape(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    payload = {"records": [delinquency()]}
    missing = await client.post("/v1/delinquencies", json=payload)
    assert missing.status_code == 401
    assert missing.json()["code"] == "unauthorized"
    assert missing.headers["www-authenticate"] == "Bearer"

    forged = settings.model_copy(update={"jwt_signing_key": SecretStr("another-key-of-32-bytes-or-more!!")})
    bad = await client.post("/v1/delinquencies", json=payload, headers=_auth(forged, Role.ADMIN))
    assert bad.status_code == 401 and "signature" in bad.json()["message"].lower()

    expired = issue_token(settings, role=Role.ADMIN, subject="x", ttl=timedelta(seconds=-5))
    late = await client.post(
        "/v1/delinquencies", json=payload, headers={"Authorization": f"Bearer {expired}"}
    )
    assert late.status_code == 401 and "expired" in late.json()["message"].lower()


@pytest.mark.parametrize("role", [Role.AGENT, Role.COMPLIANCE, Role.REGULATOR])
async def test_roles_that_may_not_take_in_delinquencies_get_403(
    client: httpx.AsyncClient, settings: Settings, role: Role
) -> None:
    record = delinquency()
    response = await client.post(
        "/v1/delinquencies", json={"records": [record]}, headers=_auth(settings, role)
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


async def test_malformed_body_is_422_with_fields(client: httpx.AsyncClient, settings: Settings) -> None:
    response = await client.post(
        "/v1/delinquencies", json={"records": []}, headers=_auth(settings, Role.ADMIN)
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_request"
    assert body["details"][0]["field"] == "body.records"


async def test_oversized_body_is_413(client: httpx.AsyncClient, settings: Settings) -> None:
    big = {"records": [delinquency(address="x" * 1000) for _ in range(settings.max_request_bytes // 1000)]}
    response = await client.post("/v1/delinquencies", json=big, headers=_auth(settings, Role.ADMIN))
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_openapi_lists_the_routes_with_summaries(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    post = spec["paths"]["/v1/delinquencies"]["post"]
    assert post["summary"] and {"401", "403", "413"} <= set(post["responses"])
    assert spec["paths"]["/healthz"]["get"]["summary"]


async def test_every_route_documents_summary_response_and_errors(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    error_ref = "#/components/schemas/ErrorBody"
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), f"{where} has no summary"
            ok = next(r for code, r in operation["responses"].items() if code.startswith("2"))["content"]
            assert any("schema" in media or media == {} for media in ok.values()), where
            if path == "/healthz":
                continue
            errors = {code: r for code, r in operation["responses"].items() if code.startswith("4")}
            assert {"401", "422"} <= set(errors) or path == "/v1/payments", f"{where}: {sorted(errors)}"
            for code, response in errors.items():
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": error_ref}, f"{where} {code} documents {schema}"
