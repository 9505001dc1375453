"""Delivery channels: e-mail over SMTP and SMS through an HTTP gateway.

A message's Message-ID is derived from its idempotency key, so that a send repeated after a
crash (the one window in which that can happen) carries the same ID and can be recognised by
the receiving side.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib
import httpx

from arrears.settings import Settings


class PermanentDeliveryError(Exception):
    """The channel refused the message for good (bad address, rejected by the gateway)."""


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
        """Hand the message to the server; a 5xx refusal is permanent, anything else may be retried."""
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
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise PermanentDeliveryError(f"SMTP server refused the recipient: {exc}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentDeliveryError(f"SMTP {exc.code}: {exc.message}") from exc
            raise


class SmsGateway:
    """Posts text messages to an HTTP gateway: JSON {to, text, reference}, Idempotency-Key header."""

    def __init__(self, *, url: str, token: str | None = None, timeout: float = 15.0) -> None:
        self.url, self.token, self.timeout = url, token, timeout

    async def send(self, *, to: str, text: str, reference: str) -> str:
        """Send one SMS; returns the gateway's reference. 4xx is permanent, 5xx and errors retry."""
        headers = {"Idempotency-Key": reference}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            response = await client.post(
                self.url, json={"to": to, "text": text, "reference": reference}, headers=headers
            )
        if 400 <= response.status_code < 500:
            raise PermanentDeliveryError(f"SMS gateway refused the message: {response.status_code}")
        response.raise_for_status()
        body = response.json() if response.content else {}
        return str(body.get("id", reference))


@dataclass(frozen=True, slots=True)
class Channels:
    """The configured channels; a missing one means its messages go as letters."""

    mailer: Mailer | None
    sms: SmsGateway | None
    message_id_domain: str = "arrears.localhost"

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
        return cls(mailer=mailer, sms=sms, message_id_domain=settings.message_id_domain)


NO_CHANNELS = Channels(mailer=None, sms=None)
