"""Benchmark 2: due messages through claim, consent check, render, sandbox send and state update.

SQLite: one worker (the Dispatcher in this process, batch after batch). PostgreSQL: four worker
processes (bench._dispatch_worker, the worker's own Dispatcher) from one start instant. Each run
is checked: every outbox row sent, exactly one delivery attempt and one sandbox record each.
Peer: one APScheduler DateTrigger job per message in a SQLAlchemyJobStore, all due at once.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from service.db.tables import outbox
from service.services.outbox.dispatch import Dispatcher

from . import _peers_apscheduler
from ._outbox import (
    drop_sqlite,
    exactly_once,
    insert_outbox,
    make_app,
    outbox_rows,
    seed_people,
    spawn,
    write_config,
)
from .common import Context, Figure, Timer, rate

TITLE = "dispatch: claim, consent, render, sandbox send, record"
B = "2 dispatch"
# Bigger claims than the default 200: fewer claim queries per message. Recorded in each note.
WORKER = "[worker]\nbatch_size = 1000\n"
PEOPLE = 20_000


def run(ctx: Context) -> list[Figure]:
    n = ctx.size(200_000, 20_000)
    figures = [_sqlite(ctx, n), _postgres(ctx, n)]
    figures.append(_peer(ctx, ctx.size(10_000, 1_000)))
    return figures


def _seed(url: str, n: int) -> tuple[object, float]:
    app = make_app(url, WORKER)
    people = seed_people(app, min(PEOPLE, n // 2))
    with Timer() as t:
        insert_outbox(app.engine, outbox_rows(people, n, datetime.now(UTC)))
    return app, t.seconds


def _sqlite(ctx: Context, n: int) -> Figure:
    url = ctx.sqlite_url("b2")
    app, _ = _seed(url, n)
    dispatcher = Dispatcher(app)  # type: ignore[arg-type]
    sent = 0
    with Timer() as t:
        while (stats := dispatcher.run_once()).claimed:
            sent += stats.sent
    ok, facts = exactly_once(app.engine, n)  # type: ignore[attr-defined]
    app.engine.dispose()  # type: ignore[attr-defined]
    drop_sqlite(url)
    value = rate(sent, t.seconds)
    note = f"{n:,} messages (SMS and email pairs), batch_size 1000; exactly once: {ok}"
    return Figure(
        B, "SQLite, 1 worker", value, "msgs/s", ">= 10000", ok and value >= 10_000, note=note, extra=facts
    )


def _postgres(ctx: Context, n: int, workers: int = 4) -> Figure:
    name = f"PostgreSQL, {workers} worker processes"
    with ctx.postgres_url() as url:
        if url is None:
            return Figure(B, name, None, "msgs/s", ">= 20000", False, note="PostgreSQL not reachable")
        app, _ = _seed(url, n)
        config = write_config(ctx.scratch, url, WORKER)
        start = time.time() + 4  # every process imported and connected before the rows are taken
        logs = [ctx.scratch / f"b2-worker{i}.log" for i in range(workers)]
        procs = [
            spawn(["-m", "bench._dispatch_worker", str(config), str(start)], log, stdout=True) for log in logs
        ]
        outputs = [p.communicate(timeout=600)[0].decode().split() for p in procs]
        finished = max(float(o[1]) for o in outputs if len(o) == 2)
        sent = sum(int(o[0]) for o in outputs if len(o) == 2)
        ok, facts = exactly_once(app.engine, n)  # type: ignore[attr-defined]
        app.engine.dispose()  # type: ignore[attr-defined]
        _clean(config, logs)
    value = rate(sent, finished - start)
    by = [int(o[0]) for o in outputs if len(o) == 2]
    note = f"{n:,} messages, batch_size 1000, sent per worker {by}; exactly once: {ok}"
    return Figure(B, name, value, "msgs/s", ">= 20000", ok and value >= 20_000, note=note, extra=facts)


def _clean(config: Path, logs: list[Path]) -> None:
    tracebacks = [log for log in logs if "Traceback" in log.read_text()]
    if tracebacks:
        raise RuntimeError(f"a worker failed: see {tracebacks[0]}")
    config.unlink()
    for log in logs:
        log.unlink()


def _peer(ctx: Context, n: int) -> Figure:
    """The job store on PostgreSQL when there is one (adding jobs to a SQLite store, one fsync'd
    transaction each, runs at under 100 jobs/s here), else SQLite."""
    url = ctx.sqlite_url("b2-peer")
    app, _ = _seed(url, n)
    with app.engine.connect() as conn:  # type: ignore[attr-defined]
        ids = list(conn.execute(select(outbox.c.id).order_by(outbox.c.id)).scalars())
    with ctx.postgres_url() as pg:
        store = pg or ctx.sqlite_url("b2-jobs")
        found = _peers_apscheduler.run(app, store, ids, timeout=ctx.size(60, 20))  # type: ignore[arg-type]
    app.engine.dispose()  # type: ignore[attr-defined]
    drop_sqlite(url)
    if store.startswith("sqlite"):
        drop_sqlite(store)
    note = (
        f"{n:,} jobs in a {'PostgreSQL' if pg else 'SQLite'} job store (added at {found['add_per_s']:,.0f}/s): "
        f"{found['executed']:,} ran, {found['missed']:,} dropped as misfired (default grace 1 s), "
        f"{found['unfinished']:,} unfinished; p99 lateness of those that ran {found['p99_late_s']:.1f} s"
    )
    name = "APScheduler job per message (SQLAlchemyJobStore)"
    return Figure(B, name, found["rate"], "msgs/s", kind="peer", note=note, extra=found)
