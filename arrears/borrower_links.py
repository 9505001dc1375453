"""Borrowers' personal links, letter codes and one-time codes, all signed with one HMAC key.

- A **link** names a case and one message of it (by a digest of the message's idempotency key)
  and the moment it was issued; a 16-byte HMAC-SHA256 tag signs the three. Nothing in it can be
  guessed or counted up: a forged or edited link fails the tag, an old one fails the lifetime.
- A **letter code** is what a letter prints for typing: the case reference (the first 8 hex
  digits of the case ID, already on every letter) and 8 base-32 characters of a tag over the
  case and the message (40 bits). It is looked up among the letters of the cases with that
  reference, and the attempts are rate-limited, so it cannot be guessed either.
- A **one-time code** is 6 digits, an HMAC over the access it opens and the moment it was sent;
  only its own MAC is stored, never the code.

No clock is read here: callers pass the time, so the same inputs always give the same link (a
letter's PDF stays a pure function of its inputs).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from arrears.settings import Settings

_DIGEST_BYTES = 8  # of the message's idempotency key: enough to tell a case's messages apart
_TAG_BYTES = 16
_BODY = struct.Struct(">16s8sI")  # case ID, message key digest, issued (unix seconds)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{40,80}")
_LETTER_CODE = re.compile(r"([0-9A-F]{8})-?([A-Z2-7]{4})-?([A-Z2-7]{4})")
CODE_DIGITS = 6


class Expired(Exception):
    """A link or code that is forged, edited, too old or used: the borrower is told "expired"."""


@dataclass(frozen=True, slots=True)
class Link:
    """What a valid link names."""

    case_id: uuid.UUID
    message_digest: str  # hex
    issued: datetime


def message_digest(idempotency_key: str) -> str:
    """The short digest of a message's idempotency key that links carry (hex)."""
    return hashlib.sha256(idempotency_key.encode()).digest()[:_DIGEST_BYTES].hex()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Links:
    """Signs and reads borrowers' links and codes with one key."""

    def __init__(self, *, key: bytes, base_url: str, lifetime: timedelta) -> None:
        self._key = key
        self.base_url = base_url.rstrip("/")
        self.lifetime = lifetime

    @classmethod
    def from_settings(cls, settings: Settings) -> Links:
        secret = settings.borrower_link_secret or settings.payments_webhook_secret
        key = secret.get_secret_value().encode()
        if settings.borrower_link_secret is None:  # a key of its own, derived from the webhook's
            key = hmac.new(key, b"arrears borrower links", hashlib.sha256).digest()
        return cls(
            key=key,
            base_url=settings.public_url or f"http://{settings.api_host}:{settings.api_port}",
            lifetime=timedelta(days=settings.borrower_link_days),
        )

    def _mac(self, purpose: str, *parts: bytes) -> bytes:
        mac = hmac.new(self._key, purpose.encode(), hashlib.sha256)
        for part in parts:
            mac.update(len(part).to_bytes(2, "big") + part)
        return mac.digest()

    # ------------------------------------------------------------------ links
    def token(self, *, case_id: uuid.UUID, idempotency_key: str, issued: datetime) -> str:
        """The signed token of a message's link."""
        body = _BODY.pack(
            case_id.bytes, bytes.fromhex(message_digest(idempotency_key)), int(issued.timestamp())
        )
        return _b64(body + self._mac("link", body)[:_TAG_BYTES])

    def url(self, *, case_id: uuid.UUID, idempotency_key: str, issued: datetime) -> str:
        """The personal link a message carries."""
        token = self.token(case_id=case_id, idempotency_key=idempotency_key, issued=issued)
        return f"{self.base_url}/me/l/{token}"

    def read(self, token: str, *, now: datetime) -> Link:
        """What a token names; `Expired` if it is forged, edited or past its lifetime."""
        if not _TOKEN.fullmatch(token):
            raise Expired
        try:
            raw = _unb64(token)
        except ValueError:
            raise Expired from None
        if len(raw) != _BODY.size + _TAG_BYTES:
            raise Expired
        body, tag = raw[: _BODY.size], raw[_BODY.size :]
        if not hmac.compare_digest(self._mac("link", body)[:_TAG_BYTES], tag):
            raise Expired
        case, digest, stamp = _BODY.unpack(body)
        issued = datetime.fromtimestamp(stamp, UTC)
        if not issued - timedelta(minutes=5) <= now <= issued + self.lifetime:
            raise Expired
        return Link(case_id=uuid.UUID(bytes=case), message_digest=digest.hex(), issued=issued)

    # ------------------------------------------------------------------ letter codes
    def letter_code(self, *, case_id: uuid.UUID, idempotency_key: str) -> str:
        """The short code a letter prints: its reference and a tag, e.g. 3F2A9C1B-K7QF-M2XD."""
        tag = base64.b32encode(self._mac("letter", case_id.bytes, idempotency_key.encode())[:5]).decode()
        return f"{str(case_id)[:8].upper()}-{tag[:4]}-{tag[4:8]}"

    @staticmethod
    def parse_letter_code(text: str) -> tuple[str, str] | None:
        """(case reference, canonical code) of what a borrower typed, or None if it is no code."""
        cleaned = re.sub(r"[\s]", "", text.upper())[:40]
        match = _LETTER_CODE.fullmatch(cleaned)
        if match is None:
            return None
        return match.group(1), f"{match.group(1)}-{match.group(2)}-{match.group(3)}"

    def letter_code_matches(self, code: str, *, case_id: uuid.UUID, idempotency_key: str) -> bool:
        return hmac.compare_digest(self.letter_code(case_id=case_id, idempotency_key=idempotency_key), code)

    # ------------------------------------------------------------------ one-time codes and forms
    def one_time_code(self) -> str:
        """A fresh 6-digit code."""
        return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"

    def code_mac(self, *, access_id: uuid.UUID, code: str) -> str:
        """What is stored of a one-time code: its MAC under the access it opens."""
        return self._mac("code", access_id.bytes, code.encode()).hex()

    def form_token(self, *, purpose: str, binding: str) -> str:
        """A CSRF token bound to a link or a session (both secret to their holder)."""
        return self._mac("form", purpose.encode(), binding.encode()).hex()[:32]

    def form_token_valid(self, given: str, *, purpose: str, binding: str) -> bool:
        return hmac.compare_digest(self.form_token(purpose=purpose, binding=binding).encode(), given.encode())


def session_token() -> tuple[str, str]:
    """A new session cookie value and the SHA-256 the database keeps of it."""
    token = secrets.token_urlsafe(32)
    return token, hashlib.sha256(token.encode()).hexdigest()


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
