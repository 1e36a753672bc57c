"""What every benchmark shares: the result rows, a scratch database, timing and process memory.

A benchmark module is `bench/b<N>_<name>.py` with `TITLE` and `run(ctx: Context) -> list[Figure]`.
Each Figure is one measured number beside its target and, where the issue names one, the peer
measured in the same run. Nothing here asserts: figures are printed and written as JSON.
"""

from __future__ import annotations

import os
import platform
import resource
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
POSTGRES_URL = os.environ.get(
    "INTERLUDE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@dataclass
class Figure:
    bench: str  # e.g. "2 dispatch"
    name: str  # what was measured, e.g. "SQLite, 1 worker"
    value: float | None  # None when it could not be measured (say why in `note`)
    unit: str  # "msgs/s", "ms", "MB"
    target: str = ""  # e.g. ">= 10000"; empty for peers and ceilings
    met: bool | None = None  # None for peers, ceilings and figures without a target
    kind: str = "ours"  # ours | peer | ceiling
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    quick: bool = False  # smaller sizes, for a smoke run (`python -m bench --quick`)
    scratch: Path = field(default_factory=lambda: OUT / "scratch")

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def sqlite_url(self, name: str) -> str:
        self.scratch.mkdir(parents=True, exist_ok=True)
        path = self.scratch / f"{name}-{uuid.uuid4().hex[:8]}.db"
        return f"sqlite:///{path}"

    @contextmanager
    def postgres_url(self) -> Iterator[str | None]:
        """A URL whose search_path is a fresh schema (dropped afterwards), or None without PostgreSQL."""
        try:
            admin = create_engine(POSTGRES_URL)
            with admin.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            yield None
            return
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        sep = "&" if "?" in POSTGRES_URL else "?"
        try:
            yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
        finally:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def rss_mb(pid: int | None = None) -> float:
    """Resident memory of a process now, in MB (from /proc)."""
    with open(f"/proc/{pid or os.getpid()}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def max_rss_children_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }


def as_json(figures: list[Figure]) -> list[dict[str, Any]]:
    return [asdict(f) for f in figures]
