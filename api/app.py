"""The FastAPI application, built around already-connected services."""

from __future__ import annotations

import secrets

from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware

from api import borrower, errors, web
from api.cases import endpoints as cases
from api.limits import BodyLimit
from api.routes import audit, delinquencies, health, payments, reports, tasks
from arrears.db import Database
from arrears.intake import IntakeService
from arrears.settings import Settings


def create_app(*, settings: Settings, db: Database, intake: IntakeService) -> FastAPI:
    """An app whose routes share one database pool and one Temporal client."""
    app = FastAPI(
        title="Arrears",
        version="0.1.0",
        summary="Default-management case system: cases, tasks, payments, audit.",
        docs_url=None,  # served by the workbench with local assets (no CDN)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.intake = intake
    errors.install(app)

    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    # the sign-in round trip's state (OIDC: state, nonce, PKCE verifier), signed, ten minutes
    secret = settings.web_secret.get_secret_value() if settings.web_secret else secrets.token_urlsafe(32)
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie="arrears_sign_in",
        max_age=600,
        path="/web/oidc",
        same_site="lax",
        https_only=settings.environment == "production",
    )

    app.include_router(health.router)
    app.include_router(delinquencies.router)
    app.include_router(tasks.router)
    app.include_router(cases.router)
    app.include_router(payments.router)
    app.include_router(audit.router)
    app.include_router(reports.router)
    web.install(app)
    borrower.install(app, settings)
    return app
