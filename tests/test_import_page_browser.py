"""The Import page in headless Chromium: an admin uploads examples/sessions.csv, reads the
preview (nothing saved yet) and applies it; the sessions are then on the patients' pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from service.db.tables import sessions
from tests.helpers import ROOT, FakeClock

from .staff_helpers import ADMIN, LiveServer, live_app, staff_services

VISIT_TYPES = """
[imports.visit_types]
"KET-IV" = "iv"
"SPRAVATO" = "intranasal"
"""


@pytest.fixture
def live(sqlite_url: str, clock: FakeClock, tmp_path: Path) -> Iterator[Any]:
    services = staff_services(sqlite_url, clock, extra=VISIT_TYPES)
    app = live_app(services)
    app.config["INTERLUDE_IMPORT_DIR"] = str(tmp_path / "imports")
    server = LiveServer(app)
    with server.running():
        server.services = services  # type: ignore[attr-defined]
        yield server
    services.engine.dispose()


def _refs(services: Any) -> set[str]:
    with services.engine.connect() as conn:
        return set(conn.execute(select(sessions.c.external_ref)).scalars())


def test_an_admin_uploads_previews_and_applies_a_csv(page: Any, live: Any) -> None:
    page.goto("/staff/sign-in")
    page.get_by_label("Email").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: urlparse(url).path == "/staff/today")

    page.get_by_role("link", name="Import").click()
    page.get_by_label("Sessions file").set_input_files(str(ROOT / "examples" / "sessions.csv"))
    page.get_by_role("button", name="Preview the import").click()
    page.wait_for_url(lambda url: re.fullmatch(r"/staff/import/[0-9a-f]{32}", urlparse(url).path) is not None)
    expect(page.get_by_role("heading", level=1)).to_have_text("Import preview: nothing saved yet")
    new_sessions = page.get_by_role("row").filter(has_text="New sessions")
    expect(new_sessions).to_contain_text("3")
    assert _refs(live.services) == set()

    page.get_by_role("button", name="Apply the import").click()
    page.wait_for_url(lambda url: urlparse(url).path.endswith("/result"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Import done")
    expect(page.get_by_role("row").filter(has_text="New sessions")).to_contain_text("3")
    assert _refs(live.services) == {"A-1001", "A-1002", "A-1003"}
