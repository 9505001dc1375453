"""Delivery channels: e-mail over SMTP and SMS through an HTTP gateway.

A message's Message-ID is derived from its idempotency key, so that a send repeated after a
crash (the one window in which that can happen) carries the same ID and can be recognised by
the receiving side.

A channel's failure leaves here as a `DeliveryError`: a code and a fixed description from the
tables below (`smtp_550: mailbox unavailable`), never the remote reply. Mail servers and
gateways echo the recipient's address or number in their refusals, and this text goes into
message records, the audit trail (which can never be erased), workflow state and the logs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib
import httpx

from arrears.borrower_links import Links
from arrears.settings import Settings

# The closed mapping from a reply to the only text kept about it: by code, else by class.
_SMTP_REPLIES = {
    421: "service not available",
    450: "mailbox unavailable",
    451: "local error in processing",
    452: "insufficient system storage",
    455: "server unable to accommodate parameters",
    500: "syntax error",
    501: "syntax error in parameters",
    502: "command not implemented",
    503: "bad sequence of commands",
    504: "command parameter not implemented",
    521: "host does not accept mail",
    530: "authentication required",
    534: "authentication mechanism too weak",
    535: "authentication failed",
    550: "mailbox unavailable",
    551: "user not local",
    552: "exceeded storage allocation",
    553: "mailbox name not allowed",
    554: "transaction failed",
    555: "parameters not recognised",
    556: "domain does not accept mail",
}
_SMTP_CLASSES = {4: "temporary failure", 5: "permanent failure"}
_HTTP_REPLIES = {
    400: "request refused",
    401: "not authorised",
    403: "forbidden",
    404: "not found",
    408: "request timeout",
    409: "conflict",
    413: "request too large",
    415: "unsupported media type",
    422: "request refused",
    429: "too many requests",
    500: "gateway error",
    502: "bad gateway",
    503: "service unavailable",
    504: "gateway timeout",
}
_HTTP_CLASSES = {4: "request refused", 5: "gateway error"}
_FAILURES = {
    "smtp_timeout": "no answer in time",
    "smtp_connect_failed": "could not connect",
    "smtp_disconnected": "connection lost",
    "smtp_not_supported": "a command the server does not support",
    "smtp_reply_invalid": "reply outside the protocol",
    "smtp_error": "protocol error",
    "email_malformed": "the message could not be built",
    "sms_gateway_timeout": "no answer in time",
    "sms_gateway_connect_failed": "could not connect",
    "sms_gateway_error": "transport error",
    "sms_gateway_reply_invalid": "reply outside the protocol",
    "channel_unsupported": "no delivery for this channel",
    "claim_lapsed": "the exchange outlasted the message's claim",
}


class DeliveryError(Exception):
    """A channel's failure as a code and a fixed description: nothing of the remote reply."""

    permanent = False

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code, self.description = code, description


class PermanentDeliveryError(DeliveryError):
    """The channel refused the message for good (bad address, rejected by the gateway)."""

    permanent = True


class TransientDeliveryError(DeliveryError):
    """The channel failed for now (busy, down, slow): a later attempt may get through."""


def failure(code: str, *, permanent: bool = False) -> DeliveryError:
    """A failure without a reply code (a timeout, a refused connection), from the fixed table."""
    kind = PermanentDeliveryError if permanent else TransientDeliveryError
    return kind(code, _FAILURES[code])


