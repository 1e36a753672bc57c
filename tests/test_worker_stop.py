"""A worker stops cleanly and lives through a database outage.

SIGTERM (what systemd and Heroku send) or Ctrl-C: no new claim or send, the send in progress
finishes and is recorded, what was claimed and not sent goes back to pending, and the process
exits within 20 s. A database that stops answering is said once when it starts and once when
it ends, without tracebacks, and the worker carries on by itself.
"""

from __future__ import annotations

import logging
import signal
import time
from collections import Counter

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from service.db.engine import make_engine
from service.db.outage import Outage, unreachable
from service.db.tables import delivery_attempts, outbox
from service.scheduler import STOP_SECONDS, _guarded
from tests.databases import POSTGRES_URL
from tests.helpers import start_worker
from tests.smtp_peer import attempt_ids, smtp_server
from tests.worker_helpers import MESSAGES, WORKER_ENV, queue_due, smtp_on_call, until, worker_config


def _statuses(engine) -> Counter:
    with engine.connect() as conn:
        return Counter(
            dict(conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status)).all())
        )


@pytest.mark.parametrize(
    ("sig", "sigint_ignored"),
    [(signal.SIGTERM, False), (signal.SIGINT, False), (signal.SIGINT, True)],
    ids=["SIGTERM", "SIGINT", "SIGINT-started-in-the-background"],
)
def test_a_stopped_worker_finishes_its_send_releases_the_rest_and_exits_in_time(
    db_url, tmp_path, sig, sigint_ignored
):
    queue_due(db_url, "email", MESSAGES)
    engine = make_engine(db_url)
    with smtp_server() as (mailbox, port):
        mailbox.data_delay = 0.3
        config = worker_config(tmp_path, db_url, smtp_on_call(port))
        worker, log = start_worker(config, tmp_path / "worker.log", WORKER_ENV, sigint_ignored=sigint_ignored)
        try:
            until(lambda: len(mailbox.received) >= 3, 60, worker, tmp_path / "worker.log")
            worker.send_signal(sig)
            started = time.monotonic()
            code = worker.wait(timeout=STOP_SECONDS + 5)
            took = time.monotonic() - started
        finally:
            if worker.poll() is None:
                worker.kill()
            log.close()
        delivered = Counter(attempt_ids(mailbox))
    statuses = _statuses(engine)
    with engine.connect() as conn:
        open_attempts = conn.execute(
            select(func.count()).select_from(delivery_attempts).where(delivery_attempts.c.status == "sending")
        ).scalar_one()
    engine.dispose()
    output = (tmp_path / "worker.log").read_text()
    assert code == 0 and took < STOP_SECONDS, (code, took, output)
    assert "stopped" in output and "Traceback" not in output
    # The send in flight finished and was recorded; the rest of the claim is pending again.
    assert statuses["sent"] == len(delivered) and max(delivered.values()) == 1
    assert statuses["pending"] == MESSAGES - statuses["sent"] and statuses["pending"] > 0
    assert statuses["sending"] == 0 and statuses["unknown"] == 0 and open_attempts == 0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def refused() -> OperationalError:
    return OperationalError("SELECT 1", {}, Exception("connection refused"))


def test_an_outage_is_told_once_when_it_starts_and_once_when_it_ends(caplog):
    clock = Clock()
    outage = Outage(clock)
    calls: list[float] = []
    failing = True

    def job() -> None:
        calls.append(clock.now)
        if failing:
            raise refused()

    run = _guarded("dispatch", job, outage)
    with caplog.at_level(logging.INFO):
        for _ in range(600):  # ten minutes of one-second ticks while the database is down
            run()
            clock.now += 1
        failing = False
        for _ in range(60):
            run()
            clock.now += 1
    lines = [r for r in caplog.records if r.name in ("interlude.database", "interlude.worker")]
    assert [r.getMessage().split(";")[0] for r in lines] == [
        "database unreachable",
        "database reachable again",
    ]
    assert all(r.exc_info is None for r in lines)
    # The pauses grow to 30 s: about 25 tries in ten minutes, not 600.
    assert len([c for c in calls if c < 1600]) < 30
    assert calls[-1] == clock.now - 1  # back to every tick once the database answers


def test_a_locked_sqlite_database_is_a_job_failure_not_an_outage():
    locked = OperationalError("UPDATE", {}, Exception("database is locked"))
    assert not unreachable(locked) and unreachable(refused())


def test_postgres_connections_cut_under_a_running_worker_lose_nothing(pg_url, tmp_path):
    """pg_terminate_backend on every connection of the worker, three times mid-batch."""
    name = f"interlude-cut-{tmp_path.name[-8:]}"
    url = f"{pg_url}&application_name={name}"
    queue_due(url, "email", MESSAGES)
    admin = make_engine(POSTGRES_URL)
    engine = make_engine(url)

    def cut() -> int:
        with admin.begin() as conn:
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :n"
                    ),
                    {"n": name},
                ).all()
            )

    with smtp_server() as (mailbox, port):
        mailbox.data_delay = 0.1
        config = worker_config(tmp_path, url, smtp_on_call(port))
        worker, log = start_worker(config, tmp_path / "worker.log", WORKER_ENV)
        try:
            cuts = 0
            for target in (3, 8, 14):
                until(lambda t=target: len(mailbox.received) >= t, 60, worker, tmp_path / "worker.log")
                cuts += cut()
            until(
                lambda: _statuses(engine)["pending"] + _statuses(engine)["sending"] == 0,
                90,
                worker,
                tmp_path / "worker.log",
            )
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=STOP_SECONDS + 5)
            finally:
                if worker.poll() is None:
                    worker.kill()
                log.close()
        delivered = Counter(attempt_ids(mailbox))
    statuses = _statuses(engine)
    engine.dispose()
    admin.dispose()
    output = (tmp_path / "worker.log").read_text()
    assert cuts >= 3
    assert sum(statuses.values()) == MESSAGES and set(statuses) <= {"sent", "unknown"}, statuses
    assert max(delivered.values()) == 1  # never twice
    assert statuses["unknown"] <= cuts  # at most the one in flight at each cut stays unresolved
    assert "Traceback" not in output, output
