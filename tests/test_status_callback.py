"""Twilio's status callbacks: signed with the SDK's RequestValidator (as Twilio signs them),
checked against the public URL, forward only, harmless when repeated, and failures acted on."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from service.db.tables import consent_events, delivery_attempts, outbox, patients, staff_tasks
from service.services.outbox.dispatch import Dispatcher
from service.transports.base import TransportError
from service.web import create_app
from tests.helpers import TWILIO_TOKEN, ScriptedTransport, book, enrol, make_config, make_services, rows

PUBLIC = "https://clinic.example.org"
INSIDE = "http://10.0.0.5:8000"  # what the app sees behind the https-terminating proxy
SID = "SM" + "b" * 32


def sign(url, params, token=TWILIO_TOKEN):
    return RequestValidator(token).compute_signature(url, params)


@pytest.fixture
def setup(db_url, clock):
    sms = ScriptedTransport("twilio")
    config = make_config(db_url, extra=f'[web]\npublic_base_url = "{PUBLIC}"\n')
    app = make_services(
        db_url, clock, config=config, transports={"sms": sms, "email": ScriptedTransport("smtp")}
    )
    flask_app = create_app(services=app)
    flask_app.testing = True
    yield app, flask_app.test_client(), sms
    app.engine.dispose()


def sent_sms(app, *, steps=("booking_confirmation",)):
    """Book a session for an SMS-only patient and send what is due; returns its attempt ids by step."""
    p = enrol(app, email=None, channels=["sms"])
    book(app, p["id"], "2027-03-12T09:00")
    Dispatcher(app).run_once()
    with app.engine.connect() as conn:
        found = conn.execute(
            select(outbox.c.step_id, delivery_attempts.c.id).join(
                delivery_attempts, delivery_attempts.c.outbox_id == outbox.c.id
            )
        ).all()
    return p, {step: aid for step, aid in found if step in steps}


def report(client, attempt_id, status, *, code=None, sid=None, signature=None, base_url=INSIDE, **extra):
    """Play Twilio: post a status report for an attempt (by default naming the sid it was given)."""
    params = {
        "MessageSid": sid or f"fake-{attempt_id}",
        "MessageStatus": status,
        "AccountSid": "AC" + "0" * 32,
        **extra,
    }
    if code:
        params["ErrorCode"] = code
    path = f"/twilio/status/{attempt_id}"
    if signature is None:
        signature = sign(PUBLIC + path, params)
    headers = {"X-Twilio-Signature": signature} if signature else {}
    return client.post(path, data=params, headers=headers, base_url=base_url)


def attempt(app, attempt_id):
    with app.engine.connect() as conn:
        return (
            conn.execute(select(delivery_attempts).where(delivery_attempts.c.id == attempt_id))
            .mappings()
            .one()
        )


def test_a_signed_report_behind_an_https_proxy_is_accepted(setup):
    app, client, _ = setup
    _, ids = sent_sms(app)
    aid = ids["booking_confirmation"]
    r = report(client, aid, "delivered")
    assert r.status_code == 200
    assert attempt(app, aid)["status"] == "delivered"


@pytest.mark.parametrize(
    "tamper",
    ["parameter", "missing-header", "inner-url", "other-token"],
)
def test_a_bad_or_missing_signature_is_refused_and_changes_nothing(setup, tamper):
    app, client, _ = setup
    _, ids = sent_sms(app)
    aid = ids["booking_confirmation"]
    path = f"/twilio/status/{aid}"
    params = {"MessageSid": f"fake-{aid}", "MessageStatus": "delivered", "AccountSid": "AC" + "0" * 32}
    signature = {
        "parameter": sign(PUBLIC + path, {**params, "MessageStatus": "sent"}),
        "missing-header": "",
        "inner-url": sign(INSIDE + path, params),  # what a check on request.url would accept
        "other-token": sign(PUBLIC + path, params, token="another-accounts-token"),
    }[tamper]
    headers = {"X-Twilio-Signature": signature} if signature else {}
    r = client.post(path, data=params, headers=headers, base_url=INSIDE)
    assert r.status_code == 403
    assert attempt(app, aid)["status"] == "sent"


@pytest.mark.parametrize("attempt_id", ["999999", "abc", "1" * 30])
def test_an_unknown_attempt_gets_200_and_nothing_else(setup, attempt_id):
    app, client, _ = setup
    sent_sms(app)
    before = [dict(a) for a in _all_attempts(app)]
    r = report(client, attempt_id, "delivered")
    assert r.status_code == 200
    assert [dict(a) for a in _all_attempts(app)] == before


def _all_attempts(app):
    with app.engine.connect() as conn:
        return list(conn.execute(select(delivery_attempts).order_by(delivery_attempts.c.id)).mappings())


def test_delivery_state_only_moves_forward_and_repeats_are_harmless(setup):
    app, client, _ = setup
    _, ids = sent_sms(app)
    aid = ids["booking_confirmation"]
    for status, expected in [
        ("sent", "sent"),
        ("delivered", "delivered"),
        ("sent", "delivered"),  # a late "sent" never undoes "delivered"
        ("delivered", "delivered"),
        ("undelivered", "delivered"),
        ("queued", "delivered"),
    ]:
        assert report(client, aid, status).status_code == 200
        assert attempt(app, aid)["status"] == expected
    assert rows(app, step_id="booking_confirmation")[0]["status"] == "sent"


def test_a_report_for_another_message_sid_is_ignored(setup):
    app, client, _ = setup
    _, ids = sent_sms(app)
    aid = ids["booking_confirmation"]
    assert attempt(app, aid)["provider_id"] == f"fake-{aid}"
    assert report(client, aid, "failed", code="30006", sid="SM" + "c" * 32).status_code == 200
    assert attempt(app, aid)["status"] == "sent"


def test_a_report_that_arrives_before_the_send_is_recorded_is_kept(setup):
    """Twilio can report "delivered" before our worker has recorded Twilio's answer."""
    app, client, sms = setup
    sms.script = [
        lambda message: report(client, message.attempt_id, "delivered", sid=f"fake-{message.attempt_id}")
    ]
    _, ids = sent_sms(app)
    aid = ids["booking_confirmation"]
    assert (attempt(app, aid)["status"], attempt(app, aid)["provider_id"]) == ("delivered", f"fake-{aid}")
    assert rows(app, step_id="booking_confirmation")[0]["status"] == "sent"


