"""Database engines and the one session scope through which the application commits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession


def async_url(url: str) -> str:
    """Normalise any PostgreSQL URL to the psycopg (v3) driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError(f"DATABASE_URL must be a PostgreSQL URL, got {url.split(':', 1)[0]}://…")


APP_ROLE = "arrears_app"


def make_engine(url: str, *, pool_size: int = 10, role: str | None = APP_ROLE) -> AsyncEngine:
    """An async engine with a bounded pool; connections are checked before use.

    Every connection switches to `role` (the migrations' `arrears_app`: INSERT and SELECT
    only on the audit trail), so a bug or an injection in the application cannot rewrite
    history even though it logged in as a more powerful user.
    """
    engine = create_async_engine(
        async_url(url), pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )
    if role:
        if not role.replace("_", "").isalnum():
            raise ValueError(f"DATABASE_ROLE must be a plain role name, got {role!r}")

        @event.listens_for(engine.sync_engine, "connect")
        def _set_role(dbapi_connection: Any, _record: Any) -> None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f"SET ROLE {role}")
            dbapi_connection.commit()

    return engine


class Database:
    """Holds the engine and hands out sessions; only `session()` commits."""

    def __init__(self, url: str, *, pool_size: int = 10, role: str | None = APP_ROLE) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size, role=role)
        self._sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits on success, rolls back on any error."""
        async with self._sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
