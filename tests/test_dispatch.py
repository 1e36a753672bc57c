"""The dispatcher: exactly once, consent and cancellation re-checked at send time, retries, recovery."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import insert, select, update

from service.db.tables import delivery_attempts, outbox
from service.logs import KeyValueFormatter
from service.services import sessions
from service.services.outbox.dispatch import Dispatcher
from service.transports.base import TransportError
from service.transports.sandbox import SandboxTransport
from tests.helpers import ScriptedTransport, book, enrol, make_services, opt_out, rows, sandbox


def test_due_messages_are_sent_once_with_local_times(services, clock):
    p = enrol(services, timezone="America/Los_Angeles")
    book(services, p["id"], "2027-03-12T09:00")  # 09:00 in Los Angeles
    assert Dispatcher(services).run_once().claimed == 0  # 07:00 there: quiet hours until 08:00
    clock.advance(timedelta(hours=1))
    first = Dispatcher(services).run_once()
    second = Dispatcher(services).run_once()
    assert first.sent == 2 and second.claimed == 0
    sms = [m for m in sandbox(services) if m["channel"] == "sms"]
    assert len(sms) == 1
    assert "9:00 AM PST" in sms[0]["body"]  # the patient's time, with the zone (it differs from the clinic's)
    assert "17:00" not in sms[0]["body"] and "UTC" not in sms[0]["body"]
    assert sms[0]["recipient"] == "+12025550143"


def test_nothing_is_sent_to_an_opted_out_patient(services):
    p = enrol(services)
    opt_out(services, p["id"], channel="sms")
    book(services, p["id"], "2027-03-12T09:00")
    stats = Dispatcher(services).run_once()
    assert stats.reasons.get("opted-out") == 1
    assert [m["channel"] for m in sandbox(services)] == ["email"]


def test_education_unsubscribe_stops_only_education(services, clock):
    p = enrol(services, preferred_channel="both")  # education by text and by email
    opt_out(services, p["id"], channel="email", purpose="education")
    s = book(services, p["id"], "2027-03-03T12:00")
    clock.advance(timedelta(days=6))
    sessions.complete_session(services, s["id"], {}, "test")
    Dispatcher(services).run_once()
    done = {(r["step_id"], r["channel"]): r for r in rows(services, session_id=s["id"])}
    assert done[("edu_general_1", "email")]["reason"] == "opted-out"
    assert done[("edu_general_1", "sms")]["status"] == "sent"


def test_an_opt_out_landing_mid_batch_stops_the_next_send(sqlite_url, clock):
    """STOP arrives while the batch is being sent: the messages after it never go."""
    holder = {}

    def stop_now(_message):
        opt_out(holder["app"], holder["patient"], channel="sms")

    sms = ScriptedTransport("fake-sms", [stop_now])
    app = make_services(sqlite_url, clock, transports={"sms": sms, "email": ScriptedTransport("fake-email")})
    p = enrol(app, email=None, channels=["sms"])
    holder.update(app=app, patient=p["id"])
    book(app, p["id"], "2027-03-12T09:00")
    book(app, p["id"], "2027-03-13T09:00")  # two booking confirmations due now
    stats = Dispatcher(app).run_once()
    assert len(sms.received) == 1
    assert stats.sent == 1 and stats.reasons.get("opted-out") == 1


def test_a_cancel_after_the_claim_stops_the_send(services):
    p = enrol(services)
    s = book(services, p["id"], "2027-03-12T09:00")
    d = Dispatcher(services)
    claimed = d.claim(100)
    assert len(claimed) == 2
    sessions.cancel_session(services, s["id"], {"reason": "clinic closed"}, "test")
    stats = d.process(claimed)
    assert stats.sent == 0 and stats.cancelled == 2
    assert sandbox(services) == []
    assert {
        r["reason"] for r in rows(services, session_id=s["id"]) if r["step_id"] == "booking_confirmation"
    } == {"session-cancelled"}


def test_a_cancel_during_the_batch_stops_the_rest_of_it(sqlite_url, clock):
    holder = {}

    def cancel_now(_message):
        sessions.cancel_session(holder["app"], holder["session"], {}, "test")

    sms = ScriptedTransport("fake-sms", [cancel_now])
    email = ScriptedTransport("fake-email")
    app = make_services(sqlite_url, clock, transports={"sms": sms, "email": email})
    p = enrol(app)
    s = book(app, p["id"], "2027-03-12T09:00")
    holder.update(app=app, session=s["id"])
    Dispatcher(app).run_once()
    sent = sms.received + email.received  # one message, then only the notice of the cancel
    assert len(sent) == 3 and all("has been cancelled" in m.body for m in sent[1:])


def test_a_cancel_before_the_claim_means_nothing_is_claimed(services):
    p = enrol(services)
    s = book(services, p["id"], "2027-03-12T09:00")
    sessions.cancel_session(services, s["id"], {}, "test")
    claimed = Dispatcher(services).claim(100)  # only the notice telling the patient of the cancel
    assert sorted((r["origin"], r["channel"]) for r in claimed) == [
        ("session-change", "email"),
        ("session-change", "sms"),
    ]


def test_a_backlog_is_not_sent_in_the_night(services, clock):
    p = enrol(services)
    s = book(services, p["id"], "2027-03-12T09:00")
    Dispatcher(services).run_once()
    clock.set(clock.now.replace(day=6, hour=4))  # 23:00 EST: the worker was down all day
    sessions_rows = rows(services, session_id=s["id"])
    with services.engine.begin() as conn:  # make the 72-hour message overdue as if the worker had been down
        conn.execute(update(outbox).where(outbox.c.step_id == "prep_ahead").values(next_attempt_at=clock.now))
    stats = Dispatcher(services).run_once()
    assert stats.sent == 0 and stats.deferred >= 1
    ahead = next(r for r in rows(services, step_id="prep_ahead") if r["channel"] == "sms")
    assert (
        ahead["status"] == "pending" and ahead["next_attempt_at"].isoformat() == "2027-03-06T13:00:00+00:00"
    )
    assert len(sessions_rows) == len(rows(services, session_id=s["id"]))


def test_prep_is_never_sent_after_the_session_started(services, clock):
    p = enrol(services)
    book(services, p["id"], "2027-03-12T09:00")
    clock.set(clock.now.replace(day=12, hour=15))  # 10:00 EST, the session started an hour ago
    Dispatcher(services).run_once()
    sent_steps = {r["step_id"] for r in rows(services) if r["status"] == "sent"}
    assert not any(step.startswith("prep") for step in sent_steps)


def test_retryable_errors_back_off_then_give_up(sqlite_url, clock):
    failures = [TransportError("503", kind="retryable", code="20503") for _ in range(10)]
    sms = ScriptedTransport("fake-sms", failures)
    app = make_services(sqlite_url, clock, transports={"sms": sms, "email": ScriptedTransport("fake-email")})
    p = enrol(app, email=None, channels=["sms"])
    book(app, p["id"], "2027-03-12T09:00")
    d = Dispatcher(app)
    d.run_once()
    row = rows(app, step_id="booking_confirmation")[0]
    assert row["status"] == "pending" and row["attempts"] == 1
    assert row["next_attempt_at"] > clock.now
    for _ in range(10):
        clock.advance(timedelta(hours=2))
        d.run_once()
    row = rows(app, step_id="booking_confirmation")[0]
    assert row["status"] == "failed" and row["reason"] == "gave-up:retryable:20503"
    assert row["attempts"] == app.config.worker.max_attempts == len(sms.received)


def test_a_permanent_error_fails_at_once(sqlite_url, clock):
    sms = ScriptedTransport("fake-sms", [TransportError("invalid", kind="permanent", code="21211")])
    app = make_services(sqlite_url, clock, transports={"sms": sms, "email": ScriptedTransport("fake-email")})
    p = enrol(app, email=None, channels=["sms"])
    book(app, p["id"], "2027-03-12T09:00")
    Dispatcher(app).run_once()
    row = rows(app, step_id="booking_confirmation")[0]
    assert (row["status"], row["reason"]) == ("failed", "permanent:21211")


def test_an_ambiguous_send_is_never_resent(sqlite_url, clock):
    sms = ScriptedTransport("fake-sms", [TransportError("read timeout", kind="ambiguous", code="timeout")])
    app = make_services(sqlite_url, clock, transports={"sms": sms, "email": ScriptedTransport("fake-email")})
    p = enrol(app, email=None, channels=["sms"])
    book(app, p["id"], "2027-03-12T09:00")
    for _ in range(3):
        Dispatcher(app).run_once()
        clock.advance(timedelta(hours=1))
    assert len(sms.received) == 1
    assert rows(app, step_id="booking_confirmation")[0]["status"] == "unknown"


def test_a_claim_abandoned_before_sending_is_sent_after_recovery(services, clock):
    p = enrol(services)
    book(services, p["id"], "2027-03-12T09:00")
    assert len(Dispatcher(services).claim(100)) == 2  # the worker dies here
    clock.advance(timedelta(seconds=services.config.worker.stale_claim_seconds + 1))
    assert Dispatcher(services).recover_stale() == 2
    Dispatcher(services).run_once()
    assert len(sandbox(services)) == 2


def test_a_worker_that_died_after_sending_does_not_cause_a_resend(services, clock):
    p = enrol(services, email=None, channels=["sms"])
    book(services, p["id"], "2027-03-12T09:00")
    d = Dispatcher(services)
    [row] = d.claim(100)
    with services.engine.begin() as conn:  # what process() does before the send ...
        attempt_id = conn.execute(
            insert(delivery_attempts)
            .values(
                outbox_id=row["id"],
                number=1,
                channel="sms",
                transport="sandbox-sms",
                status="sending",
                created_at=clock.now,
                updated_at=clock.now,
            )
            .returning(delivery_attempts.c.id)
        ).scalar_one()
    from service.transports.base import Outgoing

    SandboxTransport(services.engine, "sms").send(Outgoing(attempt_id, "sms", "+12025550143", "hello"))
    # ... and the worker dies before recording the result.
    clock.advance(timedelta(minutes=10))
    d.recover_stale()
    Dispatcher(services).run_once()
    assert len(sandbox(services)) == 1
    assert rows(services, step_id="booking_confirmation")[0]["status"] == "sent"


def test_when_the_transport_cannot_tell_the_message_is_shown_not_resent(sqlite_url, clock):
    sms = ScriptedTransport("fake-sms", sent=None)
    app = make_services(sqlite_url, clock, transports={"sms": sms, "email": ScriptedTransport("fake-email")})
    p = enrol(app, email=None, channels=["sms"])
    book(app, p["id"], "2027-03-12T09:00")
    [row] = Dispatcher(app).claim(10)
    with app.engine.begin() as conn:
        conn.execute(
            insert(delivery_attempts).values(
                outbox_id=row["id"],
                number=1,
                channel="sms",
                transport="fake-sms",
                status="sending",
                created_at=clock.now,
                updated_at=clock.now,
            )
        )
    clock.advance(timedelta(minutes=10))
    Dispatcher(app).recover_stale()
    Dispatcher(app).run_once()
    assert sms.received == []
    assert rows(app, step_id="booking_confirmation")[0]["status"] == "unknown"


def test_two_dispatchers_at_once_send_each_message_once(services):
    for i in range(20):
        p = enrol(services, external_ref=f"p{i}")
        book(services, p["id"], "2027-03-12T09:00")
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run():
        try:
            barrier.wait()
            d = Dispatcher(services)
            while d.run_once(max_batches=1).claimed:
                pass
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == []
    sent = sandbox(services)
    assert len(sent) == 40
    assert len({m["attempt_id"] for m in sent}) == 40
    with services.engine.connect() as conn:
        per_row = conn.execute(select(delivery_attempts.c.outbox_id)).scalars().all()
    assert len(per_row) == len(set(per_row)) == 40


def test_a_broken_template_fails_that_message_only_and_logs_no_phi(sqlite_url, clock, tmp_path, caplog):
    import shutil

    from tests.helpers import ROOT, make_config

    messages = tmp_path / "messages"
    shutil.copytree(ROOT / "messages", messages)
    (messages / "booking_confirmation" / "en" / "sms.txt").write_text("{{ clinic.name }} {{ session.nope }}")
    app = make_services(sqlite_url, clock, config=make_config(sqlite_url, messages=messages))
    p = enrol(app)
    book(app, p["id"], "2027-03-12T09:00")
    with caplog.at_level(logging.INFO):
        stats = Dispatcher(app).run_once()
    assert stats.failed == 1 and stats.sent == 1  # the email went
    assert rows(app, step_id="booking_confirmation", channel="sms")[0]["reason"] == "template-error"
    formatter = KeyValueFormatter()
    text = "\n".join(formatter.format(r) for r in caplog.records)
    assert "outbox_id=" in text
    for secret in ("+12025550143", "maria@example.org", "Maria", "Lopez", "appointment"):
        assert secret not in text


def test_a_failed_statement_never_carries_patient_data_into_errors(services):
    """Exceptions reach the logs; the engine keeps bound values (phones, bodies) out of them."""
    import pytest as _pytest
    from sqlalchemy.exc import IntegrityError

    from service.db.tables import patients

    p = enrol(services, external_ref="dup")
    with _pytest.raises(IntegrityError) as err, services.engine.begin() as conn:
        conn.execute(
            insert(patients).values(
                id=p["id"],
                clinic_id=1,
                first_name="Maria",
                last_name="Lopez",
                phone="+12025550143",
                timezone="UTC",
                language="en",
                channels=[],
                indications=[],
                schedule="default",
                enrolled_at=services.clock(),
                created_at=services.clock(),
                updated_at=services.clock(),
            )
        )
    assert "+12025550143" not in str(err.value) and "Lopez" not in str(err.value)
