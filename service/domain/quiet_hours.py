"""Send windows in the patient's local time, and where a message moves when it falls outside."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

# in_window, next_window_start, last_allowed_before and place are pure functions of hashable
# values and cached: planning a large import asks the same questions thousands of times.

# A message moved earlier lands this long before the window closes, not on its last minute.
EARLIER_MARGIN = timedelta(minutes=15)


@dataclass(frozen=True)
class Window:
    """The daily local-time window in which non-urgent messages may be sent: [start, end).

    `safety_end`, when set, lets safety messages (check-ins) go on until then:
    [start, max(end, safety_end)). `for_category` gives the window a message of a category uses.
    """

    start: time
    end: time
    safety_end: time | None = None

    def for_category(self, category: str) -> Window:
        """The window for messages of `category`: safety messages may go until `safety_end`."""
        if category == "safety" and self.safety_end is not None and self.safety_end > self.end:
            return Window(self.start, self.safety_end)
        return Window(self.start, self.end) if self.safety_end is not None else self


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock `at` on `day` in `tz`.

    A wall time that does not exist (spring-forward gap) resolves to the instant after the gap
    closes, as zoneinfo does with fold=0; an ambiguous one (fall-back) takes the first occurrence.
    """
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


@lru_cache(maxsize=1 << 16)
def in_window(instant: datetime, window: Window, tz: ZoneInfo) -> bool:
    """True when `instant` falls inside the window on the patient's wall clock."""
    local = instant.astimezone(tz)
    start = local_instant(local.date(), window.start, tz)
    end = local_instant(local.date(), window.end, tz)
    return start <= instant < end


@lru_cache(maxsize=1 << 16)
def next_window_start(instant: datetime, window: Window, tz: ZoneInfo) -> datetime:
    """The first moment at or after `instant` that is inside the window."""
    if in_window(instant, window, tz):
        return instant
    day = instant.astimezone(tz).date()
    for delta in (0, 1, 2):
        candidate = local_instant(day + timedelta(days=delta), window.start, tz)
        if candidate >= instant:
            return candidate
    raise AssertionError("a daily window always opens within two days")  # pragma: no cover


@lru_cache(maxsize=1 << 16)
def last_allowed_before(instant: datetime, window: Window, tz: ZoneInfo) -> datetime:
    """The latest comfortable moment before `instant` inside the window (margin before closing)."""
    day = instant.astimezone(tz).date()
    for delta in (0, 1, 2):
        d = day - timedelta(days=delta)
        start = local_instant(d, window.start, tz)
        end = local_instant(d, window.end, tz)
        candidate = max(start, end - EARLIER_MARGIN)
        if candidate <= instant:
            return candidate
    raise AssertionError("a daily window always closes within two days")  # pragma: no cover


@dataclass(frozen=True)
class Placement:
    """Where a message goes: its send time (None: nowhere) and why it moved (a reason code)."""

    at: datetime | None
    reason: str | None = None


@lru_cache(maxsize=1 << 16)
def place(
    due: datetime,
    *,
    now: datetime,
    send_by: datetime | None,
    policy: str,
    window: Window,
    tz: ZoneInfo,
    may_override: bool,
    not_before: datetime | None = None,
) -> Placement:
    """Place a message due at `due` (already >= now) with respect to quiet hours.

    "defer" moves it to the next window opening; if that is not before `send_by` it moves earlier,
    to the last comfortable moment before `due` (never before `not_before`, e.g. the end of the
    session a check-in follows). "earlier" tries earlier first, then later. "ignore" sends at
    `due`. When no allowed moment exists, a message that `may_override` (preparation: the patient
    must know before the session) goes at `due` anyway; any other is dropped (at=None).
    """
    if policy == "ignore" or in_window(due, window, tz):
        return Placement(due)
    later = next_window_start(due, window, tz)
    later_ok = send_by is None or later < send_by
    if policy == "defer" and later_ok:
        return Placement(later, "quiet-hours-deferred")
    floor = max(now, not_before) if not_before is not None else now
    earlier = last_allowed_before(due, window, tz)
    if earlier >= floor:
        return Placement(earlier, "quiet-hours-moved-earlier")
    if in_window(now, window, tz) and now >= floor:
        return Placement(now, "quiet-hours-moved-earlier")
    if later_ok:
        return Placement(later, "quiet-hours-deferred")
    if may_override:
        return Placement(due, "quiet-hours-overridden-deadline")
    return Placement(None, "no-send-window-before-deadline")
