"""Office hours: when the clinic reads its Inbox. Outside them, some messages page the on-call.

A pure rule on the clinic's wall clock: days of the week and a daily [start, end) window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from .errors import DomainError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class OfficeHours:
    """The clinic's open hours: [start, end) on each of `days` (DAYS names), in `tz`."""

    start: time
    end: time
    days: tuple[str, ...]
    tz: ZoneInfo


def parse_office_hours(text: str) -> tuple[time, time]:
    """ "08:00-18:00" -> (08:00, 18:00). Raises DomainError unless it is HH:MM-HH:MM, start before end."""
    match = _RANGE.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise DomainError(f"expected 'HH:MM-HH:MM' (24-hour), got {text!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = time(h1, m1), time(h2, m2)
    if start >= end:
        raise DomainError(
            f"the start must be before the end (overnight hours are not supported), got {text!r}"
        )
    return start, end


def check_days(days: tuple[str, ...]) -> None:
    """Raises DomainError unless `days` is a non-empty list of DAYS names without repeats."""
    if not days:
        raise DomainError("expected at least one day")
    for day in days:
        if day not in DAYS:
            raise DomainError(f"unknown day {day!r} (known: {', '.join(DAYS)})")
    if len(set(days)) != len(days):
        raise DomainError("a day is listed twice")


def within_office_hours(now: datetime, hours: OfficeHours) -> bool:
    """True when `now` falls on an office day, between start (included) and end (excluded),
    on the clinic's wall clock."""
    local = now.astimezone(hours.tz)
    if DAYS[local.weekday()] not in hours.days:
        return False
    return hours.start <= local.time() < hours.end


def next_open(now: datetime, hours: OfficeHours) -> datetime:
    """The first moment at or after `now` when the clinic is open: `now` itself within office
    hours, else the next opening on an office day (in `now`'s zone). Office days are never
    empty (check_days), so an opening comes within a week."""
    if within_office_hours(now, hours):
        return now
    local = now.astimezone(hours.tz)
    for ahead in range(8):
        day = local.date() + timedelta(days=ahead)
        if DAYS[day.weekday()] not in hours.days:
            continue
        opening = datetime.combine(day, hours.start, tzinfo=hours.tz)
        if opening > local:
            return opening.astimezone(now.tzinfo)
    raise DomainError("office hours have no day")  # unreachable with checked days


def clearance_task_at(start: datetime, due_before: timedelta, hours: OfficeHours) -> datetime:
    """When a "clearance missing" task opens for a session starting at `start`: at the first
    office hour from `due_before` ahead of the start, so staff find it when they can call the
    patient rather than late in the evening. When the clinic opens only after the session has
    begun, the task opens `due_before` ahead as before, so it is never too late to be seen."""
    due = start - due_before
    opening = next_open(due, hours)
    return opening if opening < start else due
