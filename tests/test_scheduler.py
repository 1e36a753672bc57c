"""The worker's jobs are really scheduled, and each one runs against a real database."""

from __future__ import annotations

from datetime import timedelta

from service.scheduler import build_scheduler
from service.services.outbox.dispatch import Dispatcher
from tests.helpers import enrol, sandbox


def test_the_worker_schedules_every_job_with_one_instance_each(sqlite_services):
    scheduler = build_scheduler(sqlite_services, blocking=False)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"dispatch", "recover", "sweep", "prep-unconfirmed", "housekeeping"}
    for job in jobs.values():
        assert job.max_instances == 1 and job.coalesce is True


def test_each_job_runs_and_the_sweep_escalates_silence(sqlite_services, clock):
    from service.db.tables import checkins as checkins_table

    app = sqlite_services
    p = enrol(app)
    from tests.helpers import book

    book(app, p["id"], "2027-03-02T11:00", duration_minutes=60)
    clock.advance(timedelta(hours=5, minutes=1))
    scheduler = build_scheduler(app, blocking=False)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    jobs["dispatch"].func()
    assert any("Reply 1" in m["body"] for m in sandbox(app))
    clock.advance(timedelta(hours=5))
    jobs["sweep"].func()
    jobs["recover"].func()
    jobs["prep-unconfirmed"].func()
    with app.engine.connect() as conn:
        states = {c["state"] for c in conn.execute(checkins_table.select()).mappings()}
    assert states == {"escalated"}
    Dispatcher(app).run_once()
