"""The worker: APScheduler as a heartbeat driving the dispatcher (the database holds the plan).

A few interval jobs with an in-memory job store, never one job per message: the outbox is the
source of truth, and any number of workers may run against one PostgreSQL (design decision 1).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from .db.outage import Outage, unreachable
from .runtime import Interlude
from .services import tasks
from .services.outbox import delivery_policy, housekeeping
from .services.outbox.dispatch import Dispatcher
from .services.replies import checkins, escalations

log = logging.getLogger("interlude.worker")
RECOVER_SECONDS = 60
SWEEP_SECONDS = 30


def _guarded(name: str, job: Callable[[], Any], outage: Outage) -> Callable[[], None]:
    """A job that logs its failure and lives on: one bad tick must not stop the worker."""

    def run() -> None:
        if outage.waiting():
            return
        try:
            result = job()
        except Exception as exc:
            if unreachable(exc):
                outage.failed(exc)
            else:
                log.exception("job failed", extra={"job": name})
            return
        outage.recovered()
        if getattr(result, "claimed", 0):
            log.info("dispatched", extra={"job": name, **_stats(result)})

    return run


def _stats(result: Any) -> dict[str, int]:
    fields = ("claimed", "sent", "skipped", "cancelled", "deferred", "retrying", "failed", "unknown")
    return {f: getattr(result, f) for f in fields}


def build_scheduler(
    app: Interlude, *, blocking: bool, stopping: threading.Event | None = None
) -> BaseScheduler:
    """A scheduler with the dispatch, recovery, sweep and housekeeping jobs; not started.

    Setting `stopping` stops the dispatcher claiming and sending: what it claimed and has not
    sent goes back to pending (see `run_until_stopped`).
    """
    scheduler: BaseScheduler = (
        BlockingScheduler(timezone="UTC") if blocking else BackgroundScheduler(timezone="UTC")
    )
    dispatcher = Dispatcher(app)
    if stopping is not None:
        dispatcher.stopping = stopping
    outage = Outage()
    common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
    scheduler.add_job(
        _guarded("dispatch", lambda: tick(app, dispatcher), outage),
        "interval",
        seconds=app.config.worker.tick_seconds,
        id="dispatch",
        **common,
    )
    scheduler.add_job(
        _guarded("recover", dispatcher.recover_stale, outage),
        "interval",
        seconds=RECOVER_SECONDS,
        id="recover",
        **common,
    )
    scheduler.add_job(
        _guarded("sweep", lambda: sweep(app), outage), "interval", seconds=SWEEP_SECONDS, id="sweep", **common
    )
    scheduler.add_job(
        _guarded("prep-unconfirmed", lambda: delivery_policy.sweep_unconfirmed_prep(app), outage),
        "interval",
        seconds=RECOVER_SECONDS,
        id="prep-unconfirmed",
        **common,
    )
    # Every worker runs it; on PostgreSQL they take different rows (FOR UPDATE SKIP LOCKED).
    scheduler.add_job(
        _guarded("housekeeping", lambda: housekeeping.run(app), outage),
        "interval",
        minutes=app.config.retention.run_every_minutes,
        id="housekeeping",
        **common,
    )
    return scheduler


# systemd's default stop timeout is 90 s and Heroku's 30 s: leave room under both.
STOP_SECONDS = 20


def run_until_stopped(scheduler: BaseScheduler, stopping: threading.Event, run: Callable[[], Any]) -> None:
    """Run `run` until SIGTERM or SIGINT, then stop cleanly within STOP_SECONDS.

    On the signal: no new claim or send; the send in progress finishes and is recorded; what was
    claimed and not sent goes back to pending for the next worker; the jobs running are waited
    for. A job that still runs after STOP_SECONDS (a provider that never answers) is abandoned
    and the process exits 1: its claim expires and recovery reconciles it.
    """
    # SIGINT too, explicitly: a process started in the background by a shell inherits SIGINT
    # ignored, and Python then leaves it ignored, so Ctrl-C or a supervisor's SIGINT did nothing.
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        run()
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stopping.set()
        log.info("stopping: finishing the send in flight, releasing the rest")
        watchdog = threading.Timer(STOP_SECONDS, _give_up)
        watchdog.daemon = True
        watchdog.start()
        if scheduler.running:
            scheduler.shutdown(wait=True)
        watchdog.cancel()
        log.info("stopped")


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # the same path as Ctrl-C


def _give_up() -> None:
    log.error("stop took too long; exiting with work in flight (recovery will reconcile it)")
    os._exit(1)


def tick(app: Interlude, dispatcher: Dispatcher) -> Any:
    """One dispatcher tick: first pick up schedule and template edits saved by any process (a
    cheap query, at most once a second), then send what is due."""
    app.refresh_content()
    return dispatcher.run_once()


def sweep(app: Interlude) -> dict[str, int]:
    """Check-in reminders and escalations for silence, then pages for unacknowledged escalations,
    then calls for sessions whose same-day check-in had no time left that day."""
    counts = checkins.sweep(app)
    counts["repaged"] = escalations.sweep(app)
    counts["call_tasks"] = tasks.open_call_after_session_tasks(app)
    if any(counts.values()):
        log.info("swept", extra={"job": "sweep"})
    return counts
