"""A bounded HTTP load generator: N threads, one keep-alive connection each, precomputed bodies.

Each thread posts its share of the requests back to back and records each one's latency (send
to last byte). Python's client costs CPU on the same 2 cores as the server, so figures from it
are a floor of what the server does.
"""

from __future__ import annotations

import http.client
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

Request = tuple[bytes, dict[str, str]]


@dataclass
class LoadResult:
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)


def post_all(port: int, path: str, requests: Sequence[Request], connections: int = 8) -> LoadResult:
    """POST every request (split across `connections` threads); returns latencies and statuses."""
    shares = [requests[i::connections] for i in range(connections)]
    latencies: list[list[float]] = [[] for _ in shares]
    statuses: list[dict[int, int]] = [{} for _ in shares]
    start = threading.Barrier(connections + 1)

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        start.wait()
        for body, headers in shares[i]:
            t0 = time.perf_counter()
            conn.request("POST", path, body, headers)
            response = conn.getresponse()
            response.read()
            latencies[i].append((time.perf_counter() - t0) * 1000)
            statuses[i][response.status] = statuses[i].get(response.status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    result = LoadResult(time.perf_counter() - t0)
    for part in latencies:
        result.latencies_ms.extend(part)
    for part_statuses in statuses:
        for status, n in part_statuses.items():
            result.statuses[status] = result.statuses.get(status, 0) + n
    return result


def wait_ready(port: int, process: subprocess.Popen[bytes], log: Path, seconds: float = 30) -> None:
    """Wait until GET /healthz answers; raises with the server's log when it never does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server did not start:\n{log.read_text()[-3000:]}")