def test_a_report_settles_a_send_whose_answer_never_came(setup):
    app, client, sms = setup
    sms.script = [TransportError("read timeout", kind="ambiguous", code="timeout")]
    _, ids = sent_sms(app)
    aid = ids["booking_confirmation"]
    assert rows(app, step_id="booking_confirmation")[0]["status"] == "unknown"
    assert attempt(app, aid)["provider_id"] is None
    assert report(client, aid, "sent", sid=SID).status_code == 200
    row = rows(app, step_id="booking_confirmation")[0]
    assert (row["status"], row["attempts"], row["reason"]) == ("sent", 1, None)
    assert (attempt(app, aid)["status"], attempt(app, aid)["provider_id"]) == ("sent", SID)


def test_an_undelivered_report_for_a_landline_runs_the_send_time_policy_once(setup):
    app, client, _ = setup
    p, ids = sent_sms(app)
    aid = ids["booking_confirmation"]
    for _ in range(2):
        assert report(client, aid, "undelivered", code="30006").status_code == 200
    row = rows(app, step_id="booking_confirmation")[0]
    assert (row["status"], row["reason"]) == ("failed", "undelivered:30006")
    assert attempt(app, aid)["error_code"] == "30006"
    with app.engine.connect() as conn:
        patient = conn.execute(select(patients).where(patients.c.id == p["id"])).mappings().one()
        tasks = conn.execute(select(staff_tasks.c.kind)).scalars().all()
    assert (patient["sms_status"], patient["sms_status_reason"]) == ("unusable", "twilio-30006")
    assert tasks == ["sms-unusable"]


def test_a_failed_report_with_21610_records_the_opt_out(setup):
    app, client, _ = setup
    p, ids = sent_sms(app)
    for _ in range(2):
        report(client, ids["booking_confirmation"], "failed", code="21610")
    with app.engine.connect() as conn:
        events = conn.execute(
            select(consent_events.c.channel, consent_events.c.action).where(
                consent_events.c.patient_id == p["id"], consent_events.c.source == "provider"
            )
        ).all()
    assert events == [("sms", "opt_out")]
