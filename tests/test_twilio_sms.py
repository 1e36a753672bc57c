"""SMS through the official Twilio SDK against Twilio's own API spec (Prism): what leaves, how
errors are classified and acted on, the pace per sender, and nothing in the logs but ids."""

from __future__ import annotations

import itertools
import logging
import signal
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from service.db.engine import make_engine
from service.db.tables import consent_events, delivery_attempts, outbox, patients, staff_tasks
from service.domain.segments import segment_info
from service.logs import KeyValueFormatter
from service.services.outbox import dispatch
from service.services.outbox.dispatch import Dispatcher
from service.services.outbox.recovery import recover_stale
from service.transports.rate_limit import SendSlots
from service.transports.twilio_sms import TwilioSmsTransport
from service.web import create_app
from tests.helpers import (
    ROOT,
    TWILIO_TOKEN,
    FakeClock,
    book,
    enrol,
    make_config,
    make_services,
    rows,
    schedules_for_tests,
    start_worker,
)
from tests.prism import ACCOUNT_SID, FROM_NUMBER, PUBLIC_URL, free_port, twilio_settings

pytest_plugins = ["tests.prism"]
PHONE = "+12025550143"
MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"


def twilio_app(url, clock, api_base_url, **settings):
    return make_services(url, clock, config=make_config(url, extra=twilio_settings(api_base_url, **settings)))


def attempts(app):
    with app.engine.connect() as conn:
        return list(conn.execute(select(delivery_attempts).order_by(delivery_attempts.c.id)).mappings())


def sms_only_booking(app):
    p = enrol(app, email=None, channels=["sms"])
    book(app, p["id"], "2027-03-12T09:00")
    return p


def confirmation(app):
    return rows(app, step_id="booking_confirmation")[0]


def test_an_sms_leaves_with_to_body_sender_and_its_status_callback(sqlite_url, clock, twilio_api):
    app = twilio_app(sqlite_url, clock, twilio_api.url)
    assert isinstance(app.transports["sms"], TwilioSmsTransport)
    sms_only_booking(app)
    stats = Dispatcher(app).run_once()
    done = attempts(app)
    assert stats.sent == len(done) == len(twilio_api.messages) >= 1
    for request, attempt in zip(twilio_api.messages, done, strict=True):
        assert request.path == MESSAGES_PATH and request.account == ACCOUNT_SID
        assert request.status == 201  # Prism checked the request against Twilio's spec
        assert request.form["To"] == PHONE
        assert request.form["From"] == FROM_NUMBER and "MessagingServiceSid" not in request.form
        assert request.form["StatusCallback"] == f"{PUBLIC_URL}/twilio/status/{attempt['id']}"
        assert request.form["Body"].startswith("Interlude Demo:") and "{" not in request.form["Body"]
        assert (attempt["transport"], attempt["status"]) == ("twilio", "queued")
        assert attempt["provider_id"].startswith("SM")
    body = next(r.form["Body"] for r in twilio_api.messages if "booked" in r.form["Body"])
    assert "Friday, March 12 at 9:00 AM" in body
    assert confirmation(app)["status"] == "sent"


def test_a_messaging_service_sends_in_place_of_a_number(sqlite_url, clock, twilio_api):
    service = "MG" + "fedcba9876543210" * 2
    app = twilio_app(sqlite_url, clock, twilio_api.url, service_sid=service)
    sms_only_booking(app)
    Dispatcher(app).run_once()
    assert twilio_api.messages
    for request in twilio_api.messages:
        assert request.status == 201
        assert request.form["MessagingServiceSid"] == service and "From" not in request.form


def test_what_twilio_would_refuse_the_peer_refuses_too(sqlite_url, clock, twilio_api):
    """Prism validates against the spec: a malformed AccountSid never passes as a success."""
    config = make_config(sqlite_url, extra=twilio_settings(twilio_api.url).replace(ACCOUNT_SID, "AC1234"))
    app = make_services(sqlite_url, clock, config=config)
    sms_only_booking(app)
    Dispatcher(app).run_once()
    assert twilio_api.messages[0].status == 400
    assert (confirmation(app)["status"], confirmation(app)["reason"]) == ("failed", "permanent:400")


