"""The demo clinic loaded by `make run`: one patient with a session a few minutes ahead.

The demo patient lives in a time zone where it is daytime now, so that their messages are not
held back by quiet hours and can be watched in the sandbox straight away.

`make run` names no config, so `interlude init --demo` writes the demo config to
instance/config.toml (when there is none) and `interlude serve` reads it: sandbox transports and
a demo on-call clinician, so that a crisis text in the sandbox shows the page it sends.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from .config import DEFAULT_INSTANCE_CONFIG, Config
from .db.tables import patients
from .runtime import Interlude
from .services.patients import create_patient
from .services.sessions import book_session

DEMO_REF = "demo-patient-1"
DEMO_ADMIN = "admin@clinic.example"
ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Pacific/Honolulu",
    "Pacific/Auckland",
    "Australia/Sydney",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Europe/London",
    "Atlantic/Azores",
    "America/Sao_Paulo",
)


DEMO_CONFIG = """\
# The demo config, written by `interlude init --demo` (what `make run` serves). Every key not
# set here keeps its built-in default; config.example.toml documents them all. Edit it or
# delete it freely: it is not part of the repository.
#
# Nothing leaves the machine: both transports are the sandbox (see the Sandbox staff page).
[sms]
transport = "sandbox"

[email]
transport = "sandbox"

# A demo on-call clinician (reserved 555-01xx numbers, example.com-style address), so that a
# crisis text shows the page it sends. Real transports refuse to start without a real one.
[[escalation.on_call]]
name = "Demo on-call clinician"
phone = "+12025550181"
email = "oncall@clinic.example"

[[escalation.backup]]
name = "Demo backup clinician"
phone = "+12025550182"
email = "backup@clinic.example"
"""


def write_demo_config(config: Config, path: Path = DEFAULT_INSTANCE_CONFIG) -> Path | None:
    """Write DEMO_CONFIG to `path` when the running config is the built-in defaults (no file was
    named or found) and there is no file there yet; returns the path written, else None."""
    if config.source != "built-in defaults" or path.exists():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(DEMO_CONFIG, encoding="utf-8")
    return path


def daytime_zone(now: datetime) -> str:
    """A zone where the local time is between 09:00 and 17:59 now (10-18 h spread covers the day)."""
    for zone in ZONES:
        if 9 <= now.astimezone(ZoneInfo(zone)).hour < 18:
            return zone
    return ZONES[0]  # pragma: no cover - the zones above cover every hour of the day


def seed(app: Interlude, minutes_ahead: int = 5) -> dict[str, Any]:
    """Create the demo patient and book a session `minutes_ahead` from now (idempotent)."""
    now = app.clock()
    with app.reader.connect() as conn:
        existing = conn.execute(select(patients.c.id).where(patients.c.external_ref == DEMO_REF)).first()
    if existing is not None:
        return {"patient_id": existing[0], "created": False}
    patient = create_patient(
        app,
        {
            "first_name": "Alex",
            "last_name": "Demo",
            "phone": "+12025550123",
            "email": "alex.demo@example.org",
            "timezone": daytime_zone(now),
            "language": "en",
            "indications": ["depression"],
            "external_ref": DEMO_REF,
        },
        actor="demo",
    )
    start = (now + timedelta(minutes=minutes_ahead)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    session = book_session(
        app, {"patient_id": patient["id"], "start": start.isoformat(), "modality": "iv"}, actor="demo"
    )
    return {"patient_id": patient["id"], "session_id": session["id"], "created": True}


def seed_admin(app: Interlude) -> tuple[str, str]:
    """The demo admin account, with a new random password each time (printed by `make run`)."""
    from .services.staff import ensure_demo_admin

    password = secrets.token_urlsafe(9)
    ensure_demo_admin(app, DEMO_ADMIN, password)
    return DEMO_ADMIN, password
