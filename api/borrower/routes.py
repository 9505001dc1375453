"""The borrower page at /me: thin routes over `access` (getting in) and `service` (the case).

Works without JavaScript; mobile-first. A refusal of a link, a code or a session is one page
that says "expired" and nothing more, with one status, whatever the reason.
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Cookie, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.borrower import access, render, service
from api.borrower.questions import MAX_QUESTION, Intent
from api.deps import DatabaseDep, SettingsDep, TemporalDep
from api.errors import Conflict, ServiceUnavailable
from arrears.borrower_links import Expired, Links
from arrears.channels import Channels
from arrears.settings import Settings

router = APIRouter(prefix="/me", include_in_schema=False)
COOKIE = "arrears_borrower"
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
EXPIRED_STATUS = 403

# per client address, in one process (the database's counters bound each link as well)
OPENS = access.Window(limit=30, seconds=60)
GUESSES = access.Window(limit=10, seconds=60)
SENDS = access.Window(limit=5, seconds=60)


def links_of(request: Request) -> Links:
    links: Links = request.app.state.borrower_links
    return links


def channels_of(request: Request) -> Channels:
    channels: Channels = request.app.state.borrower_channels
    return channels


LinksDep = Annotated[Links, Depends(links_of)]
ChannelsDep = Annotated[Channels, Depends(channels_of)]


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def expired(request: Request) -> HTMLResponse:
    """The one refusal: "expired", and nothing more."""
    language = render.language_for(None, request.headers.get("accept-language"))
    response = render.page("expired.html.j2", language=language, status=EXPIRED_STATUS)
    response.delete_cookie(COOKIE, path="/me")
    return response


def too_many(request: Request) -> HTMLResponse:
    language = render.language_for(None, request.headers.get("accept-language"))
    return render.page("busy.html.j2", language=language, status=429)


# ---------------------------------------------------------------------------- getting in
@router.get("")
async def start(request: Request) -> HTMLResponse:
    """Where a letter's reader types the code printed on it."""
    language = render.language_for(None, request.headers.get("accept-language"))
    return render.page("start.html.j2", language=language, error=False)


@router.post("/letter")
async def letter_code(
    request: Request, db: DatabaseDep, links: LinksDep, code: Annotated[str, Form(max_length=40)] = ""
) -> Response:
    """A letter's code, exchanged for its link."""
    try:
        GUESSES.hit(_address(request))
        token = await access.token_for_letter_code(db=db, links=links, code=code, now=access.now())
    except access.RateLimited:
        return too_many(request)
    except Expired:
        return expired(request)
    return RedirectResponse(f"/me/l/{token}", status_code=303)


@router.get("/l/{token}")
async def open_link(
    request: Request, token: str, db: DatabaseDep, links: LinksDep, channels: ChannelsDep, wrong: int = 0
) -> Response:
    """A message's link: choose where the one-time code goes, then enter it."""
    try:
        OPENS.hit(_address(request))
        opened = await access.open_link(
            db=db, links=links, channels=channels, token=token[:100], now=access.now()
        )
    except access.RateLimited:
        return too_many(request)
    except Expired:
        return expired(request)
    return render.page(
        "link.html.j2",
        language=render.language_for(opened.language, request.headers.get("accept-language")),
        token=token,
        form=links.form_token(purpose="link", binding=token),
        channels=opened.channels,
        code_sent=opened.code_sent,
        wrong=bool(wrong),
    )


