"""Reports through the API: compliance generates, the regulator lists and downloads, byte for byte."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta

import httpx
from pypdf import PdfReader

from models.enums import Role
from tests.api.conftest import Auth

LAST_MONTH_END = datetime.now(UTC).date().replace(day=1) - timedelta(days=1)


async def test_compliance_generates_and_the_regulator_downloads(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    asked = {
        "kind": "delinquency",
        "period_start": LAST_MONTH_END.replace(day=1).isoformat(),
        "period_end": LAST_MONTH_END.isoformat(),
        "policy_pack": "us_mortgage",
    }
    made = await client.post("/v1/reports", json=asked, headers=auth(Role.COMPLIANCE))
    assert made.status_code == 201, made.text
    report = made.json()
    assert report["row_counts"]["roll_rates"] == 6 and {f["format"] for f in report["files"]} == {
        "csv",
        "json",
        "pdf",
    }

    listed = await client.get("/v1/reports", params={"kind": "delinquency"}, headers=auth(Role.REGULATOR))
    assert report["id"] in [r["id"] for r in listed.json()["items"]]
    for file in report["files"]:
        got = await client.get(
            f"/v1/reports/{report['id']}/files/{file['format']}", headers=auth(Role.REGULATOR)
        )
        assert got.status_code == 200 and got.headers["content-type"].startswith(file["media_type"])
        assert hashlib.sha256(got.content).hexdigest() == file["sha256"] == got.headers["etag"].strip('"')
    pdf = await client.get(f"/v1/reports/{report['id']}/files/pdf", headers=auth(Role.REGULATOR))
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "Delinquency" in text and LAST_MONTH_END.isoformat() in text

    # the regulator sees the downloads audited but may not read the audit trail or any case
    assert (await client.get("/v1/audit/events", headers=auth(Role.REGULATOR))).status_code == 403
    assert (await client.get("/v1/cases", headers=auth(Role.REGULATOR))).status_code == 403
    assert (await client.post("/v1/reports", json=asked, headers=auth(Role.REGULATOR))).status_code == 403


async def test_a_period_not_yet_over_is_a_clear_409(client: httpx.AsyncClient, auth: Auth) -> None:
    today = datetime.now(UTC).date()
    asked = {
        "kind": "loss_mitigation",
        "period_start": today.replace(day=1).isoformat(),
        "period_end": today.isoformat(),
    }
    refused = await client.post("/v1/reports", json=asked, headers=auth(Role.COMPLIANCE))
    assert refused.status_code == 409
    assert refused.json()["code"] == "period_refused"
    assert "the period must be over" in refused.json()["message"]
    unknown = await client.get(
        "/v1/reports/00000000-0000-0000-0000-000000000000", headers=auth(Role.REGULATOR)
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
