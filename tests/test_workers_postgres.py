"""Four `interlude worker` processes against one PostgreSQL send 5,000 due messages exactly once."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime

from sqlalchemy import func, insert, select

from service.db.engine import make_engine
from service.db.tables import delivery_attempts, outbox, sandbox_messages
from tests.helpers import ROOT, FakeClock, enrol, make_services, start_worker

MESSAGES = 5000
WORKERS = 4


def test_four_workers_send_5000_messages_exactly_once(pg_url, tmp_path):
    now = datetime.now(UTC)
    app = make_services(pg_url, FakeClock(now))
    patient_ids = [enrol(app, external_ref=f"w{i}")["id"] for i in range(50)]
    rows = [
        {
            "dedupe_key": f"load:{i}",
            "patient_id": patient_ids[i % 50],
            "session_id": None,
            "schedule": "default",
            "step_id": "load_test",
            "template": "integration_note",
            "channel": "sms" if i % 2 else "email",
            "category": "admin",
            "priority": 2,
            "occurrence": 0,
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
        conn.execute(insert(outbox), rows)
    app.engine.dispose()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "{pg_url}"\n[schedules]\ndir = "{ROOT / "schedules"}"\n[messages]\ndir = "{ROOT / "messages"}"\n'
        '[clinic]\nquiet_hours_start = "00:00"\nquiet_hours_end = "23:59"\n[worker]\ntick_seconds = 0.2\nbatch_size = 100\n'
    )
    logs = [tmp_path / f"worker{i}.log" for i in range(WORKERS)]
    procs, handles = zip(*(start_worker(config, log) for log in logs), strict=True)
    engine = make_engine(pg_url)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                left = conn.execute(
                    select(func.count()).select_from(outbox).where(outbox.c.status != "sent")
                ).scalar_one()
            if left == 0 or any(p.poll() is not None for p in procs):
                break
            time.sleep(0.5)
    finally:
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            p.wait(timeout=30)
        for handle in handles:
            handle.close()
        errors = [log.read_text() for log in logs]
    assert all(p.returncode is not None for p in procs)
    with engine.connect() as conn:
        statuses = dict(
            conn.execute(
                select(outbox.c.status, func.count())
                .where(outbox.c.step_id == "load_test")
                .group_by(outbox.c.status)
            ).all()
        )
        recorded = conn.execute(select(func.count()).select_from(sandbox_messages)).scalar_one()
        distinct_attempts = conn.execute(
            select(func.count(func.distinct(sandbox_messages.c.attempt_id)))
        ).scalar_one()
        attempts_per_row = conn.execute(
            select(delivery_attempts.c.outbox_id, func.count())
            .group_by(delivery_attempts.c.outbox_id)
            .having(func.count() > 1)
        ).all()
    engine.dispose()
    assert statuses == {"sent": MESSAGES}, (statuses, errors)
    assert recorded == distinct_attempts == MESSAGES
    assert attempts_per_row == []
    assert all("Traceback" not in e for e in errors), errors
