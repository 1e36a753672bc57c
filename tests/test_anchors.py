"""The bugs users of comparable reminder systems complain about in their public issue trackers and
help pages, numbered as in the test names: (1) reminders after a cancel or reschedule, (2) duplicates,
(3) times in the wrong time zone, (4) reminders silently not sent, (5) failures not surfaced, (7) a
blank where a variable was missing, (9) texts at night, (10) short-notice bookings without a reminder,
(15) a cancelled session booked again losing its messages.

Each test plays a whole course through the worker, tick by tick, with a fake clock, and checks
what a patient would actually have received.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from service.services import sessions
from service.services.outbox.dispatch import Dispatcher
from service.web import create_app
from tests.helpers import book, cli_runner, enrol, rows, sandbox


def run_until(app, clock, until, step=timedelta(minutes=15)) -> None:
    dispatcher = Dispatcher(app)
    while clock.now < until:
        dispatcher.run_once()
        clock.advance(step)
    dispatcher.run_once()


def test_1_no_reminder_after_a_cancel(services, clock):
    """Complaint 1: reminders still go out after a cancel."""
    p = enrol(services)
    s = book(services, p["id"], "2027-03-05T09:00")
    run_until(services, clock, clock.now + timedelta(hours=1))
    sent_before = len(sandbox(services))
    sessions.cancel_session(services, s["id"], {"reason": "patient cancelled"}, "test")
    run_until(services, clock, clock.now + timedelta(days=6))
    told = sandbox(services)[sent_before:]  # only the notice of the cancel, by SMS and email
    assert len(told) == 2 and all("has been cancelled" in m["body"] for m in told)


def test_1_a_reschedule_leaves_no_stale_reminder(services, clock):
    """Complaint 1: after a reschedule, reminders for the old time go out (or none for the new)."""
    p = enrol(services)
    s = book(services, p["id"], "2027-03-05T09:00")
    sessions.reschedule_session(services, s["id"], {"start": "2027-03-09T15:00"}, "test")
    run_until(services, clock, clock.now + timedelta(days=8))
    texts = [m["body"] for m in sandbox(services) if m["channel"] == "sms"]
    assert not any("March 5" in t for t in texts)
    fasting = [t for t in texts if "no food after" in t.lower()]
    assert fasting and all("March 9" in t or "today at 3:00 PM" in t for t in fasting)


def test_2_no_duplicates_from_several_workers_or_app_factories(services, clock):
    """Complaint 2: several schedulers (one per gunicorn worker) send every reminder N times."""
    before = set(threading.enumerate())
    for _ in range(3):
        create_app(services=services)
    started = set(threading.enumerate()) - before
    # The app factory starts no scheduler: the only threads it may leave are the sign-in rate
    # limiter's expiry timers (its in-memory counters).
    assert all(isinstance(t, threading.Timer) for t in started), started
    p = enrol(services)
    book(services, p["id"], "2027-03-05T09:00")
    workers = [Dispatcher(services) for _ in range(3)]
    for _ in range(4 * 24 * 6):
        for w in workers:
            w.run_once()
        clock.advance(timedelta(minutes=15))
    keys = [(m["attempt_id"]) for m in sandbox(services)]
    assert len(keys) == len(set(keys))
    sent = [r for r in rows(services) if r["status"] == "sent"]
    assert len(sent) == len({(r["step_id"], r["channel"], r["occurrence"]) for r in sent})


def test_3_times_in_messages_are_the_patients_local_time(services, clock):
    """Complaint 3: the SMS showed the UTC time, so the patient arrived hours early."""
    p = enrol(services, timezone="America/Los_Angeles")
    book(services, p["id"], "2027-03-10T09:00")
    # Booked at 07:00 in Los Angeles: the confirmation waits for the send window (08:00 there).
    run_until(services, clock, clock.now + timedelta(hours=1, minutes=30))
    sms = next(m for m in sandbox(services) if m["channel"] == "sms")["body"]
    assert "9:00 AM" in sms and "PST" in sms  # Los Angeles time, zone shown because it is not the clinic's
    assert "5:00 PM" not in sms and "12:00 PM" not in sms


def test_4_and_5_failures_are_visible_with_a_reason(sqlite_url, clock):
    """Complaints 4-5: reminders silently not sent, failures not surfaced."""
    from service.transports.base import TransportError
    from tests.helpers import ScriptedTransport, make_services

    sms = ScriptedTransport("fake-sms", [TransportError("landline", kind="permanent", code="21614")])
    app = make_services(sqlite_url, clock, transports={"sms": sms, "email": ScriptedTransport("fake-email")})
    p = enrol(app)
    book(app, p["id"], "2027-03-05T09:00")
    Dispatcher(app).run_once()
    runner = cli_runner(create_app(services=app))
    out = runner.invoke(args=["outbox", "--status", "failed"]).output
    assert "booking_confirmation (permanent:21614)" in out


def test_7_a_missing_variable_never_reaches_a_patient_as_a_blank(sqlite_url, clock, tmp_path):
    """Complaint 7: "Hi ," when a variable is missing. StrictUndefined fails the message instead."""
    import shutil

    from tests.helpers import ROOT, make_config, make_services

    messages = tmp_path / "messages"
    shutil.copytree(ROOT / "messages", messages)
    (messages / "booking_confirmation" / "en" / "sms.txt").write_text(
        "Hi {{ patient.nickname }}, {{ clinic.name }}"
    )
    app = make_services(sqlite_url, clock, config=make_config(sqlite_url, messages=messages))
    p = enrol(app, email=None, channels=["sms"])
    book(app, p["id"], "2027-03-05T09:00")
    Dispatcher(app).run_once()
    assert [m for m in sandbox(app) if m["body"].startswith("Hi ,")] == []
    assert rows(app, step_id="booking_confirmation")[0]["reason"] == "template-error"


def test_9_nothing_non_urgent_is_sent_in_quiet_hours(services, clock):
    """Complaint 9: messages at 3 a.m. Every send lands in the patient's 08:00-20:00 window."""
    from zoneinfo import ZoneInfo

    tz = "America/Los_Angeles"
    p = enrol(services, timezone=tz)
    book(services, p["id"], "2027-03-05T08:00")
    run_until(services, clock, clock.now + timedelta(days=7), step=timedelta(minutes=5))
    hours = [r["sent_at"].astimezone(ZoneInfo(tz)).hour for r in rows(services) if r["status"] == "sent"]
    assert hours and all(8 <= h < 20 for h in hours)


