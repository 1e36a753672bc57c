"""`interlude init --demo` then `interlude serve`: the demo's first messages reach the sandbox."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

from tests.helpers import INTERLUDE, ROOT

TOKEN = "serve-test-token-0123456789abcdefgh"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, token: str | None = None) -> tuple[int, object]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_serve_runs_web_and_worker_and_the_demo_messages_arrive(tmp_path):
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "demo.db"}"\n[web]\nport = {port}\n'
        f'[schedules]\ndir = "{ROOT / "schedules"}"\n[messages]\ndir = "{ROOT / "messages"}"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERLUDE_")}
    env["INTERLUDE_API_TOKEN"] = TOKEN
    init = subprocess.run(
        [INTERLUDE, "--config", str(config), "init", "--demo"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert init.returncode == 0, init.stderr
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [INTERLUDE, "--config", str(config), "serve"],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        messages: list = []
        deadline = time.monotonic() + 120  # the promise: a demo message within two minutes
        while time.monotonic() < deadline and not messages:
            time.sleep(0.5)
            try:
                status, body = get(f"{base}/api/v1/sandbox/messages", TOKEN)
            except OSError:
                continue  # not listening yet
            assert status == 200
            messages = list(body)  # type: ignore[arg-type]
        assert get(f"{base}/healthz") == (200, {"status": "ok", "database": "ok"})
        assert messages, (tmp_path / "serve.log").read_text()
        assert {m["channel"] for m in messages} == {"sms", "email"}
        assert any("Interlude Demo Clinic" in m["body"] for m in messages)
    finally:
        server.send_signal(signal.SIGTERM)  # what systemd sends: a clean stop, exit 0
        code = server.wait(timeout=30)
        log.close()
    text = (tmp_path / "serve.log").read_text()
    assert code == 0, text
    assert "Traceback" not in text
    assert "+12025550123" not in text and "alex.demo" not in text  # no phone or address in logs
