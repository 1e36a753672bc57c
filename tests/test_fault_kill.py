"""Fault suite: `interlude worker` killed with SIGKILL at a random point of a batch, then a new
worker started, once with a slow SMTP relay and once with a slow Twilio peer. Nothing is lost,
nothing is sent twice, and each message in flight at the kill is reconciled: its open attempt is
closed by recovery and the message is never resent.

An SMTP relay cannot be asked afterwards whether it took a message, so that one ends "unknown",
shown to staff. Twilio could be asked by the message's sid, but a send's sid is recorded in the
transaction that closes its attempt: an attempt still open at a kill never has one, so recovery
cannot tell either, and the message ends "unknown" too. What reconciles it is Twilio's status
callback, which names the attempt and carries the sid: Prism sends none, so the test posts them,
signed, to the real webhook, for exactly the requests that reached the peer.

PostgreSQL (several worker processes share it), and Prism for Twilio; skipped without them,
unless INTERLUDE_REQUIRE_PEERS=1.
"""

from __future__ import annotations

import json
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine, func, select
from twilio.request_validator import RequestValidator

from service.db.engine import make_engine
from service.db.tables import delivery_attempts, outbox
from service.web import create_app
from tests.helpers import (
    TWILIO_TOKEN,
    FakeClock,
    make_config,
    make_services,
    start_worker,
)
from tests.prism import SPEC, Seen, TwilioTap, twilio_settings
from tests.smtp_peer import attempt_ids, smtp_server
from tests.worker_helpers import (
    LEASE_SECONDS,
    MESSAGES,
    RELAY_SECONDS,
    WORKER_ENV,
    queue_due,
    smtp_on_call,
    until,
    worker_config,
)

pytest_plugins = ["tests.prism"]

SMS = 24
TWILIO_SECONDS = 0.3  # the tap holds each of Prism's answers this long: a slow Twilio
SMS_RATE = 20.0  # messages per second: five sends in flight at once (twilio_sms.IN_FLIGHT_SECONDS)


def _twilio_peer(url: str) -> str:
    # Real transports refuse to start with nobody on call.
    return '[[escalation.on_call]]\nname = "On call"\nphone = "+12025550181"\n' + twilio_settings(
        url, rate=SMS_RATE, timeout=1.0
    )


@dataclass
class Run:
    """What a kill left behind, and how long the whole run took."""

    in_flight: set[int]  # outbox ids whose attempt was open (sending) at the kill
    open_attempts: set[int]  # those attempts' ids
    attempts_at_kill: set[int]  # every attempt written before the kill
    at_kill: dict[str, int]  # outbox statuses at the kill
    killed_at: float
    took: float


def _kill_then_settle(
    config: Path, engine: Engine, tmp_path: Path, reached: Callable[[], int], kill_after: int, pause: float
) -> Run:
    """Start a worker, SIGKILL it `pause` s after the peer has seen `kill_after` messages, then
    run a second worker until nothing is pending or sending, and stop it with SIGINT."""
    started = time.monotonic()
    first, first_log = start_worker(config, tmp_path / "first.log", WORKER_ENV)
    try:
        until(lambda: reached() >= kill_after, 30, first, tmp_path / "first.log")
        time.sleep(pause)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
        first_log.close()
    killed_at = time.monotonic() - started
    with engine.connect() as conn:
        attempts = conn.execute(
            select(delivery_attempts.c.id, delivery_attempts.c.outbox_id, delivery_attempts.c.status)
        ).all()
        at_kill = dict(conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status)).all())
    assert at_kill.get("sending", 0) > 0, at_kill  # the kill landed mid-batch

    def settled() -> bool:
        with engine.connect() as conn:
            return not conn.execute(
                select(func.count()).select_from(outbox).where(outbox.c.status.in_(["pending", "sending"]))
            ).scalar_one()

    second, second_log = start_worker(config, tmp_path / "second.log", WORKER_ENV)
    try:
        until(settled, LEASE_SECONDS + 20, second, tmp_path / "second.log")
    finally:
        second.send_signal(signal.SIGINT)
        try:
            second.wait(timeout=20)
        finally:
            if second.poll() is None:
                second.kill()
            second_log.close()
    return Run(
        in_flight={o for _, o, s in attempts if s == "sending"},
        open_attempts={a for a, _, s in attempts if s == "sending"},
        attempts_at_kill={a for a, _, _ in attempts},
        at_kill=at_kill,
        killed_at=killed_at,
        took=time.monotonic() - started,
    )


