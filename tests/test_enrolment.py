"""The one-time opt-in confirmation at enrolment, on the shipped schedule (CTIA: confirm opt-in)."""

from __future__ import annotations

from datetime import timedelta

from service.services.outbox.dispatch import Dispatcher
from tests.helpers import ROOT, enrol, make_config, make_services, rows, sandbox


def shipped(url, clock):
    return make_services(url, clock, config=make_config(url, schedules=ROOT / "schedules"))


def test_enrolment_sends_the_opt_in_confirmation_once(sqlite_url, clock):
    app = shipped(sqlite_url, clock)
    enrol(app)
    Dispatcher(app).run_once()
    Dispatcher(app).run_once()
    [welcome] = sandbox(app)
    for needle in (
        "Interlude Demo",
        "Msg frequency varies",
        "Msg & data rates may apply",
        "HELP",
        "STOP",
        "911",
        "988",
    ):
        assert needle in welcome["body"]
    assert welcome["channel"] == "sms"


def test_the_opt_in_confirmation_waits_for_the_morning(sqlite_url, clock):
    app = shipped(sqlite_url, clock)
    clock.set(clock.now.replace(hour=3))  # 22:00 in New York
    enrol(app)
    Dispatcher(app).run_once()
    assert sandbox(app) == []
    [row] = rows(app, step_id="enrolment_opt_in")
    assert row["due_at"].isoformat() == "2027-03-02T13:00:00+00:00"  # 08:00 EST
    clock.advance(timedelta(hours=10))
    Dispatcher(app).run_once()
    assert len(sandbox(app)) == 1


def test_a_spanish_speaker_gets_it_in_spanish(sqlite_url, clock):
    app = shipped(sqlite_url, clock)
    enrol(app, language="es")
    Dispatcher(app).run_once()
    [welcome] = sandbox(app)
    assert "STOP" in welcome["body"] and "911" in welcome["body"] and "Interlude Demo:" in welcome["body"]
    assert "textos" in welcome["body"]
