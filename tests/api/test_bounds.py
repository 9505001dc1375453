"""Money and dates are bounded in every request: a value past the bounds is a 422 that names the
field, never a 503 from a workflow that overflowed, nor a case wedged by a letter it cannot write.
The OpenAPI document states the same bounds the server enforces."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from arrears.settings import Settings
from models.enums import Role
from tests.api.conftest import Auth
from tests.api.test_end_to_end import eventually, signed
from tests.factories import delinquency

TODAY = datetime.now(UTC).date()
WHY = {"reason": "bounds test"}
FAR: list[Any] = ["9999-12-31", "2200-01-01", "1899-12-31", "0001-01-01"]
# the day the schema's pattern refuses although a lenient parser would read one into it
MISWRITTEN_DAYS: list[Any] = ["2026-11-02T00:00:00", 1799971200, "20261102"]
HUGE: list[Any] = ["1E+30", "100000000000000.00", "0.001", "-5", "", "NaN", 1e30]
# amounts a lenient parser reads but the schema's pattern refuses: refused, as documented
MISWRITTEN_AMOUNTS: list[Any] = ["1E+2", " 12.50", "1_000", "+12", "12.50000", 0.1 + 0.2, "0012.5"]


async def _case(client: httpx.AsyncClient, auth: Auth, team: str) -> tuple[str, dict[str, Any]]:
    row = delinquency(team=team, days_past_due=40, as_of=TODAY.isoformat())
    response = await client.post("/v1/delinquencies", json={"records": [row]}, headers=auth(Role.SUPERVISOR))
    assert response.status_code == 200, response.text
    return response.json()["case_ids"][0], row


def _dated(case_id: str, day: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(route, field, body) for every request that takes a date, the date set to `day`."""
    case = f"/v1/cases/{case_id}"
    return [
        (f"{case}/promises", "due", {"amount": "100.00", "due": day, **WHY}),
        (f"{case}/applications", "received_on", {"received_on": day, "complete": False, **WHY}),
        (
            f"{case}/applications",
            "sale_date",
            {"received_on": str(TODAY), "complete": True, "sale_date": day, **WHY},
        ),
        (f"{case}/bankruptcy", "filed_on", {"court_case": "26-10001", "filed_on": day, **WHY}),
        (f"{case}/bankruptcy/resolution", "on", {"kind": "relief", "on": day, **WHY}),
        (f"{case}/bankruptcy/orders", "on", {"kind": "extend", "on": day, **WHY}),
        (f"{case}/bankruptcy/facts", "on", {"surrender": True, "on": day, **WHY}),
        (f"{case}/bankruptcy/case-end", "on", {"kind": "closed", "on": day, **WHY}),
        (
            f"{case}/bankruptcy/payment-changes",
            "effective_on",
            {"new_amount": "900.00", "effective_on": day, **WHY},
        ),
        (
            f"{case}/bankruptcy/fees",
            "incurred_on",
            {"amount": "50.00", "incurred_on": day, "description": "inspection", **WHY},
        ),
        (f"{case}/holds", "until", {"kind": "scra", "active": True, "until": day, **WHY}),
        (
            f"/v1/tasks/{uuid.uuid4()}/complete",
            "service_end",
            {"decision": "active", "service_end": day, **WHY},
        ),
        ("/v1/reports", "period_start", {"kind": "delinquency", "period_start": day, "period_end": day}),
    ]


async def test_a_date_outside_the_sane_range_is_422_on_every_route(
    client: httpx.AsyncClient, auth: Auth, settings: Settings
) -> None:
    team = f"bounds-{uuid.uuid4().hex[:6]}"
    case_id, row = await _case(client, auth, team)
    problems: list[str] = []
    for day in FAR + MISWRITTEN_DAYS:
        for route, field, body in _dated(case_id, day):
            role = Role.COMPLIANCE if route == "/v1/reports" else Role.SUPERVISOR
            response = await client.post(route, json=body, headers=auth(role, team=team))
            fields = [d["field"] for d in response.json().get("details", [])]
            if response.status_code != 422 or not any(f.endswith(field) for f in fields):
                problems.append(f"{route} {field}={day}: {response.status_code} {response.text[:160]}")
        for field in ("as_of", "next_due_date"):
            bad = {**delinquency(team=team, days_past_due=40), field: day}
            response = await client.post(
                "/v1/delinquencies", json={"records": [bad]}, headers=auth(Role.SUPERVISOR)
            )
            # a well-formed batch is answered row by row: this row refused, naming the field
            summary = response.json()
            fields = [e["field"] for e in summary.get("errors", [])]
            if response.status_code != 200 or summary["accepted"] != 0 or fields != [field]:
                problems.append(f"intake {field}={day}: {response.status_code} {response.text[:160]}")
        payment = {
            "external_id": f"P-{uuid.uuid4().hex[:10]}",
            "loan_id": row["loan_id"],
            "amount": "10.00",
            "currency": "USD",
            "received_at": f"{day}T12:00:00+00:00",
        }
        raw, headers = signed(settings, payment)
        response = await client.post("/v1/payments", content=raw, headers=headers)
        if response.status_code != 422 or response.json()["details"][0]["field"] != "body.received_at":
            problems.append(f"payment received_at={day}: {response.status_code} {response.text[:160]}")
    assert not problems, "\n".join(problems)
    # the case took none of it and still answers
    detail = (await client.get(f"/v1/cases/{case_id}", headers=auth(Role.SUPERVISOR))).json()
    assert detail["state"]["stage"] == "early" and detail["state"]["holds"] == []


