"""Shared fixtures. Tests build their own config in code and never read the developer's.

Database-backed tests run on SQLite and on PostgreSQL (127.0.0.1:5432, database `test`, each
test in a schema of its own). Without PostgreSQL those runs are skipped and say so, unless
INTERLUDE_REQUIRE_PEERS=1 (set by .ci/run), which turns a missing peer into a failure.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from service.bootstrap import build
from service.config import Config, parse_config
from service.db.engine import make_engine
from service.db.migrate import upgrade
from service.runtime import Interlude
from service.services.clinic import ensure_clinic

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get(
    "INTERLUDE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_PEERS = os.environ.get("INTERLUDE_REQUIRE_PEERS") == "1"
API_TOKEN = "test-api-token-0123456789abcdefghij"


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


TWILIO_TOKEN = "twilio-test-auth-token-0123456789ab"
_schedules_dir: list[Path] = []


def schedules_for_tests() -> Path:
    """The shipped schedules without the one-time enrolment opt-in text.

    Most tests count the messages of a session; the welcome text would be one more in each.
    It has tests of its own (test_enrolment.py) on the shipped schedule.
    """
    if not _schedules_dir:
        folder = Path(tempfile.mkdtemp(prefix="interlude-schedules-"))
        atexit.register(shutil.rmtree, folder, True)
        for file in (ROOT / "schedules").glob("*.toml"):
            head, *steps = file.read_text().split("[[step]]")
            kept = [s for s in steps if 'id = "enrolment_opt_in"' not in s]
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


_pg_state: dict[str, Any] = {}


def postgres_available() -> bool:
    if "ok" not in _pg_state:
        try:
            engine = create_engine(POSTGRES_URL)
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            engine.dispose()
            _pg_state["ok"] = True
        except Exception as exc:  # any failure to connect means: no peer here
            _pg_state["ok"] = False
            _pg_state["why"] = f"{type(exc).__name__}"
    return bool(_pg_state["ok"])


def need_postgres() -> None:
    if postgres_available():
        return
    message = f"PostgreSQL not reachable at {POSTGRES_URL} ({_pg_state.get('why')})"
    if REQUIRE_PEERS:
        pytest.fail(message + "; INTERLUDE_REQUIRE_PEERS=1 requires it")
    pytest.skip(message)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    need_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'interlude.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'interlude.db'}"


# Tuesday 10:00 in New York: inside the default send window.
T0 = datetime(2027, 3, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


def make_services(url: str, clock: FakeClock, **kwargs: Any) -> Interlude:
    config = kwargs.pop("config", None) or make_config(url)
    engine = make_engine(url)
    upgrade(engine)
    services = build(config, clock=clock, engine=engine, **kwargs)
    ensure_clinic(services)
    return services


@pytest.fixture
def services(db_url: str, clock: FakeClock) -> Iterator[Interlude]:
    s = make_services(db_url, clock)
    yield s
    s.engine.dispose()


@pytest.fixture
def sqlite_services(sqlite_url: str, clock: FakeClock) -> Iterator[Interlude]:
    s = make_services(sqlite_url, clock)
    yield s
    s.engine.dispose()


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


# --- staff pages -------------------------------------------------------------------------------


@pytest.fixture
def staff_services(db_url: str, clock: FakeClock) -> Iterator[Interlude]:
    """Services with a secret key and two accounts: staff_helpers.ADMIN and staff_helpers.STAFF."""
    from .staff_helpers import staff_services as build_staff

    s = build_staff(db_url, clock)
    yield s
    s.engine.dispose()


@pytest.fixture
def staff_app(staff_services: Interlude) -> Any:
    from service.web import create_app

    return create_app(staff_services.config, services=staff_services)


@pytest.fixture
def admin_client(staff_app: Any) -> Any:
    from .staff_helpers import ADMIN, signed_in

    return signed_in(staff_app, ADMIN)


@pytest.fixture
def nurse_client(staff_app: Any) -> Any:
    from .staff_helpers import STAFF, signed_in

    return signed_in(staff_app, STAFF)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the session (Debian's package, driven by Playwright)."""
    from .staff_helpers import CHROMIUM_ARGS, chromium_path

    path = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def live(sqlite_url: str, clock: FakeClock) -> Iterator[Any]:
    """The staff pages served on 127.0.0.1 (SQLite), with the test's services and clock."""
    from .staff_helpers import LiveServer, live_app
    from .staff_helpers import staff_services as build_staff

    services = build_staff(sqlite_url, clock)
    server = LiveServer(live_app(services))
    with server.running():
        server.services = services  # type: ignore[attr-defined]
        yield server
    services.engine.dispose()


@pytest.fixture
def page(chromium: Any, live: Any) -> Iterator[Any]:
    """A fresh browser tab (own cookies) pointed at the live server; phone-sized when asked."""
    context = chromium.new_context(base_url=live.url)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()
