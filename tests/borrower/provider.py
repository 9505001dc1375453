"""A fake payment provider over real HTTP, as a servicer's provider behaves.

- `POST /checkouts` (JSON: reference, loan, amount, currency, return_url) opens a checkout and
  answers its page's address.
- `GET /pay/<id>` is the provider's page: the amount, "Pay" and "Cancel".
- `POST /pay/<id>` with `outcome=paid` reports the payment to the servicer through the signed
  payments webhook (as the loan system does), then sends the borrower back to the return URL;
  `outcome=failed` sends them back with `status=failed` and reports nothing.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.routing import Route

from api.routes.payments import SIGNATURE_HEADER, sign
from arrears.embedded import free_port


@dataclass
class FakeProvider:
    webhook_secret: str
    webhook_url: str = ""  # the servicer's payments webhook, set once its server runs
    checkouts: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhooks: list[int] = field(default_factory=list)  # the statuses the webhook answered
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> Starlette:
        async def create(request: Request) -> JSONResponse:
            body = await request.json()
            checkout = str(uuid.uuid4())
            self.checkouts[checkout] = body
            return JSONResponse({"id": checkout, "url": f"{self.url}/pay/{checkout}"}, status_code=201)

        async def page(request: Request) -> HTMLResponse:
            checkout = self.checkouts[request.path_params["id"]]
            amount = escape(f"{checkout['amount']} {checkout['currency']}")
            return HTMLResponse(
                f"<!doctype html><html lang='en'><head><title>Provider</title>"
                "<meta name='viewport' content='width=device-width, initial-scale=1'></head>"
                f"<body><main><h1>Pay {amount}</h1><form method='post'>"
                "<button name='outcome' value='paid'>Pay</button>"
                "<button name='outcome' value='failed'>Cancel</button></form></main></body></html>"
            )

        async def pay(request: Request) -> RedirectResponse:
            checkout = self.checkouts[request.path_params["id"]]
            outcome = (await request.form()).get("outcome")
            if outcome != "paid":
                return RedirectResponse(f"{checkout['return_url']}&status=failed", status_code=303)
            body = json.dumps(
                {
                    "external_id": checkout["reference"],
                    "loan_id": checkout["loan"],
                    "amount": checkout["amount"],
                    "currency": checkout["currency"],
                    "received_at": datetime.now(UTC).isoformat(),
                }
            ).encode()
            async with httpx.AsyncClient(timeout=30) as http:
                answer = await http.post(
                    self.webhook_url,
                    content=body,
                    headers={
                        "Content-Type": "application/json",
                        SIGNATURE_HEADER: sign(self.webhook_secret, body, int(time.time())),
                    },
                )
            self.webhooks.append(answer.status_code)
            return RedirectResponse(f"{checkout['return_url']}&status=paid", status_code=303)

        return Starlette(
            routes=[
                Route("/checkouts", create, methods=["POST"]),
                Route("/pay/{id}", page, methods=["GET"]),
                Route("/pay/{id}", pay, methods=["POST"]),
            ]
        )

    async def serve(self) -> tuple[uvicorn.Server, asyncio.Task[None]]:
        self.port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_level="warning")
        )
        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
            await asyncio.sleep(0.05)
        return server, task
