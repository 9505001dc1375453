"""The `arrears` command line, run as a user runs it."""

from __future__ import annotations

import asyncio
import csv
import os
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arrears.auth import decode_token
from arrears.cli import app
from arrears.settings import Settings
from models.enums import Role
from tests.factories import delinquency

ARREARS = str(Path(sys.executable).parent / "arrears")


@pytest.mark.parametrize(
    "command", ["run", "worker", "api", "migrate", "import", "token", "demo", "audit verify"]
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
