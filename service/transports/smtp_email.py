"""Email over SMTP: build one multipart message, hand it to the relay, classify what went wrong.

Care email (preparation, safety, admin) comes from `[smtp] care_from`; education is subscription
mail (Google's and Yahoo's 2024 sender requirements): its own From address, RFC 8058 one-click
unsubscribe headers and a visible unsubscribe link. Which messages are which is the message's
category; the links come from the caller (services.unsubscribe), so this module only builds and
sends.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from html import escape
from typing import Any, Protocol

from ..config import ClinicConfig, SmtpConfig
from .base import Outgoing, Pacing, SendResult, TransportError


class UnsubscribeLink(Protocol):
    @property
    def url(self) -> str: ...  # https: the one-click POST target, and a page with a button on GET

    @property
    def mailto(self) -> str: ...

    @property
    def label(self) -> str: ...  # the visible link text, in the patient's language


class _Tracking:
    """Remembers whether the message body (ending in CRLF.CRLF) was written to the server, and
    holds the whole exchange to one deadline.

    Before the body, a timeout or a dropped connection means the relay cannot have the message:
    retry. After it, the relay may have accepted it without our hearing so: ambiguous.

    The deadline: smtplib's timeout applies to each read and write, so a relay answering each of
    a dozen commands just in time could hold one send for a dozen timeouts. Here every read and
    write gets only what is left of `timeout_seconds`, so a send never outlasts it, and the
    dispatcher's claim lease (at least three timeouts) never expires under a live send.
    """

    body_sent = False
    sock: Any

    def __init__(self, *args: Any, deadline: float, **kwargs: Any) -> None:
        self.deadline = deadline  # time.monotonic() by which the exchange must be over
        super().__init__(*args, **kwargs)

    def _within_deadline(self) -> None:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("smtp exchange exceeded its timeout")
        if self.sock is not None:
            self.sock.settimeout(left)

    def send(self, s: Any) -> None:
        self._within_deadline()
        super().send(s)  # type: ignore[misc]
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.body_sent = True

    def getreply(self) -> tuple[int, bytes]:
        self._within_deadline()
        reply: tuple[int, bytes] = super().getreply()  # type: ignore[misc]
        return reply


class _SMTP(_Tracking, smtplib.SMTP):
    pass


class _SMTPSSL(_Tracking, smtplib.SMTP_SSL):
    pass


class SmtpEmailTransport:
    """Sends each message over its own SMTP connection (starttls, ssl or none; AUTH if a user is set)."""

    name = "smtp"
    # One message per gate: a send takes a connection round trip, and an unsubscribe or a cancel
    # that lands meanwhile must stop the next one.
    pacing = Pacing(chunk_size=1)

    def __init__(
        self,
        config: SmtpConfig,
        clinic: ClinicConfig,
        password: str | None,
        *,
        unsubscribe: Callable[[int], UnsubscribeLink] | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.config = config
        self.clinic = clinic
        self.password = password
        self.unsubscribe = unsubscribe
        self.tls_context = tls_context or ssl.create_default_context()

    # --- building -------------------------------------------------------------------------

    def _address(self, value: str) -> tuple[str, str]:
        """A configured From address, given the clinic's discreet SMS name as display name if it
        has none (a display name given in the config is kept; `interlude check` reads it)."""
        display, address = parseaddr(value)
        return formataddr((display or self.clinic.sms_name, address)), address

    def build(self, message: Outgoing, now: datetime | None = None) -> EmailMessage:
        """The MIME message: multipart/alternative, text first, then HTML."""
        education = message.category == "education"
        sender, address = self._address(self.config.education_from if education else self.config.care_from)
        email = EmailMessage()
        email["From"] = sender
        email["To"] = message.to
        # One line: a line break from a template would be refused as a header (or worse, inject one).
        email["Subject"] = " ".join((message.subject or self.clinic.sms_name).split())
        email["Date"] = format_datetime(now or datetime.now(UTC))
        email["Message-ID"] = make_msgid(idstring=f"a{message.attempt_id}", domain=address.rpartition("@")[2])
        email["Reply-To"] = self.config.reply_to or self.clinic.email or address
        # Tells out-of-office responders not to answer: the patient's own replies still reach Reply-To.
        email["Auto-Submitted"] = "auto-generated"
        for key, value in message.headers.items():
            email[key] = value
        text, html = message.body, message.html
        if education:
            text, html = self._subscription(email, message, text, html)
        email.set_content(text)
        if html:
            email.add_alternative(html, subtype="html")
        return email

    def _subscription(
        self, email: EmailMessage, message: Outgoing, text: str, html: str | None
    ) -> tuple[str, str | None]:
        """RFC 8058 headers and a visible link; a subscription email without them is not sent."""
        if self.unsubscribe is None or message.patient_id is None:
            raise TransportError("no unsubscribe link", kind="permanent", code="no-unsubscribe-link")
        link = self.unsubscribe(message.patient_id)
        email["List-Unsubscribe"] = f"<{link.url}>, <{link.mailto}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        domain = parseaddr(self.config.education_from)[1].rpartition("@")[2] or "localhost"
        email["List-Id"] = f"{self.clinic.sms_name} education <education.{domain}>"
        text = f"{text}\n\n{link.label}: {link.url}\n"
        if html:
            footer = (
                f'<p style="font-size:12px;color:#555;text-align:center;">'
                f'<a href="{escape(link.url)}">{escape(link.label)}</a></p>'
            )
            cut = html.lower().rfind("</body>")
            html = html[:cut] + footer + html[cut:] if cut >= 0 else html + footer
        return text, html

    # --- sending --------------------------------------------------------------------------

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        smtp: smtplib.SMTP
        deadline = time.monotonic() + cfg.timeout_seconds  # for the whole exchange
        if cfg.security == "ssl":
            smtp = _SMTPSSL(
                cfg.host, cfg.port, timeout=cfg.timeout_seconds, context=self.tls_context, deadline=deadline
            )
        else:
            smtp = _SMTP(cfg.host, cfg.port, timeout=cfg.timeout_seconds, deadline=deadline)
        try:
            smtp.ehlo()
            if cfg.security == "starttls":
                # Never fall back to plain text: a relay without STARTTLS is an error, not a downgrade.
                smtp.starttls(context=self.tls_context)
                smtp.ehlo()
            if cfg.username:
                smtp.login(cfg.username, self.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: Outgoing) -> SendResult:
        try:
            email = self.build(message)
        except ValueError as exc:  # an address or header the email library refuses: it never will
            raise TransportError("unsendable email", kind="permanent", code="smtp-bad-message") from exc
        envelope_from = parseaddr(str(email["From"]))[1]
        smtp: smtplib.SMTP | None = None
        try:
            smtp = self._connect()
            smtp.send_message(email, from_addr=envelope_from, to_addrs=[message.to])
        except (smtplib.SMTPException, OSError) as exc:
            raise classify(exc, body_sent=getattr(smtp, "body_sent", False)) from exc
        finally:
            if smtp is not None:
                _quit(smtp)
        return SendResult(provider_id=str(email["Message-ID"]).strip("<>")[:64], status="sent")

    def was_sent(self, attempt_id: int) -> bool | None:
        return None  # an SMTP relay cannot be asked afterwards whether it took a message


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()  # the message's fate was decided before QUIT; a failing QUIT changes nothing


def _by_reply(phase: str, code: int) -> TransportError:
    """A reply code decides: 5xx is permanent (RFC 5321), anything else may pass on a retry."""
    kind = "permanent" if 500 <= code < 600 else "retryable"
    return TransportError(f"smtp {phase} {code}", kind=kind, code=f"smtp-{phase}-{code}")


def classify(exc: BaseException, *, body_sent: bool) -> TransportError:
    """Map an smtplib/socket failure to a TransportError (codes like `smtp-rcpt-550`)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()] or [550]
        return _by_reply("rcpt", max(codes))
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return _by_reply("mail", exc.smtp_code)
    if isinstance(exc, smtplib.SMTPDataError):
        return _by_reply("data", exc.smtp_code)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        # Our credentials, not the message: retried (nothing was sent) until fixed or given up.
        return TransportError("smtp auth", kind="retryable", code=f"smtp-auth-{exc.smtp_code}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return TransportError("smtp extension missing", kind="retryable", code="smtp-not-supported")
    if isinstance(exc, smtplib.SMTPResponseException):
        return TransportError("smtp reply", kind="retryable", code=f"smtp-reply-{exc.smtp_code}")
    if isinstance(exc, ssl.SSLError):
        return TransportError("smtp tls", kind="retryable", code="smtp-tls")
    if body_sent:
        return TransportError("smtp lost after data", kind="ambiguous", code="smtp-no-reply-after-data")
    if isinstance(exc, ConnectionRefusedError | socket.gaierror):
        return TransportError("smtp unreachable", kind="retryable", code="smtp-connect")
    # smtplib reports a reply that timed out as "Connection unexpectedly closed"; the cause tells.
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        return TransportError("smtp timeout", kind="retryable", code="smtp-timeout")
    return TransportError("smtp connection lost", kind="retryable", code="smtp-disconnected")
