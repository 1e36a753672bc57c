"""Outbox and delivery-attempt states, and the rules for moving between them."""

from __future__ import annotations

import random

# Outbox message states.
PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
CANCELLED = "cancelled"
SKIPPED = "skipped"
UNKNOWN = "unknown"  # the send may have happened; never resent blindly
OUTBOX_STATES = (PENDING, SENDING, SENT, FAILED, CANCELLED, SKIPPED, UNKNOWN)
FINAL = frozenset({SENT, FAILED, CANCELLED, SKIPPED})

# Delivery-attempt states, ordered: a later report never moves an attempt backwards.
ATTEMPT_RANK = {
    "created": 0,
    "accepted": 1,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "read": 5,
    "undelivered": 4,
    "failed": 4,
    "error": 4,
    "ambiguous": 1,
}
ATTEMPT_TERMINAL = frozenset({"delivered", "read", "undelivered", "failed", "error"})


def advance(current: str, reported: str) -> str:
    """The attempt state after a report: forward only, terminal states never change.

    Returns `current` when the report is older, repeated, or unknown.
    """
    if reported not in ATTEMPT_RANK or (current in ATTEMPT_TERMINAL and current != "delivered"):
        return current
    if current == "delivered" and reported != "read":
        return current
    if ATTEMPT_RANK[reported] > ATTEMPT_RANK.get(current, 0):
        return reported
    return current


def backoff_seconds(attempts: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Delay before retry number `attempts` (1-based): base * 2^(attempts-1), capped, jittered.

    Full jitter between half and all of the delay keeps many failed messages from retrying in step.
    """
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    r = rng or random.Random()
    return delay * (0.5 + r.random() / 2)
