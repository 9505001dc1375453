"""The borrower's case at /me/case and what they may do on it: thin routes over `service`.

Every form carries a token bound to the session; the session, never the address, names the
case. Works without JavaScript; mobile-first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Cookie, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.borrower import access, render, service
from api.borrower.entry import COOKIE, LinksDep, expired
from api.borrower.questions import MAX_QUESTION, Intent
from api.deps import DatabaseDep, SettingsDep, TemporalDep
from api.errors import Conflict, ServiceUnavailable
from arrears.borrower_links import Expired
from arrears.settings import Settings

router = APIRouter(prefix="/me", include_in_schema=False)


# ---------------------------------------------------------------------------- the case
Session = Annotated[str | None, Cookie(alias=COOKIE)]
FormToken = Annotated[str, Form(max_length=64)]


async def _visitor(db: DatabaseDep, cookie: str | None) -> access.Visitor:
    return await access.visitor(db=db, cookie=cookie, now=access.now())


def _provider_origin(settings: Settings) -> tuple[str, ...]:
    if not settings.payment_provider_url:
        return ()
    parts = urlsplit(settings.payment_provider_url)
    return (f"{parts.scheme}://{parts.netloc}",)


def unavailable(request: Request) -> HTMLResponse:
    """The case cannot be read just now (the workflow engine is busy): try again shortly."""
    language = render.language_for(None, request.headers.get("accept-language"))
    return render.page("unavailable.html.j2", language=language, status=503)


@dataclass(frozen=True, slots=True)
class Context:
    """What every page and action on the session's case works with: the request, the app's
    settings, database, workflow client and link signer, and the session cookie."""

    request: Request
    settings: SettingsDep
    db: DatabaseDep
    client: TemporalDep
    links: LinksDep
    cookie: Session = None

    async def visitor(self) -> access.Visitor:
        """The session's visitor; `Expired` when there is no live session."""
        return await _visitor(self.db, self.cookie)

    async def page(
        self, visitor: access.Visitor, *, status: int = 200, record_view: bool = True, **context: Any
    ) -> HTMLResponse:
        """The case page for the visitor, with `context` on top of the case."""
        case = await service.view(
            db=self.db,
            client=self.client,
            visitor=visitor,
            provider=self.settings.payment_provider_url,
            record_view=record_view,
        )
        language = render.language_for(case.language, self.request.headers.get("accept-language"))
        context.setdefault("done", self.request.query_params.get("done", "")[:20])
        context.setdefault("refusal", "")
        context.setdefault("answer", None)
        return render.page(
            "case.html.j2",
            language=language,
            country=case.country,
            status=status,
            form_origins=_provider_origin(self.settings),
            case=case,
            form=self.links.form_token(purpose="session", binding=visitor.session_sha256),
            intents=Intent,
            **context,
        )

    async def act(self, form: str, action: Callable[[access.Visitor], Awaitable[Any]], done: str) -> Response:
        """Run one action for the session's case; a validator's refusal shows on the page."""
        try:
            visitor = await self.visitor()
        except Expired:
            return expired(self.request)
        if not self.links.form_token_valid(form, purpose="session", binding=visitor.session_sha256):
            return expired(self.request)
        try:
            result = await action(visitor)
        except (Conflict, service.NotOffered) as refused:
            reason = str(refused) if isinstance(refused, Conflict) else ""
            return await self.page(visitor, status=409, refusal=reason or "-")
        except ServiceUnavailable:
            return await self.page(visitor, status=503, refusal="-")
        if isinstance(result, Response):
            return result
        return RedirectResponse(f"/me/case?done={done}", status_code=303)


ContextDep = Annotated[Context, Depends()]


@router.get("/case")
async def case_page(ctx: ContextDep) -> Response:
    """The borrower's case: figures, fees with their rules, what happens next, and the options."""
    try:
        visitor = await ctx.visitor()
    except Expired:
        return expired(ctx.request)
    try:
        return await ctx.page(visitor)
    except ServiceUnavailable:
        return unavailable(ctx.request)


