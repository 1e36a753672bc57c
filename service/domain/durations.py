"""Durations written as text in schedules and config: "6h", "-1d", "+2h30m", "45m", "0m"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from .errors import DomainError

_PART = re.compile(r"(\d+)([dhms])")
_UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1}


@dataclass(frozen=True)
class Offset:
    """A signed offset: whole calendar days (applied on the local wall clock) plus seconds.

    Days are kept apart from hours so that "-1d" from a 09:00 session is 09:00 the day before
    in the patient's zone, even across a DST change (23 or 25 hours earlier).
    """

    days: int = 0
    seconds: int = 0

    @property
    def is_zero(self) -> bool:
        return self.days == 0 and self.seconds == 0

    def as_timedelta(self) -> timedelta:
        """The offset as an absolute timedelta (days counted as 24 h)."""
        return timedelta(days=self.days, seconds=self.seconds)


def parse_offset(text: str) -> Offset:
    """Parse "-1d", "+2h30m", "90m", "0m".

    Returns an Offset; raises DomainError naming the text when it is not a duration.
    """
    raw = text.strip().replace(" ", "")
    if not raw:
        raise DomainError(f"expected a duration such as '6h' or '-1d', got {text!r}")
    sign = -1 if raw[0] == "-" else 1
    body = raw[1:] if raw[0] in "+-" else raw
    parts = _PART.findall(body)
    if not parts or "".join(n + u for n, u in parts) != body:
        raise DomainError(f"expected a duration such as '6h', '-1d' or '2h30m', got {text!r}")
    units = [u for _, u in parts]
    if len(set(units)) != len(units):
        raise DomainError(f"a unit is repeated in duration {text!r}")
    days = sum(int(n) for n, u in parts if u == "d")
    seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in parts if u != "d")
    return Offset(days=sign * days, seconds=sign * seconds)


def parse_duration(text: str) -> timedelta:
    """Parse a non-negative duration such as "6h" or "30m" into a timedelta.

    Raises DomainError when the text is not a duration or is negative.
    """
    offset = parse_offset(text)
    if offset.days < 0 or offset.seconds < 0:
        raise DomainError(f"expected a positive duration, got {text!r}")
    return offset.as_timedelta()


def format_duration(delta: timedelta) -> str:
    """Render a timedelta compactly for people: "2h", "30m", "1h30m", "3d"."""
    total = int(delta.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    out = "".join(f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "m")) if n)
    return sign + (out or "0m")
