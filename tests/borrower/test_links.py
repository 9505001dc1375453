"""Signed links and letter codes: any change to a link is caught, a link lives its lifetime and
no longer, and a letter's code names its letter alone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from arrears.borrower_links import Expired, Links, message_digest

LINKS = Links(
    key=b"test-links-key".ljust(32, b"-"), base_url="https://servicer.example/", lifetime=timedelta(30)
)
ISSUED = datetime(2026, 12, 1, 9, tzinfo=UTC)
CASE = uuid.UUID("3f2a9c1b-5d2e-4c1a-9b7e-0c4d2a1f9e01")
KEY = f"{CASE}:reminder.1:0"


def test_a_link_names_its_case_and_message_and_opens_for_its_lifetime() -> None:
    url = LINKS.url(case_id=CASE, idempotency_key=KEY, issued=ISSUED)
    assert url.startswith("https://servicer.example/me/l/") and len(url) < 100  # short enough for an SMS
    token = url.rsplit("/", 1)[1]
    link = LINKS.read(token, now=ISSUED + timedelta(days=29, hours=23))
    assert link.case_id == CASE and link.message_digest == message_digest(KEY) and link.issued == ISSUED
    with pytest.raises(Expired):
        LINKS.read(token, now=ISSUED + timedelta(days=30, seconds=1))
    with pytest.raises(Expired):  # not before it was issued (beyond a little clock skew)
        LINKS.read(token, now=ISSUED - timedelta(hours=1))


def test_every_changed_character_of_a_link_is_refused() -> None:
    token = LINKS.token(case_id=CASE, idempotency_key=KEY, issued=ISSUED)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for position in range(len(token) - 1):  # the last character also carries padding bits
        other = alphabet[(alphabet.index(token[position]) + 1) % len(alphabet)]
        with pytest.raises(Expired):
            LINKS.read(token[:position] + other + token[position + 1 :], now=ISSUED)
    for bad in ("", "a" * 200, token + "A", token[:-1], "../../etc/passwd", "é" * 50):
        with pytest.raises(Expired):
            LINKS.read(bad, now=ISSUED)


def test_another_key_signs_links_this_one_refuses() -> None:
    other = Links(key=b"another-key".ljust(32, b"-"), base_url="https://x", lifetime=timedelta(30))
    with pytest.raises(Expired):
        LINKS.read(other.token(case_id=CASE, idempotency_key=KEY, issued=ISSUED), now=ISSUED)


def test_a_letter_code_is_its_reference_and_a_tag_for_that_letter_alone() -> None:
    code = LINKS.letter_code(case_id=CASE, idempotency_key=KEY)
    assert code.startswith("3F2A9C1B-") and len(code) == 18
    assert LINKS.parse_letter_code(f"  {code.lower().replace('-', ' ')} ") == ("3F2A9C1B", code)
    assert LINKS.letter_code_matches(code, case_id=CASE, idempotency_key=KEY)
    assert not LINKS.letter_code_matches(code, case_id=CASE, idempotency_key=f"{CASE}:reminder.2:0")
    assert LINKS.parse_letter_code("not a code") is None
    assert LINKS.parse_letter_code("3F2A9C1B-0000-1111") is None  # 0 and 1 are not base-32 letters


def test_one_time_codes_are_six_digits_and_only_their_mac_is_kept() -> None:
    codes = {LINKS.one_time_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes) and len(codes) > 150
    access = uuid.uuid4()
    code = LINKS.one_time_code()
    mac = LINKS.code_mac(access_id=access, code=code)
    assert code not in mac and mac != LINKS.code_mac(access_id=uuid.uuid4(), code=code)
