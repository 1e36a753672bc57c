"""Helpers for tests: the test config and clock, the app's services on a test database, and small
shortcuts for the rows tests look at. Fixtures (tests/conftest.py) are built from these.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy import Table, func, insert, select

from service.bootstrap import build
from service.config import Config, parse_config
from service.db.tables import consent_events, outbox, sandbox_messages
from service.runtime import Interlude
from service.services import sessions
from service.services.clinic import ensure_clinic
from service.services.patients import create_patient
from service.transports.base import Outgoing, Pacing, SendResult, TransportError
from tests.databases import POSTGRES_URL, migrated_engine, postgres_available, postgres_unavailable_reason

ROOT = Path(__file__).resolve().parents[1]
INTERLUDE = str(Path(sys.executable).parent / "interlude")
REQUIRE_PEERS = os.environ.get("INTERLUDE_REQUIRE_PEERS") == "1"
API_TOKEN = "test-api-token-0123456789abcdefghij"
TWILIO_TOKEN = "twilio-test-auth-token-0123456789ab"
# Tuesday 10:00 in New York: inside the default send window.
T0 = datetime(2027, 3, 2, 15, 0, tzinfo=UTC)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now

    def set(self, when: datetime) -> datetime:
        self.now = when
        return when


_schedules_dir: list[Path] = []


def schedules_for_tests() -> Path:
    """The shipped schedules without the one-time enrolment opt-in text, and with the booking
    confirmation sent at once rather than held to group bookings (`group_within`).

    Most tests count the messages of a session; the welcome text would be one more in each, and
    most send the confirmation as the first message of a booking. Both have tests of their own
    on the shipped schedule (test_enrolment.py, test_course_arrangement.py).
    """
    if not _schedules_dir:
        folder = Path(tempfile.mkdtemp(prefix="interlude-schedules-"))
        atexit.register(shutil.rmtree, folder, True)
        for file in (ROOT / "schedules").glob("*.toml"):
            head, *steps = file.read_text().split("[[step]]")
            kept = [s for s in steps if 'id = "enrolment_opt_in"' not in s]
            kept = [re.sub(r"(?m)^group_within = .*\n", "", s) for s in kept]
            (folder / file.name).write_text("[[step]]".join([head, *kept]))
        _schedules_dir.append(folder)
    return _schedules_dir[0]


def make_config(
    db_url: str,
    *,
    messages: Path | None = None,
    schedules: Path | None = None,
    extra: str = "",
    env: dict[str, str] | None = None,
) -> Config:
    """A config built in code: the repository's schedules and messages unless told otherwise."""
    text_ = f"""
[database]
url = "{db_url}"
[schedules]
dir = "{(schedules or schedules_for_tests()).as_posix()}"
[messages]
dir = "{(messages or ROOT / "messages").as_posix()}"
{extra}
"""
    environment = {"INTERLUDE_API_TOKEN": API_TOKEN, "INTERLUDE_TWILIO_AUTH_TOKEN": TWILIO_TOKEN}
    environment.update(env or {})
    return parse_config(text_, "test-config", environment)


def make_services(url: str, clock: FakeClock, **kwargs: Any) -> Interlude:
    """The app's services on `url` at the latest schema (tests/databases.py), with the clinic row."""
    config = kwargs.pop("config", None) or make_config(url)
    services = build(config, clock=clock, engine=migrated_engine(url), **kwargs)
    ensure_clinic(services)
    return services


def need_postgres() -> None:
    """Skip the test without PostgreSQL; fail it instead under INTERLUDE_REQUIRE_PEERS=1."""
    if postgres_available():
        return
    message = f"PostgreSQL not reachable at {POSTGRES_URL} ({postgres_unavailable_reason()})"
    if REQUIRE_PEERS:
        pytest.fail(message + "; INTERLUDE_REQUIRE_PEERS=1 requires it")
    pytest.skip(message)


def start_worker(
    config: Path, log: Path, env: Mapping[str, str] | None = None, *, sigint_ignored: bool = False
) -> tuple[subprocess.Popen[bytes], IO[str]]:
    """`interlude worker` on `config`, in the log's folder; the caller stops it and closes the log.

    Its environment is this one without INTERLUDE_ settings, plus `env`. Its stderr goes to a
    file: an unread pipe fills up and blocks the worker. `sigint_ignored` starts it the way a
    shell starts a background job, with SIGINT ignored.
    """
    environment = {k: v for k, v in os.environ.items() if not k.startswith("INTERLUDE_")}
    environment.update(env or {})
    handle = log.open("w")
    proc = subprocess.Popen(
        [INTERLUDE, "--config", str(config), "worker"],
        env=environment,
        cwd=log.parent,
        stdout=subprocess.DEVNULL,
        stderr=handle,
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None,
    )
    return proc, handle


