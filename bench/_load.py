"""HTTP load generators over keep-alive connections with precomputed requests.

`wrk_post` drives wrk for a fixed duration, each request sent at most once; `post_all` is the
fallback without wrk: N threads, one connection each, each posting its share back to back and
recording each one's latency (send to last byte). Python's client costs CPU on the same 2 cores
as the server, so figures from it are a floor of what the server does.
"""

from __future__ import annotations

import http.client
import shutil
import subprocess
import threading
import time
import uuid
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


# wrk (https://github.com/wg/wrk, Debian's `wrk` 4.1) sends the same pre-built requests from one
# C thread on epoll, a few percent of a core where the Python client takes a good part of one.
# The script reads the requests from a data file (one a line: body, then header name and value,
# tab-separated) in each wrk thread's init(), keeps that thread's share (every n-th line) as
# ready-made HTTP requests and hands each out once: no request is ever sent twice. A thread that
# runs out stops and asks for a path that answers 404, so an exhausted pool shows as an error.
_WRK_SCRIPT = """\
local DATA, PATH, THREADS = [==[{data}]==], [==[{path}]==], {threads}
local made = 0
local threads = {{}}

function setup(thread)
  thread:set("id", made)
  made = made + 1
  table.insert(threads, thread)
end

local function split(line)
  local out, at = {{}}, 1
  while true do
    local tab = string.find(line, "\\t", at, true)
    if not tab then
      table.insert(out, string.sub(line, at))
      return out
    end
    table.insert(out, string.sub(line, at, tab - 1))
    at = tab + 1
  end
end

function init(args)
  pool, issued, exhausted, statuses = {{}}, 0, 0, {{}}
  local n = 0
  for line in io.lines(DATA) do
    if n % THREADS == id then
      local fields, headers = split(line), {{}}
      for i = 2, #fields, 2 do
        headers[fields[i]] = fields[i + 1]
      end
      table.insert(pool, wrk.format("POST", PATH, headers, fields[1]))
    end
    n = n + 1
  end
end

function request()
  issued = issued + 1
  if issued > #pool then
    exhausted = exhausted + 1
    wrk.thread:stop()
    return wrk.format("GET", "/bench-request-pool-exhausted")
  end
  return pool[issued]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local issued, exhausted, counts = 0, 0, {{}}
  for _, thread in ipairs(threads) do
    issued = issued + thread:get("issued")
    exhausted = exhausted + thread:get("exhausted")
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local parts = {{}}
  for status, n in pairs(counts) do
    table.insert(parts, status .. ":" .. n)
  end
  local e = summary.errors
  io.write(string.format(
    "bench-result duration_us=%d requests=%d issued=%d exhausted=%d connect=%d read=%d write=%d "
      .. "status=%d timeout=%d p50_us=%d p99_us=%d statuses=%s\\n",
    summary.duration, summary.requests, issued, exhausted, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99), table.concat(parts, ",")))
end
"""


@dataclass
class WrkResult:
    seconds: float
    responses: int  # complete responses, any status
    issued: int  # requests handed to wrk: at most this many reached the server
    statuses: dict[int, int]
    errors: dict[str, int]  # socket errors and timeouts as wrk counts them, plus an exhausted pool
    p50_ms: float
    p99_ms: float
    output: str


WRK_THREADS = 1  # one epoll thread drives 8 connections easily; a second only takes server CPU


def wrk_version() -> str:
    """wrk's version as it prints it (e.g. "4.1.0" from "wrk debian/4.1.0-3+b2 [epoll] ...")."""
    done = subprocess.run([shutil.which("wrk") or "wrk", "-v"], capture_output=True, text=True, check=False)
    words = (done.stdout + done.stderr).split()
    word = words[1] if len(words) > 1 and words[0] == "wrk" else "?"
    return word.rsplit("/", 1)[-1].split("-", 1)[0]


def wrk_post(
    port: int,
    path: str,
    requests: Sequence[Request],
    seconds: int,
    scratch: Path,
    connections: int = 8,
    threads: int = WRK_THREADS,
) -> WrkResult:
    """POST fresh requests from `requests` for `seconds` with wrk; each is sent at most once."""
    scratch.mkdir(parents=True, exist_ok=True)
    stem = scratch / f"wrk-{uuid.uuid4().hex[:8]}"
    data, script = stem.with_suffix(".txt"), stem.with_suffix(".lua")
    with data.open("w", encoding="utf-8") as out:
        for body, headers in requests:
            fields = [body.decode(), *(item for pair in headers.items() for item in pair)]
            if any(c in field for field in fields for c in "\t\r\n"):
                raise ValueError("a request for wrk holds a tab or a line break")
            out.write("\t".join(fields) + "\n")
    script.write_text(_WRK_SCRIPT.format(data=data, path=path, threads=threads), encoding="utf-8")
    command = [
        shutil.which("wrk") or "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "30s",
        "--latency",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}",
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120, check=False)
    finally:
        data.unlink(missing_ok=True)
        script.unlink(missing_ok=True)
    line = next((x for x in done.stdout.splitlines() if x.startswith("bench-result ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    values = dict(item.split("=", 1) for item in line.split()[1:])
    statuses = {}
    for item in filter(None, values["statuses"].split(",")):
        status, n = item.split(":")
        statuses[int(status)] = int(n)
    errors = {
        k: int(values[k]) for k in ("connect", "read", "write", "timeout", "exhausted") if int(values[k])
    }
    return WrkResult(
        seconds=int(values["duration_us"]) / 1e6,
        responses=int(values["requests"]),
        issued=int(values["issued"]),
        statuses=statuses,
        errors=errors,
        p50_ms=int(values["p50_us"]) / 1000,
        p99_ms=int(values["p99_us"]) / 1000,
        output=done.stdout,
    )


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
