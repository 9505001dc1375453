"""Signing in through an OpenID Connect provider (authorization code with PKCE), and the session
rules: idle timeout, Secure cookies off localhost, no development sign-in in production."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import update
from sqlmodel import col

from api.app import create_app
from arrears.db import Database
from arrears.intake import IntakeService
from arrears.settings import Settings
from models.base import utcnow
from models.web_sessions import WebSession
from tests.web.conftest import csrf_of
from tests.web.idp import CLIENT_ID, CLIENT_SECRET, FakeIdp, serve_idp


@pytest.fixture
async def idp() -> AsyncIterator[FakeIdp]:
    async with serve_idp() as provider:
        yield provider


def _app(settings: Settings, db: Database, intake: IntakeService, **changes: object) -> httpx.AsyncClient:
    app = create_app(settings=settings.model_copy(update=changes), db=db, intake=intake)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", timeout=30)


async def _through_provider(app: httpx.AsyncClient, start: str = "/web/oidc/login") -> httpx.Response:
    """Follow the redirects a browser would: to the provider (real HTTP) and back to the app."""
    to_provider = await app.get(start)
    assert to_provider.status_code == 302, to_provider.text
    async with httpx.AsyncClient(timeout=30) as browser:
        back = await browser.get(to_provider.headers["location"])
    if back.status_code != 307:
        return back  # the provider refused
    callback = httpx.URL(back.headers["location"])
    return await app.get(callback.path, params=dict(callback.params))


async def test_a_person_signs_in_with_the_provider_and_gets_the_role_and_team_of_its_claims(
    settings: Settings, db: Database, intake: IntakeService, idp: FakeIdp
) -> None:
    idp.claims = {"preferred_username": "jdoe", "staff_role": "supervisor", "staff_team": "north"}
    async with _app(
        settings,
        db,
        intake,
        oidc_issuer=idp.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=SecretStr(CLIENT_SECRET),
        oidc_role_claim="staff_role",
        oidc_team_claim="staff_team",
    ) as app:
        signed_in = await _through_provider(app, "/web/oidc/login?next=/web/escalations")
        assert signed_in.status_code == 303, signed_in.text
        assert signed_in.headers["location"] == "/web/escalations"
        page = await app.get("/web/escalations")
        assert page.status_code == 200 and "jdoe" in page.text and "north" in page.text
    assert idp.refused == []  # PKCE (S256) was sent and its verifier matched


async def test_an_account_without_a_workbench_role_is_refused(
    settings: Settings, db: Database, intake: IntakeService, idp: FakeIdp
) -> None:
    idp.claims = {"preferred_username": "visitor", "arrears_role": "borrower"}
    async with _app(
        settings,
        db,
        intake,
        oidc_issuer=idp.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=SecretStr(CLIENT_SECRET),
    ) as app:
        refused = await _through_provider(app)
        assert refused.status_code == 403 and "no workbench role" in refused.text
        assert (await app.get("/web/queue")).status_code == 303  # still not signed in


async def test_a_replayed_callback_is_refused(
    settings: Settings, db: Database, intake: IntakeService, idp: FakeIdp
) -> None:
    idp.claims = {"preferred_username": "jdoe", "arrears_role": "agent"}
    async with _app(
        settings,
        db,
        intake,
        oidc_issuer=idp.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=SecretStr(CLIENT_SECRET),
    ) as app:
        to_provider = await app.get("/web/oidc/login")
        async with httpx.AsyncClient() as browser:
            back = await browser.get(to_provider.headers["location"])
        callback = httpx.URL(back.headers["location"])
        first = await app.get(callback.path, params=dict(callback.params))
        assert first.status_code == 303
        again = await app.get(callback.path, params=dict(callback.params))
        assert again.status_code == 403  # the state was used up, and the code with it


async def test_development_sign_in_is_refused_in_production(
    settings: Settings, db: Database, intake: IntakeService
) -> None:
    async with _app(settings, db, intake, environment="production") as app:
        page = await app.get("/web/sign-in")
        assert page.status_code == 303 and page.headers["location"].startswith("/web/oidc/login")
        posted = await app.post("/web/sign-in", data={"name": "mallory", "role": "admin", "team": ""})
        assert posted.status_code == 403
        assert "arrears_session" not in posted.cookies


async def test_an_idle_session_times_out(settings: Settings, db: Database, intake: IntakeService) -> None:
    async with _app(settings, db, intake, web_idle_minutes=30) as app:
        assert (
            await app.post("/web/sign-in", data={"name": "idle", "role": "agent", "team": "default"})
        ).status_code == 303
        assert (await app.get("/web/queue")).status_code == 200
        async with db.session() as session:  # 31 minutes pass without a request
            await session.exec(
                update(WebSession)
                .where(col(WebSession.subject) == "idle", col(WebSession.ended_at).is_(None))
                .values(last_seen_at=utcnow() - timedelta(minutes=31))
            )
        timed_out = await app.get("/web/queue")
        assert timed_out.status_code == 303 and "timed+out" in timed_out.headers["location"]
        assert (await app.get("/web/queue")).status_code == 303  # and it stays ended


async def test_a_busy_session_still_ends_a_working_day_after_sign_in(
    settings: Settings, db: Database, intake: IntakeService
) -> None:
    async with _app(settings, db, intake, web_idle_minutes=30, web_session_hours=12) as app:
        assert (
            await app.post("/web/sign-in", data={"name": "busy", "role": "agent", "team": "default"})
        ).status_code == 303
        async with db.session() as session:  # signed in 13 hours ago, active a minute ago
            await session.exec(
                update(WebSession)
                .where(col(WebSession.subject) == "busy", col(WebSession.ended_at).is_(None))
                .values(
                    created_at=utcnow() - timedelta(hours=13), last_seen_at=utcnow() - timedelta(minutes=1)
                )
            )
        ended = await app.get("/web/queue")
        assert ended.status_code == 303 and "timed+out" in ended.headers["location"]
        assert (await app.get("/web/queue")).status_code == 303


async def test_the_cookie_is_secure_away_from_localhost(
    settings: Settings, db: Database, intake: IntakeService
) -> None:
    app = create_app(settings=settings, db=db, intake=intake)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://workbench.example.org"
    ) as remote:
        signed_in = await remote.post(
            "/web/sign-in", data={"name": "far", "role": "agent", "team": "default"}
        )
        cookie = signed_in.headers["set-cookie"].lower()
        assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
        page = await remote.get("/web/queue")
        token = csrf_of(page.text)
        assert (await remote.post("/web/sign-out", data={"csrf": token})).status_code == 303
