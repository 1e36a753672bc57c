"""Email over SMTP against a real server (aiosmtpd): the message's shape, care versus subscription
mail, AUTH, STARTTLS and implicit TLS, refusals, a server that is down, stalls or hangs up."""

from __future__ import annotations

import logging
import socket
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from service.config import ConfigError
from service.db.tables import delivery_attempts, staff_tasks
from service.logs import KeyValueFormatter
from service.services.outbox.dispatch import Dispatcher
from service.services.replies.unsubscribe import UnsubscribeLinks, read_token
from service.transports.smtp_email import SmtpEmailTransport
from tests.helpers import book, education_email, enrol, make_config, make_services, rows
from tests.prism import free_port
from tests.smtp_peer import PASSWORD, USER, smtp_server, smtp_settings

pytest_plugins = ["tests.smtp_peer"]
SECRET = "smtp-test-signing-key-0123456789abcdef"
EMAIL = "maria@example.org"
ENV = {"INTERLUDE_SECRET_KEY": SECRET, "INTERLUDE_SMTP_PASSWORD": PASSWORD}


def smtp_app(url, clock, port, **settings):
    config = make_config(url, extra=smtp_settings(port, **settings), env=ENV)
    return make_services(url, clock, config=config)


def email_only_booking(app):
    p = enrol(app, phone=None, channels=["email"])
    book(app, p["id"], "2027-03-12T09:00")
    return p


def booking_email(app):
    return rows(app, step_id="booking_confirmation", channel="email")[0]


def test_a_care_email_is_multipart_text_then_html_from_the_care_address(sqlite_url, clock):
    with smtp_server() as (mailbox, port):
        app = smtp_app(sqlite_url, clock, port)
        assert isinstance(app.transports["email"], SmtpEmailTransport)
        email_only_booking(app)
        Dispatcher(app).run_once()
    assert len(mailbox.received) == 1
    got = mailbox.received[0]
    assert (got.mail_from, got.rcpt_tos) == ("care@clinic.example", [EMAIL])
    m = got.message
    assert m["From"] == "Interlude Demo Clinic <care@clinic.example>"
    assert m["To"] == EMAIL and m["Reply-To"] == "frontdesk@clinic.example"
    assert m["Subject"] and m["Date"] and m["Message-ID"].endswith("@clinic.example>")
    assert m.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in m.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert "March 12" in m.get_body(("plain",)).get_content()
    assert "List-Unsubscribe" not in m and "List-Unsubscribe-Post" not in m  # care mail is no subscription
    row = booking_email(app)
    assert row["status"] == "sent"
    with app.engine.connect() as conn:
        attempt = (
            conn.execute(select(delivery_attempts).where(delivery_attempts.c.outbox_id == row["id"]))
            .mappings()
            .one()
        )
    assert (attempt["transport"], attempt["status"]) == ("smtp", "sent")
    assert f"<{attempt['provider_id']}>" == m["Message-ID"]


def test_an_education_email_is_subscription_mail_with_one_click_unsubscribe(sqlite_url, clock):
    with smtp_server() as (mailbox, port):
        app = smtp_app(sqlite_url, clock, port)
        p = enrol(app, phone=None, channels=["email"])
        education_email(app, p["id"])
        Dispatcher(app).run_once()
    m = mailbox.received[-1].message
    assert (
        m["From"] == "Interlude Demo <learn@clinic.example>"
    )  # its own address, shown with [clinic] sms_name
    https, mailto = [v.strip().strip("<>") for v in m["List-Unsubscribe"].split(",")]
    assert https.startswith("http://127.0.0.1:5000/email/unsubscribe/")
    token = https.rsplit("/", 1)[1]
    assert read_token(SECRET, token) == p["id"]
    assert mailto == f"mailto:learn@clinic.example?subject=unsubscribe%20{token}"
    assert m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "education" in m["List-Id"]
    assert https in m.get_body(("plain",)).get_content()  # a visible link, in both parts
    html = m.get_body(("html",)).get_content()
    assert f'href="{https}"' in html and html.index(https) < html.index("</body>")


def test_smtp_without_a_secret_key_is_refused_at_start(sqlite_url, clock):
    config = make_config(sqlite_url, extra=smtp_settings(25), env={})
    with pytest.raises(ConfigError, match="INTERLUDE_SECRET_KEY"):
        make_services(sqlite_url, clock, config=config)


def _tls_app(url, clock, port, certificate, **settings):
    """As bootstrap builds it, but trusting the test certificate instead of the system's CAs."""
    app = smtp_app(url, clock, port, **settings)
    config = app.config
    email = SmtpEmailTransport(
        config.smtp,
        config.clinic,
        config.secrets.smtp_password,
        unsubscribe=UnsubscribeLinks(config, app.engine),
        tls_context=certificate.client_context(),
    )
    app.transports = {**app.transports, "email": email}
    return app


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_auth_over_tls(sqlite_url, clock, certificate, security):
    with smtp_server(security=security, certificate=certificate, auth=True) as (mailbox, port):
        app = _tls_app(sqlite_url, clock, port, certificate, security=security, user=USER)
        email_only_booking(app)
        Dispatcher(app).run_once()
    assert booking_email(app)["status"] == "sent"
    assert [(r.tls, r.authenticated) for r in mailbox.received] == [(True, True)]


