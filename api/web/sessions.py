"""Workbench sessions: the cookie, the row behind it, the idle timeout and the CSRF token.

The cookie is HttpOnly, SameSite=Lax, and Secure everywhere but on a loopback address (so that
`make run` works over plain HTTP on 127.0.0.1). It carries only a random token; the session row
is found by the token's SHA-256. Every state-changing form carries the session's CSRF token,
checked before anything else happens.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request, Response
from sqlalchemy import update
from sqlmodel import col, select

from api.web.i18n import N_
from arrears.auth import Principal, check_names
from arrears.db import Database
from models.base import utcnow
from models.enums import Role
from models.web_sessions import WebSession

COOKIE = "arrears_session"
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
# a session's last-seen time is written at most this often (reads stay reads)
TOUCH_EVERY = timedelta(seconds=60)


class SignInRequired(Exception):
    """No session, an ended one, or one idle for too long: sign in again."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CsrfRefused(Exception):
    """A form came without its session's CSRF token."""


@dataclass(frozen=True, slots=True)
class WebUser:
    """The signed-in person: who they are to the API's access rules, and their session."""

    principal: Principal
    session_id: uuid.UUID
    csrf: str
    language: str | None

    @property
    def role(self) -> Role:
        return self.principal.role


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def secure_cookie(request: Request) -> bool:
    """Secure outside localhost: a browser sends it back only over HTTPS."""
    return request.url.scheme == "https" or (request.url.hostname or "") not in LOOPBACK


async def start(
    db: Database,
    request: Request,
    response: Response,
    *,
    subject: str,
    role: Role,
    team: str | None,
    via: str,
    language: str | None = None,
) -> None:
    """Sign a person in: a new session row, and its cookie on `response`."""
    check_names(subject, team)
    token = secrets.token_urlsafe(32)
    async with db.session() as session:
        session.add(
            WebSession(
                token_sha256=_digest(token),
                subject=subject,
                role=role,
                team=team,
                language=language,
                csrf=secrets.token_urlsafe(32),
                via=via,
            )
        )
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        secure=secure_cookie(request),
        samesite="lax",
        path="/",
    )


async def current(db: Database, request: Request, *, idle: timedelta, lifetime: timedelta) -> WebUser:
    """The signed-in person, or `SignInRequired` saying why not. A session idle for longer than
    `idle`, or older than `lifetime` however busy, ends there and then: a stolen cookie kept warm
    by its thief still dies at the absolute limit."""
    token = request.cookies.get(COOKIE)
    if not token:
        raise SignInRequired(N_("not signed in"))
    now = utcnow()
    async with db.session() as session:
        row = (
            await session.exec(select(WebSession).where(WebSession.token_sha256 == _digest(token)))
        ).first()
        if row is None or row.ended_at is not None:
            raise SignInRequired(N_("signed out"))
        expired = now - row.last_seen_at > idle or now - row.created_at > lifetime
        if expired:
            row.ended_at = now
        elif now - row.last_seen_at > TOUCH_EVERY:
            row.last_seen_at = now
        session.add(row)
        user = WebUser(
            principal=Principal(subject=row.subject, role=row.role, team=row.team),
            session_id=row.id,
            csrf=row.csrf,
            language=row.language,
        )
    if expired:
        raise SignInRequired(N_("your session timed out"))
    return user


async def end(db: Database, request: Request, response: Response) -> None:
    """Sign out: the session ends in the database, and the cookie goes."""
    token = request.cookies.get(COOKIE)
    if token:
        async with db.session() as session:
            await session.exec(
                update(WebSession)
                .where(col(WebSession.token_sha256) == _digest(token), col(WebSession.ended_at).is_(None))
                .values(ended_at=utcnow())
            )
    response.delete_cookie(COOKIE, path="/", httponly=True, secure=secure_cookie(request), samesite="lax")


async def set_language(db: Database, user: WebUser, language: str | None) -> None:
    async with db.session() as session:
        await session.exec(
            update(WebSession).where(col(WebSession.id) == user.session_id).values(language=language)
        )


def check_csrf(user: WebUser, submitted: str | None) -> None:
    """Refuse a form whose token is missing or not this session's."""
    if not submitted or not hmac.compare_digest(submitted.encode(), user.csrf.encode()):
        raise CsrfRefused()
