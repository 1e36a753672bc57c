"""Shared by the dispatch benchmarks (2, 3, 5, 6): a migrated database with real patients, their
consent and booked sessions, and due outbox rows inserted in bulk (planning is benchmark 1's)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select

from service.bootstrap import build
from service.config import Config, parse_config
from service.db.engine import make_engine
from service.db.migrate import upgrade
from service.db.tables import consent_events, delivery_attempts, outbox, patients, sandbox_messages, sessions
from service.runtime import Interlude
from service.services.clinic import ensure_clinic

from .common import ROOT

# Always inside the send window: quiet hours are measured elsewhere (tests), not here.
OPEN_ALL_DAY = '[clinic]\nquiet_hours_start = "00:00"\nquiet_hours_end = "23:59"\n'
# Templates that read the patient and the session (the booking confirmation) or only the clinic.
TEMPLATES = (("booking_confirmation", "admin"), ("integration_note", "admin"))


def config_text(url: str, extra: str = "") -> str:
    return (
        f'[database]\nurl = "{url}"\n[schedules]\ndir = "{ROOT / "schedules"}"\n'
        f'[messages]\ndir = "{ROOT / "messages"}"\n{OPEN_ALL_DAY}{extra}'
    )


def make_config(url: str, extra: str = "", env: dict[str, str] | None = None) -> Config:
    return parse_config(config_text(url, extra), "bench-config", env or {})


def write_config(folder: Path, url: str, extra: str = "") -> Path:
    path = folder / f"config-{os.getpid()}-{id(extra)}.toml"
    path.write_text(config_text(url, extra))
    return path


def make_app(url: str, extra: str = "", env: dict[str, str] | None = None, **kwargs: Any) -> Interlude:
    """A migrated database with its clinic, and the services wired for it."""
    engine = make_engine(url, 10)
    upgrade(engine)
    app = build(make_config(url, extra, env), engine=engine, **kwargs)
    ensure_clinic(app)
    return app


def seed_people(app: Interlude, count: int) -> list[tuple[int, int]]:
    """`count` patients (SMS and email, opted in) with one booked session each, in bulk.
    Returns (patient id, session id) pairs."""
    now = datetime.now(UTC)
    clinic = ensure_clinic(app)
    with app.engine.begin() as conn:
        first = (conn.execute(select(func.max(patients.c.id))).scalar() or 0) + 1
        conn.execute(insert(patients), [_patient(clinic, first + i, now) for i in range(count)])
        ids = list(conn.execute(select(patients.c.id).where(patients.c.id >= first)).scalars())
        conn.execute(
            insert(consent_events),
            [
                {
                    "patient_id": pid,
                    "channel": ch,
                    "purpose": "all",
                    "action": "opt_in",
                    "source": "bench",
                    "wording_version": "enrolment",
                    "created_at": now,
                }
                for pid in ids
                for ch in ("sms", "email")
            ],
        )
        start = now + timedelta(days=3)
        conn.execute(insert(sessions), [_session(pid, start, now) for pid in ids])
        pairs = conn.execute(
            select(sessions.c.patient_id, sessions.c.id).where(sessions.c.patient_id >= first)
        )
        return [(p, s) for p, s in pairs]


def _patient(clinic: int, n: int, now: datetime) -> dict[str, Any]:
    return {
        "clinic_id": clinic,
        "external_ref": f"bench-{n}",
        "first_name": "Bench",
        "last_name": f"Patient{n}",
        "phone": f"+1202{n % 10_000_000:07d}",
        "email": f"p{n}@example.org",
        "timezone": "America/New_York",
        "language": "en",
        "channels": ["sms", "email"],
        "indications": ["depression"],
        "detailed_messages": False,
        "schedule": "default",
        "enrolled_at": now,
        "created_at": now,
        "updated_at": now,
    }


def _session(patient_id: int, start: datetime, now: datetime) -> dict[str, Any]:
    return {
        "patient_id": patient_id,
        "start_at": start,
        "duration_minutes": 60,
        "modality": "iv",
        "number": 1,
        "status": "booked",
        "schedule": "default",
        "occurrence": 0,
        "booked_at": now,
        "created_at": now,
        "updated_at": now,
    }


def outbox_rows(
    people: list[tuple[int, int]],
    count: int,
    due: datetime,
    *,
    start: int = 0,
    prefix: str = "b",
    email: bool = True,
) -> Iterator[dict[str, Any]]:
    """`count` due messages over `people`: pairs of one SMS and one email of the same step to one
    patient (as a schedule plans them), half of them naming the session."""
    for i in range(start, start + count):
        pair = i // 2
        patient_id, session_id = people[pair % len(people)]
        template, category = TEMPLATES[pair % 2]
        yield {
            "dedupe_key": f"{prefix}:{i}",
            "patient_id": patient_id,
            "session_id": session_id,
            "schedule": "default",
            "step_id": f"bench_{template}",
            "template": template,
            "channel": "sms" if i % 2 or not email else "email",
            "category": category,
            "priority": 2,
            "occurrence": 0,
            "due_at": due,
            "next_attempt_at": due,
            "status": "pending",
            "attempts": 0,
            "created_at": due,
            "updated_at": due,
        }


def insert_outbox(engine: Engine, rows: Iterator[dict[str, Any]], chunk: int = 20_000) -> int:
    done = 0
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= chunk:
            done += _insert(engine, batch)
            batch = []
    if batch:
        done += _insert(engine, batch)
    return done


def _insert(engine: Engine, batch: list[dict[str, Any]]) -> int:
    with engine.begin() as conn:
        conn.execute(insert(outbox), batch)
    return len(batch)


def exactly_once(engine: Engine, expected: int) -> tuple[bool, dict[str, int]]:
    """Every row sent, one delivery attempt and one sandbox record each."""
    with engine.connect() as conn:
        count = lambda q: int(conn.execute(q).scalar_one())  # noqa: E731
        facts = {
            "sent": count(select(func.count()).select_from(outbox).where(outbox.c.status == "sent")),
            "not_sent": count(select(func.count()).select_from(outbox).where(outbox.c.status != "sent")),
            "attempts": count(select(func.count()).select_from(delivery_attempts)),
            "rows_attempted": count(select(func.count(func.distinct(delivery_attempts.c.outbox_id)))),
            "sandbox": count(select(func.count()).select_from(sandbox_messages)),
            "sandbox_attempts": count(select(func.count(func.distinct(sandbox_messages.c.attempt_id)))),
        }
    ok = facts["not_sent"] == 0 and all(
        facts[k] == expected for k in ("sent", "attempts", "rows_attempted", "sandbox", "sandbox_attempts")
    )
    return ok, facts


def spawn(
    args: list[str], log: Path, env: dict[str, str] | None = None, *, stdout: bool = False
) -> subprocess.Popen[bytes]:
    """A Python subprocess of this interpreter in the repository, stderr to `log` (stdout piped
    when asked)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("INTERLUDE_")}
    environment.update(env or {})
    handle = log.open("w")
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
        stderr=handle,
    )


def drop_sqlite(url: str) -> None:
    """Delete a scratch SQLite database (and its WAL files): a million rows are hundreds of MB."""
    path = Path(url.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