def test_auth_without_tls_when_the_relay_is_local(sqlite_url, clock):
    with smtp_server(auth=True) as (mailbox, port):
        app = smtp_app(sqlite_url, clock, port, user=USER)
        email_only_booking(app)
        Dispatcher(app).run_once()
    assert [(r.tls, r.authenticated) for r in mailbox.received] == [(False, True)]


def test_a_wrong_password_is_retried_and_nothing_is_sent(sqlite_url, clock, certificate):
    with smtp_server(security="starttls", certificate=certificate, auth=True) as (mailbox, port):
        app = _tls_app(sqlite_url, clock, port, certificate, security="starttls", user="someone-else")
        email_only_booking(app)
        Dispatcher(app).run_once()
    row = booking_email(app)
    assert (row["status"], row["reason"]) == ("pending", "retryable:smtp-auth-535")
    assert mailbox.received == []


def test_an_untrusted_certificate_is_never_downgraded_to_plain_text(sqlite_url, clock, certificate):
    with smtp_server(security="starttls", certificate=certificate) as (mailbox, port):
        app = smtp_app(sqlite_url, clock, port, security="starttls")  # the system's CAs only
        email_only_booking(app)
        Dispatcher(app).run_once()
    row = booking_email(app)
    assert (row["status"], row["reason"]) == ("pending", "retryable:smtp-tls")
    assert mailbox.received == []


@pytest.mark.parametrize(
    ("reply", "status", "reason"),
    [
        ("550 5.1.1 mailbox unavailable", "failed", "permanent:smtp-rcpt-550"),
        ("451 4.3.0 try again later", "pending", "retryable:smtp-rcpt-451"),
    ],
)
def test_a_refused_recipient(sqlite_url, clock, reply, status, reason):
    with smtp_server() as (mailbox, port):
        mailbox.refuse[EMAIL] = reply
        app = smtp_app(sqlite_url, clock, port)
        p = email_only_booking(app)
        Dispatcher(app).run_once()
    row = booking_email(app)
    assert (row["status"], row["reason"]) == (status, reason)
    with app.engine.connect() as conn:
        tasks = conn.execute(select(staff_tasks.c.kind, staff_tasks.c.patient_id)).all()
    assert tasks == ([("email-refused", p["id"])] if status == "failed" else [])


def test_a_server_that_is_down_is_retried(sqlite_url, clock):
    app = smtp_app(sqlite_url, clock, free_port())
    email_only_booking(app)
    Dispatcher(app).run_once()
    row = booking_email(app)
    assert (row["status"], row["reason"]) == ("pending", "retryable:smtp-connect")
    assert row["next_attempt_at"] > clock.now


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never says a word (no SMTP greeting)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(5)
        yield server.getsockname()[1]


@pytest.fixture
def hanging_up_server():
    """A TCP server that closes every connection at once."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def test_a_timeout_before_data_is_retried(sqlite_url, clock, silent_server):
    app = smtp_app(sqlite_url, clock, silent_server, timeout=0.3)
    email_only_booking(app)
    Dispatcher(app).run_once()
    assert (booking_email(app)["status"], booking_email(app)["reason"]) == (
        "pending",
        "retryable:smtp-timeout",
    )


def test_a_disconnect_before_data_is_retried(sqlite_url, clock, hanging_up_server):
    app = smtp_app(sqlite_url, clock, hanging_up_server)
    email_only_booking(app)
    Dispatcher(app).run_once()
    row = booking_email(app)
    assert (row["status"], row["reason"]) == ("pending", "retryable:smtp-disconnected")


def test_no_answer_after_data_is_ambiguous_and_never_resent(sqlite_url, clock):
    with smtp_server() as (mailbox, port):
        mailbox.data_delay = 1.0
        app = smtp_app(sqlite_url, clock, port, timeout=0.3)
        email_only_booking(app)
        d = Dispatcher(app)
        d.run_once()
        row = booking_email(app)
        assert (row["status"], row["reason"]) == ("unknown", "ambiguous:smtp-no-reply-after-data")
        mailbox.data_delay = 0
        for _ in range(3):
            clock.advance(timedelta(hours=1))
            d.run_once()
    row = booking_email(app)
    assert (row["status"], row["attempts"]) == ("unknown", 1)
    with app.engine.connect() as conn:
        tries = conn.execute(
            select(delivery_attempts).where(delivery_attempts.c.outbox_id == row["id"])
        ).all()
    assert len(tries) == 1 and len(mailbox.received) <= 1  # the relay may have it once; never twice


def test_no_address_or_body_reaches_the_logs(sqlite_url, clock, caplog):
    caplog.set_level(logging.DEBUG)
    with smtp_server() as (mailbox, port):
        mailbox.refuse["other@example.org"] = "550 5.1.1 <other@example.org> unknown"
        app = smtp_app(sqlite_url, clock, port)
        email_only_booking(app)
        p = enrol(app, phone=None, channels=["email"], email="other@example.org", external_ref="2")
        book(app, p["id"], "2027-03-12T10:00")
        Dispatcher(app).run_once()
    ours = [r for r in caplog.records if not r.name.startswith("mail.log")]  # aiosmtpd: the test peer's own
    text = "\n".join(KeyValueFormatter().format(r) for r in ours)
    assert "code=smtp-rcpt-550" in text and " sent " in f" {text} "
    body = mailbox.received[0].message.get_body(("plain",)).get_content()
    for secret in ["maria@", "other@", "example.org", body.splitlines()[0], PASSWORD, SECRET]:
        assert secret not in text
