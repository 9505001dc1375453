"""The `arrears` command line, run as a user runs it."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import os
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from activities.messages import MessageActivities
from arrears import audit
from arrears.auth import decode_token
from arrears.channels import NO_CHANNELS
from arrears.cli import app
from arrears.db import Database
from arrears.intake import IntakeService
from arrears.settings import Settings
from models.cases import Case
from models.documents import Document
from models.enums import Channel, Role
from models.loans import Loan
from tests.factories import activity_env, delinquency
from workflows.dto import SendRequest

ARREARS = str(Path(sys.executable).parent / "arrears")


@pytest.mark.parametrize(
    "command",
    [
        "run",
        "worker",
        "api",
        "migrate",
        "import",
        "token",
        "demo",
        "audit verify",
        "audit checkpoint",
        "audit prove",
        "audit verify-proof",
        "audit consistency",
        "audit public-key",
        "audit partitions",
        "document",
        "report generate",
    ],
)
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(app, [*command.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output and "--help" in result.output


def test_token_issues_a_jwt_for_the_role() -> None:
    result = CliRunner().invoke(app, ["token", "--role", "compliance", "--subject", "cora"])
    assert result.exit_code == 0
    principal = decode_token(Settings(_env_file=None), result.output.strip())
    assert (principal.role, principal.subject) == (Role.COMPLIANCE, "cora")


def test_token_refuses_an_unknown_role() -> None:
    result = CliRunner().invoke(app, ["token", "--role", "superhero"])
    assert result.exit_code == 2
    assert "superhero" in result.output


async def _arrears(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """Run the CLI without blocking the event loop that the test worker runs on."""
    proc = await asyncio.create_subprocess_exec(
        ARREARS, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_import_reports_bad_rows_and_is_idempotent(settings: Settings, tmp_path: Path) -> None:
    rows = [delinquency(), delinquency(email="not-an-email"), delinquency("se_consumer")]
    path = tmp_path / "delinquencies.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url or "",
        "TEMPORAL_ADDRESS": settings.temporal_address or "",
        "TEMPORAL_TASK_QUEUE": settings.temporal_task_queue,
        "COLUMNS": "200",
    }
    code, out, err = await _arrears("import", str(path), env=env)
    assert code == 1, err
    assert "3 rows: 2 accepted, 2 cases opened, 0 unchanged, 1 rejected" in out
    rejected = [line.split("│") for line in err.splitlines() if "email" in line]
    assert [cells[1].strip() for cells in rejected] == ["3"]  # CSV line 3: the header is line 1

    rows.pop(1)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    code, out, err = await _arrears("import", str(path), env=env)
    assert code == 0, err
    assert "2 rows: 2 accepted, 0 cases opened, 2 unchanged, 0 rejected" in out


def test_import_refuses_an_unknown_file_type(tmp_path: Path) -> None:
    path = tmp_path / "loans.xlsx"
    path.write_text("x")
    result = CliRunner().invoke(app, ["import", str(path)])
    assert result.exit_code == 2
    assert "use a .csv or .jsonl file" in " ".join(result.output.split())


async def test_checkpoint_prove_verify_proof_and_consistency(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url or "",
        "DATA_DIR": str(tmp_path),
        "COLUMNS": "200",
    }
    async with db.session() as session:
        first = await audit.append(session, actor=audit.SYSTEM, action="test.cli", reason="before the head")
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    code, out, err = await _arrears("audit", "checkpoint", "--out", str(old), env=env)
    assert code == 0, err
    assert "signed tree head of" in out and old.exists()
    code, out, err = await _arrears("audit", "verify", "--checkpoint", str(old), "--json", env=env)
    assert code == 0, err
    assert '"ok": true' in out
    async with db.session() as session:
        await audit.append(session, actor=audit.SYSTEM, action="test.cli", reason="after the head")
    code, _, err = await _arrears("audit", "checkpoint", "--out", str(new), env=env)
    assert code == 0, err

    proof, key = tmp_path / "proof.json", tmp_path / "public.pem"
    code, _, err = await _arrears("audit", "prove", str(first.id), "--out", str(proof), env=env)
    assert code == 0, err
    code, _, err = await _arrears("audit", "public-key", "--out", str(key), env=env)
    assert code == 0, err
    offline = {k: v for k, v in env.items() if k not in {"DATABASE_URL", "DATA_DIR"}}
    code, out, err = await _arrears(
        "audit", "verify-proof", str(proof), "--public-key", str(key), env=offline
    )
    assert code == 0 and "proof holds" in out, err
    tampered = json.loads(proof.read_text())
    tampered["event"]["reason"] = "rewritten"
    proof.write_text(json.dumps(tampered))
    code, out, _ = await _arrears("audit", "verify-proof", str(proof), "--public-key", str(key), env=offline)
    assert code == 1 and "altered" in out

    consistency = tmp_path / "consistency.json"
    code, out, err = await _arrears(
        "audit", "consistency", str(old), str(new), "--out", str(consistency), env=env
    )
    assert code == 0 and "extends" in out, err
    code, out, err = await _arrears(
        "audit", "verify-proof", str(consistency), "--public-key", str(key), env=offline
    )
    assert code == 0 and "proof holds" in out, err

    old.write_text("{}")
    code, out, err = await _arrears("audit", "verify", "--checkpoint", str(old), env=env)
    assert code == 2 and "not an audit checkpoint" in err


async def test_document_writes_the_stored_pdf_byte_for_byte(
    settings: Settings, db: Database, intake: IntakeService, tmp_path: Path
) -> None:
    record = delinquency(as_of=datetime.now(UTC).date(), days_past_due=40)
    assert (await intake.ingest([(1, record)], source="test")).opened == 1
    async with db.session() as session:
        loan = (await session.exec(select(Loan).where(Loan.external_id == record["loan_id"]))).one()
        case = (await session.exec(select(Case).where(Case.loan_id == loan.id))).one()
    sent = await activity_env(datetime.now(UTC)).run(
        MessageActivities(db, NO_CHANNELS).send_document,
        SendRequest(
            case_id=case.id,
            step="cli.test",
            document="late_notice",
            channel=Channel.LETTER,
            arrears=Decimal("1500.00"),
            fees=Decimal("0"),
            days_past_due=40,
            delinquent_since=datetime.now(UTC).date(),
        ),
    )
    async with db.session() as session:
        doc = await session.get(Document, sent.document_id)
    assert doc is not None
    env = {**os.environ, "DATABASE_URL": settings.database_url or "", "COLUMNS": "200"}
    out_file = tmp_path / "letter.pdf"
    code, out, err = await _arrears("document", str(doc.id), "--out", str(out_file), env=env)
    assert code == 0, err
    assert out_file.read_bytes() == doc.pdf and doc.sha256 in out
    code, out, err = await _arrears("document", "not-an-id", "--out", str(out_file), env=env)
    assert code == 2 and "not a document ID" in err


async def test_report_generate_writes_the_stored_files(settings: Settings, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": settings.database_url or "", "COLUMNS": "200"}
    args = ["report", "generate", "loss_mitigation", "--from", "2026-01-01", "--to", "2026-01-31"]
    code, out, err = await _arrears(*args, "--pack", "us_mortgage", "--out", str(tmp_path), env=env)
    assert code == 0, err
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == [
        f"loss_mitigation_us_mortgage_2026-01-01_2026-01-31.{f}" for f in ("csv", "json", "pdf")
    ]
    for path in tmp_path.iterdir():
        assert hashlib.sha256(path.read_bytes()).hexdigest() in out
    code, out, err = await _arrears(
        "report", "generate", "delinquency", "--from", "2026-02-01", "--to", "2999-01-31", env=env
    )
    assert code == 2 and "the period must be over" in err
