"""The FastAPI application, built around already-connected services."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from api import errors
from api.routes import delinquencies, health
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

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > settings.max_request_bytes:
            return JSONResponse(
                errors.ErrorBody(
                    code="payload_too_large",
                    message=f"request body over {settings.max_request_bytes} bytes",
                ).model_dump(exclude_none=True),
                status_code=413,
            )
        return await call_next(request)

    app.include_router(health.router)
    app.include_router(delinquencies.router)
    return app
