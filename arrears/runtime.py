"""Bringing the system up: embedded servers when not configured, then database, Temporal, services."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

from temporalio.client import Client
from temporalio.service import RPCError

from arrears import migrate
from arrears.db import Database, login_posture
from arrears.embedded import EmbeddedPostgres, TemporalDevServer
from arrears.intake import IntakeService
from arrears.settings import Settings
from arrears.temporal import PLAIN, TemporalAccess, connect

log = logging.getLogger(__name__)
DATABASE_NAME = "arrears"


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where the database and Temporal are, embedded or not."""

    database_url: str  # the application's login
    temporal_address: str
    migration_database_url: str | None = None  # the schema owner's; None: this process may not migrate


@contextlib.contextmanager
def embedded_stack(settings: Settings, *, start_temporal: bool = True) -> Iterator[Endpoints]:
    """Start whichever servers are not configured, stop them on exit (Ctrl-C included)."""
    postgres: EmbeddedPostgres | None = None
    temporal: TemporalDevServer | None = None
    try:
        if settings.database_url is None:
            postgres = EmbeddedPostgres(settings.data_dir / "pgdata")
            postgres.start()
            migration_url: str | None = postgres.ensure_database(DATABASE_NAME)
            database_url = postgres.app_url(DATABASE_NAME)
        else:
            database_url = settings.database_url
            migration_url = settings.migration_url
        if settings.temporal_address is not None:
            address = settings.temporal_address
        else:
            address = f"127.0.0.1:{settings.temporal_dev_port}"
            if start_temporal:
                temporal = TemporalDevServer(
                    db_file=(settings.data_dir / "temporal.db").resolve(),
                    port=settings.temporal_dev_port,
                    ui_port=settings.temporal_ui_port,
                    namespace=settings.temporal_namespace,
                    log_file=settings.data_dir / "temporal.log",
                )
                temporal.start()
        yield Endpoints(
            database_url=database_url, temporal_address=address, migration_database_url=migration_url
        )
    finally:
        if temporal is not None:
            temporal.stop()
        if postgres is not None:
            postgres.stop()


# rustls' words for a handshake that can never succeed: waiting would not cure them.
_TLS_FAILURES = (
    "InvalidContentType",
    "InvalidCertificate",
    "InvalidMessage",
    "AlertReceived",
    "HandshakeFailure",
)


async def wait_for_temporal(
    address: str, namespace: str, wait_seconds: float = 60.0, *, access: TemporalAccess = PLAIN
) -> Client:
    """Connect once the frontend answers and the namespace exists; a TLS mismatch fails at once."""
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while True:
        try:
            client = await connect(address, namespace, access)
            await client.count_workflows()
            return client
        except (RuntimeError, RPCError) as exc:
            if any(word in str(exc) for word in _TLS_FAILURES):
                raise RuntimeError(
                    f"TLS to Temporal at {address} failed (check TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT, "
                    f"TEMPORAL_TLS_KEY, TEMPORAL_TLS_SERVER_NAME, and that the frontend speaks TLS): {exc}"
                ) from exc
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"Temporal at {address} is not reachable: {exc}") from exc
            await asyncio.sleep(0.25)


async def check_login(settings: Settings, db: Database) -> None:
    """Refuse (warn, where local) a database login that could undo the audit trail."""
    posture = await login_posture(db)
    if not posture.problems:
        return
    message = (
        f"DATABASE_URL logs in as {posture.login}, which is {'; '.join(posture.problems)}. "
        "The application must log in as a role that owns nothing (arrears_app; README, Production)"
    )
    if not settings.is_local:
        raise RuntimeError(message)
    log.warning("%s", message)


@dataclass(slots=True)
class Services:
    """Connected services shared by the API and the worker of one process."""

    settings: Settings
    db: Database
    client: Client
    intake: IntakeService


@contextlib.asynccontextmanager
async def services(
    settings: Settings, endpoints: Endpoints, *, run_migrations: bool = True
) -> AsyncIterator[Services]:
    """Migrate (as the schema's owner), connect to PostgreSQL and Temporal, and build the services."""
    if run_migrations:
        if endpoints.migration_database_url is None:
            raise RuntimeError(
                "MIGRATION_DATABASE_URL is not set: migrations run as the schema's owner, "
                "never as the application's login (DATABASE_URL)"
            )
        await asyncio.to_thread(migrate.upgrade, endpoints.migration_database_url)
    db = Database(endpoints.database_url)
    try:
        await check_login(settings, db)
        client = await wait_for_temporal(
            endpoints.temporal_address,
            settings.temporal_namespace,
            access=TemporalAccess.from_settings(settings),
        )
        intake = IntakeService(db, client, task_queue=settings.temporal_task_queue)
        yield Services(settings=settings, db=db, client=client, intake=intake)
    finally:
        await db.dispose()
