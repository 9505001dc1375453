"""The borrower page under test: the real app served by uvicorn, a worker of its own whose
messages carry links to that server, the loopback SMTP server and SMS gateway, and the fake
payment provider over real HTTP."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlmodel import col, select
from temporalio.client import Client

from api.app import create_app
from api.borrower import entry
from api.cases import workflow
from arrears.borrower_links import Links
from arrears.channels import Channels
from arrears.db import Database
from arrears.embedded import free_port
from arrears.intake import IntakeService
from arrears.settings import Settings
from arrears.temporal import build_worker
from models.cases import Case
from models.documents import Message
from tests.borrower.provider import FakeProvider
from tests.factories import delinquency, zone_at_local_hour
from tests.servers import SmsGatewayFake, SmtpSink
from workflows.dto import CaseState

LINK = re.compile(r"http://127\.0\.0\.1:\d+/me/l/[A-Za-z0-9_-]+")
CODE = re.compile(r"\b(\d{6})\b")


def code_mails(smtp: SmtpSink, email: str) -> list[Any]:
    """The one-time code mails `email` received, oldest first."""
    return [m for m in smtp.for_address(email) if m.message_id.startswith("<code-")]


@dataclass
class Portal:
    url: str
    settings: Settings
    db: Database
    client: Client
    intake: IntakeService
    links: Links
    smtp: SmtpSink
    sms: SmsGatewayFake
    provider: FakeProvider

    async def open_case(self, pack: str = "us_mortgage", **row: Any) -> tuple[uuid.UUID, str]:
        """A case through intake with a unique e-mail address, at noon where the borrower lives."""
        email = f"me-{uuid.uuid4().hex[:10]}@example.org"
        now = datetime.now(UTC)
        defaults: dict[str, Any] = {
            "days_past_due": 10,
            "email": email,
            "timezone": zone_at_local_hour(12, now),
        }
        record = delinquency(pack, as_of=now.date().isoformat(), **(defaults | row))
        result = await self.intake.ingest([(1, record)], source="test")
        assert result.opened == 1, result.errors
        return result.case_ids[0], record["email"]

    async def mail_link(self, email: str) -> str:
        """The personal link in the first e-mail the SMTP server received for `email`."""
        for _ in range(300):
            for mail in self.smtp.for_address(email):
                text = mail.message.get_body(preferencelist=("plain",))
                found = LINK.search(text.get_content() if text else "")
                if found:
                    return found.group(0)
            await asyncio.sleep(0.1)
        raise AssertionError(f"no e-mail with a link reached {email}")

    async def code(self, email: str, seen: int = 0) -> str:
        """The newest one-time code sent to `email` after the first `seen` code mails."""
        for _ in range(200):
            codes = code_mails(self.smtp, email)
            if len(codes) > seen:
                body = codes[-1].message.get_body(preferencelist=("plain",))
                assert body is not None
                found = CODE.search(body.get_content())
                assert found
                return found.group(1)
            await asyncio.sleep(0.1)
        raise AssertionError("no code arrived")

    async def state(self, case_id: uuid.UUID) -> CaseState:
        async with self.db.session() as session:
            case = await session.get(Case, case_id)
        assert case is not None
        found = await workflow.state(self.client, case)
        assert found is not None
        return found

    async def any_link(self, case_id: uuid.UUID) -> str:
        """A link to one of the case's messages (as its letter's QR code carries)."""
        for _ in range(300):
            async with self.db.session() as session:
                message = (
                    await session.exec(
                        select(Message)
                        .where(col(Message.case_id) == case_id)
                        .order_by(col(Message.created_at))
                    )
                ).first()
            if message is not None:
                return self.links.url(
                    case_id=case_id, idempotency_key=message.idempotency_key, issued=datetime.now(UTC)
                )
            await asyncio.sleep(0.1)
        raise AssertionError("the case sent nothing")


@pytest.fixture(scope="module")
async def portal(
    database_url: str,
    owner_database_url: str,
    dev_server: Any,
    dev_client: Client,
    db: Database,
    smtp: SmtpSink,
    sms_gateway: SmsGatewayFake,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Portal]:
    provider = FakeProvider(
        webhook_secret=Settings(environment="test").payments_webhook_secret.get_secret_value()
    )
    provider_server, provider_task = await provider.serve()
    port = free_port()
    queue = f"borrower-{uuid.uuid4()}"
    settings = Settings(
        environment="test",
        database_url=database_url,
        temporal_address=dev_server.address,
        temporal_task_queue=queue,
        data_dir=Path(tmp_path_factory.mktemp("borrower-data")),
        demo_data=False,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        sms_gateway_url=sms_gateway.url,
        message_id_domain="arrears.test",
        public_url=f"http://127.0.0.1:{port}",
        payment_provider_url=provider.url,
    )
    base = f"http://127.0.0.1:{port}"
    provider.webhook_url = f"{base}/v1/payments"
    channels = Channels.from_settings(settings)
    assert channels.links is not None
    intake = IntakeService(db, dev_client, task_queue=queue)
    worker = build_worker(dev_client, db, task_queue=queue, channels=channels)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings=settings, db=db, intake=intake),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    async with worker:
        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
            await asyncio.sleep(0.05)
        yield Portal(
            url=base,
            settings=settings,
            db=db,
            client=dev_client,
            intake=intake,
            links=channels.links,
            smtp=smtp,
            sms=sms_gateway,
            provider=provider,
        )
        server.should_exit = True
        await task
    provider_server.should_exit = True
    await provider_task


@pytest.fixture(autouse=True)
def fresh_limits() -> None:
    """Each test starts with the per-address windows empty (every test comes from 127.0.0.1)."""
    for window in (entry.OPENS, entry.GUESSES, entry.SENDS):
        window.reset()


SignedIn = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def signed_in(portal: Portal) -> AsyncIterator[SignedIn]:
    """An HTTP client that went in by a link and its one-time code, as a borrower does."""
    clients: list[httpx.AsyncClient] = []

    async def _enter(link: str, email: str) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=portal.url, timeout=60, headers={"Accept-Language": "en"})
        clients.append(client)
        await enter(client, portal, link, email)
        return client

    yield _enter
    for client in clients:
        await client.aclose()


FORM = re.compile(r'name="form" value="([^"]+)"')


def form_token(html: str) -> str:
    found = FORM.search(html)
    assert found, "no form on the page"
    return found.group(1)


async def enter(client: httpx.AsyncClient, portal: Portal, link: str, email: str) -> None:
    path = link.removeprefix(portal.url)
    page = await client.get(path)
    assert page.status_code == 200, page.text
    seen = len(code_mails(portal.smtp, email))
    sent = await client.post(f"{path}/send", data={"form": form_token(page.text), "channel": "email"})
    assert sent.status_code == 303, sent.text
    code = await portal.code(email, seen)
    verified = await client.post(f"{path}/verify", data={"form": form_token(page.text), "code": code})
    assert verified.status_code == 303 and verified.headers["location"] == "/me/case", verified.text
