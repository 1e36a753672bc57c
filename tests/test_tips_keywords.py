"""TIPS OFF / TIPS ON (CONSEJOS NO / CONSEJOS SI): education texts only, through the signed webhook."""

from __future__ import annotations

from datetime import datetime

import pytest

from service.db.tables import escalations
from service.services.outbox.dispatch import Dispatcher
from service.web import create_app
from tests.helpers import API_TOKEN, book, count, enrol, make_config, make_services, rows
from tests.reply_helpers import EXTRA, Phone

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
# Booked for 2027-03-12 09:00 New York: education SMS are due from 03-10 to 03-15, preparation from
# 03-09, check-ins on 03-12 and 03-13 (the clock starts on 03-02).
SESSION = "2027-03-12T09:00"
# After every message of the session, education spread by its daily and weekly caps included.
AFTER_ALL = datetime.fromisoformat("2027-03-24T15:00:00+00:00")


@pytest.fixture
def app(db_url, clock):
    services = make_services(db_url, clock, config=make_config(db_url, extra=EXTRA))
    yield services
    services.engine.dispose()


@pytest.fixture
def client(app):
    return create_app(services=app).test_client()


def reply_of(response) -> str:
    assert response.status_code == 200
    return response.get_data(as_text=True)


def consent_state(client, patient_id):
    return client.get(f"/api/v1/patients/{patient_id}/consent", headers=AUTH).json


def run_until(app, clock, when):
    """Send everything due up to `when`, each row at the moment it is due (the clock jumps there)."""
    for _ in range(100):
        due = [r["next_attempt_at"] for r in rows(app, status="pending") if r["next_attempt_at"] <= when]
        if not due:
            return
        clock.set(max(clock.now, min(due)))
        Dispatcher(app).run_once()
    raise AssertionError("rows stay pending")


def outcomes(app, channel):
    """(category, status, reason) of every row for this channel."""
    return [(r["category"], r["status"], r["reason"]) for r in rows(app, channel=channel)]


@pytest.mark.parametrize("word", ["TIPS OFF", "tips off", "TIPS OFF please", "no more tips", "stop tips"])
def test_tips_off_stops_education_texts_only_and_says_what_continues(app, client, clock, word):
    patient = enrol(app, preferred_channel="both")  # education by text and by email
    book(app, patient["id"], SESSION)
    body = reply_of(Phone(client).text(word))
    assert "no longer get tips" in body and "reminders" in body and "TIPS ON" in body
    ledger = consent_state(client, patient["id"])
    assert ledger["state"]["sms"] == {"care": True, "education": False}
    assert ledger["state"]["email"] == {"care": True, "education": True}
    last = ledger["events"][-1]
    assert (last["channel"], last["purpose"], last["action"], last["source"]) == (
        "sms",
        "education",
        "opt_out",
        "keyword",
    )
    assert last["raw_text"] == word and last["wording_version"].startswith("reply_tips_off@")
    run_until(app, clock, AFTER_ALL)
    sms = outcomes(app, "sms")
    education = [o for o in sms if o[0] == "education"]
    assert education and all(o[1:] == ("skipped", "opted-out") for o in education)
    assert {o[1] for o in sms if o[0] == "prep"} == {"sent"}
    assert {o[1] for o in sms if o[0] == "safety"} == {"sent"}
    # Education email is not touched by an SMS keyword.
    assert {o[1] for o in outcomes(app, "email") if o[0] == "education"} == {"sent"}


def test_tips_on_brings_education_texts_back(app, client, clock):
    patient = enrol(app, preferred_channel="both")  # education by text and by email
    book(app, patient["id"], SESSION)
    phone = Phone(client)
    phone.text("TIPS OFF")
    body = reply_of(phone.text("tips on"))
    assert "tips by text are on again" in body and "TIPS OFF" in body
    assert consent_state(client, patient["id"])["state"]["sms"] == {"care": True, "education": True}
    run_until(app, clock, AFTER_ALL)
    assert {o[1] for o in outcomes(app, "sms") if o[0] == "education"} == {"sent"}


@pytest.mark.parametrize(
    ("off", "on"),
    [("CONSEJOS NO", "CONSEJOS SÍ"), ("consejos no", "CONSEJOS SI"), ("no más consejos", "consejos si")],
)
def test_spanish_keywords_answer_in_spanish(app, client, clock, off, on):
    patient = enrol(app, language="es")
    phone = Phone(client)
    body = reply_of(phone.text(off))
    assert "ya no recibirá consejos" in body and "CONSEJOS SI" in body
    assert consent_state(client, patient["id"])["state"]["sms"] == {"care": True, "education": False}
    body = reply_of(phone.text(on))
    assert "volverá a recibir consejos" in body and "CONSEJOS NO" in body
    assert consent_state(client, patient["id"])["state"]["sms"] == {"care": True, "education": True}


def test_stop_tips_is_not_a_full_stop_but_stop_still_is(app, client):
    patient = enrol(app)
    phone = Phone(client)
    assert "START" not in reply_of(phone.text("stop tips"))
    assert consent_state(client, patient["id"])["state"]["sms"]["care"] is True
    assert "START" in reply_of(phone.text("STOP"))
    assert consent_state(client, patient["id"])["state"]["sms"] == {"care": False, "education": False}


def test_tips_on_after_stop_does_not_let_tips_through_and_points_to_start(app, client):
    patient = enrol(app)
    phone = Phone(client)
    phone.text("STOP")
    body = reply_of(phone.text("TIPS ON"))
    assert "START" in body
    assert consent_state(client, patient["id"])["state"]["sms"] == {"care": False, "education": False}
    phone.text("START")
    assert consent_state(client, patient["id"])["state"]["sms"] == {"care": True, "education": True}


def test_a_crisis_text_that_mentions_tips_still_escalates(app, client):
    patient = enrol(app)
    body = reply_of(Phone(client).text("stop tips, I want to kill myself"))
    assert "988" in body and "911" in body
    assert count(app, escalations) == 1
    assert consent_state(client, patient["id"])["state"]["sms"]["education"] is True


def test_help_mentions_tips_off(app, client):
    enrol(app)
    assert "TIPS OFF" in reply_of(Phone(client).text("HELP"))
    enrol(app, phone="+1 (202) 555-0144", email="ana@example.org", language="es")
    assert "CONSEJOS NO" in reply_of(Phone(client, sender="+12025550144").text("AYUDA"))