@pytest.mark.parametrize(
    ("prefer", "status", "reason"),
    [
        ("code=400, example=unsubscribed", "failed", "permanent:21610"),
        ("code=400, example=invalidTo", "failed", "permanent:21211"),
        ("code=401", "failed", "permanent:20003"),
        ("code=429", "pending", "retryable:20429"),
        ("code=500", "pending", "retryable:20500"),
        ("code=503", "pending", "retryable:20503"),
    ],
)
def test_twilio_errors_are_classified_by_their_code(sqlite_url, clock, twilio_api, prefer, status, reason):
    twilio_api.prefer = prefer
    app = twilio_app(sqlite_url, clock, twilio_api.url)
    sms_only_booking(app)
    Dispatcher(app).run_once()
    row = confirmation(app)
    assert (row["status"], row["reason"], row["attempts"]) == (status, reason, 1)
    if status == "pending":
        assert row["next_attempt_at"] > clock.now  # persisted backoff, not an immediate resend


def test_an_opted_out_number_gets_a_provider_consent_event_and_no_more_sms(sqlite_url, clock, twilio_api):
    twilio_api.prefer = "code=400, example=unsubscribed"
    app = twilio_app(sqlite_url, clock, twilio_api.url)
    p = sms_only_booking(app)
    Dispatcher(app).run_once()
    with app.engine.connect() as conn:
        events = list(
            conn.execute(select(consent_events).where(consent_events.c.source == "provider")).mappings()
        )
    assert [(e["patient_id"], e["channel"], e["action"]) for e in events] == [(p["id"], "sms", "opt_out")]
    tried = len(twilio_api.messages)
    twilio_api.prefer = None
    book(app, p["id"], "2027-03-19T09:00")
    Dispatcher(app).run_once()
    assert len(twilio_api.messages) == tried  # the ledger stops every later SMS before Twilio sees it


def test_an_unusable_number_is_marked_and_shown_to_staff(sqlite_url, clock, twilio_api):
    twilio_api.prefer = "code=400, example=invalidTo"
    app = twilio_app(sqlite_url, clock, twilio_api.url)
    p = sms_only_booking(app)
    Dispatcher(app).run_once()
    with app.engine.connect() as conn:
        patient = conn.execute(select(patients).where(patients.c.id == p["id"])).mappings().one()
        tasks = list(conn.execute(select(staff_tasks)).mappings())
    assert (patient["sms_status"], patient["sms_status_reason"]) == ("unusable", "twilio-21211")
    assert [(t["kind"], t["patient_id"], t["state"]) for t in tasks] == [("sms-unusable", p["id"], "open")]


def test_a_retryable_error_is_retried_after_its_backoff_and_then_sent(sqlite_url, clock, twilio_api):
    twilio_api.prefer = "code=503"
    app = twilio_app(sqlite_url, clock, twilio_api.url)
    sms_only_booking(app)
    d = Dispatcher(app)
    d.run_once()
    twilio_api.prefer = None
    d.run_once()
    assert confirmation(app)["status"] == "pending"  # not before its time
    clock.advance(timedelta(hours=1))
    d.run_once()
    row = confirmation(app)
    assert (row["status"], row["attempts"]) == ("sent", 2)
    mine = [a["status"] for a in attempts(app) if a["outbox_id"] == row["id"]]
    assert mine == ["error", "queued"]


def test_a_refused_connection_is_retried_never_lost(sqlite_url, clock):
    app = twilio_app(sqlite_url, clock, f"http://127.0.0.1:{free_port()}")
    sms_only_booking(app)
    Dispatcher(app).run_once()
    row = confirmation(app)
    assert (row["status"], row["reason"]) == ("pending", "retryable:connection-refused")
    assert row["next_attempt_at"] > clock.now


