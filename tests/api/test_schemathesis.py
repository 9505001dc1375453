"""Schemathesis against the live app (uvicorn on a free port, the real database and Temporal):
every check Schemathesis has (no server error, every response in the OpenAPI document, statuses
and headers as HTTP requires, invalid input refused) as each role that uses the API."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn

from api.app import create_app
from arrears.auth import issue_token
from arrears.db import Database
from arrears.embedded import free_port
from arrears.intake import IntakeService
from arrears.settings import Settings
from models.enums import Role


@pytest.fixture
async def live_url(settings: Settings, db: Database, intake: IntakeService) -> AsyncIterator[str]:
    port = free_port()
    config = uvicorn.Config(
        create_app(settings=settings, db=db, intake=intake), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event for it
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await serving


@pytest.mark.timeout(900)
@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.AGENT, Role.COMPLIANCE])
async def test_no_server_error_and_no_response_outside_the_schema(
    live_url: str, settings: Settings, role: Role, tmp_path: Path
) -> None:
    token = issue_token(settings, role=role, subject=f"fuzz-{role.value}", team="fuzz")
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{live_url}/openapi.json",
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {token}",
        "--max-examples",
        "30",
        "--seed",
        "20261123",
        "--generation-database",
        "none",
        # One worker: CPython before 3.11.8 raises "AST constructor recursion depth mismatch" when
        # two threads parse source at once (gh-106905), which Hypothesis does to describe lambdas.
        "--workers",
        "1",
        "--no-color",
        "--request-timeout",
        "30",
        # Speed is measured in bench/, not here: generating a report with its charts and PDF on a
        # loaded machine may pass Schemathesis's default 10-second check without being a fault.
        "--max-response-time",
        "30",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace")
    print(text)  # the whole report, shown when the test fails
    assert process.returncode == 0, text[-12000:]
    assert "No issues found" in text or "passed" in text.lower(), text[-4000:]