@router.post("/l/{token}/send")
async def send_code(
    request: Request,
    token: str,
    db: DatabaseDep,
    links: LinksDep,
    channels: ChannelsDep,
    form: Annotated[str, Form(max_length=64)] = "",
    channel: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """A one-time code to the chosen contact point on file."""
    if not links.form_token_valid(form, purpose="link", binding=token):
        return expired(request)
    try:
        SENDS.hit(_address(request))
        opened = await access.open_link(
            db=db, links=links, channels=channels, token=token[:100], now=access.now()
        )
        await access.send_code(
            db=db,
            links=links,
            channels=channels,
            token=token,
            channel=channel,
            now=access.now(),
            language=render.language_for(opened.language, None),
        )
    except access.RateLimited:
        return too_many(request)
    except Expired:
        return expired(request)
    return RedirectResponse(f"/me/l/{token}", status_code=303)


@router.post("/l/{token}/verify")
async def verify(
    request: Request,
    token: str,
    db: DatabaseDep,
    links: LinksDep,
    form: Annotated[str, Form(max_length=64)] = "",
    code: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """The one-time code: right, a session on this case alone; wrong, try again (a few times)."""
    if not links.form_token_valid(form, purpose="link", binding=token):
        return expired(request)
    try:
        GUESSES.hit(_address(request))
        cookie = await access.verify_code(db=db, links=links, token=token[:100], code=code, now=access.now())
    except access.RateLimited:
        return too_many(request)
    except Expired:
        return expired(request)
    if not cookie:
        return RedirectResponse(f"/me/l/{token}?wrong=1", status_code=303)
    response = RedirectResponse("/me/case", status_code=303)
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=int(access.SESSION_MAX.total_seconds()),
        path="/me",
        httponly=True,
        samesite="lax",  # sent when the provider sends the borrower back; never on a cross-site POST
        secure=request.url.hostname not in LOOPBACK,
    )
    return response


# ---------------------------------------------------------------------------- the case
async def _visitor(
    db: DatabaseDep, arrears_borrower: Annotated[str | None, Cookie()] = None
) -> access.Visitor:
    return await access.visitor(db=db, cookie=arrears_borrower, now=access.now())


async def _page(
    request: Request,
    settings: Settings,
    db: DatabaseDep,
    client: TemporalDep,
    links: Links,
    visitor: access.Visitor,
    *,
    status: int = 200,
    record_view: bool = True,
    **context: Any,
) -> HTMLResponse:
    case = await service.view(
        db=db, client=client, visitor=visitor, provider=settings.payment_provider_url, record_view=record_view
    )
    language = render.language_for(case.language, request.headers.get("accept-language"))
    context.setdefault("done", request.query_params.get("done", "")[:20])
    context.setdefault("refusal", "")
    context.setdefault("answer", None)
    return render.page(
        "case.html.j2",
        language=language,
        country=case.country,
        status=status,
        form_origins=_provider_origin(settings),
        case=case,
        form=links.form_token(purpose="session", binding=visitor.session_sha256),
        intents=Intent,
        **context,
    )


def _provider_origin(settings: Settings) -> tuple[str, ...]:
    if not settings.payment_provider_url:
        return ()
    parts = urlsplit(settings.payment_provider_url)
    return (f"{parts.scheme}://{parts.netloc}",)


@router.get("/case")
async def case_page(
    request: Request,
    settings: SettingsDep,
    db: DatabaseDep,
    client: TemporalDep,
    links: LinksDep,
    arrears_borrower: Annotated[str | None, Cookie()] = None,
) -> Response:
    """The borrower's case: figures, fees with their rules, what happens next, and the options."""
    try:
        visitor = await _visitor(db, arrears_borrower)
    except Expired:
        return expired(request)
    return await _page(request, settings, db, client, links, visitor)


async def _act(
    request: Request,
    settings: Settings,
    db: DatabaseDep,
    client: TemporalDep,
    links: Links,
    cookie: str | None,
    form: str,
    action: Any,
    done: str,
) -> Response:
    """Run one action for the session's case; a validator's refusal shows on the page."""
    try:
        visitor = await _visitor(db, cookie)
    except Expired:
        return expired(request)
    if not links.form_token_valid(form, purpose="session", binding=visitor.session_sha256):
        return expired(request)
    try:
        result = await action(visitor)
    except (Conflict, service.NotOffered) as refused:
        reason = str(refused) if isinstance(refused, Conflict) else ""
        return await _page(request, settings, db, client, links, visitor, status=409, refusal=reason or "-")
    except ServiceUnavailable:
        return await _page(request, settings, db, client, links, visitor, status=503, refusal="-")
    if isinstance(result, Response):
        return result
    return RedirectResponse(f"/me/case?done={done}", status_code=303)


Session = Annotated[str | None, Cookie(alias=COOKIE)]
FormToken = Annotated[str, Form(max_length=64)]


@router.post("/promise")
async def promise(
    request: Request,
    settings: SettingsDep,
    db: DatabaseDep,
    client: TemporalDep,
    links: LinksDep,
    arrears_borrower: Session = None,
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
        return await service.promise(db=db, client=client, visitor=visitor, amount=value, due=day)

    return await _act(request, settings, db, client, links, arrears_borrower, form, run, "promise")


@router.post("/plan")
async def plan(
    request: Request,
    settings: SettingsDep,
    db: DatabaseDep,
    client: TemporalDep,
    links: LinksDep,
    arrears_borrower: Session = None,
    form: FormToken = "",
    months: Annotated[int, Form(ge=1, le=60)] = 6,
) -> Response:
    """A payment plan over a number of months, with the pack's plan fee."""

    async def run(visitor: access.Visitor) -> Any:
        return await service.plan(db=db, client=client, visitor=visitor, months=months)

    return await _act(request, settings, db, client, links, arrears_borrower, form, run, "plan")


@router.post("/callback")
async def callback(
    request: Request,
    settings: SettingsDep,
    db: DatabaseDep,
    client: TemporalDep,
    links: LinksDep,
    arrears_borrower: Session = None,
    form: FormToken = "",
    at: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """A call back at a chosen time (the borrower's own time zone)."""

    async def run(visitor: access.Visitor) -> Any:
        try:
            local = datetime.fromisoformat(at)
            zone = ZoneInfo(await service.timezone_of(db=db, visitor=visitor))
        except (ValueError, ZoneInfoNotFoundError):
            raise Conflict("enter a day and a time") from None
        when = local.replace(tzinfo=zone) if local.tzinfo is None else local
        return await service.callback(
            db=db, client=client, visitor=visitor, at=when, why="call back asked for on the borrower page"
        )

    return await _act(request, settings, db, client, links, arrears_borrower, form, run, "callback")


@router.post("/hold")
async def hold(
    request: Request,
    settings: SettingsDep,
    db: DatabaseDep,
    client: TemporalDep,
    links: LinksDep,
    arrears_borrower: Session = None,
    form: FormToken = "",
    kind: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """A dispute, or a request to stop communication."""

    async def run(visitor: access.Visitor) -> Any:
        return await service.hold(db=db, client=client, visitor=visitor, kind=kind)

    return await _act(request, settings, db, client, links, arrears_borrower, form, run, kind or "hold")


@router.post("/ask")
async def ask(
    request: Request,
    settings: SettingsDep,
    db: DatabaseDep,
    client: TemporalDep,
    links: LinksDep,
    arrears_borrower: Session = None,
    form: FormToken = "",
    question: Annotated[str, Form(max_length=MAX_QUESTION)] = "",
) -> Response:
    """A question: answered from the case's figures, or called back by a collector."""

    async def run(visitor: access.Visitor) -> Any:
        answer = await service.ask(db=db, client=client, visitor=visitor, question=question)
        return await _page(request, settings, db, client, links, visitor, record_view=False, answer=answer)

    return await _act(request, settings, db, client, links, arrears_borrower, form, run, "ask")


@router.get("/pay")
async def pay_page(
    request: Request,
    settings: SettingsDep,
    db: DatabaseDep,
    client: TemporalDep,
    links: LinksDep,
    arrears_borrower: Session = None,
) -> Response:
    """What paying now means, before the borrower goes to the provider."""
    try:
        visitor = await _visitor(db, arrears_borrower)
    except Expired:
        return expired(request)
    await service.pay_page(db=db, visitor=visitor)
    return await _page(request, settings, db, client, links, visitor, record_view=False, paying=True)


@router.post("/pay")
async def pay(
    request: Request,
    settings: SettingsDep,
    db: DatabaseDep,
    client: TemporalDep,
    links: LinksDep,
    arrears_borrower: Session = None,
    form: FormToken = "",
) -> Response:
    """To the payment provider's page, for the whole amount due."""
    provider = settings.payment_provider_url

    async def run(visitor: access.Visitor) -> Any:
        if provider is None:
            raise service.NotOffered
        back = f"{settings.public_url.rstrip('/')}/me/paid"
        url = await service.start_payment(
            db=db, client=client, visitor=visitor, provider=provider, return_url=back
        )
        return RedirectResponse(url, status_code=303)

    return await _act(request, settings, db, client, links, arrears_borrower, form, run, "pay")


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
