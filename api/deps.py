"""Request dependencies: the app's services and the authenticated caller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from temporalio.client import Client

from api.errors import Forbidden, Unauthorized
from arrears.auth import InvalidToken, Principal, decode_token
from arrears.db import Database
from arrears.intake import IntakeService
from arrears.settings import Settings
from models.enums import Role

_bearer = HTTPBearer(auto_error=False, description="A JWT whose `role` claim names the caller's role.")


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_intake(request: Request) -> IntakeService:
    intake: IntakeService = request.app.state.intake
    return intake


def get_temporal(request: Request) -> Client:
    intake: IntakeService = request.app.state.intake
    return intake.client


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
DatabaseDep = Annotated[Database, Depends(get_db)]
IntakeDep = Annotated[IntakeService, Depends(get_intake)]
TemporalDep = Annotated[Client, Depends(get_temporal)]


def current_principal(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, from a valid bearer token; 401 otherwise."""
    if credentials is None:
        raise Unauthorized("a bearer token is required")
    try:
        return decode_token(settings, credentials.credentials)
    except InvalidToken as exc:
        raise Unauthorized(f"invalid token: {exc}") from exc


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency that lets only the given roles through (403 for the others)."""

    def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"role {principal.role.value} may not do this; allowed: {allowed}")
        return principal

    return check
