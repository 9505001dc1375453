"""Sign-in through the servicer's identity provider: OpenID Connect, authorization code with PKCE
(S256), through Authlib. The role and the team come from claims whose names are settings.

The authorization request's state, nonce and PKCE verifier live for the round trip in a signed
cookie of their own (Starlette's session middleware); the signed-in session is the workbench's.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import DatabaseDep, SettingsDep
from api.web import sessions
from api.web.render import page
from arrears.auth import InvalidToken
from arrears.settings import Settings
from models.enums import Role

router = APIRouter(prefix="/web/oidc", include_in_schema=False)
STAFF_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.COMPLIANCE, Role.REGULATOR, Role.ADMIN})


@lru_cache(maxsize=4)
def _client(issuer: str, client_id: str, secret: str, scopes: str) -> StarletteOAuth2App:
    oauth = OAuth()
    client = oauth.register(
        "idp",
        client_id=client_id,
        client_secret=secret or None,
        server_metadata_url=f"{issuer.rstrip('/')}/.well-known/openid-configuration",
        client_kwargs={"scope": scopes, "code_challenge_method": "S256"},
    )
    assert isinstance(client, StarletteOAuth2App)
    return client


def client_of(settings: Settings) -> StarletteOAuth2App | None:
    if settings.oidc_issuer is None or settings.oidc_client_id is None:
        return None
    secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else ""
    return _client(settings.oidc_issuer, settings.oidc_client_id, secret, settings.oidc_scopes)


def _refused(request: Request, message: str, status: int = 403) -> Response:
    return page(request, "error.html.j2", user=None, title="Sign-in refused", status=status, message=message)


@router.get("/login")
async def login(request: Request, settings: SettingsDep, next: str | None = None) -> Response:
    client = client_of(settings)
    if client is None:
        return _refused(request, "No identity provider is configured (OIDC_ISSUER, OIDC_CLIENT_ID).", 503)
    request.session["next"] = next if next and next.startswith("/web/") and not next.startswith("//") else ""
    redirect_uri = settings.oidc_redirect_url or str(request.url_for("oidc_callback"))
    response: Response = await client.authorize_redirect(request, redirect_uri)
    return response


def _claim(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if isinstance(value, list):  # a role claim may be a list of groups: the first that is a role
        value = next((v for v in value if isinstance(v, str) and v in {r.value for r in STAFF_ROLES}), None)
    return value if isinstance(value, str) and value else None


@router.get("/callback", name="oidc_callback")
async def callback(request: Request, db: DatabaseDep, settings: SettingsDep) -> Response:
    client = client_of(settings)
    if client is None:
        return _refused(request, "No identity provider is configured.", 503)
    try:
        token = await client.authorize_access_token(request)
    except OAuthError as exc:
        return _refused(request, f"The identity provider did not sign you in: {exc.error}.")
    claims: dict[str, Any] = dict(token.get("userinfo") or {})
    subject = _claim(claims, settings.oidc_subject_claim) or _claim(claims, "sub")
    role_name = _claim(claims, settings.oidc_role_claim)
    try:
        role = Role(role_name or "")
        if role not in STAFF_ROLES:
            raise ValueError(role_name)
    except ValueError:
        return _refused(
            request, f"Your account has no workbench role in the claim {settings.oidc_role_claim!r}."
        )
    if subject is None:
        return _refused(request, "The identity provider named no user.")
    target = request.session.pop("next", "") or "/web"
    response = RedirectResponse(target, status_code=303)
    try:
        await sessions.start(
            db,
            request,
            response,
            subject=subject,
            role=role,
            team=_claim(claims, settings.oidc_team_claim),
            via="oidc",
        )
    except InvalidToken as exc:
        return _refused(request, f"The identity provider's names do not fit: {exc}.")
    return response
