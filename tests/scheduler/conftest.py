"""A real SMTP server on loopback that keeps what it receives, and helpers to read it."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from resolution.services.mailer import SmtpSettings


def free_port() -> int:
    """Return a loopback port nobody is listening on (aiosmtpd cannot take port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Delivered:
    """One message as the server received it, for one recipient."""

    to: str
    subject: str
    body: str
    message: EmailMessage


@dataclass
class Mailbox:
    """Everything the server accepted, one entry per recipient."""

    items: list[Delivered] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:
        parsed = message_from_bytes(
            envelope.original_content or envelope.content, policy=policy.default
        )
        assert isinstance(parsed, EmailMessage)
        body = str(parsed.get_content())
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.items.append(Delivered(rcpt, str(parsed["Subject"]), body, parsed))
        return "250 Message accepted for delivery"

    def recipients(self) -> list[str]:
        """Return the addresses that received mail, sorted, with repeats."""
        with self.lock:
            return sorted(d.to for d in self.items)

    def clear(self) -> None:
        """Forget what was received so far."""
        with self.lock:
            self.items.clear()


class SmtpServer:
    """An aiosmtpd server that can be stopped and started again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mailbox = Mailbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        """Listen on the port."""
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        """Stop listening: connections are refused until started again."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def settings(self) -> SmtpSettings:
        """Return the sender's settings for this server."""
        return SmtpSettings(host="127.0.0.1", port=self.port, sender="resolution@test", timeout=5)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
