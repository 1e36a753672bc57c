"""Benchmark 4: signed inbound SMS through the whole reply pipeline (POST /twilio/inbound), the app
under gunicorn with 2 workers (deploy/gunicorn.conf.py, as in production), 8 keep-alive connections on 127.0.0.1
from wrk (for a fixed time, every request a fresh message) or, without wrk, from a Python client
(a fixed count); beside it, the ceiling: a minimal Flask app under the same gunicorn settings that
only checks the signature and inserts one row, loaded by the same generator in the same run.

The app answers a repeated MessageSid as a duplicate (200, nothing stored), so a repeat would
flatter the figure: no request is sent twice, and the rows stored after each run are checked
against the requests sent."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, insert, select
from twilio.request_validator import RequestValidator

from service.db.tables import checkins, inbound_messages, outbox
from service.services.bulk import book_sessions

from ._load import WRK_THREADS, Request, post_all, wait_ready, wrk_post, wrk_version
from ._people import PUBLIC, TWILIO_TOKEN, add_patients, config_text, phone, remove_sqlite, services
from .common import ROOT, Context, Figure, percentile, rate

TITLE = "inbound webhook: signed SMS through the reply pipeline, gunicorn -w 2"
BENCH = "4 inbound"
TARGET_RPS, TARGET_P99 = 1500, 15.0
CONNECTIONS = 8
WARM = 400  # requests before measuring (Python client): connections, pools and caches warm
POOL_RATE = 3_000  # fresh requests prepared per second of a wrk run, above what 2 cores serve
ON_CALL = "+12025550181"
PATH = "/twilio/inbound"
FREE_TEXT = (
    "Running about 10 minutes late, sorry!",
    "Can I take my usual meds tomorrow morning?",
    "What should I wear to the session?",
    "thanks, see you thursday",
    "Is my ride allowed to wait inside?",
    "I feel a bit nauseous still, is that normal",
)


def _prepare(url: str, patients: int) -> dict[str, Any]:
    """Patients, a booked session for half of them, an open check-in for a third of those."""
    app = services(url)
    ids = add_patients(app, patients)
    booked = ids[: patients // 2]
    result = book_sessions(
        app, [{"patient_id": p, "start": "2027-03-20T10:00", "modality": "iv"} for p in booked], "bench"
    )
    assert not result.errors
    now = datetime.now(UTC)  # the server runs on the real clock
    asked = booked[: len(booked) // 3]
    with app.engine.begin() as conn:
        rows = [
            {
                "dedupe_key": f"bench-checkin:{p}",
                "patient_id": p,
                "schedule": "default",
                "step_id": "checkin_same_day",
                "template": "checkin_same_day",
                "channel": "sms",
                "category": "safety",
                "priority": 0,
                "occurrence": 0,
                "due_at": now - timedelta(minutes=30),
                "next_attempt_at": now - timedelta(minutes=30),
                "status": "sent",
                "attempts": 1,
                "sent_at": now - timedelta(minutes=30),
                "created_at": now,
                "updated_at": now,
            }
            for p in asked
        ]
        outbox_ids = conn.execute(insert(outbox).returning(outbox.c.id, sort_by_parameter_order=True), rows)
        conn.execute(
            insert(checkins),
            [
                {
                    "outbox_id": o,
                    "patient_id": p,
                    "schedule": "default",
                    "step_id": "checkin_same_day",
                    "kind": "checkin",
                    "state": "open",
                    "opened_at": now - timedelta(minutes=30),
                    "remind_at": now + timedelta(hours=2),
                    "closes_at": now + timedelta(hours=4),
                    "concerning": False,
                }
                for o, p in zip(outbox_ids.scalars(), asked, strict=True)
            ],
        )
    app.engine.dispose()
    return {"patients": patients, "asked": len(asked)}


def messages(count: int, patients: int, asked: int, seed: int) -> list[tuple[str, str]]:
    """(sender, body): free text 35%, check-in answers 25%, STOP 7%, START 5%, HELP 5%,
    "thanks"/"yes" 10%, unknown senders 12%, crisis language 1%."""
    rnd = random.Random(seed)
    answers = list(range(asked))
    rnd.shuffle(answers)
    out = []
    for _ in range(count):
        roll = rnd.random()
        patient = rnd.randrange(patients)
        if roll < 0.35:
            out.append((phone(patient), rnd.choice(FREE_TEXT)))
        elif roll < 0.60 and answers:
            out.append((phone(answers.pop()), rnd.choice(("1", "1", "1", "ok", "2", "good"))))
        elif roll < 0.67:
            out.append((phone(patient), "STOP"))
        elif roll < 0.72:
            out.append((phone(patient), "START"))
        elif roll < 0.77:
            out.append((phone(patient), "HELP"))
        elif roll < 0.87:
            out.append((phone(patient), rnd.choice(("thanks!", "yes", "Thank you"))))
        elif roll < 0.99:
            out.append((f"+1303{rnd.randrange(10**7):07d}", rnd.choice(FREE_TEXT)))
        else:
            out.append((phone(patient), "I don't want to be alive anymore"))
    return out


def signed(pairs: list[tuple[str, str]]) -> list[Request]:
    validator = RequestValidator(TWILIO_TOKEN)
    url = f"{PUBLIC}/twilio/inbound"
    out = []
    for sender, body in pairs:
        params = {
            "MessageSid": "SM" + uuid.uuid4().hex,
            "AccountSid": "AC" + "0" * 32,
            "From": sender,
            "To": "+12025550100",
            "Body": body,
            "NumMedia": "0",
            "NumSegments": "1",
        }
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": validator.compute_signature(url, params),
        }
        out.append((urlencode(params).encode(), headers))
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(target: str, env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "-c",
        str(ROOT / "deploy" / "gunicorn.conf.py"),
        "-w",
        "2",
        "-b",
        f"127.0.0.1:{port}",
        target,
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=out)
    wait_ready(port, process, log)
    return process, port


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class _Run:
    generator: str
    seconds: float
    statuses: dict[int, int]
    p50_ms: float
    p99_ms: float
    sent: tuple[int, int]  # the fewest and most rows the run should store, warm-up included
    errors: dict[str, int] = field(default_factory=dict)


def _load(ctx: Context, port: int, count: int, info: dict[str, Any]) -> _Run:
    """Warm up with the Python client, then measure with wrk when installed, else with it too."""
    warm = signed(messages(WARM, info["patients"], 0, seed=1))
    warmed = post_all(port, PATH, warm, CONNECTIONS)
    received = warmed.statuses.get(200, 0)
    if shutil.which("wrk"):
        seconds = ctx.size(15, 3)
        load = signed(messages(seconds * POOL_RATE, info["patients"], info["asked"], seed=2))
        result = wrk_post(port, PATH, load, seconds, ctx.scratch, CONNECTIONS)
        threads = "thread" if WRK_THREADS == 1 else "threads"
        return _Run(
            f"wrk {wrk_version()} ({WRK_THREADS} {threads}, {CONNECTIONS} connections, {seconds} s)",
            result.seconds,
            result.statuses,
            result.p50_ms,
            result.p99_ms,
            (received + result.statuses.get(200, 0), WARM + result.issued),
            result.errors,
        )
    load = signed(messages(count, info["patients"], info["asked"], seed=2))
    done = post_all(port, PATH, load, CONNECTIONS)
    return _Run(
        f"Python client ({CONNECTIONS} threads, {count:,} requests)",
        done.seconds,
        done.statuses,
        percentile(done.latencies_ms, 50),
        percentile(done.latencies_ms, 99),
        (received + done.statuses.get(200, 0), WARM + count),
    )


def _measure(
    ctx: Context, url: str, label: str, target: str, env: dict[str, str], count: int, info: dict[str, Any]
) -> tuple[Figure, Figure]:
    log = ctx.scratch / f"b4-{label.split(',')[0].split()[0].lower()}-{uuid.uuid4().hex[:6]}.log"
    before = _stored(url)
    process, port = _serve(target, env, log)
    try:
        run = _load(ctx, port, count, info)
    finally:
        _stop(process)
    stored = _stored(url) - before
    ok = run.statuses.get(200, 0)
    answered = sum(run.statuses.values())
    rps = rate(ok, run.seconds)
    clean = ok == answered and not run.errors and run.sent[0] <= stored <= run.sent[1]
    notes = [f"load: {run.generator}, {answered:,} answered"]
    if ok != answered:
        notes.append(f"statuses {run.statuses}")
    if run.errors:
        notes.append(f"errors {run.errors}")
    if not run.sent[0] <= stored <= run.sent[1]:
        low, high = run.sent
        notes.append(f"stored {stored:,} rows, expected {low:,}" + ("" if low == high else f" to {high:,}"))
    extra = {
        "generator": run.generator,
        "requests": answered,
        "seconds": round(run.seconds, 2),
        "p50_ms": round(run.p50_ms, 2),
        "p99_ms": round(run.p99_ms, 2),
        "statuses": run.statuses,
        "errors": run.errors,
        "stored": stored,
        "warm_up": WARM,
    }
    ours = "ours" if "ceiling" not in label else "ceiling"
    note = "; ".join(notes)
    throughput = Figure(BENCH, f"{label}: throughput", rps, "req/s", kind=ours, note=note, extra=extra)
    latency = Figure(BENCH, f"{label}: p99 latency", run.p99_ms, "ms", kind=ours)
    if ours == "ours":
        throughput.target, throughput.met = f">= {TARGET_RPS:,}", rps >= TARGET_RPS and clean
        latency.target, latency.met = f"< {TARGET_P99:g}", run.p99_ms < TARGET_P99
    return throughput, latency


def _stored(url: str) -> int:
    app = services(url)
    with app.engine.connect() as conn:
        n = int(conn.execute(select(func.count()).select_from(inbound_messages)).scalar_one())
    app.engine.dispose()
    return n


def _one_database(ctx: Context, url: str, name: str, count: int) -> list[Figure]:
    info = _prepare(url, ctx.size(10_000, 2_000))
    ctx.scratch.mkdir(parents=True, exist_ok=True)
    config = ctx.scratch / f"b4-{name.lower()}-{uuid.uuid4().hex[:6]}.toml"
    extra = f'[[escalation.on_call]]\nname = "On call"\nphone = "{ON_CALL}"\n'
    config.write_text(config_text(url, extra))
    env = {"INTERLUDE_CONFIG": str(config), "INTERLUDE_TWILIO_AUTH_TOKEN": TWILIO_TOKEN}
    figures = list(_measure(ctx, url, f"{name}, full pipeline", "service.web:create_app()", env, count, info))
    env = {**env, "BENCH_DATABASE_URL": url, "BENCH_PUBLIC_BASE_URL": PUBLIC}
    target = "bench._minimal_inbound:create_app()"
    figures.extend(_measure(ctx, url, f"{name} ceiling, signature + one insert", target, env, count, info))
    return figures


def run(ctx: Context) -> list[Figure]:
    count = ctx.size(6_000, 800)
    figures: list[Figure] = []
    with ctx.postgres_url() as pg:
        if pg is None:
            figures.append(Figure(BENCH, "PostgreSQL", None, "req/s", note="PostgreSQL not reachable"))
        else:
            figures.extend(_one_database(ctx, pg, "PostgreSQL", count))
    url = ctx.sqlite_url("b4-inbound")
    figures.extend(_one_database(ctx, url, "SQLite", count))
    remove_sqlite(url)
    return figures
