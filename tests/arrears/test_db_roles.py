"""The application logs in as a role that owns nothing and cannot become the owner.

Injected SQL runs with the application's login: these tests are what it could try, on the
real embedded PostgreSQL, set up as `arrears run` sets it up.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from arrears import audit, migrate
from arrears.db import Database, login_posture
from arrears.embedded import APP_ROLE, OWNER_ROLE, EmbeddedPostgres
from arrears.runtime import Endpoints, embedded_stack, services
from arrears.settings import Settings


async def _attempt(db: Database, *statements: str) -> DBAPIError | None:
    """Run the statements as the application's session; nothing is kept, whatever happens."""
    async with db.engine.connect() as conn:
        try:
            for statement in statements:
                await conn.execute(text(statement))
        except DBAPIError as exc:
            return exc
        finally:
            await conn.rollback()
    return None


@pytest.mark.parametrize(
    ("statements", "refusal"),
    [
        (["RESET ROLE", "ALTER TABLE audit_events DISABLE TRIGGER ALL"], "must be owner"),
        (
            ["RESET ROLE", "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete"],
            "must be owner",
        ),
        (["RESET ROLE", "DROP TRIGGER audit_events_no_truncate ON audit_events"], "must be owner"),
        (["RESET ROLE", "ALTER TABLE audit_events OWNER TO CURRENT_USER"], "must be owner"),
        ([f"SET ROLE {OWNER_ROLE}"], "permission denied to set role"),
        ([f"SET SESSION AUTHORIZATION {OWNER_ROLE}"], "permission denied to set session authorization"),
        ([f"GRANT {OWNER_ROLE} TO CURRENT_USER"], "permission denied to grant role"),
        (["SET session_replication_role = replica"], "permission denied to set parameter"),
        (["RESET ROLE", "UPDATE audit_events SET reason = 'rewritten'"], "permission denied"),
        (["RESET ROLE", "DELETE FROM audit_events"], "permission denied"),
        (["RESET ROLE", "TRUNCATE audit_events"], "permission denied"),
        (["RESET ROLE", "CREATE TABLE audit_shadow (seq bigint)"], "permission denied for schema public"),
    ],
)
async def test_the_application_session_cannot_undo_the_trail(
    db: Database, statements: list[str], refusal: str
) -> None:
    refused = await _attempt(db, *statements)
    assert refused is not None, f"{statements} went through"
    assert refusal in str(refused.orig)


async def test_a_rewrite_after_reset_role_fails_and_the_trail_still_verifies(db: Database) -> None:
    async with db.session() as session:
        await audit.append(session, actor=audit.SYSTEM, action="test.event", reason="before the attack")
    refused = await _attempt(
        db,
        "RESET ROLE",
        "ALTER TABLE audit_events DISABLE TRIGGER ALL",
        "UPDATE audit_events SET reason = 'rewritten'",
        "ALTER TABLE audit_events ENABLE ALWAYS TRIGGER ALL",
    )
    assert refused is not None
    async with db.session() as session:
        assert (await audit.verify(session)).ok


async def test_the_login_role_is_the_application_role_and_owns_nothing(db: Database) -> None:
    async with db.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT session_user, current_user, r.rolsuper, r.rolcreaterole, r.rolcreatedb,"
                    " r.rolbypassrls, pg_has_role(session_user, :owner, 'MEMBER'),"
                    " (SELECT count(*) FROM pg_class WHERE relowner = r.oid)"
                    " FROM pg_roles r WHERE r.rolname = session_user"
                ),
                {"owner": OWNER_ROLE},
            )
        ).one()
    assert tuple(row) == (APP_ROLE, APP_ROLE, False, False, False, False, False, 0)
    assert (await login_posture(db)).problems == ()


async def test_the_owner_login_is_named_as_a_problem(owner_database_url: str) -> None:
    owner = Database(owner_database_url, pool_size=1)
    try:
        posture = await login_posture(owner)
    finally:
        await owner.dispose()
    assert posture.login == OWNER_ROLE
    assert "the owner of audit_events" in posture.problems, posture


async def test_production_refuses_to_start_as_the_owner(
    settings: Settings, owner_database_url: str, tmp_path: Path
) -> None:
    production = Settings(
        _env_file=None,
        environment="production",
        jwt_signing_key="k" * 32,
        payments_webhook_secret="s" * 32,
        database_url=owner_database_url,
        temporal_address=settings.temporal_address,
        temporal_api_key="never-used-the-database-refuses-first",
        data_dir=tmp_path,
    )
    endpoints = Endpoints(
        database_url=owner_database_url,
        migration_database_url=None,
        temporal_address=settings.temporal_address or "",
    )
    with pytest.raises(RuntimeError, match="DATABASE_URL logs in as arrears_owner"):
        async with services(production, endpoints, run_migrations=False):
            pass


def test_the_embedded_stack_migrates_as_the_owner_and_serves_as_the_application(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, environment="development", data_dir=tmp_path / "data")
    with embedded_stack(settings, start_temporal=False) as endpoints:
        assert endpoints.migration_database_url is not None
        migrate.upgrade(endpoints.migration_database_url)
        for url, role in ((endpoints.database_url, APP_ROLE), (endpoints.migration_database_url, OWNER_ROLE)):
            with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
                assert conn.execute("SELECT session_user").fetchone() == (role,)
        with psycopg.connect(endpoints.migration_database_url) as conn:
            owner = conn.execute(
                "SELECT tableowner FROM pg_tables WHERE tablename = 'audit_events'"
            ).fetchone()
        assert owner == (OWNER_ROLE,)


async def test_a_database_the_superuser_built_is_handed_to_the_owner(postgres: EmbeddedPostgres) -> None:
    # `arrears run` data from before the two roles: everything owned by the superuser
    name = f"legacy_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres.url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    migrate.upgrade(postgres.url(name))

    owner_url = postgres.ensure_database(name)
    migrate.upgrade(owner_url)
    with psycopg.connect(owner_url, autocommit=True) as conn:
        foreign = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relowner <> %s::regrole",
            (OWNER_ROLE,),
        ).fetchone()
        assert foreign == (0,)
        conn.execute("CREATE TABLE a_later_table (id int)")  # as a later migration would

    app = Database(postgres.app_url(name), pool_size=1)
    try:
        async with app.session() as session:
            await audit.append(session, actor=audit.SYSTEM, action="test.event", reason="after adoption")
            await (await session.connection()).execute(text("INSERT INTO a_later_table VALUES (1)"))
        assert (await login_posture(app)).problems == ()
    finally:
        await app.dispose()
