"""Domain errors and the one JSON error shape every failure uses."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

log = logging.getLogger("arrears.api")


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


class Conflict(DomainError):
    """The case's workflow refused the action (its validator said why), or the object is taken."""

    status_code = 409
    code = "conflict"


class CaseClosed(Conflict):
    """The case is closed: its run is over, and no action reaches the loan's newer case."""

    code = "case_closed"


class CaseStarting(Conflict):
    """The case is recorded but its run has not started yet (intake is still starting it, or
    waits for the loan's previous case to finish): the action may be sent again shortly. A
    state of the case, not a fault of the server: 409, as for a closed case."""

    code = "case_starting"


class ServiceUnavailable(DomainError):
    status_code = 503
    code = "unavailable"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"


class InvalidRequest(DomainError):
    status_code = 422
    code = "invalid_request"


def error_responses(*errors: type[DomainError]) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for the OpenAPI document, in the one error shape; 422 always
    (instead of FastAPI's default model, which is not what the handlers send)."""
    kinds: tuple[type[DomainError], ...] = (InvalidRequest, *errors)
    return {e.status_code: {"model": ErrorBody, "description": e.code} for e in kinds}


def body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return ErrorBody(code=code, message=message, details=details).model_dump(exclude_none=True)


def _allowed_methods(request: Request) -> list[str]:
    """The methods of every route whose path matches the request's."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into `ErrorBody`."""

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse(
            body(exc.code, exc.message, exc.details), status_code=exc.status_code, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"field": ".".join(str(p) for p in e["loc"]), "reason": e["msg"]} for e in exc.errors()]
        return JSONResponse(
            body("invalid_request", "the request does not match the schema", details),
            status_code=422,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Logged with its traceback by the server; the caller gets the shape, not the internals.
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(
            body("internal_error", "an unexpected error; it has been logged"), status_code=500
        )

    @app.exception_handler(ValidationError)
    async def _late_validation(_: Request, exc: ValidationError) -> JSONResponse:
        # A value the request schema let through but a domain model refused: still the caller's.
        details = [{"field": ".".join(str(p) for p in e["loc"]), "reason": e["msg"]} for e in exc.errors()]
        return JSONResponse(
            body("invalid_request", "the request breaks a domain rule", details), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's "error parsing the body" (bytes that are not UTF-8 JSON): a malformed request.
            return JSONResponse(body("invalid_request", f"unreadable body: {exc.detail}"), status_code=422)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # RFC 9110 15.5.6: every method the resource takes, not only those of the first route
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return JSONResponse(
            body(f"http_{exc.status_code}", str(exc.detail)), status_code=exc.status_code, headers=headers
        )
