"""Database engines and the one session scope through which the application commits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession


def async_url(url: str) -> str:
    """Normalise any PostgreSQL URL to the psycopg (v3) driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError(f"DATABASE_URL must be a PostgreSQL URL, got {url.split(':', 1)[0]}://…")


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An async engine with a bounded pool; connections are checked before use.

    It connects as whoever the URL names and never switches role: the application's URL names
    a login role that owns nothing and is a member of nothing (`arrears_app`), so no statement
    in its session, injected or not, can reach the owner's powers (`SET ROLE` would be undone
    by `RESET ROLE`).
    """
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        # a failed statement's text would carry its bound values (names, addresses) into the
        # logs and the engine's failure records
        hide_parameters=True,
    )


class Database:
    """Holds the engine and hands out sessions; only `session()` commits."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size)
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


@asynccontextmanager
async def one_off_session(url: str) -> AsyncIterator[AsyncSession]:
    """One unit of work for a one-off command, as the login the URL names, on a pool of its own."""
    db = Database(url, pool_size=1)
    try:
        async with db.session() as session:
            yield session
    finally:
        await db.dispose()


@dataclass(frozen=True, slots=True)
class LoginPosture:
    """The login role of a connection, and what it could do to the audit trail that it never needs."""

    login: str
    problems: tuple[str, ...]


# session_user, not current_user: what counts is where RESET ROLE lands.
_POSTURE = text(
    """
    SELECT session_user::text,
           r.rolsuper, r.rolcreaterole, r.rolbypassrls,
           c.relowner::regrole::text,
           c.oid IS NOT NULL AND pg_has_role(session_user, c.relowner, 'MEMBER'),
           c.oid IS NOT NULL AND (has_table_privilege(session_user, c.oid, 'UPDATE')
                                  OR has_table_privilege(session_user, c.oid, 'DELETE')
                                  OR has_table_privilege(session_user, c.oid, 'TRUNCATE')),
           has_schema_privilege(session_user, 'public', 'CREATE')
      FROM pg_roles r LEFT JOIN pg_class c ON c.oid = to_regclass('public.audit_events')
     WHERE r.rolname = session_user
    """
)


async def login_posture(db: Database) -> LoginPosture:
    """Check that the login role owns nothing and cannot become the audit trail's owner."""
    async with db.engine.connect() as conn:
        row = (await conn.execute(_POSTURE)).one()
    login, superuser, create_role, bypass_rls, owner, can_become_owner, can_change, can_create = row
    problems = []
    if superuser:
        problems.append("a superuser")
    if create_role:
        problems.append("allowed to create roles (CREATEROLE)")
    if bypass_rls:
        problems.append("exempt from row security (BYPASSRLS)")
    if can_become_owner and not superuser:
        problems.append(
            "the owner of audit_events"
            if login == owner
            else f"a member of {owner}, the owner of audit_events"
        )
    if can_change and not superuser:
        problems.append("granted UPDATE, DELETE or TRUNCATE on audit_events")
    if can_create and not superuser:
        problems.append("allowed to create objects in schema public, which it would own")
    return LoginPosture(login=login, problems=tuple(problems))
