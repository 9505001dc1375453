"""JWT bearer tokens carrying the caller's role (HS256 in development, RS256 in production)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import jwt

from arrears.settings import Settings
from models.base import utcnow
from models.enums import Role


class InvalidToken(Exception):
    """The token is missing, malformed, expired or signed by someone else."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller."""

    subject: str
    role: Role
    team: str | None


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


def decode_token(settings: Settings, token: str) -> Principal:
    """Verify signature, issuer, audience and expiry; return who is calling."""
    key = (
        settings.jwt_public_key or ""
        if settings.jwt_algorithm == "RS256"
        else settings.jwt_signing_key.get_secret_value()
    )
    try:
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
    return Principal(subject=str(claims["sub"]), role=role, team=claims.get("team"))
