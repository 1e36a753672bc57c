"""Benchmark 5: the worker's memory as the backlog grows to 1,000,000 pending messages.

A real `interlude worker` process (SQLite file) runs while pending messages (due tomorrow) are
added in steps; at each step 10,000 more fall due at once and the worker sends them. Its resident
memory (VmRSS, and the peak VmHWM) is read from /proc after each step.
"""

from __future__ import annotations

import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from service.db.tables import outbox

from ._outbox import drop_sqlite, insert_outbox, make_app, outbox_rows, seed_people, write_config
from .common import Context, Figure

TITLE = "worker memory with a growing backlog"
B = "5 memory"
DUE_EACH_STEP = 10_000


def run(ctx: Context) -> list[Figure]:
    steps = [0, 250_000, 500_000, 1_000_000] if not ctx.quick else [0, 25_000, 50_000, 100_000]
    url = ctx.sqlite_url("b5")
    app = make_app(url)
    people = seed_people(app, 5_000)
    config = write_config(ctx.scratch, url)
    log = ctx.scratch / "b5-worker.log"
    import subprocess

    interlude = str(Path(sys.executable).parent / "interlude")
    with log.open("w") as handle:
        worker = subprocess.Popen(
            [interlude, "--config", str(config), "worker"], stdout=subprocess.DEVNULL, stderr=handle
        )
    rss: dict[int, tuple[float, float]] = {}
    try:
        pending, due = 0, 0
        for step in steps:
            insert_outbox(
                app.engine,
                outbox_rows(
                    people,
                    step - pending,
                    datetime.now(UTC) + timedelta(days=1),
                    start=pending,
                    prefix="later",
                ),
            )
            pending = step
            insert_outbox(
                app.engine, outbox_rows(people, DUE_EACH_STEP, datetime.now(UTC), start=due, prefix="now")
            )
            due += DUE_EACH_STEP
            _wait_sent(app, due, worker)
            time.sleep(2)  # a few idle ticks over the whole backlog
            rss[step] = _memory(worker.pid)
    finally:
        worker.send_signal(signal.SIGINT)
        worker.wait(timeout=30)
        app.engine.dispose()
    text = log.read_text()
    if "Traceback" in text:
        raise RuntimeError(f"the worker failed: see {log}")
    for path in (config, log):
        path.unlink()
    drop_sqlite(url)
    first, last = rss[steps[0]], rss[steps[-1]]
    growth = last[0] - first[0]
    series = ", ".join(f"{k:,}: {v[0]:.0f} MB" for k, v in rss.items())
    note = f"RSS by pending messages ({series}); peak {max(v[1] for v in rss.values()):.0f} MB; {DUE_EACH_STEP:,} sent at each step"
    return [
        Figure(
            B,
            f"worker RSS, {steps[-1]:,} pending",
            last[0],
            "MB",
            "<= 100",
            last[1] <= 100,
            note=note,
            extra={"rss": rss},
        ),
        Figure(B, f"RSS growth from 0 to {steps[-1]:,} pending", growth, "MB", "flat (< 10)", growth < 10),
    ]


def _wait_sent(app: object, expected: int, worker: object, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    query = select(func.count()).select_from(outbox).where(outbox.c.status == "sent")
    while time.monotonic() < deadline:
        with app.engine.connect() as conn:  # type: ignore[attr-defined]
            if conn.execute(query).scalar_one() >= expected:
                return
        if worker.poll() is not None:  # type: ignore[attr-defined]
            raise RuntimeError("the worker exited")
        time.sleep(0.25)
    raise RuntimeError("the worker did not send the due messages in time")


def _memory(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process, in MB."""
    found = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0]) / 1024
    return found["VmRSS"], found["VmHWM"]
