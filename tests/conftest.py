"""Shared fixtures. Tests build their own config in code and never read the developer's.

Database-backed tests run on SQLite and on PostgreSQL (127.0.0.1:5432, database `test`, each
test in a schema of its own). Without PostgreSQL those runs are skipped and say so, unless
INTERLUDE_REQUIRE_PEERS=1 (set by .ci/run), which turns a missing peer into a failure. Each
database is migrated once per session and copied or handed over per test (tests/databases.py).
The functions the fixtures are built from live in tests/helpers.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.runtime import Interlude

from .databases import new_schema, release_schema, remove_templates, schema_url
from .helpers import T0, FakeClock, make_services, need_postgres


@pytest.fixture(scope="session", autouse=True)
def _migrated_templates() -> Iterator[None]:
    """The migrated template databases are made on first use; removed when the session ends."""
    yield
    remove_templates()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a schema of the test's own, empty until migrated."""
    need_postgres()
    schema = new_schema()
    yield schema_url(schema)
    release_schema(schema)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'interlude.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'interlude.db'}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


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