@router.post("/promise")
async def promise(
    ctx: ContextDep,
    form: FormToken = "",
    amount: Annotated[str, Form(max_length=20)] = "",
    due: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """A promise to pay an amount by a date."""

    async def run(visitor: access.Visitor) -> Any:
        try:
            value = Decimal(amount.replace(",", ".").strip())
            day = date.fromisoformat(due)
        except (InvalidOperation, ValueError):
            raise Conflict("enter an amount and a date") from None
        if not (Decimal("0") < value < Decimal("1000000000")) or value != value.quantize(Decimal("0.01")):
            raise Conflict("enter an amount and a date")
        return await service.promise(db=ctx.db, client=ctx.client, visitor=visitor, amount=value, due=day)

    return await ctx.act(form, run, "promise")


@router.post("/plan")
async def plan(
    ctx: ContextDep, form: FormToken = "", months: Annotated[int, Form(ge=1, le=60)] = 6
) -> Response:
    """A payment plan over a number of months, with the pack's plan fee."""

    async def run(visitor: access.Visitor) -> Any:
        return await service.plan(db=ctx.db, client=ctx.client, visitor=visitor, months=months)

    return await ctx.act(form, run, "plan")


@router.post("/callback")
async def callback(
    ctx: ContextDep, form: FormToken = "", at: Annotated[str, Form(max_length=16)] = ""
) -> Response:
    """A call back at a chosen time (the borrower's own time zone)."""

    async def run(visitor: access.Visitor) -> Any:
        try:
            local = datetime.fromisoformat(at)
            zone = ZoneInfo(await service.timezone_of(db=ctx.db, visitor=visitor))
        except (ValueError, ZoneInfoNotFoundError):
            raise Conflict("enter a day and a time") from None
        when = local.replace(tzinfo=zone) if local.tzinfo is None else local
        return await service.callback(
            db=ctx.db,
            client=ctx.client,
            visitor=visitor,
            at=when,
            why="call back asked for on the borrower page",
        )

    return await ctx.act(form, run, "callback")


@router.post("/hold")
async def hold(
    ctx: ContextDep, form: FormToken = "", kind: Annotated[str, Form(max_length=16)] = ""
) -> Response:
    """A dispute, or a request to stop communication."""

    async def run(visitor: access.Visitor) -> Any:
        return await service.hold(db=ctx.db, client=ctx.client, visitor=visitor, kind=kind)

    return await ctx.act(form, run, kind or "hold")


@router.post("/ask")
async def ask(
    ctx: ContextDep, form: FormToken = "", question: Annotated[str, Form(max_length=MAX_QUESTION)] = ""
) -> Response:
    """A question: answered from the case's figures, or called back by a collector."""

    async def run(visitor: access.Visitor) -> Any:
        answer = await service.ask(db=ctx.db, client=ctx.client, visitor=visitor, question=question)
        return await ctx.page(visitor, record_view=False, answer=answer)

    return await ctx.act(form, run, "ask")


@router.get("/pay")
async def pay_page(ctx: ContextDep) -> Response:
    """What paying now means, before the borrower goes to the provider."""
    try:
        visitor = await ctx.visitor()
    except Expired:
        return expired(ctx.request)
    await service.pay_page(db=ctx.db, visitor=visitor)
    try:
        return await ctx.page(visitor, record_view=False, paying=True)
    except ServiceUnavailable:
        return unavailable(ctx.request)


@router.post("/pay")
async def pay(ctx: ContextDep, form: FormToken = "") -> Response:
    """To the payment provider's page, for the whole amount due."""
    provider = ctx.settings.payment_provider_url

    async def run(visitor: access.Visitor) -> Any:
        if provider is None:
            raise service.NotOffered
        back = f"{ctx.links.base_url}/me/paid"
        url = await service.start_payment(
            db=ctx.db, client=ctx.client, visitor=visitor, provider=provider, return_url=back
        )
        return RedirectResponse(url, status_code=303)

    return await ctx.act(form, run, "pay")


@router.get("/paid")
async def paid(
    request: Request, db: DatabaseDep, reference: str = "", status: str = "", arrears_borrower: Session = None
) -> Response:
    """Back from the provider: what became of the payment, as far as the webhook has told us."""
    try:
        visitor = await _visitor(db, arrears_borrower)
    except Expired:
        return expired(request)
    outcome = await service.payment_returned(
        db=db, visitor=visitor, reference=reference[:40], status=status[:10]
    )
    return RedirectResponse(f"/me/case?done=payment_{outcome}", status_code=303)


@router.post("/sign-out")
async def sign_out(
    request: Request, db: DatabaseDep, links: LinksDep, arrears_borrower: Session = None
) -> Response:
    """End the session at once."""
    with contextlib.suppress(Expired):
        await access.sign_out(db=db, visitor=await _visitor(db, arrears_borrower))
    response = RedirectResponse("/me", status_code=303)
    response.delete_cookie(COOKIE, path="/me")
    return response
