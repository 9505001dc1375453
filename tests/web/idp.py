"""A fake OpenID Connect provider served over real HTTP: discovery, an authorization endpoint
that insists on PKCE (S256), a token endpoint that checks the verifier, and RS256 ID tokens
from its own key set. The claims it puts in the next token are set by the test."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from arrears.embedded import free_port

CLIENT_ID = "arrears-workbench"
CLIENT_SECRET = "client-secret-for-tests-only"


@dataclass
class FakeIdp:
    issuer: str
    claims: dict[str, Any] = field(default_factory=dict)  # what the next sign-in says about the person
    grants: dict[str, dict[str, Any]] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)  # why requests were refused, for the test to read
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/jwks", self.jwks),
            ]
        )

    async def discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            self.refused.append("no PKCE")
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code":
            self.refused.append("bad client")
            return JSONResponse({"error": "unauthorized_client"}, status_code=400)
        code = secrets.token_urlsafe(16)
        self.grants[code] = {
            "challenge": q["code_challenge"],
            "nonce": q.get("nonce"),
            "redirect_uri": q["redirect_uri"],
            "claims": dict(self.claims),
        }
        return RedirectResponse(
            f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q.get('state', '')})}"
        )

    async def token(self, request: Request) -> Response:
        form = await request.form()
        grant = self.grants.pop(str(form.get("code")), None)
        if grant is None:
            self.refused.append("unknown or reused code")
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = str(form.get("code_verifier", ""))
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if digest != grant["challenge"]:
            self.refused.append("PKCE verifier does not match")
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": "idp-user-1",
            "iat": now,
            "exp": now + 300,
            "nonce": grant["nonce"],
            **grant["claims"],
        }
        id_token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "test-key"})
        return JSONResponse(
            {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": id_token,
            }
        )

    async def jwks(self, request: Request) -> Response:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return JSONResponse({"keys": [{**jwk, "kid": "test-key", "use": "sig", "alg": "RS256"}]})


@asynccontextmanager
async def serve_idp() -> AsyncIterator[FakeIdp]:
    """The provider on a free loopback port, for the length of the block."""
    import asyncio

    port = free_port()
    idp = FakeIdp(issuer=f"http://127.0.0.1:{port}")
    server = uvicorn.Server(uvicorn.Config(idp.app(), host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
        await asyncio.sleep(0.05)
    try:
        yield idp
    finally:
        server.should_exit = True
        await task
