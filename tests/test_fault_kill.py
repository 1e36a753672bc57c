"""Fault suite: `interlude worker` killed with SIGKILL at a random point of a batch sent through a
slow SMTP relay, then a new worker started. Nothing is lost, nothing is delivered twice, and the
message that was in flight at the kill is reconciled (an SMTP relay cannot be asked afterwards
whether it took a message, so that one ends "unknown", shown to staff, never resent).

PostgreSQL (several worker processes share it); skipped without it, unless
INTERLUDE_REQUIRE_PEERS=1.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import func, insert, select

from service.db.engine import make_engine
from service.db.tables import delivery_attempts, outbox
from tests.conftest import ROOT, FakeClock, make_services
from tests.helpers import enrol
from tests.smtp_peer import attempt_ids, smtp_server, smtp_settings

INTERLUDE = str(Path(sys.executable).parent / "interlude")
SECRET = "f3a9c0d17b2e4c58a6d9e1b07c3f52a8"
MESSAGES = 30
LEASE_SECONDS = 3  # three times the relay timeout: a live worker's lease never ends mid-send
RELAY_SECONDS = 0.05  # the relay's answer to each message's DATA


def _config(tmp_path: Path, db_url: str, port: int) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "{db_url}"\n[schedules]\ndir = "{ROOT / "schedules"}"\n'
        f'[messages]\ndir = "{ROOT / "messages"}"\n'
        '[clinic]\nquiet_hours_start = "00:00"\nquiet_hours_end = "23:59"\n'
        f"[worker]\ntick_seconds = 0.2\nbatch_size = 100\nstale_claim_seconds = {LEASE_SECONDS}\n"
        '[[escalation.on_call]]\nname = "On call"\nemail = "oncall@clinic.example"\n'
        + smtp_settings(port, timeout=1.0)
    )
    return path


def _queue(db_url: str) -> list[int]:
    now = datetime.now(UTC)
    app = make_services(db_url, FakeClock(now))
    people = [enrol(app, external_ref=f"k{i}", email=f"k{i}@example.org")["id"] for i in range(10)]
    values = [
        {
            "dedupe_key": f"kill:{i}",
            "patient_id": people[i % len(people)],
            "schedule": "default",
            "step_id": "kill_test",
            "template": "integration_note",
            "channel": "email",
            "category": "admin",
            "priority": 2,
            "due_at": now,
            "next_attempt_at": now,
            "status": "pending",
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(MESSAGES)
    ]
    with app.engine.begin() as conn:
        conn.execute(insert(outbox), values)
        ids = list(conn.execute(select(outbox.c.id).where(outbox.c.step_id == "kill_test")).scalars())
    app.engine.dispose()
    return ids


def _start(config: Path, log: Path) -> tuple[subprocess.Popen[bytes], IO[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERLUDE_")}
    env["INTERLUDE_SECRET_KEY"] = SECRET
    handle = log.open("w")  # a file: an unread pipe fills up and blocks the worker
    proc = subprocess.Popen(
        [INTERLUDE, "--config", str(config), "worker"],
        env=env,
        cwd=log.parent,
        stdout=subprocess.DEVNULL,
        stderr=handle,
    )
    return proc, handle


def _until(condition, seconds: float, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.005)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(pg_url, tmp_path, seed):
    rng = random.Random(seed)
    kill_after = rng.randint(1, MESSAGES - 5)  # messages the relay has taken when the kill comes
    ids = _queue(pg_url)
    engine = make_engine(pg_url)
    started = time.monotonic()
    with smtp_server() as (mailbox, port):
        mailbox.data_delay = RELAY_SECONDS
        config = _config(tmp_path, pg_url, port)
        first, first_log = _start(config, tmp_path / "first.log")
        try:
            _until(lambda: len(mailbox.received) >= kill_after, 30, first, tmp_path / "first.log")
            # Right after a delivery (its result may not be recorded yet), or anywhere in the next send.
            time.sleep(0.0 if seed == 1 else rng.uniform(0, RELAY_SECONDS * 1.5))
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                first.kill()
            first_log.close()
        killed_at = time.monotonic() - started
        with engine.connect() as conn:
            in_flight = set(
                conn.execute(
                    select(delivery_attempts.c.outbox_id).where(delivery_attempts.c.status == "sending")
                ).scalars()
            )
            at_kill = dict(
                conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status)).all()
            )
        assert at_kill.get("sending", 0) > 0, at_kill  # the kill landed mid-batch

        def settled() -> bool:
            with engine.connect() as conn:
                return not conn.execute(
                    select(func.count())
                    .select_from(outbox)
                    .where(outbox.c.status.in_(["pending", "sending"]))
                ).scalar_one()

        second, second_log = _start(config, tmp_path / "second.log")
        try:
            _until(settled, LEASE_SECONDS + 20, second, tmp_path / "second.log")
        finally:
            second.send_signal(signal.SIGINT)
            try:
                second.wait(timeout=20)
            finally:
                if second.poll() is None:
                    second.kill()
                second_log.close()
        took = time.monotonic() - started
        with engine.connect() as conn:
            owner = dict(conn.execute(select(delivery_attempts.c.id, delivery_attempts.c.outbox_id)).all())
            delivered = Counter(owner[a] for a in attempt_ids(mailbox))
            final = dict(conn.execute(select(outbox.c.id, outbox.c.status)).all())
            attempts = conn.execute(select(delivery_attempts)).mappings().all()
    engine.dispose()
    errors = (tmp_path / "second.log").read_text()
    print(
        f"\nseed {seed}: killed after {kill_after} deliveries at {killed_at:.1f} s, "
        f"in flight {len(in_flight)}, "
        f"statuses at kill {at_kill}, all settled at {took:.1f} s, final {Counter(final.values())}, "
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
