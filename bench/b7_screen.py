"""Benchmark 7: the reply screens (crisis and keywords) on 1,600-character bodies.

Each body is screened a number of times and the best time kept. The ordinary text of the same
length is the in-run reference: the figure that matters is how many times slower the worst
adversarial body is, and the milliseconds it takes on this machine (target: under 10 ms).
The tests count work in function calls instead (tests/domain/test_crisis.py, test_keywords.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from service.domain.crisis import screen
from service.domain.keywords import classify_keyword
from tests.domain.test_crisis import BODY, PLAIN, _fill, adversarial_bodies
from tests.domain.test_keywords import ADVERSARIAL_UNITS

from .common import Context, Figure

TITLE = "reply screens on 1,600-character bodies"
B = "7 screens"
TARGET_MS = 10.0


def best_ms(function: Callable[[str], object], text: str, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        function(text)
        best = min(best, time.perf_counter() - started)
    return best * 1000


def measure(name: str, function: Callable[[str], object], bodies: list[str], repeats: int) -> list[Figure]:
    function("warm the tables up")
    plain = best_ms(function, _fill(PLAIN), repeats)
    timed = sorted(((best_ms(function, body, repeats), body[:24]) for body in bodies), reverse=True)
    worst, start = timed[0]
    return [
        Figure(B, f"{name}: ordinary text", plain, "ms", kind="peer"),
        Figure(
            B,
            f"{name}: worst of {len(bodies)} adversarial bodies",
            worst,
            "ms",
            target=f"< {TARGET_MS:.0f}",
            met=worst < TARGET_MS,
            note=f"{worst / plain:.1f} times the ordinary text; starts {start!r}",
        ),
    ]


def run(ctx: Context) -> list[Figure]:
    repeats = ctx.size(7, 3)
    crisis_bodies = [body for body in adversarial_bodies() if len(body) == BODY]
    keyword_bodies = [_fill(unit) for unit in ADVERSARIAL_UNITS]
    return measure("crisis screen", screen, crisis_bodies, repeats) + measure(
        "keywords", classify_keyword, keyword_bodies, repeats
    )
