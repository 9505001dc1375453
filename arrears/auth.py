"""JWT bearer tokens carrying the caller's role (HS256 in development, RS256 in production)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

import jwt
from annotated_types import MaxLen
from pydantic import BaseModel

from arrears.settings import Settings
from models.audit import AuditEvent
from models.base import utcnow
from models.cases import Case
from models.enums import Role
from models.tasks import Task


def _width(*fields: tuple[type[BaseModel], str]) -> int:
    """The longest text that fits every one of these columns."""
    return min(
        m.max_length
        for model, name in fields
        for m in model.model_fields[name].metadata
        if isinstance(m, MaxLen)
    )


# A caller's names are written where they act: the subject as the audit trail's actor and as a
# case's or task's assignee, the team beside the cases. A token whose names do not fit is refused
# at the door, not by a failed write halfway through an action.
SUBJECT_MAX = _width((AuditEvent, "actor"), (Case, "assignee"), (Task, "assignee"))
TEAM_MAX = _width((Case, "team"))
_CONTROL = frozenset(chr(c) for c in [*range(0x20), 0x7F])


class InvalidToken(Exception):
    """The token is missing, malformed, expired or signed by someone else."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller."""

    subject: str
    role: Role
    team: str | None


def check_names(subject: str, team: str | None) -> None:
    """Raise `InvalidToken` unless the subject and team fit the records that will hold them."""
    for name, value, most in (("subject", subject, SUBJECT_MAX), ("team", team, TEAM_MAX)):
        if value is None:
            continue
        if not value.strip():
            raise InvalidToken(f"the {name} is blank")
        if len(value) > most:
            raise InvalidToken(f"the {name} is longer than {most} characters, the most the records hold")
        if any(c in _CONTROL for c in value):
            raise InvalidToken(f"the {name} holds control characters")


def issue_token(
    settings: Settings,
    *,
    role: Role,
    subject: str,
    team: str | None = None,
    ttl: timedelta | None = None,
) -> str:
    """A signed token (HS256 with the configured key; RS256 needs a private key, so dev only)."""
    if settings.jwt_algorithm != "HS256":
        raise ValueError("tokens are issued here only with HS256; production tokens come from the IdP")
    try:
        check_names(subject, team)
    except InvalidToken as exc:
        raise ValueError(str(exc)) from exc
    now = utcnow()
    claims = {
        "sub": subject,
        "role": role.value,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + (ttl or timedelta(minutes=settings.token_ttl_minutes)),
    }
    if team:
        claims["team"] = team
    return jwt.encode(claims, settings.jwt_signing_key.get_secret_value(), algorithm="HS256")


@lru_cache(maxsize=4)
def _jwks(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=600)


def _verification_key(settings: Settings, token: str) -> Any:
    if settings.jwt_algorithm == "HS256":
        return settings.jwt_signing_key.get_secret_value()
    if settings.jwt_jwks_url:
        # The key named by the token's `kid`, from the IdP's key set (cached, refreshed on rotation).
        return _jwks(settings.jwt_jwks_url).get_signing_key_from_jwt(token).key
    return settings.jwt_public_key or ""


def decode_token(settings: Settings, token: str) -> Principal:
    """Verify signature, issuer, audience and expiry; return who is calling."""
    try:
        key = _verification_key(settings, token)
        claims = jwt.decode(
            token,
            key,
            algorithms=[settings.jwt_algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "sub", "iss", "aud"]},
        )
        role = Role(str(claims.get("role")))
    except (jwt.PyJWTError, ValueError) as exc:
        raise InvalidToken(str(exc)) from exc
    subject, team = claims["sub"], claims.get("team") or None
    if not isinstance(subject, str) or not (team is None or isinstance(team, str)):
        raise InvalidToken("the subject and team must be strings")
    check_names(subject, team)
    return Principal(subject=subject, role=role, team=team)