def smtp_failure(code: int) -> DeliveryError:
    """An SMTP reply code as an error: 5xx is permanent, 4xx may pass on a later attempt."""
    if not 400 <= code < 600:
        return failure("smtp_reply_invalid")
    kind = PermanentDeliveryError if code >= 500 else TransientDeliveryError
    return kind(f"smtp_{code}", _SMTP_REPLIES.get(code, _SMTP_CLASSES[code // 100]))


def gateway_failure(status: int) -> DeliveryError:
    """An HTTP status from the SMS gateway as an error: 4xx is permanent, 5xx may pass later."""
    if not 400 <= status < 600:
        return failure("sms_gateway_reply_invalid")
    kind = PermanentDeliveryError if status < 500 else TransientDeliveryError
    return kind(f"sms_gateway_{status}", _HTTP_REPLIES.get(status, _HTTP_CLASSES[status // 100]))


def _smtp_error(exc: aiosmtplib.SMTPException) -> DeliveryError:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return smtp_failure(exc.recipients[0].code) if exc.recipients else failure("smtp_error")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return smtp_failure(exc.code)
    if isinstance(exc, aiosmtplib.SMTPTimeoutError):
        return failure("smtp_timeout")
    if isinstance(exc, aiosmtplib.SMTPConnectError):
        return failure("smtp_connect_failed")
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        return failure("smtp_disconnected")
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return failure("smtp_not_supported")
    return failure("smtp_error")


def message_id(idempotency_key: str, domain: str) -> str:
    """The RFC 5322 Message-ID for an effect: the same key always gives the same ID."""
    return f"<{hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]}@{domain}>"


@dataclass(frozen=True, slots=True)
class Email:
    to: str
    subject: str
    html: str
    text: str
    message_id: str
    sent_at: datetime
    attachment: bytes | None = None
    attachment_name: str = "letter.pdf"


class Mailer:
    """Sends e-mail through one SMTP server."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 20.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.starttls, self.timeout = username, password, starttls, timeout

    async def send(self, mail: Email) -> None:
        """Hand the message to the server; a 5xx refusal is permanent, anything else may be retried.

        Raises `DeliveryError` only, its text from the fixed tables (the reply is dropped, and
        with `from None` neither a log nor the engine's failure record shows it as the cause).
        """
        try:
            msg = self._build(mail)
        except (ValueError, TypeError):  # a header the address or subject makes invalid
            raise failure("email_malformed", permanent=True) from None
        try:
            await aiosmtplib.send(
                msg,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                start_tls=self.starttls,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPException as exc:
            raise _smtp_error(exc) from None
        except TimeoutError:
            raise failure("smtp_timeout") from None
        except OSError:
            raise failure("smtp_connect_failed") from None

    def _build(self, mail: Email) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = mail.to
        msg["Subject"] = mail.subject
        msg["Message-ID"] = mail.message_id
        msg["Date"] = format_datetime(mail.sent_at)
        msg.set_content(mail.text)
        msg.add_alternative(mail.html, subtype="html")
        if mail.attachment is not None:
            msg.add_attachment(
                mail.attachment, maintype="application", subtype="pdf", filename=mail.attachment_name
            )
        return msg


class SmsGateway:
    """Posts text messages to an HTTP gateway: JSON {to, text, reference}, Idempotency-Key header."""

    def __init__(self, *, url: str, token: str | None = None, timeout: float = 15.0) -> None:
        self.url, self.token, self.timeout = url, token, timeout

    async def send(self, *, to: str, text: str, reference: str) -> str:
        """Send one SMS; returns the gateway's reference. 4xx is permanent, 5xx and errors retry.

        Raises `DeliveryError` only: the gateway's body (which may repeat the number) is never read
        on a refusal.
        """
        headers = {"Idempotency-Key": reference}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(
                    self.url, json={"to": to, "text": text, "reference": reference}, headers=headers
                )
        except httpx.TimeoutException:
            raise failure("sms_gateway_timeout") from None
        except httpx.ConnectError:
            raise failure("sms_gateway_connect_failed") from None
        except httpx.HTTPError:
            raise failure("sms_gateway_error") from None
        if not 200 <= response.status_code < 300:
            raise gateway_failure(response.status_code)
        try:
            body = response.json() if response.content else {}
            gateway_id = body.get("id", reference) if isinstance(body, dict) else reference
        except ValueError:
            raise failure("sms_gateway_reply_invalid") from None
        return str(gateway_id)[:200]  # messages.gateway_reference


@dataclass(frozen=True, slots=True)
class Channels:
    """The configured channels; a missing one means its messages go as letters."""

    mailer: Mailer | None
    sms: SmsGateway | None
    message_id_domain: str = "arrears.localhost"
    links: Links | None = None  # the borrower's personal link in every message; unset: none

    @classmethod
    def from_settings(cls, settings: Settings) -> Channels:
        mailer = (
            Mailer(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.mail_from,
                username=settings.smtp_username,
                password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
                starttls=settings.smtp_starttls,
            )
            if settings.smtp_host
            else None
        )
        sms = (
            SmsGateway(
                url=settings.sms_gateway_url,
                token=settings.sms_gateway_token.get_secret_value() if settings.sms_gateway_token else None,
            )
            if settings.sms_gateway_url
            else None
        )
        return cls(
            mailer=mailer,
            sms=sms,
            message_id_domain=settings.message_id_domain,
            links=Links.from_settings(settings),
        )


NO_CHANNELS = Channels(mailer=None, sms=None)
