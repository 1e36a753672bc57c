"""The worker: APScheduler as a heartbeat driving the dispatcher (the database holds the plan).

A few interval jobs with an in-memory job store, never one job per message: the outbox is the
source of truth, and any number of workers may run against one PostgreSQL (design decision 1).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from .bootstrap import Interlude
from .services import checkins, delivery_policy, escalations, housekeeping
from .services.dispatch import Dispatcher

log = logging.getLogger("interlude.worker")
RECOVER_SECONDS = 60
SWEEP_SECONDS = 30


def _guarded(name: str, job: Callable[[], Any]) -> Callable[[], None]:
    """A job that logs its failure and lives on: one bad tick must not stop the worker."""

    def run() -> None:
        try:
            result = job()
        except Exception:
            log.exception("job failed", extra={"job": name})
            return
        if getattr(result, "claimed", 0):
            log.info("dispatched", extra={"job": name, **_stats(result)})

    return run


def _stats(result: Any) -> dict[str, int]:
    fields = ("claimed", "sent", "skipped", "cancelled", "deferred", "retrying", "failed", "unknown")
    return {f: getattr(result, f) for f in fields}


def build_scheduler(app: Interlude, *, blocking: bool) -> BaseScheduler:
    """A scheduler with the dispatch, recovery, sweep and housekeeping jobs; not started."""
    scheduler: BaseScheduler = (
        BlockingScheduler(timezone="UTC") if blocking else BackgroundScheduler(timezone="UTC")
    )
    dispatcher = Dispatcher(app)
    common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
    scheduler.add_job(
        _guarded("dispatch", lambda: tick(app, dispatcher)),
        "interval",
        seconds=app.config.worker.tick_seconds,
        id="dispatch",
        **common,
    )
    scheduler.add_job(
        _guarded("recover", dispatcher.recover_stale),
        "interval",
        seconds=RECOVER_SECONDS,
        id="recover",
        **common,
    )
    scheduler.add_job(
        _guarded("sweep", lambda: sweep(app)), "interval", seconds=SWEEP_SECONDS, id="sweep", **common
    )
    scheduler.add_job(
        _guarded("prep-unconfirmed", lambda: delivery_policy.sweep_unconfirmed_prep(app)),
        "interval",
        seconds=RECOVER_SECONDS,
        id="prep-unconfirmed",
        **common,
    )
    # Every worker runs it; on PostgreSQL they take different rows (FOR UPDATE SKIP LOCKED).
    scheduler.add_job(
        _guarded("housekeeping", lambda: housekeeping.run(app)),
        "interval",
        minutes=app.config.retention.run_every_minutes,
        id="housekeeping",
        **common,
    )
    return scheduler


def tick(app: Interlude, dispatcher: Dispatcher) -> Any:
    """One dispatcher tick: first pick up schedule and template edits saved by any process (a
    cheap query, at most once a second), then send what is due."""
    app.refresh_content()
    return dispatcher.run_once()


def sweep(app: Interlude) -> dict[str, int]:
    """Check-in reminders and escalations for silence, then pages for unacknowledged escalations."""
    counts = checkins.sweep(app)
    counts["repaged"] = escalations.sweep(app)
    if any(counts.values()):
        log.info("swept", extra={"job": "sweep"})
    return counts