def _final(engine: Engine) -> tuple[dict[int, str], list[Any]]:
    with engine.connect() as conn:
        final = dict(conn.execute(select(outbox.c.id, outbox.c.status)).all())
        attempts = list(conn.execute(select(delivery_attempts)).mappings())
    return final, attempts


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(pg_url, tmp_path, seed):
    rng = random.Random(seed)
    kill_after = rng.randint(1, MESSAGES - 5)  # messages the relay has taken when the kill comes
    # Right after a delivery (its result may not be recorded yet), or anywhere in the next send.
    pause = 0.0 if seed == 1 else rng.uniform(0, RELAY_SECONDS * 1.5)
    ids = queue_due(pg_url, "email", MESSAGES)
    engine = make_engine(pg_url)
    with smtp_server() as (mailbox, port):
        mailbox.data_delay = RELAY_SECONDS
        config = worker_config(tmp_path, pg_url, smtp_on_call(port))
        run = _kill_then_settle(config, engine, tmp_path, lambda: len(mailbox.received), kill_after, pause)
        final, attempts = _final(engine)
    engine.dispose()
    in_flight = run.in_flight
    owner = {a["id"]: a["outbox_id"] for a in attempts}
    delivered = Counter(owner[a] for a in attempt_ids(mailbox))
    errors = (tmp_path / "second.log").read_text()
    print(
        f"\nseed {seed}: killed after {kill_after} deliveries at {run.killed_at:.1f} s, "
        f"in flight {len(in_flight)}, "
        f"statuses at kill {run.at_kill}, all settled at {run.took:.1f} s, final {Counter(final.values())}, "
        f"in flight delivered {sum(delivered[i] for i in in_flight)}"
    )
    # Nothing lost: every message ends sent, or unknown when it was the one in flight.
    assert set(final) == set(ids)
    unknown = {i for i, s in final.items() if s == "unknown"}
    assert set(final.values()) <= {"sent", "unknown"} and unknown <= in_flight
    assert len(in_flight) <= 1  # SMTP sends one at a time: at most one was in flight
    # Nothing twice: each message reached the relay at most once, every sent one exactly once.
    assert max(delivered.values()) == 1
    assert {i for i, s in final.items() if s == "sent"} <= set(delivered)
    # Reconciled: no attempt is left open; the one in flight ends "ambiguous" (worker-died),
    # unless recovery found it was never opened for a send.
    assert not [a for a in attempts if a["status"] == "sending"]
    for a in attempts:
        if a["outbox_id"] in unknown:
            assert (a["status"], a["error_class"]) == ("ambiguous", "worker-died")
    assert Counter(a["outbox_id"] for a in attempts).most_common(1)[0][1] == 1  # never a second attempt
    assert "Traceback" not in errors, errors


def _example_sid() -> str:
    """The sid Prism answers every Create Message with: the spec's example."""
    spec = json.loads(SPEC.read_text())
    create = spec["paths"]["/2010-04-01/Accounts/{AccountSid}/Messages.json"]["post"]
    return str(
        create["responses"]["201"]["content"]["application/json"]["examples"]["create"]["value"]["sid"]
    )


def _attempt_of(request: Seen) -> int:
    """The attempt a Create Message request was for: its StatusCallback URL ends with the id."""
    return int(request.form["StatusCallback"].rsplit("/", 1)[1])


