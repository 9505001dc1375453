"""Getting in to the borrower page: a letter's code, a message's link, the one-time code.

A refusal of a link, a code or a session is one page that says "expired" and nothing more, with
one status, whatever the reason. Works without JavaScript.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.borrower import access, render
from api.deps import DatabaseDep
from arrears.borrower_links import Expired, Links
from arrears.channels import Channels

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
        await access.send_code(
            db=db, links=links, channels=channels, token=token[:100], channel=channel, now=access.now()
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
