"""The peer of benchmarks 2 and 3: the tutorials' design, one APScheduler DateTrigger job per
message in a persistent SQLAlchemyJobStore, with APScheduler's default settings (a thread pool
of 10, misfire_grace_time 1 s). Each job does what the tutorials' job does: load its message,
render it, send it (a sandbox record) and mark it sent."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import insert, select, update

from service.db.tables import outbox, patients, sandbox_messages, sessions
from service.runtime import Interlude
from service.template_context import message_context

from .common import percentile

_app: list[Interlude] = []


def send_one(outbox_id: int) -> None:
    """The job: one message, start to end, in its own transaction."""
    app = _app[0]
    with app.engine.begin() as conn:
        row = conn.execute(select(outbox).where(outbox.c.id == outbox_id)).mappings().one()
        patient = conn.execute(select(patients).where(patients.c.id == row["patient_id"])).mappings().one()
        session = conn.execute(select(sessions).where(sessions.c.id == row["session_id"])).mappings().first()
        context = message_context(app.config.clinic, app.clinic_tz, patient, session, patient["language"])
        rendered = app.templates.render(row["template"], row["channel"], patient["language"], context)
        now = datetime.now(UTC)
        conn.execute(
            insert(sandbox_messages).values(
                attempt_id=-outbox_id,
                channel=row["channel"],
                recipient=patient["phone"] if row["channel"] == "sms" else patient["email"],
                subject=rendered.subject,
                body=rendered.body,
                html=rendered.html,
                created_at=now,
            )
        )
        conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(status="sent", sent_at=now))


def run(app: Interlude, jobstore_url: str, outbox_ids: list[int], timeout: float) -> dict[str, Any]:
    """Add one job per message, all due at one instant, and run them; returns what happened."""
    _app[:] = [app]
    # One "missed by" warning per dropped job would flood the benchmark's output: they are counted.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    ran: list[float] = []
    missed: list[int] = []
    errors: list[int] = []
    lock = threading.Lock()

    def listen(event: JobExecutionEvent) -> None:
        with lock:
            if event.code == EVENT_JOB_EXECUTED:
                ran.append(time.time())
            elif event.code == EVENT_JOB_MISSED:
                missed.append(1)
            else:
                errors.append(1)

    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=jobstore_url)}, timezone="UTC"
    )
    scheduler.add_listener(listen, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED | EVENT_JOB_ERROR)
    scheduler.start(paused=True)
    # Calibrate the add rate, so that every job is in the store before they all fall due.
    started = time.time()
    probe = outbox_ids[: max(1, len(outbox_ids) // 50)]
    far = datetime.now(UTC) + timedelta(days=1)
    for oid in probe:
        scheduler.add_job(send_one, "date", run_date=far, args=[oid], id=str(oid))
    per_job = (time.time() - started) / len(probe)
    due = datetime.now(UTC) + timedelta(seconds=per_job * len(outbox_ids) * 1.5 + 2)
    for oid in probe:
        scheduler.reschedule_job(str(oid), trigger="date", run_date=due)
    for oid in outbox_ids[len(probe) :]:
        scheduler.add_job(send_one, "date", run_date=due, args=[oid], id=str(oid))
    add_seconds = time.time() - started
    scheduler.resume()
    due_epoch = due.timestamp()
    deadline = max(time.time(), due_epoch) + timeout
    while time.time() < deadline and len(ran) + len(missed) + len(errors) < len(outbox_ids):
        time.sleep(0.2)
    scheduler.shutdown(wait=False)
    late = [t - due_epoch for t in ran]
    return {
        "jobs": len(outbox_ids),
        "add_per_s": len(outbox_ids) / add_seconds,
        "executed": len(ran),
        "missed": len(missed),
        "errors": len(errors),
        "unfinished": len(outbox_ids) - len(ran) - len(missed) - len(errors),
        "p50_late_s": percentile(late, 50),
        "p99_late_s": percentile(late, 99),
        "rate": len(ran) / max(late) if late and max(late) > 0 else 0.0,
    }
