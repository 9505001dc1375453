"""Test servers: each test session owns a real PostgreSQL and real Temporal servers on free ports."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from arrears import migrate
from arrears.channels import Channels, Mailer, SmsGateway
from arrears.db import Database
from arrears.embedded import EmbeddedPostgres, TemporalDevServer, bin_path, free_port
from arrears.intake import IntakeService
from arrears.runtime import wait_for_temporal
from arrears.settings import Settings
from arrears.temporal import build_worker, ensure_search_attributes
from tests.servers import SmsGatewayFake, SmtpServer, SmtpSink

# The suite's servers are its own throwaway ones: every process it starts (the CLI, workers)
# runs as ENVIRONMENT=test, which keeps the development secrets with a configured server.
os.environ.setdefault("ENVIRONMENT", "test")


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data", delete_on_stop=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def owner_database_url(postgres: EmbeddedPostgres) -> str:
    """The test database as its owner, who built the schema by running the migrations."""
    url = postgres.ensure_database("arrears_test")
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def database_url(postgres: EmbeddedPostgres, owner_database_url: str) -> str:
    """The test database as the application logs in: a role that owns nothing."""
    return postgres.app_url("arrears_test")


@pytest.fixture(scope="session")
async def db(database_url: str) -> AsyncIterator[Database]:
    """The application's database, as the application's login role."""
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporalDevServer]:
    """The real Temporal dev server, persistent file, free port, no UI."""
    folder = tmp_path_factory.mktemp("temporal")
    server = TemporalDevServer(
        db_file=folder / "temporal.db", port=free_port(), ui_port=None, log_file=folder / "log"
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def dev_client(dev_server: TemporalDevServer) -> Client:
    return await wait_for_temporal(dev_server.address, "default")


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpSink]:
    """A real SMTP server on loopback; tests find their mail by the borrower's unique address."""
    sink = SmtpSink()
    with SmtpServer(sink):
        yield sink


@pytest.fixture(scope="session")
def sms_gateway() -> Iterator[SmsGatewayFake]:
    with SmsGatewayFake() as gateway:
        yield gateway


@pytest.fixture(scope="session")
def channels(smtp: SmtpSink, sms_gateway: SmsGatewayFake) -> Channels:
    """E-mail and SMS wired to the loopback servers."""
    return Channels(
        mailer=Mailer(host="127.0.0.1", port=smtp.port, sender="servicing@arrears.test"),
        sms=SmsGateway(url=sms_gateway.url),
        message_id_domain="arrears.test",
    )


@pytest.fixture(scope="session")
def task_queue() -> str:
    return f"test-{uuid.uuid4()}"


@pytest.fixture(scope="session")
async def dev_worker(
    dev_client: Client, db: Database, task_queue: str, channels: Channels
) -> AsyncIterator[Worker]:
    """A worker on the dev server, as `arrears run` builds it."""
    worker = build_worker(dev_client, db, task_queue=task_queue, channels=channels)
    async with worker:
        yield worker


@pytest.fixture(scope="session")
def intake(db: Database, dev_client: Client, task_queue: str, dev_worker: Worker) -> IntakeService:
    return IntakeService(db, dev_client, task_queue=task_queue)


@pytest.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """A fresh time-skipping test server (from its wheel) per test: each timeline its own clock."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(bin_path("temporal-test-server")),
        data_converter=pydantic_data_converter,
    )
    await ensure_search_attributes(env.client)
    yield env
    await env.shutdown()


@pytest.fixture
def settings(database_url: str, dev_server: TemporalDevServer, task_queue: str, tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        temporal_address=dev_server.address,
        temporal_task_queue=task_queue,
        data_dir=tmp_path / "data",
        demo_data=False,
    )