def test_a_read_timeout_after_the_request_left_is_never_resent_and_its_callback_settles_it(
    sqlite_url, clock, twilio_api
):
    twilio_api.delay = 1.5  # Prism created the message; its answer comes after the client gave up
    app = twilio_app(sqlite_url, clock, twilio_api.url, timeout=0.5)
    sms_only_booking(app)
    d = Dispatcher(app)
    d.run_once()
    row = confirmation(app)
    assert (row["status"], row["reason"]) == ("unknown", "ambiguous:timeout")
    sent_to_twilio = len(twilio_api.messages)
    assert twilio_api.messages[-1].status == 201
    twilio_api.delay = 0
    for _ in range(3):
        clock.advance(timedelta(hours=1))
        d.run_once()
        recover_stale(app)
    assert len(twilio_api.messages) == sent_to_twilio  # never resent blindly
    attempt = next(a for a in attempts(app) if a["outbox_id"] == row["id"])
    params = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "delivered", "AccountSid": ACCOUNT_SID}
    client = create_app(services=app).test_client()
    r = client.post(f"/twilio/status/{attempt['id']}", data=params, headers=_signed(attempt["id"], params))
    assert r.status_code == 200
    assert confirmation(app)["status"] == "sent"


def _signed(attempt_id, params):
    from twilio.request_validator import RequestValidator

    url = f"{PUBLIC_URL}/twilio/status/{attempt_id}"
    return {"X-Twilio-Signature": RequestValidator(TWILIO_TOKEN).compute_signature(url, params)}


def test_a_connection_dropped_after_the_request_is_ambiguous(sqlite_url, clock, twilio_api):
    twilio_api.drop = True
    app = twilio_app(sqlite_url, clock, twilio_api.url)
    sms_only_booking(app)
    Dispatcher(app).run_once()
    assert (confirmation(app)["status"], confirmation(app)["reason"]) == (
        "unknown",
        "ambiguous:connection-lost",
    )


@pytest.mark.parametrize(("prefer", "outcome"), [(None, "sent"), ("code=404", "pending")])
def test_recovery_looks_a_message_up_by_its_sid(sqlite_url, clock, twilio_api, prefer, outcome):
    """A worker died after a report named the message's sid but before recording the send."""
    app = twilio_app(sqlite_url, clock, twilio_api.url)
    sms_only_booking(app)
    d = Dispatcher(app)
    claimed = d.claim(1)
    now = clock.now
    with app.engine.begin() as conn:
        conn.execute(
            insert(delivery_attempts).values(
                outbox_id=claimed[0]["id"],
                number=1,
                channel="sms",
                transport="twilio",
                status="sending",
                provider_id="SM" + "a" * 32,
                created_at=now,
                updated_at=now,
            )
        )
    twilio_api.prefer = prefer
    clock.advance(timedelta(hours=1))
    assert recover_stale(app) == 1
    assert twilio_api.seen[-1].method == "GET" and twilio_api.seen[-1].path.endswith(
        f"/{'SM' + 'a' * 32}.json"
    )
    with app.engine.connect() as conn:
        row = conn.execute(select(outbox).where(outbox.c.id == claimed[0]["id"])).mappings().one()
    assert row["status"] == outcome


def test_no_number_or_body_reaches_the_logs(sqlite_url, clock, twilio_api, caplog):
    caplog.set_level(logging.DEBUG)
    app = twilio_app(sqlite_url, clock, twilio_api.url)
    sms_only_booking(app)
    twilio_api.prefer = "code=400, example=invalidTo"
    Dispatcher(app).run_once()
    twilio_api.prefer = None
    p = enrol(app, email=None, channels=["sms"], phone="+12025550177", external_ref="second")
    book(app, p["id"], "2027-03-12T10:00")
    Dispatcher(app).run_once()
    assert any(r.status == 201 for r in twilio_api.messages)
    text = "\n".join(KeyValueFormatter().format(r) for r in caplog.records)
    assert "sent" in text and "code=21211" in text
    bodies = [m.form["Body"] for m in twilio_api.messages]
    for secret in ["2025550143", "2025550177", "555-0143", *bodies, TWILIO_TOKEN]:
        assert secret not in text


