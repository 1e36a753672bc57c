"""Signing staff in from tests: with Flask's test client, and a live server for the browser."""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.serving import make_server

from service.runtime import Interlude
from service.services import staff
from service.services.staff import add_staff
from service.web import create_app

from .helpers import REQUIRE_PEERS, FakeClock, make_config, make_services

SECRET = "test-signing-key-for-staff-cookies-0123456789"
ADMIN = ("admin@clinic.example", "correct horse battery")
STAFF = ("nurse@clinic.example", "another long passphrase")
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


# scrypt takes about 0.13 s by design, and most staff tests begin by making the two accounts above
# and signing one of them in. Within these helpers a password is hashed once per session and the
# answer of each check is kept: a hash made once is as good as a new one (only its salt differs),
# and a check's answer depends on nothing but the hash and the password. Test bodies hash for real.
_hash_once = cache(generate_password_hash)
_check_once = cache(check_password_hash)


@contextmanager
def _hashing_once() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(staff, "generate_password_hash", _hash_once)
        patch.setattr(staff, "check_password_hash", _check_once)
        yield


def staff_services(url: str, clock: FakeClock, extra: str = "") -> Interlude:
    config = make_config(url, extra=extra, env={"INTERLUDE_SECRET_KEY": SECRET})
    services = make_services(url, clock, config=config)
    with _hashing_once():
        add_staff(services, *ADMIN, admin=True, actor="test")
        add_staff(services, *STAFF, admin=False, actor="test")
    return services


def csrf_token(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


class StaffClient:
    """A test client signed in as one account; `post` adds the CSRF token a browser would send."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client: FlaskClient = app.test_client()
        self._token: str | None = None

    def sign_in(self, email: str, password: str) -> Any:
        page = self.client.get("/staff/sign-in")
        token = csrf_token(page.get_data(as_text=True))
        response = self.client.post(
            "/staff/sign-in", data={"email": email, "password": password, "csrf_token": token}
        )
        self._token = None
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def token(self) -> str:
        if self._token is None:
            self._token = csrf_token(self.client.get("/staff/today").get_data(as_text=True))
        return self._token

    def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any) -> Any:
        form = dict(data or {})
        if csrf:
            form["csrf_token"] = self.token()
        return self.client.post(path, data=form, **kwargs)


def signed_in(app: Flask, account: tuple[str, str]) -> StaffClient:
    client = StaffClient(app)
    with _hashing_once():
        response = client.sign_in(*account)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


# --- the browser -------------------------------------------------------------------------------

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    """Debian's Chromium (installed by `make test`); skipped, or failed under INTERLUDE_REQUIRE_PEERS."""
    path = os.environ.get("INTERLUDE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        message = f"Chromium not found at {path}: the browser tests need Debian's chromium package"
        if REQUIRE_PEERS:
            pytest.fail(message + "; INTERLUDE_REQUIRE_PEERS=1 requires it")
        pytest.skip(message)
    return path


class LiveServer:
    """The app on 127.0.0.1 in a thread, for the browser; the test keeps its services and clock."""

    def __init__(self, app: Flask) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @contextmanager
    def running(self) -> Iterator[LiveServer]:
        self.thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.thread.join(5)


def live_app(services: Interlude) -> Flask:
    return create_app(services.config, services=services)
