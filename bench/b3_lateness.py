"""Benchmark 3: lateness under a steady 1,000 msgs/s with a burst of 20,000 due in one second.

Real `interlude worker` processes ([worker] tick_seconds 0.25, batch_size 1000) run while this
process inserts 100 due messages every 100 ms for 12 s; 20,000 more, inserted beforehand, all
fall due 4 s in. Lateness is the time the sandbox recorded a message minus its due time.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select

from service.db.tables import delivery_attempts, outbox, sandbox_messages

from ._outbox import drop_sqlite, insert_outbox, make_app, outbox_rows, seed_people, write_config
from .common import Context, Figure, percentile

TITLE = "lateness: steady 1,000 msgs/s plus a burst of 20,000"
B = "3 lateness"
WORKER = "[worker]\ntick_seconds = 0.25\nbatch_size = 1000\n"


def run(ctx: Context) -> list[Figure]:
    burst = ctx.size(20_000, 5_000)
    seconds = ctx.size(12, 6)
    figures = [_measure(ctx, ctx.sqlite_url("b3"), "SQLite, 1 worker", 1, burst, seconds)]
    with ctx.postgres_url() as url:
        if url is not None:
            figures.append(_measure(ctx, url, "PostgreSQL, 2 workers", 2, burst, seconds))
    return figures


def _measure(ctx: Context, url: str, name: str, workers: int, burst: int, seconds: int) -> Figure:
    app = make_app(url, WORKER)
    people = seed_people(app, 10_000)
    config = write_config(ctx.scratch, url, WORKER)
    interlude = str(Path(sys.executable).parent / "interlude")
    logs = [ctx.scratch / f"b3-worker{i}.log" for i in range(workers)]
    handles = [log.open("w") for log in logs]
    procs = [
        subprocess.Popen([interlude, "--config", str(config), "worker"], stdout=subprocess.DEVNULL, stderr=h)
        for h in handles
    ]
    try:
        time.sleep(4)  # the workers are up and ticking
        start = datetime.now(UTC)
        insert_outbox(app.engine, outbox_rows(people, burst, start + timedelta(seconds=4), prefix="burst"))
        steady = _produce(app.engine, people, seconds)
        total = burst + steady
        _wait_sent(app.engine, total, deadline=time.monotonic() + 120)
    finally:
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            p.wait(timeout=30)
        for h in handles:
            h.close()
    late = _lateness(app.engine)
    app.engine.dispose()
    if any("Traceback" in log.read_text() for log in logs):
        raise RuntimeError(f"a worker failed: see {logs}")
    for path in (config, *logs):
        path.unlink()
    if url.startswith("sqlite"):
        drop_sqlite(url)
    p99 = percentile(late, 99)
    note = (
        f"{len(late):,} of {total:,} sent ({steady:,} steady at 1,000/s for {seconds} s, {burst:,} due at once); "
        f"p50 {percentile(late, 50):.2f} s, max {max(late):.2f} s; tick 0.25 s, batch_size 1000"
    )
    return Figure(B, f"{name}: p99 lateness", p99, "s", "< 1.5", p99 < 1.5, note=note)


def _produce(engine: Engine, people: list[tuple[int, int]], seconds: int) -> int:
    """100 messages due now, every 100 ms."""
    sent, began = 0, time.monotonic()
    for tick in range(seconds * 10):
        time.sleep(max(0.0, began + tick * 0.1 - time.monotonic()))
        sent += insert_outbox(
            engine, outbox_rows(people, 100, datetime.now(UTC), start=sent, prefix="steady")
        )
    return sent


def _wait_sent(engine: Engine, expected: int, deadline: float) -> None:
    query = select(func.count()).select_from(outbox).where(outbox.c.status == "sent")
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(query).scalar_one() >= expected:
                return
        time.sleep(0.25)


def _lateness(engine: Engine) -> list[float]:
    query = (
        select(sandbox_messages.c.created_at, outbox.c.due_at)
        .join(delivery_attempts, delivery_attempts.c.id == sandbox_messages.c.attempt_id)
        .join(outbox, outbox.c.id == delivery_attempts.c.outbox_id)
    )
    with engine.connect() as conn:
        return [(sent - due).total_seconds() for sent, due in conn.execute(query)]
