"""A local SMTP server for tests (aiosmtpd on 127.0.0.1, a free port), which keeps what it receives so
a test can read the mails, follow their links and type their codes. ``smtp_server`` is a fixture
(registered in tests/conftest.py); ``smtp_settings`` points the app's settings at it."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.harness import free_port

USER, PASSWORD = "dxm-mailer", "s3cret-Smtp-password"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes

    def header(self, name: str) -> str:
        """A header decoded as RFC 2047 says, as mail clients do: the whitespace between two encoded
        words goes. (Python's own parser keeps it inside a display name, so "Hà Nội", folded as
        ``=?utf-8?b?...O4buZ?= =?utf-8?q?i?=``, would read "Hà Nộ i" through ``message["From"]``.)"""
        value = email.message_from_bytes(self.raw, policy=email.policy.compat32)[name]
        return str(make_header(decode_header(value)))

    def text(self) -> str:
        """The mail's plain-text part, with its line ends as written."""
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content()).replace("\r\n", "\n")


@dataclass
class Collector:
    """An aiosmtpd handler that keeps every message it is given."""

    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, envelope.content))
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself


@pytest.fixture
def smtp_server() -> Iterator[tuple[Collector, int]]:
    """A local SMTP server on a free port (start and stop are synchronous: no sleeps); yields
    (collector, port). It offers AUTH without TLS, which a test server may."""
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port(),
                            authenticator=authenticator, auth_require_tls=False)
    controller.start()
    try:
        yield collector, controller.port
    finally:
        controller.stop()


def smtp_settings(settings, port: int, **update):
    return settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False,
                                       "smtp_timeout_seconds": 5, **update})
