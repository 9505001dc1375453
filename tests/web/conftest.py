"""The workbench under test: the real app, its pages read over HTTP as a browser sends them."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from api.app import create_app
from arrears.db import Database
from arrears.intake import IntakeService
from arrears.settings import Settings
from tests.factories import delinquency

SignIn = Callable[..., Awaitable[httpx.AsyncClient]]
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


@pytest.fixture
async def sign_in(settings: Settings, db: Database, intake: IntakeService) -> AsyncIterator[SignIn]:
    """A browser-like client per person, signed in through the development sign-in page."""
    app = create_app(settings=settings, db=db, intake=intake)
    clients: list[httpx.AsyncClient] = []

    async def _sign_in(
        role: str, team: str | None = "default", name: str | None = None, **headers: str
    ) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://127.0.0.1",
            timeout=60,
            headers={"Accept-Language": "en", **{k.replace("_", "-"): v for k, v in headers.items()}},
        )
        clients.append(client)
        response = await client.post(
            "/web/sign-in",
            data={"name": name or f"{role}-{uuid.uuid4().hex[:6]}", "role": role, "team": team or ""},
        )
        assert response.status_code == 303, response.text
        return client

    yield _sign_in
    for client in clients:
        await client.aclose()


@pytest.fixture
def open_case(intake: IntakeService) -> Callable[..., Awaitable[uuid.UUID]]:
    """Opens a case through intake, as the loan system reports one."""

    async def _open(team: str, **row: Any) -> uuid.UUID:
        today = datetime.now(UTC).date()
        record = delinquency(team=team, as_of=today.isoformat(), **row)
        result = await intake.ingest([(1, record)], source="test")
        assert result.opened == 1, result.errors
        return result.case_ids[0]

    return _open


@pytest.fixture(scope="module")
async def live_server(
    database_url: str,
    dev_server: Any,
    task_queue: str,
    intake: IntakeService,
    db: Database,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[str]:
    """The app served by uvicorn on a free loopback port, as `make run` serves it."""
    import asyncio

    import uvicorn

    from arrears.embedded import free_port

    settings = Settings(
        environment="test",
        database_url=database_url,
        temporal_address=dev_server.address,
        temporal_task_queue=task_queue,
        data_dir=tmp_path_factory.mktemp("web-data"),
        demo_data=False,
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings=settings, db=db, intake=intake),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    """Debian's Chromium, headless, driven by Playwright."""
    import shutil

    from playwright.async_api import async_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "Chromium is missing: scripts/system-libs.sh installs it"
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        yield chromium
        await chromium.close()
