"""Alembic environment: synchronous psycopg, URL from the caller or from settings."""

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import create_engine, pool

from arrears.db import async_url
from models.registry import metadata

config = context.config


def _url() -> str:
    url = config.attributes.get("url")
    if url is None:
        from arrears.settings import get_settings

        url = get_settings().migration_url  # the schema's owner, never the application's login
    if url is None:
        raise SystemExit(
            "MIGRATION_DATABASE_URL is not set (use `arrears migrate`, which knows the embedded one)"
        )
    return async_url(url)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # SQLModel's AutoString is a plain VARCHAR: render it as one, so migrations need no sqlmodel.
    if type_ == "type" and type(obj).__name__ == "AutoString":
        length = getattr(obj, "length", None)
        return f"sa.String(length={length})" if length else "sa.String()"
    return False


def run_migrations_online() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            compare_type=True,
            render_item=_render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
