"""Benchmark 1: planning. Book 100,000 sessions through the service layer (book_sessions, what an
EHR import calls: validation, numbering, the planner, outbox rows, audit), on SQLite and on
PostgreSQL; beside it the naive design (one APScheduler DateTrigger job per message in a
SQLAlchemyJobStore) and the database's raw insert rate for outbox-shaped rows (the ceiling)."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from service.db.tables import outbox
from service.services.bulk import book_sessions

from ._people import NOW, add_patients, remove_sqlite, services
from .common import Context, Figure, Timer, rate

TITLE = "planning: book sessions, plan their messages"
BENCH = "1 planning"
TARGET = 100_000
SESSIONS_PER_PATIENT = 5


def items(patient_ids: list[int], count: int) -> list[dict[str, Any]]:
    """Weekly sessions, numbered by the service, on 15-minute slots from 08:00 to 15:45 local."""
    out: list[dict[str, Any]] = []
    for k in range(SESSIONS_PER_PATIENT):
        for j, pid in enumerate(patient_ids):
            day = NOW + timedelta(days=7 + 7 * k + j % 5)
            slot = j % 32
            out.append(
                {
                    "patient_id": pid,
                    "start": f"{day.date()}T{8 + slot // 4:02d}:{slot % 4 * 15:02d}",
                    "modality": ("iv", "im", "intranasal", "kat")[j % 4],
                    "external_ref": f"ehr-{pid}-{k}",
                }
            )
    return out[:count]


def _plan(url: str, sessions: int, label: str) -> tuple[Figure, int, Any]:
    app = services(url)
    ids = add_patients(app, -(-sessions // SESSIONS_PER_PATIENT))
    batch = items(ids, sessions)
    with Timer() as t:
        result = book_sessions(app, batch, "bench")
    with app.engine.connect() as conn:
        messages = int(conn.execute(select(func.count()).select_from(outbox)).scalar_one())
    assert not result.errors and len(result.booked) == sessions
    per_second = rate(messages, t.seconds)
    figure = Figure(
        BENCH,
        f"{label}: {sessions:,} sessions, {messages:,} messages",
        per_second,
        "msgs/s",
        target=f">= {TARGET:,}",
        met=per_second >= TARGET,
        extra={"seconds": round(t.seconds, 2), "sessions_per_s": round(rate(sessions, t.seconds))},
    )
    return figure, messages, app


def _apscheduler_peer(url: str, jobs: int) -> Figure:
    """One DateTrigger job per message in a SQLAlchemyJobStore: the tutorials' design."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.date import DateTrigger

    scheduler = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=url)}, timezone="UTC")
    scheduler.start(paused=True)  # started, so each add_job is written to the store at once
    try:
        with Timer() as t:
            for i in range(jobs):
                run_at = NOW + timedelta(days=30, seconds=i)
                scheduler.add_job(
                    "bench._apscheduler_job:send",
                    DateTrigger(run_date=run_at),
                    args=[i],
                    id=f"msg-{i}",
                    misfire_grace_time=1,
                )
    finally:
        scheduler.shutdown(wait=False)
    return Figure(
        BENCH,
        f"APScheduler DateTrigger job per message, SQLAlchemyJobStore on SQLite ({jobs:,} jobs)",
        rate(jobs, t.seconds),
        "jobs/s",
        kind="peer",
    )


def _raw_sqlite(url: str, count: int) -> Figure:
    """executemany of prepared outbox rows into the real outbox table (its indexes included)."""
    path = make_url(url).database or ""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    patient_id = conn.execute("SELECT min(id) FROM patients").fetchone()[0]
    due = "2027-04-01 14:00:00.000000"
    rows = [
        (
            f"raw:{i}",
            patient_id,
            "default",
            "step",
            "tpl",
            "sms",
            "prep",
            1,
            0,
            due,
            due,
            due,
            due,
            "pending",
            0,
        )
        for i in range(count)
    ]
    sql = (
        "INSERT INTO outbox (origin, dedupe_key, patient_id, schedule, step_id, template, channel, category,"
        " priority, occurrence, due_at, original_due_at, send_by, next_attempt_at, status, attempts,"
        " created_at, updated_at) VALUES ('planner', ?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
        " '2027-03-02 15:00:00.000000', '2027-03-02 15:00:00.000000')"
    )
    with Timer() as t:
        conn.execute("BEGIN IMMEDIATE")
        for first in range(0, count, 10_000):
            conn.executemany(sql, rows[first : first + 10_000])
        conn.execute("COMMIT")
    conn.close()
    return Figure(
        BENCH,
        f"SQLite raw executemany of outbox rows ({count:,}, same table and indexes)",
        rate(count, t.seconds),
        "rows/s",
        kind="ceiling",
    )


def _raw_postgres(app: Any, count: int) -> Figure:
    """COPY of prepared outbox rows into the real outbox table: PostgreSQL's fastest path."""
    with app.engine.begin() as conn:
        patient_id = conn.exec_driver_sql("SELECT min(id) FROM patients").scalar_one()
        due = NOW + timedelta(days=30)
        rows = [
            (
                "planner",
                f"raw:{i}",
                patient_id,
                "default",
                "step",
                "tpl",
                "sms",
                "prep",
                1,
                0,
                due,
                due,
                "pending",
                0,
                NOW,
                NOW,
            )
            for i in range(count)
        ]
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        columns = (
            "origin, dedupe_key, patient_id, schedule, step_id, template, channel, category, priority,"
            " occurrence, due_at, next_attempt_at, status, attempts, created_at, updated_at"
        )
        with Timer() as t, cursor.copy(f"COPY outbox ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    return Figure(
        BENCH,
        f"PostgreSQL raw COPY of outbox rows ({count:,}, same table and indexes)",
        rate(count, t.seconds),
        "rows/s",
        kind="ceiling",
    )


def run(ctx: Context) -> list[Figure]:
    figures: list[Figure] = []
    sessions = ctx.size(100_000, 2_000)
    url = ctx.sqlite_url("b1-planning")
    figure, _, app = _plan(url, sessions, "SQLite")
    app.engine.dispose()
    figures.append(figure)
    peer_url = ctx.sqlite_url("b1-apscheduler")
    figures.append(_apscheduler_peer(peer_url, ctx.size(5_000, 300)))
    remove_sqlite(peer_url)
    figures.append(_raw_sqlite(url, ctx.size(300_000, 20_000)))
    remove_sqlite(url)
    with ctx.postgres_url() as pg:
        if pg is None:
            figures.append(Figure(BENCH, "PostgreSQL", None, "msgs/s", note="PostgreSQL not reachable"))
        else:
            figure, _, app = _plan(pg, ctx.size(30_000, 1_000), "PostgreSQL")
            figure.target = ""
            figure.met = None
            figure.note = "reported, no target (the issue's target is for SQLite)"
            figures.append(figure)
            figures.append(_raw_postgres(app, ctx.size(300_000, 20_000)))
            app.engine.dispose()
    return figures
