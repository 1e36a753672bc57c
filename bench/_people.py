"""Bench fixtures shared by the planning and inbound benchmarks: a migrated database with one
clinic and many patients, built fast (patients are inserted directly: enrolment is not what is
measured), and the config text that points the service at it."""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from service.bootstrap import build
from service.config import parse_config
from service.db.engine import make_engine
from service.db.migrate import upgrade
from service.db.tables import consent_events, patients
from service.runtime import Interlude
from service.services.clinic import ensure_clinic

from .common import ROOT

# A Tuesday, 10:00 in New York: every booking below is in the future.
NOW = datetime(2027, 3, 2, 15, 0, tzinfo=UTC)
ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
)
TWILIO_TOKEN = "bench-twilio-auth-token-0123456789"
PUBLIC = "https://bench.clinic.example"


def config_text(url: str, extra: str = "") -> str:
    return f"""
[database]
url = "{url}"
pool_size = 4
[schedules]
dir = "{(ROOT / "schedules").as_posix()}"
[messages]
dir = "{(ROOT / "messages").as_posix()}"
[web]
public_base_url = "{PUBLIC}"
{extra}
"""


def services(url: str, clock: Callable[[], datetime] = lambda: NOW) -> Interlude:
    engine = make_engine(url, 4)
    upgrade(engine)
    env = {"INTERLUDE_TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "INTERLUDE_API_TOKEN": secrets.token_urlsafe(32)}
    app = build(parse_config(config_text(url), "bench-config", env), clock=clock, engine=engine)
    ensure_clinic(app)
    return app


def remove_sqlite(url: str) -> None:
    """Delete a scratch SQLite database and its WAL files (a full run leaves hundreds of MB)."""
    database = url.removeprefix("sqlite:///")
    for suffix in ("", "-wal", "-shm"):
        Path(database + suffix).unlink(missing_ok=True)


def phone(i: int) -> str:
    # +1 202 555 01xx numbers are fictional; these only need to be distinct and well-formed.
    return f"+1202{2000000 + i:07d}"


def add_patients(app: Interlude, count: int, seed: int = 7) -> list[int]:
    """`count` patients (SMS and email for most, SMS only for some), opted in; returns their ids."""
    rnd = random.Random(seed)
    with app.engine.begin() as conn:
        from service.services.patients import default_clinic_id

        clinic_id = default_clinic_id(conn)
    ids: list[int] = []
    for first in range(0, count, 5000):
        rows: list[dict[str, Any]] = []
        for i in range(first, min(count, first + 5000)):
            channels = ["email", "sms"] if rnd.random() < 0.8 else ["sms"]
            rows.append(
                {
                    "clinic_id": clinic_id,
                    "external_ref": f"mrn-{i}",
                    "first_name": "Pat",
                    "last_name": f"Bench{i}",
                    "phone": phone(i),
                    "email": f"p{i}@example.org" if "email" in channels else None,
                    "timezone": ZONES[i % len(ZONES)],
                    "language": "es" if i % 10 == 0 else "en",
                    "channels": channels,
                    "indications": ["depression"] if rnd.random() < 0.7 else ["ptsd"],
                    "detailed_messages": False,
                    "sms_status": "ok",
                    "schedule": "default",
                    "enrolled_at": NOW - timedelta(days=30),
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
        with app.engine.begin() as conn:
            new = list(
                conn.execute(
                    insert(patients).returning(patients.c.id, sort_by_parameter_order=True), rows
                ).scalars()
            )
            consent = [
                {
                    "patient_id": pid,
                    "channel": ch,
                    "purpose": "all",
                    "action": "opt_in",
                    "source": "bench",
                    "raw_text": None,
                    "wording_version": "enrolment",
                    "created_at": NOW - timedelta(days=30),
                }
                for pid, row in zip(new, rows, strict=True)
                for ch in row["channels"]
            ]
            conn.execute(insert(consent_events), consent)
        ids.extend(int(i) for i in new)
    return ids
