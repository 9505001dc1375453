"""An audit event's inclusion proof from the API, checked offline as a regulator checks it."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from api.app import create_app
from arrears import audit, migrate
from arrears.audit_proofs import public_pem
from arrears.audit_sequencer import Sequencer, signing_key
from arrears.cli import app
from arrears.db import Database
from arrears.embedded import EmbeddedPostgres
from arrears.intake import IntakeService
from arrears.settings import Settings
from models.enums import Role
from tests.api.conftest import Auth


@pytest.fixture
async def own_log(
    postgres: EmbeddedPostgres, settings: Settings, intake: IntakeService
) -> AsyncIterator[tuple[httpx.AsyncClient, Database]]:
    """The API on a database of its own: heads signed here with this test's key would fail every
    later `audit verify` of the shared database, which trusts another test's key."""
    name = f"proofs_{uuid.uuid4().hex[:8]}"
    migrate.upgrade(postgres.ensure_database(name))
    db = Database(postgres.app_url(name))
    transport = httpx.ASGITransport(app=create_app(settings=settings, db=db, intake=intake))
    async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as http:
        yield http, db
    await db.dispose()


async def _event(db: Database, reason: str) -> str:
    """An event as an activity writes it: queued for the sequencer."""
    async with db.session() as session:
        event = await audit.append(session, actor=audit.WORKFLOW, action="case.opened", reason=reason)
    return str(event.id)


async def _seq(client: httpx.AsyncClient, auth: Auth, event_id: str) -> int | None:
    """The event's place in the log, as audit search shows it."""
    page = (await client.get("/v1/audit/events", headers=auth(Role.COMPLIANCE))).json()
    seq: int | None = next(e["seq"] for e in page["items"] if e["id"] == event_id)
    return seq


def _verify_proof(proof: dict[str, Any], settings: Settings, tmp_path: Path) -> tuple[int, str]:
    """`arrears audit verify-proof` on the proof file with the heads' public key, and no database."""
    proof_file, key_file = tmp_path / "proof.json", tmp_path / "public.pem"
    proof_file.write_text(json.dumps(proof))
    key_file.write_text(public_pem(signing_key(settings).public_key()))
    result = CliRunner().invoke(
        app, ["audit", "verify-proof", str(proof_file), "--public-key", str(key_file)]
    )
    return result.exit_code, result.output


async def test_a_signed_event_has_a_proof_that_verifies_offline(
    own_log: tuple[httpx.AsyncClient, Database], auth: Auth, settings: Settings, tmp_path: Path
) -> None:
    client, db = own_log
    officer = auth(Role.COMPLIANCE)
    first = await _event(db, "first")
    # queued, not yet sequenced
    assert await _seq(client, auth, first) is None
    queued = await client.get(f"/v1/audit/events/{first}/proof", headers=officer)
    assert queued.status_code == 404 and queued.json()["code"] == "not_found"

    # sequenced, but under no signed head yet: still no proof
    sequencer = Sequencer.from_settings(db, settings)
    await sequencer.sign_now()
    second = await _event(db, "second")
    unsigned = Sequencer(db, sequencer.key, head_every_events=10**9, head_every_seconds=3600)
    assert await unsigned.integrate(wait=True) == 1
    assert await _seq(client, auth, second) == 2
    assert (await client.get(f"/v1/audit/events/{second}/proof", headers=officer)).status_code == 404

    head = await sequencer.sign_now()
    assert head is not None and head.tree_size == 2
    for event_id, seq in ((first, 1), (second, 2)):
        reply = await client.get(f"/v1/audit/events/{event_id}/proof", headers=officer)
        assert reply.status_code == 200, reply.text
        proof = reply.json()
        assert proof["event"]["id"] == event_id and proof["event"]["seq"] == seq
        assert proof["head"]["tree_size"] == 2 and proof["head"]["root_hash"] == head.root_hash.hex()

        code, output = _verify_proof(proof, settings, tmp_path)
        assert code == 0 and "proof holds" in output, output
        proof["event"]["reason"] = "rewritten"
        code, output = _verify_proof(proof, settings, tmp_path)
        assert code == 1 and "altered" in output, output


async def test_an_unknown_event_has_no_proof(client: httpx.AsyncClient, auth: Auth) -> None:
    reply = await client.get(f"/v1/audit/events/{uuid.uuid4()}/proof", headers=auth(Role.COMPLIANCE))
    assert reply.status_code == 404 and "not yet under a signed tree head" in reply.json()["message"]


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR, Role.REGULATOR, Role.ADMIN])
async def test_only_compliance_reads_proofs(client: httpx.AsyncClient, auth: Auth, role: Role) -> None:
    reply = await client.get(f"/v1/audit/events/{uuid.uuid4()}/proof", headers=auth(role))
    assert reply.status_code == 403 and reply.json()["code"] == "forbidden"
