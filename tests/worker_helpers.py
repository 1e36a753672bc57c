"""What the worker-process tests share (tests/test_fault_kill.py, tests/test_worker_stop.py): a config
for a fast-ticking worker with short leases, messages queued due now, and waiting on a condition
while the worker runs."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select

from service.db.tables import outbox
from tests.helpers import ROOT, TWILIO_TOKEN, FakeClock, due_note, enrol, make_services
from tests.smtp_peer import smtp_settings

SECRET = "f3a9c0d17b2e4c58a6d9e1b07c3f52a8"
WORKER_ENV = {"INTERLUDE_SECRET_KEY": SECRET, "INTERLUDE_TWILIO_AUTH_TOKEN": TWILIO_TOKEN}
MESSAGES = 30
LEASE_SECONDS = 3  # three times the relay timeout: a live worker's lease never ends mid-send
RELAY_SECONDS = 0.05  # the relay's answer to each message's DATA


def worker_section() -> str:
    return (
        '[clinic]\nquiet_hours_start = "00:00"\nquiet_hours_end = "23:59"\n'
        f"[worker]\ntick_seconds = 0.2\nbatch_size = 100\nstale_claim_seconds = {LEASE_SECONDS}\n"
    )


def worker_config(tmp_path: Path, db_url: str, peer: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "{db_url}"\n[schedules]\ndir = "{ROOT / "schedules"}"\n'
        f'[messages]\ndir = "{ROOT / "messages"}"\n' + worker_section() + peer
    )
    return path


def smtp_on_call(port: int) -> str:
    return '[[escalation.on_call]]\nname = "On call"\nemail = "oncall@clinic.example"\n' + smtp_settings(
        port, timeout=1.0
    )


def queue_due(db_url: str, channel: str, count: int) -> list[int]:
    """`count` messages due now on `channel`; returns their outbox ids."""
    now = datetime.now(UTC)
    app = make_services(db_url, FakeClock(now))
    if channel == "email":
        people = [enrol(app, external_ref=f"k{i}", email=f"k{i}@example.org")["id"] for i in range(10)]
    else:
        people = [
            enrol(app, external_ref=f"s{i}", email=None, channels=["sms"], phone=f"+1202555{2000 + i}")["id"]
            for i in range(count)
        ]
    with app.engine.begin() as conn:
        rows = [
            due_note(f"kill:{channel}:{i}", people[i % len(people)], channel, now, "kill_test")
            for i in range(count)
        ]
        conn.execute(insert(outbox), rows)
        ids = list(conn.execute(select(outbox.c.id).where(outbox.c.step_id == "kill_test")).scalars())
    app.engine.dispose()
    return ids


def until(condition: Callable[[], bool], seconds: float, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.005)
