"""The dispatcher's batched and concurrent send paths: exactly once, consent at send time."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from service.db.tables import delivery_attempts, sandbox_messages
from service.services.outbox.dispatch import Dispatcher
from service.transports.base import Outgoing, Pacing, SendResult, TransportError
from tests.helpers import book, enrol, opt_out, rows, sandbox
from tests.helpers import make_services as _make_services

_apps = []


@pytest.fixture(autouse=True)
def _dispose():
    """Each test's engines are closed at its end (the concurrent path opens several connections)."""
    yield
    while _apps:
        _apps.pop().engine.dispose()


def make_services(url, clock, **kwargs):
    app = _make_services(url, clock, **kwargs)
    _apps.append(app)
    return app


def _bookings(app, count):
    """`count` patients, each with a booking confirmation by SMS and by email due now."""
    return [book(app, enrol(app, external_ref=f"b{i}")["id"], "2027-03-12T09:00") for i in range(count)]


def _attempts(app):
    with app.engine.connect() as conn:
        return list(conn.execute(select(delivery_attempts)).mappings())


class WorkerDied(BaseException):
    """The process dies (not an error the dispatcher handles: those fail one message alone)."""


def test_a_crash_while_recording_a_chunk_leaves_no_record_and_recovery_sends_once(db_url, clock):
    app = make_services(db_url, clock)
    _bookings(app, 3)
    calls = []

    def crash(conn, row, now):
        calls.append(row["id"])
        if len(calls) == 1:
            raise WorkerDied("worker died mid-record")

    app.hooks.on_sent.insert(0, crash)
    with pytest.raises(WorkerDied):
        Dispatcher(app).run_once()
    # The chunk's sandbox records, attempts and sent state rolled back together.
    assert sandbox(app) == [] and _attempts(app) == []
    assert {r["status"] for r in rows(app, step_id="booking_confirmation")} == {"sending"}
    clock.advance(timedelta(seconds=app.config.worker.stale_claim_seconds + 1))
    assert Dispatcher(app).recover_stale() == 6
    assert Dispatcher(app).run_once().sent == 6
    sent = sandbox(app)
    assert len(sent) == len({m["attempt_id"] for m in sent}) == 6
    assert len(_attempts(app)) == 6
    assert {r["status"] for r in rows(app, step_id="booking_confirmation")} == {"sent"}


def test_a_recorded_send_has_exactly_one_attempt_in_its_final_state(db_url, clock):
    app = make_services(db_url, clock)
    _bookings(app, 2)
    assert Dispatcher(app).run_once().sent == 4
    attempts = _attempts(app)
    assert {a["status"] for a in attempts} == {"delivered"}
    assert sorted(m["attempt_id"] for m in sandbox(app)) == sorted(a["id"] for a in attempts)
    assert all(r["attempts"] == 1 and r["sent_at"] is not None for r in rows(app, status="sent"))


def test_consent_revoked_between_claim_and_send_stops_the_batched_send(db_url, clock):
    app = make_services(db_url, clock)
    [s] = _bookings(app, 1)
    d = Dispatcher(app)
    claimed = d.claim(100)
    opt_out(app, s["patient_id"], channel="sms")
    stats = d.process(claimed)
    assert stats.sent == 1 and stats.reasons.get("opted-out") == 1
    assert [m["channel"] for m in sandbox(app)] == ["email"]
    assert next(r for r in rows(app) if r["channel"] == "sms")["reason"] == "opted-out"


class ConcurrentTransport:
    """Sends several at once (as the Twilio transport does at a high pace); answers by recipient."""

    def __init__(self, name, answers, concurrency=8):
        self.name = name
        self.pacing = Pacing(chunk_size=1, concurrency=concurrency)
        self.answers = answers
        self.received: list[Outgoing] = []
        self.lock = threading.Lock()
        self.in_flight = self.most_in_flight = 0
        self.release = threading.Event()

    def send(self, message):
        with self.lock:
            self.received.append(message)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self.release.wait(0.05)  # a slow provider: let the others start meanwhile
        with self.lock:
            self.in_flight -= 1
        answer = self.answers.get(message.to)
        if answer is not None:
            raise answer
        return SendResult(provider_id=f"fake-{message.attempt_id}", status="queued")

    def was_sent(self, attempt_id):
        return None


def test_concurrent_sends_record_each_outcome_once(db_url, clock):
    answers = {
        "+12025550001": TransportError("invalid", kind="permanent", code="21211"),
        "+12025550002": TransportError("read timeout", kind="ambiguous", code="timeout"),
    }
    sms = ConcurrentTransport("fake-sms", answers)
    email = ConcurrentTransport("fake-email", {})
    app = make_services(db_url, clock, transports={"sms": sms, "email": email})
    for i in range(12):
        p = enrol(app, external_ref=f"c{i}", phone=f"+1202555{i:04d}", email=None, channels=["sms"])
        book(app, p["id"], "2027-03-12T09:00")
    stats = Dispatcher(app).run_once()
    assert (stats.sent, stats.failed, stats.unknown) == (10, 1, 1)
    assert len(sms.received) == 12 and 1 < sms.most_in_flight <= sms.pacing.concurrency
    by_phone = {m.to: m.outbox_id for m in sms.received}
    status = {r["id"]: (r["status"], r["reason"]) for r in rows(app, step_id="booking_confirmation")}
    assert status[by_phone["+12025550001"]] == ("failed", "permanent:21211")
    assert status[by_phone["+12025550002"]] == ("unknown", "ambiguous:timeout")
    assert sorted(s for s, _ in status.values()).count("sent") == 10
    attempts = _attempts(app)
    assert len(attempts) == len({a["outbox_id"] for a in attempts}) == 12
    assert sorted(a["status"] for a in attempts).count("queued") == 10
    assert Dispatcher(app).run_once().claimed == 0  # nothing is sent again


def test_consent_revoked_between_claim_and_send_stops_a_concurrent_send(db_url, clock):
    sms = ConcurrentTransport("fake-sms", {})
    app = make_services(
        db_url, clock, transports={"sms": sms, "email": ConcurrentTransport("fake-email", {})}
    )
    patients = []
    for i in range(6):
        p = enrol(app, external_ref=f"o{i}", phone=f"+1202555{i:04d}", email=None, channels=["sms"])
        book(app, p["id"], "2027-03-12T09:00")
        patients.append(p["id"])
    d = Dispatcher(app)
    claimed = d.claim(100)
    for pid in patients[:3]:
        opt_out(app, pid, channel="sms")
    stats = d.process(claimed)
    assert stats.sent == 3 and stats.reasons.get("opted-out") == 3
    assert sorted(m.to for m in sms.received) == [f"+1202555{i:04d}" for i in range(3, 6)]


def test_a_claim_takes_the_most_urgent_first_and_never_more_than_asked(db_url, clock):
    app = make_services(db_url, clock)
    _bookings(app, 3)
    d = Dispatcher(app)
    first = d.claim(4)
    assert len(first) == 4
    assert [r["id"] for r in first] == sorted(r["id"] for r in first)
    assert all(r["status"] == "sending" for r in first)
    rest = d.claim(100)
    assert len(rest) == 2 and not {r["id"] for r in first} & {r["id"] for r in rest}
    with app.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(sandbox_messages)).scalar_one() == 0
