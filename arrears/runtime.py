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
from arrears.db import Database
from arrears.embedded import EmbeddedPostgres, TemporalDevServer
from arrears.intake import IntakeService
from arrears.settings import Settings
from arrears.temporal import PLAIN, TemporalAccess, connect

log = logging.getLogger(__name__)
DATABASE_NAME = "arrears"


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where the database and Temporal are, embedded or not."""

    database_url: str
    temporal_address: str


@contextlib.contextmanager
def embedded_stack(settings: Settings, *, start_temporal: bool = True) -> Iterator[Endpoints]:
    """Start whichever servers are not configured, stop them on exit (Ctrl-C included)."""
    postgres: EmbeddedPostgres | None = None
    temporal: TemporalDevServer | None = None
    try:
        if settings.database_url is None:
            postgres = EmbeddedPostgres(settings.data_dir / "pgdata")
            postgres.start()
            database_url = postgres.ensure_database(DATABASE_NAME)
        else:
            database_url = settings.database_url
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
        yield Endpoints(database_url=database_url, temporal_address=address)
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
    """Migrate, connect to PostgreSQL and Temporal, and build the services."""
    if run_migrations:
        await asyncio.to_thread(migrate.upgrade, endpoints.database_url)
    db = Database(endpoints.database_url, role=settings.database_role or None)
    try:
        client = await wait_for_temporal(
            endpoints.temporal_address,
            settings.temporal_namespace,
            access=TemporalAccess.from_settings(settings),
        )
        intake = IntakeService(db, client, task_queue=settings.temporal_task_queue)
        yield Services(settings=settings, db=db, client=client, intake=intake)
    finally:
        await db.dispose()
