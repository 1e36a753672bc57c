"""Delivery-attempt states move forward only; retries back off with bounded jitter."""

from __future__ import annotations

import itertools
import random

import pytest

from service.domain.delivery import ATTEMPT_RANK, ATTEMPT_TERMINAL, advance, backoff_seconds


@pytest.mark.parametrize(
    ("current", "reported", "expected"),
    [
        ("created", "queued", "queued"),
        ("created", "accepted", "accepted"),
        ("queued", "sending", "sending"),
        ("sending", "sent", "sent"),
        ("sent", "delivered", "delivered"),
        ("delivered", "read", "read"),
        ("created", "delivered", "delivered"),
        ("sent", "undelivered", "undelivered"),
        ("sent", "failed", "failed"),
        ("queued", "failed", "failed"),
        ("ambiguous", "delivered", "delivered"),
        # older reports arriving late never move an attempt backwards
        ("sent", "queued", "sent"),
        ("sending", "accepted", "sending"),
        ("delivered", "sent", "delivered"),
        ("delivered", "queued", "delivered"),
        ("read", "delivered", "read"),
        ("read", "sent", "read"),
        # terminal outcomes do not flip into one another
        ("delivered", "failed", "delivered"),
        ("delivered", "undelivered", "delivered"),
        ("failed", "delivered", "failed"),
        ("undelivered", "delivered", "undelivered"),
        ("failed", "read", "failed"),
        ("error", "sent", "error"),
        # repeats are harmless
        ("sent", "sent", "sent"),
        ("delivered", "delivered", "delivered"),
        ("failed", "failed", "failed"),
        # unknown reports are ignored
        ("sent", "bounced", "sent"),
        ("created", "", "created"),
        ("delivered", "DELIVERED-ish", "delivered"),
    ],
)
def test_advance(current: str, reported: str, expected: str) -> None:
    assert advance(current, reported) == expected


def test_a_late_sent_never_undoes_delivered() -> None:
    """Callbacks can arrive out of order: delivered, then a delayed sent."""
    state = "created"
    for report in ["queued", "sending", "delivered", "sent", "queued", "sent"]:
        state = advance(state, report)
    assert state == "delivered"


@pytest.mark.parametrize("order", [0, 1, 2, 3, 4])
def test_any_order_of_the_same_reports_ends_in_the_same_state(order: int) -> None:
    reports = ["queued", "sending", "sent", "delivered"]
    random.Random(order).shuffle(reports)
    state = "created"
    for report in reports:
        state = advance(state, report)
    assert state == "delivered"


@pytest.mark.parametrize("state", sorted(ATTEMPT_RANK))
def test_advance_never_lowers_rank(state: str) -> None:
    for reported in ATTEMPT_RANK:
        after = advance(state, reported)
        assert ATTEMPT_RANK[after] >= ATTEMPT_RANK[state]
        if state in ATTEMPT_TERMINAL and state != "delivered":
            assert after == state


def _delay(attempts: int, base: float, cap: float) -> float:
    return min(cap, base * 2 ** max(0, attempts - 1))


@pytest.mark.parametrize("seed", [0, 1, 42, 2027])
def test_backoff_grows_then_stays_at_the_cap(seed: int) -> None:
    """With the same random draw each time, the delay doubles until the cap, then stays there."""
    values = [backoff_seconds(n, 30.0, 3600.0, random.Random(seed)) for n in range(1, 11)]
    ratio = values[0] / 30.0
    assert values == pytest.approx([_delay(n, 30.0, 3600.0) * ratio for n in range(1, 11)])
    # 30, 60, ... 1920 double; 3840 is capped to 3600 from the eighth attempt on.
    assert all(b == pytest.approx(2 * a) for a, b in itertools.pairwise(values[:7]))
    assert values[7] == values[8] == values[9] == pytest.approx(3600.0 * ratio)
    assert values[6] < values[7] <= 3600.0


@pytest.mark.parametrize("attempts", [1, 2, 3, 5, 8, 20])
def test_backoff_stays_within_jitter_bounds(attempts: int) -> None:
    """Full jitter between half and all of the (capped) delay, and actually spread."""
    rng = random.Random(1234)
    delay = _delay(attempts, 30.0, 3600.0)
    values = [backoff_seconds(attempts, 30.0, 3600.0, rng) for _ in range(500)]
    assert all(0.5 * delay <= v <= delay for v in values)
    assert max(values) - min(values) > 0.4 * delay


def test_backoff_is_reproducible_with_a_seed() -> None:
    a = [backoff_seconds(n, 10.0, 600.0, random.Random(5)) for n in range(1, 6)]
    b = [backoff_seconds(n, 10.0, 600.0, random.Random(5)) for n in range(1, 6)]
    assert a == b


@pytest.mark.parametrize("attempts", [0, -3])
def test_backoff_treats_attempts_below_one_as_the_first(attempts: int) -> None:
    assert backoff_seconds(attempts, 30.0, 3600.0, random.Random(9)) == backoff_seconds(
        1, 30.0, 3600.0, random.Random(9)
    )


def test_backoff_without_rng_is_still_bounded() -> None:
    assert 15.0 <= backoff_seconds(1, 30.0, 3600.0) <= 30.0
