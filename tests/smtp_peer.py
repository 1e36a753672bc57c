"""A real SMTP server as a test peer: aiosmtpd, in-process, with AUTH, STARTTLS or implicit TLS.

The server records what it accepts (envelope, raw message, whether TLS and AUTH were used) and
can refuse a recipient with any reply, hold its answers to MAIL, RCPT and DATA, or call a test's
hook for each message (to move a test clock by the time a slow relay would take). Certificates
are made for each test session with the openssl command line; without it the TLS tests skip (or
fail when INTERLUDE_REQUIRE_PEERS=1). (PYTEST_DONT_REWRITE: test modules import from here before
it is loaded as a plugin.)
"""

from __future__ import annotations

import asyncio
import re
import shutil
import ssl
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.helpers import REQUIRE_PEERS
from tests.prism import free_port

USER, PASSWORD = "clinic-relay", "relay-password-1"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    tls: bool
    authenticated: bool

    @property
    def message(self) -> EmailMessage:
        parsed: EmailMessage = message_from_bytes(self.raw, policy=policy.default)  # type: ignore[assignment]
        return parsed


@dataclass
class Mailbox:
    """The aiosmtpd handler: accepts, refuses or stalls as a test tells it."""

    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # address -> SMTP reply, e.g. "550 5.1.1 no"
    data_delay: float = 0.0
    reply_delay: float = 0.0  # before answering MAIL and each RCPT
    on_data: Callable[[], None] | None = None  # called for each message, before it is accepted

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.reply_delay:
            await asyncio.sleep(self.reply_delay)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.reply_delay:
            await asyncio.sleep(self.reply_delay)
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.on_data is not None:
            self.on_data()
        self.received.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content,
                session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
                bool(session.authenticated),
            )
        )
        return "250 2.0.0 accepted"


def attempt_ids(mailbox: Mailbox) -> list[int]:
    """The delivery attempt named by each message received (its Message-ID carries `a<attempt id>`)."""
    found = []
    for r in mailbox.received:
        match = re.search(r"\.a(\d+)@", str(r.message["Message-ID"]))
        assert match, r.message["Message-ID"]
        found.append(int(match.group(1)))
    return found


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (USER.encode(), PASSWORD.encode())
    # handled=False: aiosmtpd answers 535 itself (with True the client would wait for its timeout).
    return AuthResult(success=ok, handled=False)


@dataclass
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A context that trusts this certificate (and nothing else)."""
        return ssl.create_default_context(cafile=str(self.cert))


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost, valid for a day."""
    if shutil.which("openssl") is None:
        if REQUIRE_PEERS:
            pytest.fail("openssl is not installed; INTERLUDE_REQUIRE_PEERS=1 requires it")
        pytest.skip("openssl is not installed (it makes the TLS tests' certificate)")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *(
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=localhost",
            ),
            *("-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return Certificate(cert, key)


@contextmanager
def smtp_server(
    *, security: str = "none", certificate: Certificate | None = None, auth: bool = False
) -> Iterator[tuple[Mailbox, int]]:
    """Run an SMTP server on a free port: `security` "none", "starttls" (required) or "ssl"."""
    mailbox = Mailbox()
    kwargs: dict[str, Any] = {}
    if auth:
        # aiosmtpd only counts STARTTLS as TLS for AUTH; with "ssl" the whole connection is TLS.
        kwargs.update(authenticator=_authenticate, auth_require_tls=security == "starttls")
    if security == "starttls":
        assert certificate is not None
        kwargs.update(tls_context=certificate.server_context(), require_starttls=True)
    if security == "ssl":
        assert certificate is not None
        kwargs["ssl_context"] = certificate.server_context()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def smtp_settings(port: int, *, security: str = "none", user: str = "", timeout: float = 5.0) -> str:
    """Config text sending email through the test server on `port`."""
    return f"""
[email]
transport = "smtp"
[smtp]
host = "127.0.0.1"
port = {port}
security = "{security}"
username = "{user}"
care_from = "Interlude Demo Clinic <care@clinic.example>"
education_from = "learn@clinic.example"
reply_to = "frontdesk@clinic.example"
timeout_seconds = {timeout}
"""
