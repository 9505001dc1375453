"""The payments webhook: HMAC signature, idempotency by external ID, unknown loans refused."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlmodel import col, func, select

from api.routes.payments import SIGNATURE_HEADER, sign
from arrears.db import Database
from arrears.settings import Settings
from models.audit import AuditEvent
from models.enums import Role
from models.payments import Payment
from tests.api.conftest import Auth
from tests.api.test_end_to_end import eventually, signed
from tests.factories import delinquency


def _payment(loan_id: str, amount: str = "100.00", **overrides: Any) -> dict[str, Any]:
    return {
        "external_id": f"P-{uuid.uuid4().hex[:10]}",
        "loan_id": loan_id,
        "amount": amount,
        "currency": "USD",
        "received_at": datetime.now(UTC).isoformat(),
        **overrides,
    }


async def _counts(db: Database) -> tuple[int, int]:
    async with db.session() as session:
        payments = (await session.exec(select(func.count()).select_from(Payment))).one()
        events = (
            await session.exec(
                select(func.count()).select_from(AuditEvent).where(col(AuditEvent.action).like("payment.%"))
            )
        ).one()
    return payments, events


async def _loan(client: httpx.AsyncClient, auth: Auth, arrears: str = "1500.00") -> tuple[str, str]:
    row = delinquency(days_past_due=10, as_of=datetime.now(UTC).date().isoformat(), arrears=arrears)
    response = await client.post("/v1/delinquencies", json={"records": [row]}, headers=auth(Role.SUPERVISOR))
    return row["loan_id"], response.json()["case_ids"][0]


async def test_ten_replays_give_one_payment(
    client: httpx.AsyncClient, auth: Auth, settings: Settings, db: Database
) -> None:
    loan_id, case_id = await _loan(client, auth)
    payment = _payment(loan_id, "100.00")
    body, headers = signed(settings, payment)
    replies = await asyncio.gather(
        *(client.post("/v1/payments", content=body, headers=headers) for _ in range(10))
    )
    assert {r.status_code for r in replies} == {200}, replies[0].text
    assert sorted(r.json()["duplicate"] for r in replies) == [False] + [True] * 9
    assert {r.json()["payment_id"] for r in replies} == {replies[0].json()["payment_id"]}

    async with db.session() as session:
        stored = (
            await session.exec(select(Payment).where(col(Payment.external_id) == payment["external_id"]))
        ).all()
    assert len(stored) == 1 and str(stored[0].case_id) == case_id

    async def applied() -> str | None:
        detail = (await client.get(f"/v1/cases/{case_id}", headers=auth(Role.SUPERVISOR))).json()
        return detail["case"]["arrears"] if detail["case"]["arrears"] != "1500.00" else None

    assert await eventually(applied, "the payment applied") == "1400.00"
    await asyncio.sleep(1)  # any double application would show by now
    detail = (await client.get(f"/v1/cases/{case_id}", headers=auth(Role.SUPERVISOR))).json()
    assert detail["case"]["arrears"] == "1400.00" and detail["state"]["payments_applied"] == [
        payment["external_id"]
    ]


async def test_unknown_loan_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, settings: Settings, db: Database
) -> None:
    before = await _counts(db)
    body, headers = signed(settings, _payment("L-no-such-loan"))
    response = await client.post("/v1/payments", content=body, headers=headers)
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_loan" and "L-no-such-loan" in response.json()["message"]
    assert await _counts(db) == before


async def test_unsigned_forged_or_stale_requests_are_401(
    client: httpx.AsyncClient, auth: Auth, settings: Settings, db: Database
) -> None:
    loan_id, _ = await _loan(client, auth)
    payment = _payment(loan_id)
    body = json.dumps(payment).encode()
    before = await _counts(db)
    now = int(time.time())
    attempts = {
        "unsigned": {},
        "garbled": {SIGNATURE_HEADER: "nonsense"},
        "forged": {SIGNATURE_HEADER: sign("not-the-secret", body, now)},
        "stale": {
            SIGNATURE_HEADER: sign(settings.payments_webhook_secret.get_secret_value(), body, now - 3600)
        },
        "tampered": {
            SIGNATURE_HEADER: sign(
                settings.payments_webhook_secret.get_secret_value(), body.replace(b"100.00", b"999.00"), now
            )
        },
    }
    for name, headers in attempts.items():
        response = await client.post(
            "/v1/payments", content=body, headers={**headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 401, name
        assert response.json()["code"] == "unauthorized", name
    assert await _counts(db) == before


async def test_a_reused_external_id_with_other_facts_is_refused(
    client: httpx.AsyncClient, auth: Auth, settings: Settings
) -> None:
    loan_id, _ = await _loan(client, auth)
    first = _payment(loan_id, "100.00")
    body, headers = signed(settings, first)
    assert (await client.post("/v1/payments", content=body, headers=headers)).status_code == 200
    body, headers = signed(settings, {**first, "amount": "200.00"})
    response = await client.post("/v1/payments", content=body, headers=headers)
    assert response.status_code == 422 and response.json()["details"][0]["field"] == "external_id"


async def test_malformed_payment_is_422_with_the_field(client: httpx.AsyncClient, settings: Settings) -> None:
    body, headers = signed(settings, _payment("L-1", amount="-5"))
    response = await client.post("/v1/payments", content=body, headers=headers)
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "body.amount"


async def test_a_malformed_signature_header_is_401_never_500(
    client: httpx.AsyncClient, auth: Auth, settings: Settings, db: Database
) -> None:
    loan_id, _ = await _loan(client, auth)
    body = json.dumps(_payment(loan_id)).encode()
    good = sign(settings.payments_webhook_secret.get_secret_value(), body, int(time.time()))
    digest = good.split("v1=", 1)[1]
    now = int(time.time())
    before = await _counts(db)
    malformed = [
        "t=abc,v1=zz",
        "garbage",
        "t=1",
        f"t={now}",
        f"v1={digest}",
        f"t={now},v1=zz",
        f"t={now},v1={'g' * 64}",
        f"t={now},v1={digest[:-1]}",
        f"t={now},v1={digest.upper()}x",
        "t=" + "9" * 190 + f",v1={digest}",
        f"t=-{now},v1={digest}",
        f"t=+{now},v1={digest}",
        f"t= {now},v1={digest}",
        ",,,=,==,t==,v1==",
        f"t={now},t={now},v1={digest},v1=",
        f"{good}," + "x" * 600,  # far longer than any signature
        "t=\xb2\xb3,v1=" + digest,  # superscript digits: str.isdigit says yes, int() says no
        "t=\xb2,v1=\xff\xfe",
    ]
    for header in malformed:
        raw = header.encode("latin-1")  # what a header can carry, as the server decodes it
        headers = {SIGNATURE_HEADER.encode(): raw, b"Content-Type": b"application/json"}
        response = await client.post("/v1/payments", content=body, headers=headers)
        assert response.status_code == 401, (header, response.status_code, response.text)
        assert response.json()["code"] == "unauthorized", header
    assert await _counts(db) == before
    signed_well = {SIGNATURE_HEADER: good, "Content-Type": "application/json"}
    assert (await client.post("/v1/payments", content=body, headers=signed_well)).status_code == 200