# --- the sender's pace --------------------------------------------------------------------------


def _due_sms(app, count, *, category="admin", first=1000):
    """`count` SMS due now, each to a patient of its own (+1202555<first + i>)."""
    now = app.clock()
    for i in range(count):
        phone = f"+1202555{first + i:04d}"
        p = enrol(app, email=None, channels=["sms"], phone=phone, external_ref=phone)
        with app.engine.begin() as conn:
            conn.execute(
                insert(outbox).values(
                    dedupe_key=f"load:{category}:{i}",
                    patient_id=p["id"],
                    schedule="default",
                    step_id=f"load_{category}",
                    template="integration_note",
                    channel="sms",
                    category=category,
                    priority={"safety": 0, "education": 3}.get(category, 2),
                    occurrence=0,
                    due_at=now,
                    next_attempt_at=now,
                    status="pending",
                    attempts=0,
                    created_at=now,
                    updated_at=now,
                )
            )


def _always_open(extra):
    return extra + '\n[clinic]\nquiet_hours_start = "00:00"\nquiet_hours_end = "23:59"\n'


def _assert_paced(messages, rate, jitter=0.05):
    """Each message waited for the previous one's segments. Slots are reserved back to back, so
    the run is never faster than the pace by more than one request's arrival jitter, nor is
    any pair (`jitter`: the time between a slot and its request reaching the
    peer, larger when several sender threads in several processes share two cores)."""
    costs = [segment_info(m.form["Body"]).segments / rate for m in messages]
    for before, after, cost in zip(messages, messages[1:], costs, strict=False):
        assert after.at - before.at >= cost - jitter
    assert messages[-1].at - messages[0].at >= sum(costs[:-1]) - jitter


def test_one_sender_is_never_faster_than_its_max_per_second(sqlite_url, clock, twilio_api):
    rate = 8.0
    config = make_config(sqlite_url, extra=_always_open(twilio_settings(twilio_api.url, rate=rate)))
    app = make_services(sqlite_url, clock, config=config)
    _due_sms(app, 10)
    started = time.monotonic()
    assert Dispatcher(app).run_once().sent == 10
    took = time.monotonic() - started
    _assert_paced(twilio_api.messages, rate)
    assert took >= 9 / rate


def test_a_paced_sender_claims_seconds_of_work_not_a_whole_batch(sqlite_url, clock, twilio_api):
    rate = 10.0
    config = make_config(sqlite_url, extra=_always_open(twilio_settings(twilio_api.url, rate=rate)))
    app = make_services(sqlite_url, clock, config=config)
    assert app.transports["sms"].pacing.max_per_second == rate
    assert Dispatcher(app)._claim_limit() == rate * dispatch.CLAIM_SECONDS == 20 < config.worker.batch_size


def test_a_backlog_lets_a_safety_message_through_within_a_claim(sqlite_url, clock, twilio_api, monkeypatch):
    config = make_config(sqlite_url, extra=_always_open(twilio_settings(twilio_api.url, rate=20.0)))
    app = make_services(sqlite_url, clock, config=config)
    # Claims of 3 keep this test short; the rule is the same.
    monkeypatch.setattr(dispatch, "CLAIM_SECONDS", 3 / 20)
    _due_sms(app, 20, category="education")
    worker = threading.Thread(target=Dispatcher(app).run_once)
    worker.start()
    while len(twilio_api.messages) < 2:
        time.sleep(0.005)
    _due_sms(app, 1, category="safety", first=9999)
    sent_before = len(twilio_api.messages)
    worker.join(timeout=30)
    order = [m.form["To"] for m in twilio_api.messages]
    assert len(order) == 21
    # Taken by a next claim (most urgent first), not after the 20 already due: at most the claim
    # being sent and the rest of the next one go before it.
    assert order.index("+12025559999") < sent_before + 2 * 3 < 20


