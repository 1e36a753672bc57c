"""Benchmark 4: signed inbound SMS through the whole reply pipeline (POST /twilio/inbound), the app
under gunicorn with 2 workers (service/gunicorn_conf.py), 8 keep-alive connections from a Python
client on 127.0.0.1; beside it, the ceiling: a minimal Flask app under the same gunicorn settings
that only checks the signature and inserts one row."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, insert, select
from twilio.request_validator import RequestValidator

from service.db.tables import checkins, inbound_messages, outbox
from service.services.bulk import book_sessions

from ._load import Request, post_all, wait_ready
from ._people import PUBLIC, TWILIO_TOKEN, add_patients, config_text, phone, remove_sqlite, services
from .common import ROOT, Context, Figure, percentile, rate

TITLE = "inbound webhook: signed SMS through the reply pipeline, gunicorn -w 2"
BENCH = "4 inbound"
TARGET_RPS, TARGET_P99 = 1500, 15.0
CONNECTIONS = 8
WARM = 400  # requests before measuring: connections, pools and caches warm
ON_CALL = "+12025550181"
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
        str(ROOT / "service" / "gunicorn_conf.py"),
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


def _measure(
    ctx: Context, url: str, label: str, target: str, env: dict[str, str], count: int, info: dict[str, Any]
) -> tuple[Figure, Figure]:
    log = ctx.scratch / f"b4-{label.split(',')[0].split()[0].lower()}-{uuid.uuid4().hex[:6]}.log"
    warm = signed(messages(WARM, info["patients"], 0, seed=1))
    load = signed(messages(count, info["patients"], info["asked"], seed=2))
    process, port = _serve(target, env, log)
    try:
        post_all(port, "/twilio/inbound", warm, CONNECTIONS)
        result = post_all(port, "/twilio/inbound", load, CONNECTIONS)
    finally:
        _stop(process)
    ok = result.statuses.get(200, 0)
    rps = rate(ok, result.seconds)
    p99 = percentile(result.latencies_ms, 99)
    note = "" if ok == count else f"statuses {result.statuses}"
    extra = {
        "requests": count,
        "p50_ms": round(percentile(result.latencies_ms, 50), 2),
        "p99_ms": round(p99, 2),
        "statuses": result.statuses,
    }
    ours = "ours" if "ceiling" not in label else "ceiling"
    throughput = Figure(BENCH, f"{label}: throughput", rps, "req/s", kind=ours, note=note, extra=extra)
    latency = Figure(BENCH, f"{label}: p99 latency", p99, "ms", kind=ours)
    if ours == "ours":
        throughput.target, throughput.met = f">= {TARGET_RPS:,}", rps >= TARGET_RPS and ok == count
        latency.target, latency.met = f"< {TARGET_P99:g}", p99 < TARGET_P99
    return throughput, latency


def _stored(url: str) -> int:
    app = services(url)
    with app.engine.connect() as conn:
        n = int(conn.execute(select(func.count()).select_from(inbound_messages)).scalar_one())
    app.engine.dispose()
    return n


def _one_database(ctx: Context, url: str, name: str, count: int) -> list[Figure]:
    info = _prepare(url, ctx.size(10_000, 2_000))
    config = ctx.scratch / f"b4-{name.lower()}-{uuid.uuid4().hex[:6]}.toml"
    extra = f'[[escalation.on_call]]\nname = "On call"\nphone = "{ON_CALL}"\n'
    config.write_text(config_text(url, extra))
    env = {"INTERLUDE_CONFIG": str(config), "INTERLUDE_TWILIO_AUTH_TOKEN": TWILIO_TOKEN}
    figures = list(_measure(ctx, url, f"{name}, full pipeline", "service.web:create_app()", env, count, info))
    before = _stored(url)
    env = {**env, "BENCH_DATABASE_URL": url, "BENCH_PUBLIC_BASE_URL": PUBLIC}
    target = "bench._minimal_inbound:create_app()"
    figures.extend(_measure(ctx, url, f"{name} ceiling, signature + one insert", target, env, count, info))
    stored, expected = _stored(url) - before, count + WARM
    if stored != expected:
        figures[-2].note = f"stored {stored} of {expected}"
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
