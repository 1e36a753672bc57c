"""Claims are leases: a slow relay never makes a live worker's batch look dead, a send checks that
its claim is still its own, and a message our own code cannot handle fails alone."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select, update

from service.config import ConfigError
from service.db.tables import delivery_attempts, outbox, patients, staff_tasks
from service.services.outbox.dispatch import Dispatcher
from service.transports.base import Outgoing, Pacing, SendResult, TransportError
from service.transports.smtp_email import SmtpEmailTransport
from tests.helpers import due_note, enrol, make_config, make_services, rows, sandbox
from tests.smtp_peer import attempt_ids, smtp_server, smtp_settings

SECRET = "f3a9c0d17b2e4c58a6d9e1b07c3f52a8"
ENV = {"INTERLUDE_SECRET_KEY": SECRET}


def queue(app, patient_ids, count, channel="email", prefix="m"):
    """`count` admin notes due now, spread over `patient_ids`; returns their outbox ids."""
    now = app.clock()
    values = [
        due_note(f"{prefix}:{i}", patient_ids[i % len(patient_ids)], channel, now, "lease_test")
        for i in range(count)
    ]
    with app.engine.begin() as conn:
        conn.execute(insert(outbox), values)
        return list(
            conn.execute(select(outbox.c.id).where(outbox.c.dedupe_key.like(f"{prefix}:%"))).scalars()
        )


def delivered_per_message(app, mailbox):
    """How many times the relay received each outbox message (by the attempt its Message-ID names)."""
    with app.engine.connect() as conn:
        owner = dict(conn.execute(select(delivery_attempts.c.id, delivery_attempts.c.outbox_id)).all())
    return Counter(owner[a] for a in attempt_ids(mailbox))


def statuses(app):
    with app.engine.connect() as conn:
        return dict(
            conn.execute(
                select(outbox.c.status, func.count())
                .where(outbox.c.step_id == "lease_test")
                .group_by(outbox.c.status)
            ).all()
        )


# --- the case: a relay taking 2 s per message --------------------------------------------


@pytest.mark.parametrize("second_worker", [False, True], ids=["recovery-alongside", "second-worker"])
def test_a_relay_taking_2_s_per_message_delivers_each_of_200_emails_once_and_none_is_unknown(
    db_url, clock, second_worker
):
    """200 emails through a relay that takes 2 s each: 400 s, more than six 60 s leases.

    The relay moves the services' clock by 2 s per message (the time such a relay takes), so the
    batch outlasts its lease many times over in a few seconds of real time. Meanwhile recovery
    runs in a loop (as a worker's recovery job does), and, in one variant, a second worker too."""
    with smtp_server() as (mailbox, port):
        mailbox.on_data = lambda: clock.advance(timedelta(seconds=2))
        extra = smtp_settings(port, timeout=15) + "[worker]\nstale_claim_seconds = 60\nbatch_size = 200\n"
        app = make_services(db_url, clock, config=make_config(db_url, extra=extra, env=ENV))
        people = [enrol(app, external_ref=f"r{i}", email=f"r{i}@example.org")["id"] for i in range(20)]
        ids = queue(app, people, 200)
        started, done = clock.now, threading.Event()
        other = Dispatcher(app, worker_id="other")
        recoveries: list[int] = []
        errors: list[BaseException] = []

        def alongside():
            try:
                while not done.is_set():
                    recoveries.append(other.recover_stale())
                    if second_worker:
                        other.run_once(max_batches=1)
                    time.sleep(0.002)
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        wall = time.monotonic()
        worker = Dispatcher(app, worker_id="first")
        claimed = worker.claim(200)  # one batch, claimed at once
        thread = threading.Thread(target=alongside)
        thread.start()
        try:
            first = worker.process(claimed)
        finally:
            done.set()
            thread.join()
        wall = time.monotonic() - wall
        assert errors == []
        assert first.claimed == 200
        assert clock.now - started >= timedelta(seconds=400)  # 6.7 leases of 60 s
        Dispatcher(app).run_once()  # anything put back by recovery would be sent (again) now
        per_message = delivered_per_message(app, mailbox)
    assert statuses(app) == {"sent": 200}
    assert sorted(per_message) == sorted(ids) and set(per_message.values()) == {1}
    assert len(recoveries) > 10 and sum(recoveries) == 0  # recovery ran all along, and took nothing
    with app.engine.connect() as conn:
        attempts = conn.execute(select(delivery_attempts.c.status)).scalars().all()
    assert len(attempts) == 200 and set(attempts) == {"sent"}
    print(f"\n200 emails at 2 s each (app time): {wall:.1f} s wall, first worker sent {first.sent}")
    app.engine.dispose()


# --- leases ---------------------------------------------------------------------------------


def test_a_claim_is_a_lease_with_a_token_of_its_worker_and_an_expiry(services, clock):
    people = [enrol(services)["id"]]
    queue(services, people, 3)
    claimed = Dispatcher(services, worker_id="w1").claim(10)
    lease = timedelta(seconds=services.config.worker.stale_claim_seconds)
    assert len(claimed) == 3
    assert {r["lease_until"] for r in claimed} == {clock.now + lease}
    [token] = {r["claim_token"] for r in claimed}
    assert token.startswith("w1-")
    assert Dispatcher(services, worker_id="w1").claim(10) == []  # held: nobody takes them again
    again = Dispatcher(services, worker_id="w1")
    queue(services, people, 1, prefix="n")
    assert {r["claim_token"] for r in again.claim(10)} != {token}  # a token per claim


def test_recovery_takes_only_an_expired_lease(services, clock):
    queue(services, [enrol(services)["id"]], 2)
    Dispatcher(services).claim(10)
    lease = services.config.worker.stale_claim_seconds
    clock.advance(timedelta(seconds=lease - 1))
    assert Dispatcher(services).recover_stale() == 0
    clock.advance(timedelta(seconds=2))
    assert Dispatcher(services).recover_stale() == 2
    assert statuses(services) == {"pending": 2}


def test_a_worker_whose_lease_was_taken_over_sends_nothing_of_it(services, clock):
    """The first worker stalls past its lease; recovery puts its claim back and a second worker
    sends it. When the first wakes up, its claim is no longer its own: it sends nothing."""
    queue(services, [enrol(services)["id"]], 4)
    slow, fast = Dispatcher(services, worker_id="slow"), Dispatcher(services, worker_id="fast")
    stalled = slow.claim(10)
    clock.advance(timedelta(seconds=services.config.worker.stale_claim_seconds + 1))
    assert fast.run_once().sent == 4  # recovers the expired lease first, then claims and sends
    late = slow.process(stalled)
    assert late.sent == 0 and late.reasons == {"claim-lost": 4}
    assert len(sandbox(services)) == 4
    assert statuses(services) == {"sent": 4}


def test_a_lease_is_extended_while_the_batch_is_sent(sqlite_url, clock):
    """Each send moves the clock past a third of the lease: the rows still waiting are extended
    and no recovery in between takes any of them."""
    recovered: list[int] = []
    app = None

    class Slow:
        name = "slow"
        pacing = Pacing(chunk_size=1)

        def __init__(self):
            self.received = []

        def send(self, message):
            self.received.append(message.outbox_id)
            clock.advance(timedelta(seconds=40))
            recovered.append(Dispatcher(app).recover_stale())
            return SendResult(f"slow-{message.attempt_id}", "sent")

        def was_sent(self, attempt_id):
            return None

    email = Slow()
    config = make_config(sqlite_url, extra="[worker]\nstale_claim_seconds = 100\n")
    app = make_services(sqlite_url, clock, config=config, transports={"sms": Slow(), "email": email})
    ids = queue(app, [enrol(app)["id"]], 10)
    stats = Dispatcher(app).run_once()
    assert stats.sent == 10 and sum(recovered) == 0 and len(recovered) == 10
    assert sorted(email.received) == sorted(ids)


def test_a_lease_shorter_than_three_transport_timeouts_is_refused_with_the_key(sqlite_url):
    extra = smtp_settings(2525, timeout=15) + "[worker]\nstale_claim_seconds = 30\n"
    with pytest.raises(ConfigError, match=r"smtp\.timeout_seconds.*worker\.stale_claim_seconds"):
        make_config(sqlite_url, extra=extra, env=ENV)
    twilio = (
        '[sms]\ntransport = "twilio"\n[twilio]\ntimeout_seconds = 20\n[worker]\nstale_claim_seconds = 59\n'
    )
    with pytest.raises(ConfigError, match=r"twilio\.timeout_seconds"):
        make_config(sqlite_url, extra=twilio, env=ENV)
    make_config(
        sqlite_url, extra=smtp_settings(2525, timeout=10) + "[worker]\nstale_claim_seconds = 30\n", env=ENV
    )


def test_an_smtp_send_never_outlasts_its_timeout_however_slowly_each_reply_comes(sqlite_url, clock):
    """Each reply comes within the timeout, but all of them together would not: the send gives
    up at the timeout (before DATA: nothing left, so it is retried)."""
    with smtp_server() as (mailbox, port):
        mailbox.reply_delay = 0.6
        config = make_config(sqlite_url, extra=smtp_settings(port, timeout=1.0), env=ENV)
        transport = SmtpEmailTransport(config.smtp, config.clinic, None)
        started = time.monotonic()
        with pytest.raises(TransportError) as err:
            transport.send(Outgoing(1, "email", "r@example.org", "hello", subject="note"))
        took = time.monotonic() - started
    assert err.value.kind == "retryable" and err.value.code == "smtp-timeout"
    # Without the overall deadline the greeting and four replies would take 3 s or more.
    assert took < 2.0 and mailbox.received == []


# --- poison isolation -----------------------------------------------------------------------


def test_one_poison_row_among_50_good_ones_fails_alone_with_a_task_and_is_never_retried(services, clock):
    """A patient row with NULL channels, written past the API: their message fails with a
    reason code and a staff task; the 50 others are sent."""
    good = [enrol(services, external_ref=f"g{i}")["id"] for i in range(10)]
    bad = enrol(services, external_ref="poison", phone="+12025550177")["id"]
    with services.engine.begin() as conn:
        conn.execute(update(patients).where(patients.c.id == bad).values(channels=None))
        assert conn.execute(select(patients.c.channels).where(patients.c.id == bad)).scalar() is None
    ids = queue(services, good, 50, channel="sms")
    [poison] = queue(services, [bad], 1, channel="sms", prefix="p")
    stats = Dispatcher(services).run_once()
    assert (stats.claimed, stats.sent, stats.failed) == (51, 50, 1)
    by_id = {r["id"]: r for r in rows(services, step_id="lease_test")}
    assert {by_id[i]["status"] for i in ids} == {"sent"}
    assert (by_id[poison]["status"], by_id[poison]["reason"]) == ("failed", "internal-error:TypeError")
    assert len(sandbox(services)) == 50
    with services.engine.connect() as conn:
        task = conn.execute(
            select(staff_tasks).where(staff_tasks.c.dedupe_key == f"message-error:o{poison}")
        ).one()
    assert task.kind == "message-error" and task.patient_id == bad and task.state == "open"
    clock.advance(timedelta(seconds=services.config.worker.stale_claim_seconds + 1))
    assert Dispatcher(services).recover_stale() == 0
    assert Dispatcher(services).run_once().claimed == 0  # failed for good: never retried


def test_a_message_whose_recording_raises_fails_alone_and_the_chunk_is_sent(services):
    """An on-sent hook raises for one message of a recorded chunk: the chunk is sent message by
    message, and the one that raises fails (its record rolled back: it never left)."""
    ids = queue(services, [enrol(services)["id"]], 8, channel="sms")

    def breaks_on_the_third(conn, row, now):
        if row["id"] == ids[2]:
            raise ValueError("a hook bug")

    services.hooks.on_sent.insert(0, breaks_on_the_third)
    stats = Dispatcher(services).run_once()
    assert (stats.sent, stats.failed) == (7, 1)
    by_id = {r["id"]: r for r in rows(services, step_id="lease_test")}
    assert (by_id[ids[2]]["status"], by_id[ids[2]]["reason"]) == ("failed", "internal-error:ValueError")
    with services.engine.connect() as conn:
        owner = dict(conn.execute(select(delivery_attempts.c.id, delivery_attempts.c.outbox_id)).all())
    assert sorted(owner[m["attempt_id"]] for m in sandbox(services)) == sorted(i for i in ids if i != ids[2])
    with services.engine.connect() as conn:
        keys = conn.execute(select(staff_tasks.c.dedupe_key)).scalars().all()
    assert f"message-error:o{ids[2]}" in keys


def test_a_template_that_raises_fails_its_message_with_a_task_and_the_others_go(sqlite_url, clock, tmp_path):
    import shutil

    from tests.helpers import ROOT

    messages = tmp_path / "messages"
    shutil.copytree(ROOT / "messages", messages)
    (messages / "integration_note" / "en" / "sms.txt").write_text("{{ clinic.name }} {{ 1 // 0 }}")
    app = make_services(sqlite_url, clock, config=make_config(sqlite_url, messages=messages))
    people = [enrol(app, external_ref=f"t{i}")["id"] for i in range(3)]
    [broken] = queue(app, people[:1], 1, channel="sms", prefix="s")
    good = queue(app, people, 6, channel="email")
    stats = Dispatcher(app).run_once()
    assert (stats.sent, stats.failed) == (6, 1)
    by_id = {r["id"]: r for r in rows(app, step_id="lease_test")}
    assert (by_id[broken]["status"], by_id[broken]["reason"]) == ("failed", "template-error")
    assert {by_id[i]["status"] for i in good} == {"sent"}
    with app.engine.connect() as conn:
        assert (
            conn.execute(
                select(staff_tasks.c.kind).where(staff_tasks.c.dedupe_key == f"message-error:o{broken}")
            ).scalar()
            == "message-error"
        )
    app.engine.dispose()


def test_a_stop_mid_batch_sends_no_more_and_puts_the_unsent_claims_back(services, clock):
    """What a worker does on SIGTERM: the send in progress finishes and is recorded, nothing more
    leaves, and the rest of its claim goes back to pending at once (no wait for the lease)."""
    ids = queue(services, [enrol(services)["id"]], 6, channel="sms")
    d = Dispatcher(services)
    claimed = d.claim(10)

    def stop_after_the_first(conn, row, now):
        d.stopping.set()

    services.hooks.on_sent.append(stop_after_the_first)
    services.transports["sms"].pacing = Pacing(chunk_size=1)
    stats = d.process(claimed)
    assert stats.sent == 1 and stats.reasons.get("released") == 5
    assert statuses(services) == {"sent": 1, "pending": 5}
    assert d.run_once().claimed == 0  # a stopping dispatcher claims nothing
    assert Dispatcher(services).run_once().sent == 5
    assert len(sandbox(services)) == 6 and len(ids) == 6
