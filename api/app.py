"""The FastAPI application, built around already-connected services."""

from __future__ import annotations

from fastapi import FastAPI

from api import errors
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
    )
    app.state.settings = settings
    app.state.db = db
    app.state.intake = intake
    errors.install(app)

    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)

    app.include_router(health.router)
    app.include_router(delinquencies.router)
    app.include_router(tasks.router)
    app.include_router(cases.router)
    app.include_router(payments.router)
    app.include_router(audit.router)
    app.include_router(reports.router)
    return app