def test_10_a_short_notice_booking_still_gets_its_reminder(services, clock):
    """Complaint 10: no reminder when booked within the hour (or a few hours ahead)."""
    p = enrol(services)
    book(services, p["id"], "2027-03-02T11:30")  # 90 minutes from now
    Dispatcher(services).run_once()
    bodies = [m["body"] for m in sandbox(services) if m["channel"] == "sms"]
    assert any("No food after" in b for b in bodies)
    subjects = [m["subject"] for m in sandbox(services) if m["channel"] == "email"]
    assert subjects and not any("Tomorrow" in s for s in subjects)  # the session is today


def test_15_a_session_booked_again_after_a_cancel_gets_its_messages(services, clock):
    """Complaint 15: cancelled-then-needed."""
    p = enrol(services)
    s = book(services, p["id"], "2027-03-05T09:00")
    sessions.cancel_session(services, s["id"], {}, "test")
    again = book(services, p["id"], "2027-03-05T09:00")
    live = [r for r in rows(services, session_id=again["id"]) if r["status"] == "pending"]
    assert {r["step_id"] for r in live} >= {"prep_evening_before", "prep_morning_of", "checkin_same_day"}


def test_10_a_session_minutes_away_gets_the_fasting_times_dated_today(services):
    """Too late for the morning-of text (30 min deadline): the evening-before one goes, dated."""
    p = enrol(services)
    book(services, p["id"], "2027-03-02T10:20")  # 20 minutes from now
    Dispatcher(services).run_once()
    emails = [m for m in sandbox(services) if m["channel"] == "email" and "eating" in (m["subject"] or "")]
    assert len(emails) == 1
    assert "Tomorrow" not in emails[0]["subject"] and "Mar 2" in emails[0]["subject"]