async def test_money_past_the_bounds_is_422_on_every_route(
    client: httpx.AsyncClient, auth: Auth, settings: Settings
) -> None:
    team = f"bounds-{uuid.uuid4().hex[:6]}"
    case_id, row = await _case(client, auth, team)
    case = f"/v1/cases/{case_id}"
    soon = str(TODAY + timedelta(days=10))
    problems: list[str] = []
    for amount in HUGE + MISWRITTEN_AMOUNTS:
        requests: list[tuple[str, dict[str, Any], str]] = [
            (f"{case}/promises", {"amount": amount, "due": soon, **WHY}, "body.amount"),
            (
                f"{case}/forbearance",
                {"kind": "reduced", "months": 3, "reduced_amount": amount, **WHY},
                "body.reduced_amount",
            ),
            (
                f"{case}/bankruptcy/payment-changes",
                {"new_amount": amount, "effective_on": soon, **WHY},
                "body.new_amount",
            ),
            (
                f"{case}/bankruptcy/fees",
                {"amount": amount, "incurred_on": soon, "description": "inspection", **WHY},
                "body.amount",
            ),
            (
                f"/v1/tasks/{uuid.uuid4()}/complete",
                {"decision": "approve", "plan": {"kind": "trial", "amount": amount}, **WHY},
                "body.plan.amount",
            ),
        ]
        for route, body, field in requests:
            response = await client.post(route, json=body, headers=auth(Role.SUPERVISOR, team=team))
            fields = [d["field"] for d in response.json().get("details", [])]
            if response.status_code != 422 or field not in fields:
                problems.append(f"{route} {field}={amount!r}: {response.status_code} {response.text[:160]}")
        payment = {
            "external_id": f"P-{uuid.uuid4().hex[:10]}",
            "loan_id": row["loan_id"],
            "amount": amount,
            "currency": "USD",
            "received_at": datetime.now(UTC).isoformat(),
        }
        raw, headers = signed(settings, payment)
        response = await client.post("/v1/payments", content=raw, headers=headers)
        if response.status_code != 422 or response.json()["details"][0]["field"] != "body.amount":
            problems.append(f"payment amount={amount!r}: {response.status_code} {response.text[:160]}")
        bad = delinquency(team=team, arrears=amount, balance=amount)
        response = await client.post(
            "/v1/delinquencies", json={"records": [bad]}, headers=auth(Role.SUPERVISOR)
        )
        summary = response.json()
        if response.status_code != 200 or summary["accepted"] != 0 or not summary["errors"]:
            problems.append(f"intake arrears={amount!r}: {response.status_code} {response.text[:160]}")
    assert not problems, "\n".join(problems)


async def test_an_amount_is_stored_in_cents(
    client: httpx.AsyncClient, auth: Auth, settings: Settings
) -> None:
    """A whole number or a string with one place is taken, and written back as cents."""
    team = f"bounds-{uuid.uuid4().hex[:6]}"
    _, row = await _case(client, auth, team)
    officer = auth(Role.COMPLIANCE)
    for amount, stored in ((100, "100.00"), ("12.5", "12.50"), (7.0, "7.00")):
        payment = {
            "external_id": f"P-{uuid.uuid4().hex[:10]}",
            "loan_id": row["loan_id"],
            "amount": amount,
            "currency": "USD",
            "received_at": datetime.now(UTC).isoformat(),
        }
        raw, headers = signed(settings, payment)
        response = await client.post("/v1/payments", content=raw, headers=headers)
        assert response.status_code == 200, response.text
        events = (
            await client.get(
                "/v1/audit/events",
                params={"action": "payment.received", "case_id": response.json()["case_id"]},
                headers=officer,
            )
        ).json()["items"]
        assert stored in [e["payload"]["amount"] for e in events], (amount, events)


