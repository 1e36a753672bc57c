"""The rules behind the Reports figures: a message's final outcome, medians and percentiles, the
report window, and the cost of SMS segments. Pure: the read model (services/views/reports.py)
fetches the rows and applies these."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from . import delivery
from .durations import parse_duration
from .errors import DomainError

# The outcomes a report counts, in the order it shows them.
OUTCOMES = ("delivered", "sent", "failed", "undelivered", "skipped", "cancelled", "pending", "unknown")
# The windows the Reports page offers, in days.
WINDOW_DAYS = (7, 30, 90)
# Provider answers after which an SMS was sent (billed), whatever became of it on the handset.
BILLED_ATTEMPTS = frozenset({"accepted", "queued", "sending", "sent", "delivered", "read", "undelivered"})


def outcome(status: str, reason: str | None, last_attempt: str | None) -> str:
    """The final outcome of one outbox row: "delivered" when its provider confirmed delivery,
    "sent" when it left without confirmation, "undelivered" when the provider could not deliver
    it, "failed" for any other failure, else the row's own state."""
    if status == delivery.SENT:
        return "delivered" if last_attempt in ("delivered", "read") else "sent"
    if status == delivery.FAILED:
        undelivered = last_attempt == "undelivered" or (reason or "").startswith("undelivered")
        return "undelivered" if undelivered else "failed"
    if status in (delivery.PENDING, delivery.SENDING):
        return "pending"
    return status if status in OUTCOMES else "unknown"


def median(values: Sequence[float]) -> float | None:
    """The median, or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0 < p <= 100) by the nearest-rank method: the smallest value with at
    least p% of the values at or below it. None for no values."""
    if not values:
        return None
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {p!r}")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def minutes(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 60


def parse_since(text: str, now: datetime) -> datetime:
    """The start of a report window: a duration back from `now` ("30d", "12h") or an ISO 8601
    date or time (UTC when it names no offset). Raises DomainError naming the text."""
    raw = (text or "").strip()
    if not raw:
        raise DomainError("expected a duration such as '30d' or a date such as '2027-03-01'")
    if raw[0].isdigit() and raw[-1] in "dhms" and "-" not in raw:
        span = parse_duration(raw)
        if span <= timedelta(0):
            raise DomainError(f"the window must be longer than zero, got {text!r}")
        return now - span
    return parse_instant(raw)


def parse_instant(text: str) -> datetime:
    """An ISO 8601 date or time; UTC when it names no offset. Raises DomainError naming the text."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise DomainError(
            f"expected a duration such as '30d' or an ISO 8601 date such as '2027-03-01', got {text!r}"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def sms_cost(segments: int, price: float) -> float:
    """The estimated cost of `segments` SMS segments at `price` each, rounded to the cent."""
    return round(segments * price, 2)
