"""The API under test: the real app on the session's PostgreSQL and Temporal dev server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from api.app import create_app
from arrears.auth import issue_token
from arrears.db import Database
from arrears.intake import IntakeService
from arrears.settings import Settings
from models.enums import Role

Auth = Callable[..., dict[str, str]]


@pytest.fixture
async def client(settings: Settings, db: Database, intake: IntakeService) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings=settings, db=db, intake=intake)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as http:
        yield http


@pytest.fixture
def auth(settings: Settings) -> Auth:
    """Headers with a token for a role (and a subject and team where it matters)."""

    def headers(role: Role, subject: str | None = None, team: str | None = None) -> dict[str, str]:
        token = issue_token(settings, role=role, subject=subject or f"{role.value}-user", team=team)
        return {"Authorization": f"Bearer {token}"}

    return headers