async def test_a_plan_amount_past_the_bound_never_wedges_the_case(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    """An approval whose plan amount the decision letter cannot print is refused at the door; the
    evaluation stays open and a sane approval goes through."""
    team = f"bounds-{uuid.uuid4().hex[:6]}"
    case_id, _ = await _case(client, auth, team)
    agent = auth(Role.AGENT, subject="agent-bounds", team=team)
    applied = await client.post(
        f"/v1/cases/{case_id}/applications",
        json={"received_on": str(TODAY), "complete": True, **WHY},
        headers=agent,
    )
    assert applied.status_code == 200, applied.text

    async def evaluation() -> dict[str, Any] | None:
        page = (
            await client.get("/v1/tasks", params={"kind": "evaluation", "team": team}, headers=agent)
        ).json()
        return next((t for t in page["items"] if t["case_id"] == case_id), None)

    task = await eventually(evaluation, "the evaluation task")
    plan: dict[str, Any] = {"kind": "repayment_plan", "months": 6}
    approve = {"decision": "approve", "reason": "affordable"}
    huge = {**approve, "plan": {**plan, "amount": "1E+30"}}
    refused = await client.post(f"/v1/tasks/{task['id']}/complete", json=huge, headers=agent)
    assert refused.status_code == 422, refused.text
    assert refused.json()["details"][0]["field"] == "body.plan.amount"

    sane = {**approve, "plan": {**plan, "amount": "250.00"}}
    decided = await client.post(f"/v1/tasks/{task['id']}/complete", json=sane, headers=agent)
    assert decided.status_code == 200, decided.text

    async def offer() -> dict[str, Any] | None:
        page = (
            await client.get("/v1/tasks", params={"kind": "offer_acceptance", "team": team}, headers=agent)
        ).json()
        return next((t for t in page["items"] if t["case_id"] == case_id), None)

    await eventually(offer, "the offer after the decision letter")


def _request_schemas(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(name, schema) of every object schema a request body can reach."""
    schemas = spec["components"]["schemas"]
    seen: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                name = ref.rsplit("/", 1)[1]
                if name not in seen:
                    seen[name] = schemas[name]
                    walk(schemas[name])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for operations in spec["paths"].values():
        for operation in operations.values():
            walk(operation.get("requestBody", {}))
    return sorted(seen.items())


def _branches(prop: dict[str, Any]) -> list[dict[str, Any]]:
    """The alternatives a property's schema allows, nested `anyOf`s flattened, null left out."""
    if "anyOf" in prop:
        return [b for branch in prop["anyOf"] for b in _branches(branch)]
    return [] if prop.get("type") == "null" else [prop]


async def test_the_openapi_document_states_the_bounds_the_server_keeps(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    money, dates = [], []
    for name, schema in _request_schemas(spec):
        for field, prop in schema.get("properties", {}).items():
            branches = _branches(prop)
            types = {b.get("type") for b in branches}
            where = f"{name}.{field}"
            if "number" in types or ("integer" in types and "string" in types):
                money.append(where)
                for branch in branches:
                    # a JSON number can carry more places than cents: only whole amounts as numbers
                    assert branch["type"] in ("string", "integer"), (where, branch)
                    if branch["type"] == "integer":
                        assert branch.get("maximum", 10**15) < 10**14 and "minimum" in branch, (where, branch)
                    else:
                        pattern = branch.get("pattern")
                        assert pattern, (where, branch)
                        for refused in ("", "1E+30", "0.001", "-5", "100000000000000", "NaN", "1.2.3"):
                            assert not re.search(pattern, refused), (where, refused)
                        for taken in ("250.00", "0.5", "99999999999999.99", "7"):
                            assert re.search(pattern, taken), (where, taken)
            elif any(b.get("format") == "date" for b in branches):
                dates.append(where)
                [branch] = [b for b in branches if b.get("format") == "date"]
                pattern = branch.get("pattern")
                assert pattern, (where, branch)
                for refused in FAR:
                    assert not re.search(pattern, refused), (where, refused)
                assert re.search(pattern, "2026-11-02"), where
    assert {"PromiseIn.amount", "PaymentIn.amount", "FeeIn.amount", "PaymentChangeIn.new_amount"} <= set(
        money
    ), money
    assert "PlanIn.amount" in money, money  # a decision's plan terms
    assert any(m.startswith("ForbearanceIn") for m in money), money
    assert {"PromiseIn.due", "ReportRequest.period_start", "HoldIn.until", "DecisionIn.service_end"} <= set(
        dates
    ), dates
