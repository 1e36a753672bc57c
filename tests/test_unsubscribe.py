"""One-click unsubscribe from education email (RFC 8058): POST unsubscribes at once, without
login, cookie or redirect; GET only shows a button (link scanners follow GETs)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from service.db.tables import consent_events
from service.services.outbox.dispatch import Dispatcher
from service.services.replies.unsubscribe import UnsubscribeLinks, make_token, read_token
from service.web import create_app
from tests.helpers import book, education_email, enrol, make_config, make_services, rows
from tests.smtp_peer import PASSWORD, smtp_server, smtp_settings

SECRET = "unsubscribe-secret-" + "s" * 24
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
def web(db_url, clock):
    config = make_config(db_url, env={"INTERLUDE_SECRET_KEY": SECRET})
    app = make_services(db_url, clock, config=config)
    flask_app = create_app(services=app)
    flask_app.testing = True
    yield app, flask_app.test_client()
    app.engine.dispose()


def opt_outs(app, patient_id):
    with app.engine.connect() as conn:
        return conn.execute(
            select(consent_events.c.channel, consent_events.c.purpose, consent_events.c.source).where(
                consent_events.c.patient_id == patient_id, consent_events.c.action == "opt_out"
            )
        ).all()


def test_get_shows_a_button_and_never_unsubscribes(web):
    app, client = web
    p = enrol(app)
    url = f"/email/unsubscribe/{make_token(SECRET, p['id'])}"
    for _ in range(3):  # a link scanner, a preview, the patient
        r = client.get(url)
        assert r.status_code == 200
        assert f'<form method="post" action="{url}">' in r.text and "<button" in r.text
    assert opt_outs(app, p["id"]) == []


def test_one_click_post_unsubscribes_at_once_without_cookie_or_redirect(web):
    app, client = web
    p = enrol(app)
    url = f"/email/unsubscribe/{make_token(SECRET, p['id'])}"
    r = client.post(url, data=ONE_CLICK)
    assert r.status_code == 200 and "unsubscribed" in r.text
    assert "Set-Cookie" not in r.headers and "Location" not in r.headers
    assert opt_outs(app, p["id"]) == [("email", "education", "email-link")]
    again = client.post(url, data=ONE_CLICK)  # providers may post twice; the patient may click too
    assert again.status_code == 200
    assert opt_outs(app, p["id"]) == [("email", "education", "email-link")]


def test_a_multipart_one_click_post_works_too(web):
    app, client = web
    p = enrol(app)
    r = client.post(
        f"/email/unsubscribe/{make_token(SECRET, p['id'])}",
        data=ONE_CLICK,
        content_type="multipart/form-data",
    )
    assert r.status_code == 200
    assert opt_outs(app, p["id"]) == [("email", "education", "email-link")]


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_forged_or_damaged_token_changes_nothing(web, method):
    app, client = web
    p = enrol(app)
    good = make_token(SECRET, p["id"])
    for token in [
        good[:-2] + "xx",
        make_token("another-secret-key-0123456789", p["id"]),
        "1",
        make_token(SECRET, 999999),
    ]:
        r = getattr(client, method)(f"/email/unsubscribe/{token}", data=ONE_CLICK)
        assert r.status_code == 404
    assert opt_outs(app, p["id"]) == []


def test_tokens_survive_a_restart_and_need_the_same_key():
    token = make_token(SECRET, 42)
    assert read_token(SECRET, token) == 42  # a new process with the same INTERLUDE_SECRET_KEY
    assert read_token("a-different-key-0123456789abcdef", token) is None
    assert read_token(None, token) is None


def test_without_a_secret_key_no_link_is_accepted(sqlite_url, clock):
    app = make_services(sqlite_url, clock)
    client = create_app(services=app).test_client()
    p = enrol(app)
    assert client.post(f"/email/unsubscribe/{make_token(SECRET, p['id'])}", data=ONE_CLICK).status_code == 404


def test_the_link_label_follows_the_patients_language(sqlite_url, clock):
    config = make_config(sqlite_url, env={"INTERLUDE_SECRET_KEY": SECRET})
    app = make_services(sqlite_url, clock, config=config)
    p = enrol(app, language="es")
    link = UnsubscribeLinks(config, app.engine)(p["id"])
    assert link.label.startswith("Darse de baja") and link.url.endswith(make_token(SECRET, p["id"]))


def test_the_emails_own_link_stops_education_and_keeps_care(sqlite_url, clock):
    """End to end: education email over SMTP, its List-Unsubscribe URL posted like Gmail does."""
    with smtp_server() as (mailbox, port):
        config = make_config(
            sqlite_url,
            extra=smtp_settings(port),
            env={"INTERLUDE_SECRET_KEY": SECRET, "INTERLUDE_SMTP_PASSWORD": PASSWORD},
        )
        app = make_services(sqlite_url, clock, config=config)
        client = create_app(services=app).test_client()
        p = enrol(app, phone=None, channels=["email"])
        education_email(app, p["id"])
        Dispatcher(app).run_once()
        header = mailbox.received[-1].message["List-Unsubscribe"]
        https = header.split(",")[0].strip().strip("<>")
        path = https.removeprefix(config.web.public_base_url)
        assert client.post(path, data=ONE_CLICK).status_code == 200
        s = book(app, p["id"], "2027-03-03T12:00")
        Dispatcher(app).run_once()
        clock.advance(timedelta(days=8))  # past edu_general_1, moved by the education caps
        Dispatcher(app).run_once()
    done = {r["step_id"]: r for r in rows(app, session_id=s["id"], channel="email")}
    assert done["booking_confirmation"]["status"] == "sent"
    assert (done["edu_general_1"]["status"], done["edu_general_1"]["reason"]) == ("skipped", "opted-out")


def test_the_unsubscribe_page_cannot_be_framed_by_another_site(web):
    app, client = web
    p = enrol(app)
    r = client.get(f"/email/unsubscribe/{make_token(SECRET, p['id'])}")
    assert r.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
