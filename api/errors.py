"""Domain errors and the one JSON error shape every failure uses."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException


class ErrorBody(BaseModel):
    """Every error response: a machine code, a sentence, and details where they help."""

    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class DomainError(Exception):
    """An error below the API that knows its HTTP status."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"


def error_responses(*errors: type[DomainError]) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for the OpenAPI document."""
    return {e.status_code: {"model": ErrorBody, "description": e.code} for e in errors}


def _body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return ErrorBody(code=code, message=message, details=details).model_dump(exclude_none=True)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into `ErrorBody`."""

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse(
            _body(exc.code, exc.message, exc.details), status_code=exc.status_code, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"field": ".".join(str(p) for p in e["loc"]), "reason": e["msg"]} for e in exc.errors()]
        return JSONResponse(
            _body("invalid_request", "the request does not match the schema", details),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(_body(f"http_{exc.status_code}", str(exc.detail)), status_code=exc.status_code)
