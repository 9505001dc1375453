"""Real servers for the outside world the system calls: an SMTP server and an SMS gateway on loopback."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from arrears.embedded import free_port


def _parse(content: bytes) -> EmailMessage:
    parsed = message_from_bytes(content, policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@dataclass
class Received:
    """One message as the SMTP server accepted it."""

    envelope_to: list[str]
    message: EmailMessage
    at: float

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class SmtpSink:
    """What a real SMTP server (aiosmtpd) on 127.0.0.1 received; `delay` slows each DATA down.

    A refusing server: `rcpt_reply` answers RCPT TO for an address and `data_reply` the end of
    DATA for the envelope's recipients, with a reply line such as "550 5.1.1 <addr>: unknown"
    (None accepts). Real servers echo the address like that.
    """

    delay: float = 0.0
    port: int = 0
    received: list[Received] = field(default_factory=list)
    phase: str = "idle"  # idle | envelope | accepted (DATA in, reply pending)
    replied_at: float = 0.0
    data_started: threading.Event = field(default_factory=threading.Event)
    rcpt_reply: Callable[[str], str | None] | None = None
    data_reply: Callable[[list[str]], str | None] | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        self.phase = "envelope"
        refusal = self.rcpt_reply(address) if self.rcpt_reply else None
        if refusal is not None:
            self.phase = "idle"
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        refusal = self.data_reply(list(envelope.rcpt_tos)) if self.data_reply else None
        if refusal is not None:
            self.phase = "idle"
            return refusal
        # The message is complete here: a real server has accepted it once it is stored.
        self.received.append(
            Received(
                list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=default), time.time()
            )
        )
        self.phase = "accepted"
        self.data_started.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        self.phase = "idle"
        self.replied_at = time.time()
        return "250 Message accepted for delivery"

    def for_address(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.envelope_to]


class SmtpServer:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink
        self.port = sink.port = free_port()
        self.controller = Controller(sink, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


@dataclass
class SmsGatewayFake:
    """An SMS gateway over real HTTP: records each POST and answers with an ID.

    `reply` answers a request body with (status, JSON body) instead, as a refusing gateway
    does (a 400 whose body echoes the number); `delay` stalls each answer, a slow gateway.
    """

    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    reply: Callable[[dict[str, Any]], tuple[int, Any]] | None = None
    delay: float = 0.0
    request_started: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"body": body, "headers": dict(self.headers), "path": self.path})
                fake.request_started.set()
                if fake.delay:
                    time.sleep(fake.delay)
                status, answer = (
                    fake.reply(body) if fake.reply else (fake.status, {"id": f"sms-{len(fake.requests)}"})
                )
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/messages"

    def __enter__(self) -> SmsGatewayFake:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def to(self, phone: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["body"]["to"] == phone]