def _report_delivered(db_url: str, tap: TwilioTap) -> None:
    """Play Twilio's status callbacks: "delivered", with the sid it answered, for each Create
    Message request that reached it, signed and posted to the URL the request named."""
    config = make_config(db_url, extra=twilio_settings(tap.url))
    app = make_services(db_url, FakeClock(datetime.now(UTC)), config=config)
    client = create_app(services=app).test_client()
    sid = _example_sid()
    for request in tap.messages:
        url = request.form["StatusCallback"]
        params = {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": request.account}
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
        answer = client.post(urlsplit(url).path, data=params, headers={"X-Twilio-Signature": signature})
        assert answer.status_code == 200
    app.engine.dispose()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_worker_killed_mid_batch_of_slow_twilio_sends_loses_nothing_and_resends_nothing(
    pg_url, tmp_path, twilio_api: TwilioTap, seed
):
    rng = random.Random(seed)
    kill_after = rng.randint(1, SMS - 8)  # Create Message requests Twilio has seen when the kill comes
    # Right as a request reaches Twilio, or anywhere while its answer (and the next ones) are held.
    pause = 0.0 if seed == 1 else rng.uniform(0, TWILIO_SECONDS)
    # The recording tap in front of Prism holds each answer: Prism itself still decides it.
    twilio_api.delay = TWILIO_SECONDS
    ids = queue_due(pg_url, "sms", SMS)
    engine = make_engine(pg_url)
    config = worker_config(tmp_path, pg_url, _twilio_peer(twilio_api.url))
    run = _kill_then_settle(config, engine, tmp_path, lambda: len(twilio_api.messages), kill_after, pause)
    final, attempts = _final(engine)
    requests = twilio_api.messages
    by_id = {a["id"]: a for a in attempts}
    reached = Counter(by_id[_attempt_of(r)]["outbox_id"] for r in requests)
    unknown = {i for i, s in final.items() if s == "unknown"}
    errors = (tmp_path / "second.log").read_text()
    print(
        f"\nseed {seed}: killed after {kill_after} requests at {run.killed_at:.1f} s, "
        f"in flight {len(run.in_flight)} (of which reached Twilio {sum(reached[i] for i in run.in_flight)}), "
        f"statuses at kill {run.at_kill}, all settled at {run.took:.1f} s, final {Counter(final.values())}, "
        f"Create Message requests {len(requests)}, lookups {sum(r.method == 'GET' for r in twilio_api.seen)}"
    )
    # Nothing lost: every message ends sent, or unknown when it was in flight at the kill.
    assert set(final) == set(ids)
    assert set(final.values()) <= {"sent", "unknown"}, Counter(final.values())
    # At most once more than what was in flight reached Twilio; in fact nothing was sent twice:
    # every request Prism accepted names an attempt of its own, one per message.
    assert len(requests) <= SMS + len(run.in_flight)
    assert all(r.status == 201 for r in requests), [r.status for r in requests]
    assert max(reached.values()) == 1, reached.most_common(3)
    assert Counter(a["outbox_id"] for a in attempts).most_common(1)[0][1] == 1  # never a second attempt
    # The second worker sent none of the messages the first had an attempt for.
    first_tried = {by_id[a]["outbox_id"] for a in run.attempts_at_kill}
    assert not {a["outbox_id"] for a in attempts if a["id"] not in run.attempts_at_kill} & first_tried
    # Every sent message reached Twilio, and its attempt holds the sid Twilio answered with.
    sent = {i for i, s in final.items() if s == "sent"}
    assert sent <= set(reached)
    sid = _example_sid()
    for a in attempts:
        if final[a["outbox_id"]] == "sent":
            assert (a["status"], a["provider_id"]) == ("queued", sid), dict(a)
    # Reconciled: the attempts open at the kill had no sid to look up, so recovery closed each
    # as "ambiguous" (worker-died) and its message as "unknown", shown to staff, never resent;
    # nothing else ended unknown.
    assert unknown == run.in_flight
    for a in attempts:
        if a["id"] in run.open_attempts:
            assert (a["status"], a["error_class"], a["provider_id"]) == ("ambiguous", "worker-died", None)
    assert not [a for a in attempts if a["status"] == "sending"]
    assert "Traceback" not in errors, errors
    # Reconciled by provider id: Twilio's reports (naming the attempt, carrying the sid) settle
    # each message that reached it as sent, those left unknown included; only a message whose
    # request never left stays unknown.
    _report_delivered(pg_url, twilio_api)
    final, attempts = _final(engine)
    engine.dispose()
    assert {i for i, s in final.items() if s == "unknown"} == run.in_flight - set(reached)
    assert {i for i, s in final.items() if s == "sent"} == set(reached)
    for a in attempts:
        if a["outbox_id"] in reached:
            assert (a["status"], a["provider_id"]) == ("delivered", sid), dict(a)
