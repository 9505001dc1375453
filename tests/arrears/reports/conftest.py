"""One database with the March 2025 portfolio for every report test in this package."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from arrears import migrate
from arrears.db import Database
from arrears.embedded import EmbeddedPostgres
from tests.arrears.reports.portfolio import build_portfolio
from tests.factories import Portfolio


@pytest.fixture(scope="package")
async def reports_db(postgres: EmbeddedPostgres) -> AsyncIterator[Database]:
    """A database of its own, so the portfolio's counts are exactly the ones built here."""
    url = postgres.ensure_database(f"arrears_reports_{uuid.uuid4().hex[:8]}")
    migrate.upgrade(url)
    db = Database(url)
    async with db.session() as session:
        await build_portfolio(Portfolio(session))
    yield db
    await db.dispose()