def patient_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "first_name": "Maria",
        "last_name": "Lopez",
        "phone": "+1 (202) 555-0143",
        "email": "maria@example.org",
        "timezone": "America/New_York",
        "language": "en",
        "indications": ["depression"],
    }
    data.update(overrides)
    return data


def enrol(app: Interlude, **overrides: Any) -> dict[str, Any]:
    return create_patient(app, patient_data(**overrides), actor="test")


def book(app: Interlude, patient_id: int, start: str, modality: str = "iv", **extra: Any) -> dict[str, Any]:
    return sessions.book_session(
        app, {"patient_id": patient_id, "start": start, "modality": modality, **extra}, "test"
    )


def rows(app: Interlude, **where: Any) -> list[Mapping[str, Any]]:
    query = select(outbox).order_by(outbox.c.id)
    for key, value in where.items():
        query = query.where(outbox.c[key] == value)
    with app.engine.connect() as conn:
        return list(conn.execute(query).mappings())


def by_step(app: Interlude, session_id: int) -> dict[tuple[str, str], list[Mapping[str, Any]]]:
    out: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in rows(app, session_id=session_id):
        out.setdefault((r["step_id"], r["channel"]), []).append(r)
    return out


def count(app: Interlude, table: Table) -> int:
    with app.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def sandbox(app: Interlude) -> list[Mapping[str, Any]]:
    with app.engine.connect() as conn:
        return list(conn.execute(select(sandbox_messages).order_by(sandbox_messages.c.id)).mappings())


def opt_out(
    app: Interlude, patient_id: int, channel: str = "sms", purpose: str = "all", at: datetime | None = None
) -> None:
    with app.engine.begin() as conn:
        conn.execute(
            insert(consent_events).values(
                patient_id=patient_id,
                channel=channel,
                purpose=purpose,
                action="opt_out",
                source="keyword",
                raw_text="STOP",
                created_at=at or app.clock(),
            )
        )


class ScriptedTransport:
    """A hand-written transport for our own interface: answers from a script, records what it got."""

    pacing = Pacing()

    def __init__(self, name: str, script: list[Any] | None = None, sent: bool | None = None) -> None:
        self.name = name
        self.script = list(script or [])
        self.received: list[Outgoing] = []
        self.sent_answer = sent

    def send(self, message: Outgoing) -> SendResult:
        self.received.append(message)
        step = self.script.pop(0) if self.script else "ok"
        if isinstance(step, TransportError):
            raise step
        if callable(step):
            step(message)
        return SendResult(provider_id=f"fake-{message.attempt_id}", status="sent")

    def was_sent(self, attempt_id: int) -> bool | None:
        return self.sent_answer


def due_note(dedupe_key: str, patient_id: int, channel: str, now: Any, step_id: str) -> dict[str, Any]:
    """An outbox row for an admin note due `now`: what the worker and fault tests queue by hand."""
    return {
        "dedupe_key": dedupe_key,
        "patient_id": patient_id,
        "schedule": "default",
        "step_id": step_id,
        "template": "integration_note",
        "channel": channel,
        "category": "admin",
        "priority": 2,
        "due_at": now,
        "next_attempt_at": now,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }


def cli_runner(flask_app: Any) -> Any:
    """A runner of `interlude` commands against `flask_app` (the commands added to its `cli`)."""
    from service.cli import init_app

    init_app(flask_app)
    return flask_app.test_cli_runner()


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`interlude ARGS` in a subprocess, with no INTERLUDE_* setting but those in `env`."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("INTERLUDE_")}
    environment.update(env or {})
    return subprocess.run(
        [INTERLUDE, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120
    )


def cli_config(tmp_path: Path, extra: str = "") -> Path:
    """A config file for the CLI: a SQLite file in `tmp_path`, the shipped schedules and messages."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "cli.db"}"\n'
        f'[schedules]\ndir = "{ROOT / "schedules"}"\n[messages]\ndir = "{ROOT / "messages"}"\n{extra}'
    )
    return path


def education_email(app: Interlude, patient_id: int) -> Any:
    """An education email queued due now for `patient_id` (as the planner would), in the outbox."""
    now = app.clock()
    with app.engine.begin() as conn:
        conn.execute(
            insert(outbox).values(
                dedupe_key=f"edu:{patient_id}",
                patient_id=patient_id,
                schedule="default",
                step_id="integration_72h",
                template="integration_note",
                channel="email",
                category="education",
                priority=3,
                occurrence=0,
                due_at=now,
                next_attempt_at=now,
                status="pending",
                attempts=0,
                created_at=now,
                updated_at=now,
            )
        )
