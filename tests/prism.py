"""Twilio's REST API as a test peer: Twilio's own OpenAPI spec served by Stoplight Prism.

Prism comes from the project's package.json (`npm ci`, run by `make install`) and the spec from
tests/peers/twilio/ (Twilio's own, plus Twilio-shaped error answers); the `prism`
fixture starts it once per test session on a free port and stops it by its process id at the
end. It validates every request against the spec (a malformed AccountSid, MessagingServiceSid or
StatusCallback URL is refused) and answers with the spec's examples, or with the error that a
`Prefer` header asks for (`code=400, example=unsubscribed` is Twilio error 21610).

Prism does not tell what it received, so the SDK reaches it through a `TwilioTap`: a small relay
that keeps every request (path, headers, form fields, arrival time) and can add a `Prefer` header,
hold Prism's answer past the client's timeout, or drop the connection once the request is read.
It forwards; it never answers in Prism's place. Use with `pytest_plugins = ["tests.prism"]`.

Without node or Prism these tests are skipped and say why, unless INTERLUDE_REQUIRE_PEERS=1.
(PYTEST_DONT_REWRITE: test modules import helpers from here before loading it as a plugin; it
has no assertions to rewrite.)
"""

from __future__ import annotations

import base64
import http.client
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.helpers import REQUIRE_PEERS, ROOT

PRISM = ROOT / "node_modules" / ".bin" / "prism"
# Kept in the repository with its licence and provenance (tests/peers/twilio/README.md).
SPEC = Path(
    os.environ.get(
        "INTERLUDE_TWILIO_SPEC", ROOT / "tests" / "peers" / "twilio" / "twilio_api_v2010.errors.json"
    )
)
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
START_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed (Prism, the Twilio test peer, needs it)"
    if not PRISM.exists():
        return f"Prism is not installed at {PRISM}: run `make install` (it runs `npm ci`)"
    if not SPEC.is_file():
        return f"Twilio's OpenAPI spec is not at {SPEC} (set INTERLUDE_TWILIO_SPEC)"
    return None


def need_prism() -> None:
    why = _missing()
    if why is None:
        return
    if REQUIRE_PEERS:
        pytest.fail(why + "; INTERLUDE_REQUIRE_PEERS=1 requires it")
    pytest.skip(why)


def _answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        conn.request("GET", "/2010-04-01/Accounts.json")
        conn.getresponse().read()
        conn.close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a running Prism serving Twilio's spec (started once per session)."""
    need_prism()
    port = free_port()
    log = tmp_path_factory.mktemp("prism") / "prism.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), "-v", "warn", str(SPEC)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,  # its own process group: stopped whole, by its id
        )
    try:
        started = time.monotonic()
        while not _answers(port):
            if proc.poll() is not None or time.monotonic() - started > START_SECONDS:
                pytest.fail(f"Prism did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that timed out and left is what some tests ask for, not an error


@dataclass
class Seen:
    """One request as it reached the tap."""

    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]
    at: float  # time.monotonic() on arrival
    status: int | None = None  # what Prism answered (None: the tap dropped the connection)

    @property
    def account(self) -> str:
        raw = base64.b64decode(self.headers.get("Authorization", "Basic ").split(" ", 1)[1] or b"")
        return raw.decode().partition(":")[0]


@dataclass
class TwilioTap:
    """A recording relay in front of Prism; `url` is what the SDK is pointed at."""

    upstream: str
    prefer: str | None = None  # added as `Prefer:` to every request while set
    delay: float = 0.0  # seconds to hold Prism's answer (past the client's timeout: a read timeout)
    drop: bool = False  # close the connection after reading the request, answering nothing
    seen: list[Seen] = field(default_factory=list)
    url: str = ""
    _server: _Server | None = None

    @property
    def messages(self) -> list[Seen]:
        """The Create Message requests, in arrival order."""
        return [s for s in self.seen if s.method == "POST" and s.path.endswith("/Messages.json")]

    def start(self) -> TwilioTap:
        tap = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _relay(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                seen = Seen(
                    self.command,
                    self.path,
                    dict(self.headers.items()),
                    dict(parse_qsl(body.decode())),
                    time.monotonic(),
                )
                tap.seen.append(seen)
                if tap.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                status, headers, answer = tap.forward(self.command, self.path, dict(self.headers), body)
                seen.status = status
                time.sleep(tap.delay)
                self.send_response(status)
                for key, value in headers:
                    if key.lower() not in ("transfer-encoding", "connection", "content-length", "date"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = do_DELETE = _relay

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        target = urlsplit(self.upstream)
        headers = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection")}
        if self.prefer:
            headers["Prefer"] = self.prefer
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@pytest.fixture
def twilio_api(prism: str) -> Iterator[TwilioTap]:
    """A fresh recording tap in front of the session's Prism."""
    tap = TwilioTap(prism).start()
    yield tap
    tap.stop()


PUBLIC_URL = "https://clinic.example.org"
FROM_NUMBER = "+12025550100"


def twilio_settings(
    api_base_url: str, *, rate: float = 50.0, timeout: float = 2.0, service_sid: str | None = None
) -> str:
    """Config text that sends SMS through Twilio at `api_base_url` (a tap, Prism, or nothing)."""
    sender = f'messaging_service_sid = "{service_sid}"' if service_sid else f'from_number = "{FROM_NUMBER}"'
    return f"""
[web]
public_base_url = "{PUBLIC_URL}"
[sms]
transport = "twilio"
[twilio]
account_sid = "{ACCOUNT_SID}"
{sender}
api_base_url = "{api_base_url}"
max_per_second = {rate}
timeout_seconds = {timeout}
"""
