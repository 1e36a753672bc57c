"""Benchmark 6: SMS to a provider that answers after 100 ms, through the Twilio transport.

A local Twilio stand-in (bench._slow_twilio, its own process) answers each Messages API request
after 100 ms. One worker (the Dispatcher in this process, SQLite) sends due SMS: with a
`max_per_second` that allows it, the rate is bounded by the sends in flight; with
`max_per_second = 100`, the stand-in's own arrival times show the pace is never exceeded
(Twilio's throughput, and `max_per_second`, count SMS segments: a 2-segment message takes two).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime

from service.services.outbox.dispatch import Dispatcher
from service.transports.twilio_sms import TwilioSmsTransport

from ._outbox import drop_sqlite, insert_outbox, make_app, outbox_rows, seed_people
from .common import ROOT, Context, Figure, Timer, rate

TITLE = "throughput to a slow provider (100 ms per request)"
B = "6 slow provider"
DELAY = 0.1
ACCOUNT = "AC" + "0123456789abcdef" * 2


def run(ctx: Context) -> list[Figure]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bench._slow_twilio", str(port), str(DELAY)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == b"ready"
        url = f"http://127.0.0.1:{port}"
        fast = _measure(ctx, url, ctx.size(5_000, 1_000), 10_000.0)
        slow = _measure(ctx, url, ctx.size(800, 300), 100.0)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return [_unlimited(fast), _limited(slow)]


def _measure(ctx: Context, url: str, n: int, per_second: float) -> dict[str, float]:
    extra = (
        f'[web]\npublic_base_url = "https://clinic.example.org"\n[sms]\ntransport = "twilio"\n'
        f'[twilio]\naccount_sid = "{ACCOUNT}"\nfrom_number = "+12025550100"\napi_base_url = "{url}"\n'
        f"max_per_second = {per_second}\ntimeout_seconds = 10\n[worker]\nbatch_size = 1000\n"
    )
    db = ctx.sqlite_url("b6")
    app = make_app(db, extra, env={"INTERLUDE_TWILIO_AUTH_TOKEN": "x" * 32})
    sms = app.transports["sms"]
    assert isinstance(sms, TwilioSmsTransport)
    people = seed_people(app, min(n, 5_000))
    insert_outbox(
        app.engine, outbox_rows(people, n, datetime.now(UTC), prefix=f"b6-{per_second}", email=False)
    )
    before = len(_arrivals(url))
    dispatcher = Dispatcher(app)
    sent = 0
    with Timer() as t:
        while (stats := dispatcher.run_once()).claimed:
            sent += stats.sent
    app.engine.dispose()
    drop_sqlite(db)
    arrivals = sorted(_arrivals(url)[before:])
    times = [a[0] for a in arrivals]
    return {
        "sent": sent,
        "messages": n,
        "seconds": t.seconds,
        "rate": rate(sent, t.seconds),
        "in_flight": sms.pacing.concurrency,
        "max_per_second": per_second,
        "arrival_rate": rate(len(times) - 1, times[-1] - times[0]) if len(times) > 1 else 0.0,
        "segments": float(sum(a[1] for a in arrivals)),
        "busiest_second": _busiest_second(arrivals),
    }


def _unlimited(m: dict[str, float]) -> Figure:
    note = (
        f"{m['sent']:,.0f} of {m['messages']:,.0f} SMS sent, max_per_second {m['max_per_second']:,.0f}, "
        f"{m['in_flight']:.0f} sends in flight (the Twilio transport's default at that pace)"
    )
    return Figure(
        B, "1 worker, pace allows", m["rate"], "msgs/s", ">= 500", m["rate"] >= 500, note=note, extra=m
    )


def _limited(m: dict[str, float]) -> Figure:
    # +2: a one-second window's two edges may both hold a send (of up to two segments)
    ok = m["busiest_second"] <= m["max_per_second"] + 2
    note = (
        f"max_per_second 100 (segments): overall {m['rate']:.1f} msgs/s = "
        f"{m['segments'] / m['seconds']:.1f} segments/s; busiest 1-second window at the provider "
        f"{m['busiest_second']:.0f} segments ({m['sent']:,.0f} SMS of 1-2 segments, {m['in_flight']:.0f} in flight)"
    )
    return Figure(
        B,
        "1 worker, max_per_second 100: busiest second",
        m["busiest_second"],
        "segments",
        "<= 100 (+2 at the edges)",
        ok,
        note=note,
        extra=m,
    )


def _busiest_second(arrivals: list[tuple[float, int]]) -> float:
    """The most segments that arrived within any one second."""
    best, left, inside = 0, 0, 0
    for at, segments in arrivals:
        inside += segments
        while at - arrivals[left][0] >= 1.0:
            inside -= arrivals[left][1]
            left += 1
        best = max(best, inside)
    return float(best)


def _arrivals(url: str) -> list[tuple[float, int]]:
    with urllib.request.urlopen(f"{url}/_arrivals", timeout=10) as answer:
        return [(float(t), int(n)) for t, n in json.loads(answer.read())]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