def test_safety_goes_before_education_already_due(sqlite_url, clock, twilio_api, monkeypatch):
    config = make_config(sqlite_url, extra=_always_open(twilio_settings(twilio_api.url, rate=50.0)))
    app = make_services(sqlite_url, clock, config=config)
    monkeypatch.setattr(dispatch, "CLAIM_SECONDS", 2 / 50)  # claims of 2
    _due_sms(app, 5, category="education")
    _due_sms(app, 2, category="safety", first=2000)
    Dispatcher(app).run_once()
    order = [m.form["To"] for m in twilio_api.messages]
    assert order[:2] == ["+12025552000", "+12025552001"] and len(order) == 7


def test_two_worker_processes_share_one_senders_pace(tmp_path, twilio_api):
    """Two `interlude worker` processes, one sender: together they keep its pace (send_slots)."""
    url = f"sqlite:///{tmp_path / 'interlude.db'}"
    rate = 8.0
    extra = (
        _always_open(twilio_settings(twilio_api.url, rate=rate))
        + "[worker]\ntick_seconds = 0.2\nbatch_size = 2\n"
    )
    # Due a few seconds from now, so that both workers are up and polling when the rows fall due.
    app = make_services(
        url, FakeClock(datetime.now(UTC) + timedelta(seconds=3)), config=make_config(url, extra=extra)
    )
    _due_sms(app, 8)
    app.engine.dispose()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n[schedules]\ndir = "{schedules_for_tests()}"\n'
        f'[messages]\ndir = "{ROOT / "messages"}"\n{extra}'
        # Real transports refuse to start with nobody on call.
        '[[escalation.on_call]]\nname = "On call"\nphone = "+12025550181"\n'
    )
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    env = {"INTERLUDE_TWILIO_AUTH_TOKEN": TWILIO_TOKEN}
    procs, handles = zip(*(start_worker(config, log, env) for log in logs), strict=True)
    try:
        deadline = time.monotonic() + 60
        while (
            len(twilio_api.messages) < 8
            and time.monotonic() < deadline
            and all(p.poll() is None for p in procs)
        ):
            time.sleep(0.2)
        time.sleep(0.5)
    finally:
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            p.wait(timeout=30)
        for h in handles:
            h.close()
    out = [log.read_text() for log in logs]
    messages = twilio_api.messages
    assert sorted(m.form["To"] for m in messages) == [f"+1202555{1000 + i}" for i in range(8)], out
    assert all(m.status == 201 for m in messages)
    # Two processes with two sends in flight each: a request may reach the peer up to 100 ms
    # after its slot starts; the run as a whole still keeps the pace exactly.
    _assert_paced(messages, rate, jitter=0.1)
    sent_by = [o.count("INFO interlude.dispatch sent ") for o in out]
    assert sum(sent_by) == 8 and all(sent_by), sent_by  # both workers sent, at one shared pace
    # No phone number in the logs, in any spelling (a bare "555" would match a log line's
    # milliseconds).
    numbers = [f"555{1000 + i}" for i in range(8)] + [f"555-{1000 + i}" for i in range(8)]
    for o in out:
        assert "Traceback" not in o, o
        assert not [n for n in numbers if n in o], o


def test_send_slots_never_overlap_across_processes(db_url, clock):
    """Four limiters with engines of their own (as four processes have) reserve one shared pace."""
    make_services(db_url, clock).engine.dispose()  # the schema
    rate, each = 200.0, 10
    engines = [make_engine(db_url) for _ in range(4)]
    starts: list[float] = []

    def reserve(engine):
        slots = SendSlots(engine, "twilio:+12025550100", rate)
        for _ in range(each):
            starts.append(slots.reserve(1))

    threads = [threading.Thread(target=reserve, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in engines:
        e.dispose()
    starts.sort()
    assert len(starts) == 4 * each
    assert all(b - a >= 1 / rate - 1e-6 for a, b in itertools.pairwise(starts))
