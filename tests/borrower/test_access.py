"""Getting in over real HTTP: a link from a real e-mail and a one-time code; every bad link is
refused with "expired" and nothing more; a session shows only the case its link names."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlmodel import col, select

from activities.messages import offers_page
from arrears.borrower_links import Links
from models.documents import Message
from models.enums import Channel
from tests.borrower.conftest import LINK, Portal, SignedIn, form_token
from workflows.dto import SendRequest

MAIN = re.compile(r"<main[^>]*>(.*)</main>", re.S)


def refused(response: httpx.Response) -> None:
    """The one refusal: 403, and a page whose content is the word "Expired" alone."""
    assert response.status_code == 403, response.text
    found = MAIN.search(response.text)
    assert found is not None
    assert re.sub(r"<[^>]+>", " ", found.group(1)).split() == ["Expired"]


async def test_a_tampered_an_expired_and_a_replayed_link_say_expired_and_nothing_more(
    portal: Portal, signed_in: SignedIn
) -> None:
    case_id, email = await portal.open_case()
    link = await portal.mail_link(email)
    token = link.rsplit("/", 1)[1]
    async with httpx.AsyncClient(base_url=portal.url, timeout=60) as client:
        # tampered: one character of the token changed
        flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
        refused(await client.get(f"/me/l/{flipped}"))
        refused(await client.get("/me/l/not-a-token"))
        # a well-signed link to a case the key never named, and a link for another key
        async with portal.db.session() as session:
            message = (await session.exec(select(Message).where(col(Message.case_id) == case_id))).first()
        assert message is not None
        stranger = Links(key=b"another-servicer".ljust(32, b"-"), base_url=portal.url, lifetime=timedelta(30))
        forged = stranger.token(
            case_id=case_id, idempotency_key=message.idempotency_key, issued=datetime.now(UTC)
        )
        refused(await client.get(f"/me/l/{forged}"))
        # expired: the same message's link, issued past the link lifetime
        old = portal.links.token(
            case_id=case_id,
            idempotency_key=message.idempotency_key,
            issued=datetime.now(UTC) - portal.links.lifetime - timedelta(minutes=1),
        )
        refused(await client.get(f"/me/l/{old}"))
        # the good link opens, and asks for a code before showing anything of the case
        page = await client.get(f"/me/l/{token}")
        assert page.status_code == 200 and "Send me a code by e-mail" in page.text
        assert "1,500" not in page.text and case_id.hex[:8].upper() not in page.text
    # replayed: once its code has opened a session, the link is spent
    await signed_in(link, email)
    async with httpx.AsyncClient(base_url=portal.url, timeout=60) as client:
        refused(await client.get(f"/me/l/{token}"))
        refused(await client.get("/me/case"))  # no session: the same refusal


async def test_a_wrong_code_is_refused_and_too_many_spend_the_link(portal: Portal) -> None:
    _, email = await portal.open_case()
    link = await portal.mail_link(email)
    path = link.removeprefix(portal.url)
    async with httpx.AsyncClient(base_url=portal.url, timeout=60) as client:
        page = await client.get(path)
        form = form_token(page.text)
        sent = await client.post(f"{path}/send", data={"form": form, "channel": "email"})
        assert sent.status_code == 303
        code = await portal.code(email)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        for _ in range(5):
            answer = await client.post(f"{path}/verify", data={"form": form, "code": wrong})
            assert answer.status_code == 303 and answer.headers["location"].endswith("?wrong=1")
        # the right code, now too late: five wrong guesses spent the link
        refused(await client.post(f"{path}/verify", data={"form": form, "code": code}))
        refused(await client.get(path))
        # and a form without its token is refused the same way
        refused(await client.post(f"{path}/send", data={"form": "x", "channel": "email"}))


async def test_the_page_shows_only_the_case_its_link_names(portal: Portal, signed_in: SignedIn) -> None:
    mine, my_email = await portal.open_case(arrears="1500.00", borrower_name="Ada Mine")
    theirs, their_email = await portal.open_case(arrears="2750.00", borrower_name="Bob Theirs")
    client = await signed_in(await portal.mail_link(my_email), my_email)
    page = await client.get("/me/case")
    assert page.status_code == 200
    assert str(mine)[:8].upper() in page.text and "$1,500.00" in page.text
    assert str(theirs)[:8].upper() not in page.text and "$2,750.00" not in page.text
    # no address names a case: a case ID in the query changes nothing
    other = await client.get(f"/me/case?case_id={theirs}&case={theirs}")
    assert str(theirs)[:8].upper() not in other.text and "$2,750.00" not in other.text
    # and the page holds no contact detail of anyone
    assert my_email not in page.text and their_email not in page.text and "Bob Theirs" not in page.text


async def test_a_letter_code_opens_its_letter_link_and_guesses_are_limited(portal: Portal) -> None:
    case_id, _ = await portal.open_case()
    await portal.any_link(case_id)
    async with portal.db.session() as session:
        message = (await session.exec(select(Message).where(col(Message.case_id) == case_id))).first()
    assert message is not None
    code = portal.links.letter_code(case_id=case_id, idempotency_key=message.idempotency_key)
    async with httpx.AsyncClient(base_url=portal.url, timeout=60, headers={"X-Test": "letter"}) as client:
        typed = code.lower().replace("-", " ")  # as a reader might type it
        answer = await client.post("/me/letter", data={"code": typed})
        assert answer.status_code == 303 and answer.headers["location"].startswith("/me/l/")
        assert (await client.get(answer.headers["location"])).status_code == 200
        # a code of the right shape but the wrong tag is refused like any bad link
        wrong = code[:-1] + ("A" if code[-1] != "A" else "B")
        refused(await client.post("/me/letter", data={"code": wrong}))
        statuses = [(await client.post("/me/letter", data={"code": wrong})).status_code for _ in range(12)]
        assert 429 in statuses  # at most ten guesses a minute from one address


async def test_an_sms_carries_the_personal_link_and_it_opens(portal: Portal) -> None:
    phone = f"+1 646 {uuid.uuid4().int % 10_000_000:07d}"
    await portal.open_case(days_past_due=3, phone=phone)
    for _ in range(300):
        texts = [r["body"]["text"] for r in portal.sms.to(phone)]
        if texts:
            break
        await asyncio.sleep(0.1)
    [text] = texts
    found = LINK.search(text)
    assert found is not None and "$1,500.00" in text
    async with httpx.AsyncClient(timeout=60) as client:
        page = await client.get(found.group(0))
    assert page.status_code == 200 and "Send me a code by text message" in page.text


def test_court_filings_agreements_and_stay_notices_carry_no_link() -> None:
    base = {
        "case_id": uuid.uuid4(),
        "step": "s",
        "document": "reminder",
        "arrears": "1.00",
        "fees": "0",
        "days_past_due": 1,
        "delinquent_since": "2026-11-01",
    }
    assert offers_page(SendRequest(**base, channel=Channel.EMAIL))
    assert not offers_page(SendRequest(**base, channel=None))  # a court filing's cover
    assert not offers_page(SendRequest(**base, channel=Channel.LETTER, collection=False))  # an agreement
    assert not offers_page(SendRequest(**base, channel=Channel.LETTER, holds=["stay"]))
