"""Send windows on the patient's wall clock, DST days included, and where a message moves."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from service.domain.quiet_hours import (
    EARLIER_MARGIN,
    Placement,
    Window,
    in_window,
    last_allowed_before,
    local_instant,
    next_window_start,
    place,
)

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
SYDNEY = ZoneInfo("Australia/Sydney")
WINDOW = Window(time(8, 0), time(20, 0))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- local_instant: wall times that do not exist or exist twice -----------------------------


@pytest.mark.parametrize(
    ("tz", "day", "at", "expected", "wall"),
    [
        # spring forward: 02:30 does not exist; it resolves after the gap (03:30 EDT)
        pytest.param(NY, date(2027, 3, 14), time(2, 30), utc(2027, 3, 14, 7, 30), "03:30", id="ny-gap"),
        pytest.param(
            LONDON, date(2027, 3, 28), time(1, 30), utc(2027, 3, 28, 1, 30), "02:30", id="london-gap"
        ),
        pytest.param(
            SYDNEY, date(2027, 10, 3), time(2, 30), utc(2027, 10, 2, 16, 30), "03:30", id="sydney-gap"
        ),
        # fall back: 01:30 happens twice; the first occurrence (still summer time) is taken
        pytest.param(NY, date(2027, 11, 7), time(1, 30), utc(2027, 11, 7, 5, 30), "01:30", id="ny-fold"),
        pytest.param(
            LONDON, date(2027, 10, 31), time(1, 30), utc(2027, 10, 31, 0, 30), "01:30", id="london-fold"
        ),
        pytest.param(
            SYDNEY, date(2027, 4, 4), time(2, 30), utc(2027, 4, 3, 15, 30), "02:30", id="sydney-fold"
        ),
        # ordinary times on the change days
        pytest.param(NY, date(2027, 3, 14), time(8, 0), utc(2027, 3, 14, 12, 0), "08:00", id="ny-spring-8am"),
        pytest.param(NY, date(2027, 11, 7), time(8, 0), utc(2027, 11, 7, 13, 0), "08:00", id="ny-fall-8am"),
    ],
)
def test_local_instant_on_dst_days(tz: ZoneInfo, day: date, at: time, expected: datetime, wall: str) -> None:
    instant = local_instant(day, at, tz)
    assert instant == expected
    assert instant.tzinfo is UTC
    local = instant.astimezone(tz)
    assert (local.date(), local.strftime("%H:%M")) == (day, wall)


# --- in_window --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "tz", "inside"),
    [
        pytest.param(utc(2027, 4, 1, 12, 0), NY, True, id="opening-is-inside"),
        pytest.param(utc(2027, 4, 1, 11, 59), NY, False, id="minute-before-opening"),
        pytest.param(utc(2027, 4, 1, 23, 59), NY, True, id="last-minute"),
        pytest.param(utc(2027, 4, 2, 0, 0), NY, False, id="closing-is-outside"),
        # spring forward: 12:00 UTC is 08:00 EDT on the day, 07:00 EST the day before
        pytest.param(utc(2027, 3, 14, 12, 0), NY, True, id="ny-spring-day-08:00-edt"),
        pytest.param(utc(2027, 3, 13, 12, 0), NY, False, id="ny-day-before-07:00-est"),
        pytest.param(utc(2027, 3, 14, 23, 59), NY, True, id="ny-spring-day-19:59-edt"),
        pytest.param(utc(2027, 3, 15, 0, 0), NY, False, id="ny-spring-day-20:00-edt"),
        # fall back: 12:00 UTC is 07:00 EST on the day, 08:00 EDT the day before
        pytest.param(utc(2027, 11, 7, 12, 0), NY, False, id="ny-fall-day-07:00-est"),
        pytest.param(utc(2027, 11, 7, 13, 0), NY, True, id="ny-fall-day-08:00-est"),
        pytest.param(utc(2027, 11, 6, 12, 0), NY, True, id="ny-day-before-08:00-edt"),
        pytest.param(utc(2027, 11, 8, 0, 59), NY, True, id="ny-fall-day-19:59-est"),
        pytest.param(utc(2027, 11, 8, 1, 0), NY, False, id="ny-fall-day-20:00-est"),
        pytest.param(utc(2027, 3, 28, 7, 0), LONDON, True, id="london-spring-08:00-bst"),
        pytest.param(utc(2027, 3, 27, 7, 0), LONDON, False, id="london-day-before-07:00-gmt"),
        # Sydney: DST ends in April (+11 -> +10), starts in October (+10 -> +11)
        pytest.param(utc(2027, 4, 3, 22, 0), SYDNEY, True, id="sydney-autumn-08:00-aest"),
        pytest.param(utc(2027, 4, 3, 21, 0), SYDNEY, False, id="sydney-autumn-07:00-aest"),
        pytest.param(utc(2027, 10, 2, 21, 0), SYDNEY, True, id="sydney-spring-08:00-aedt"),
        pytest.param(utc(2027, 10, 2, 20, 59), SYDNEY, False, id="sydney-spring-07:59-aedt"),
    ],
)
def test_in_window_uses_the_local_wall_clock(instant: datetime, tz: ZoneInfo, inside: bool) -> None:
    assert in_window(instant, WINDOW, tz) is inside


# --- next_window_start / last_allowed_before -------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "tz", "expected"),
    [
        pytest.param(utc(2027, 4, 1, 15, 0), NY, utc(2027, 4, 1, 15, 0), id="inside-is-itself"),
        pytest.param(utc(2027, 4, 1, 9, 0), NY, utc(2027, 4, 1, 12, 0), id="05:00-to-08:00-same-day"),
        pytest.param(utc(2027, 4, 2, 1, 0), NY, utc(2027, 4, 2, 12, 0), id="21:00-to-next-morning"),
        # 22:00 EST on the 13th -> 08:00 EDT on the 14th is 12:00 UTC (not 13:00)
        pytest.param(utc(2027, 3, 14, 3, 0), NY, utc(2027, 3, 14, 12, 0), id="ny-into-spring-day"),
        pytest.param(utc(2027, 3, 14, 7, 30), NY, utc(2027, 3, 14, 12, 0), id="ny-from-inside-gap"),
        # 22:00 EDT on the 6th -> 08:00 EST on the 7th is 13:00 UTC
        pytest.param(utc(2027, 11, 7, 2, 0), NY, utc(2027, 11, 7, 13, 0), id="ny-into-fall-day"),
        pytest.param(utc(2027, 11, 7, 6, 30), NY, utc(2027, 11, 7, 13, 0), id="ny-from-second-01:30"),
        pytest.param(utc(2027, 3, 28, 1, 0), LONDON, utc(2027, 3, 28, 7, 0), id="london-spring"),
        pytest.param(utc(2027, 10, 31, 3, 0), LONDON, utc(2027, 10, 31, 8, 0), id="london-fall"),
        pytest.param(utc(2027, 4, 3, 14, 0), SYDNEY, utc(2027, 4, 3, 22, 0), id="sydney-autumn"),
        pytest.param(utc(2027, 10, 2, 14, 0), SYDNEY, utc(2027, 10, 2, 21, 0), id="sydney-spring"),
    ],
)
def test_next_window_start(instant: datetime, tz: ZoneInfo, expected: datetime) -> None:
    assert next_window_start(instant, WINDOW, tz) == expected


@pytest.mark.parametrize(
    ("instant", "tz", "expected"),
    [
        pytest.param(utc(2027, 4, 2, 1, 0), NY, utc(2027, 4, 1, 23, 45), id="21:00-to-19:45-same-day"),
        pytest.param(utc(2027, 4, 2, 9, 0), NY, utc(2027, 4, 1, 23, 45), id="05:00-to-19:45-day-before"),
        # 06:00 EDT on the 14th -> 19:45 EST on the 13th
        pytest.param(utc(2027, 3, 14, 10, 0), NY, utc(2027, 3, 14, 0, 45), id="ny-spring-morning"),
        # 23:00 EDT on the 14th -> 19:45 EDT on the 14th
        pytest.param(utc(2027, 3, 15, 3, 0), NY, utc(2027, 3, 14, 23, 45), id="ny-spring-evening"),
        # 06:00 EST on the 7th -> 19:45 EDT on the 6th
        pytest.param(utc(2027, 11, 7, 11, 0), NY, utc(2027, 11, 6, 23, 45), id="ny-fall-morning"),
        # 23:00 EST on the 7th -> 19:45 EST on the 7th
        pytest.param(utc(2027, 11, 8, 4, 0), NY, utc(2027, 11, 8, 0, 45), id="ny-fall-evening"),
        pytest.param(utc(2027, 3, 28, 5, 0), LONDON, utc(2027, 3, 27, 19, 45), id="london-spring"),
        # 06:00 AEDT on 3 October -> 19:45 AEST (+10) on the 2nd
        pytest.param(utc(2027, 10, 2, 19, 0), SYDNEY, utc(2027, 10, 2, 9, 45), id="sydney-spring"),
        # 06:00 AEST on 4 April -> 19:45 AEDT (+11) on the 3rd
        pytest.param(utc(2027, 4, 3, 20, 0), SYDNEY, utc(2027, 4, 3, 8, 45), id="sydney-autumn"),
    ],
)
def test_last_allowed_before(instant: datetime, tz: ZoneInfo, expected: datetime) -> None:
    """The last comfortable moment: 15 minutes before the window closes, on the local clock."""
    result = last_allowed_before(instant, WINDOW, tz)
    assert result == expected
    assert result.astimezone(tz).time() == time(19, 45)


def test_margin_is_fifteen_minutes() -> None:
    assert timedelta(minutes=15) == EARLIER_MARGIN


def test_last_allowed_before_a_tiny_window_is_its_opening() -> None:
    """When the margin would fall before the opening, the opening is used."""
    tiny = Window(time(9, 0), time(9, 10))
    assert last_allowed_before(utc(2027, 4, 1, 20, 0), tiny, NY) == utc(2027, 4, 1, 13, 0)


# --- place -------------------------------------------------------------------------------------

NOW = utc(2027, 4, 1, 14, 0)  # Thursday 10:00 EDT


def _place(due: datetime, **kwargs: object) -> Placement:
    args: dict[str, object] = {
        "now": NOW,
        "send_by": None,
        "policy": "defer",
        "window": WINDOW,
        "tz": NY,
        "may_override": False,
    }
    args.update(kwargs)
    return place(due, **args)  # type: ignore[arg-type]


def test_inside_the_window_nothing_moves() -> None:
    due = utc(2027, 4, 2, 15, 0)
    assert _place(due) == Placement(due, None)


def test_defer_waits_for_the_next_opening() -> None:
    """23:00 EDT -> 08:00 EDT the next morning."""
    assert _place(utc(2027, 4, 2, 3, 0)) == Placement(utc(2027, 4, 2, 12, 0), "quiet-hours-deferred")


def test_defer_with_a_deadline_after_the_opening_still_defers() -> None:
    result = _place(utc(2027, 4, 2, 3, 0), send_by=utc(2027, 4, 2, 14, 0))
    assert result == Placement(utc(2027, 4, 2, 12, 0), "quiet-hours-deferred")


def test_prep_is_never_deferred_past_its_deadline_it_moves_earlier() -> None:
    """Morning-of reminder for an 08:00 session: due 05:00, deadline 07:30 -> 19:45 the evening before."""
    due = utc(2027, 4, 2, 9, 0)  # 05:00 EDT
    result = _place(due, send_by=utc(2027, 4, 2, 11, 30), may_override=True)
    assert result == Placement(utc(2027, 4, 1, 23, 45), "quiet-hours-moved-earlier")
    assert result.at is not None and result.at.astimezone(NY).time() == time(19, 45)


def test_a_deadline_exactly_at_the_opening_counts_as_missed() -> None:
    """Deferring to 08:00 for a session at 08:00 would be too late: it moves earlier."""
    due = utc(2027, 4, 2, 9, 0)
    result = _place(due, send_by=utc(2027, 4, 2, 12, 0), may_override=True)
    assert result.reason == "quiet-hours-moved-earlier"


def test_earlier_policy_moves_before_the_window_closes() -> None:
    """A same-day check-in due at 21:30 goes at 19:45, not 19:59 or 20:00."""
    result = _place(utc(2027, 4, 2, 1, 30), policy="earlier", send_by=utc(2027, 4, 2, 11, 30))
    assert result == Placement(utc(2027, 4, 1, 23, 45), "quiet-hours-moved-earlier")


def test_earlier_never_moves_before_not_before() -> None:
    """A check-in for a session that ended at 19:50 is not sent at 19:45: it waits for the morning."""
    ended = utc(2027, 4, 1, 23, 50)  # 19:50 EDT
    due = ended + timedelta(hours=3)
    result = _place(due, policy="earlier", not_before=ended, send_by=due + timedelta(hours=10))
    assert result == Placement(utc(2027, 4, 2, 12, 0), "quiet-hours-deferred")


def test_earlier_never_moves_before_now() -> None:
    """Planned at 21:00 for 06:00 with a 07:00 deadline: 19:45 has passed, 08:00 is too late."""
    now = utc(2027, 4, 2, 1, 0)  # 21:00 EDT
    due = utc(2027, 4, 2, 10, 0)  # 06:00 EDT
    result = _place(due, now=now, send_by=utc(2027, 4, 2, 11, 0), may_override=False)
    assert result == Placement(None, "no-send-window-before-deadline")


def test_earlier_sends_now_when_now_is_inside_the_window_and_past_not_before() -> None:
    now = utc(2027, 4, 1, 23, 55)  # 19:55 EDT, after 19:45 but before closing
    ended = utc(2027, 4, 1, 23, 50)
    due = utc(2027, 4, 2, 2, 50)
    result = _place(due, now=now, policy="earlier", not_before=ended, send_by=due + timedelta(hours=1))
    assert result == Placement(now, "quiet-hours-moved-earlier")


def test_earlier_falls_back_to_later_when_nothing_earlier_is_allowed() -> None:
    now = utc(2027, 4, 2, 2, 0)  # 22:00 EDT
    due = utc(2027, 4, 2, 3, 0)
    result = _place(due, now=now, policy="earlier", send_by=utc(2027, 4, 2, 14, 0))
    assert result == Placement(utc(2027, 4, 2, 12, 0), "quiet-hours-deferred")


def test_ignore_sends_at_due_even_at_night() -> None:
    due = utc(2027, 4, 2, 7, 0)  # 03:00 EDT
    assert _place(due, policy="ignore") == Placement(due, None)


@pytest.mark.parametrize(
    ("may_override", "expected"),
    [
        (True, Placement(utc(2027, 4, 2, 10, 0), "quiet-hours-overridden-deadline")),
        (False, Placement(None, "no-send-window-before-deadline")),
    ],
)
def test_no_window_before_the_deadline(may_override: bool, expected: Placement) -> None:
    """Booked at 06:00 for a 07:30 session: no allowed moment before the 07:00 deadline."""
    now = utc(2027, 4, 2, 10, 0)  # 06:00 EDT
    result = _place(now, now=now, send_by=utc(2027, 4, 2, 11, 0), may_override=may_override)
    assert result == expected


@pytest.mark.parametrize(
    ("due", "send_by", "expected"),
    [
        # 06:00 EDT on spring-forward day -> 08:00 EDT (12:00 UTC)
        pytest.param(utc(2027, 3, 14, 10, 0), None, utc(2027, 3, 14, 12, 0), id="spring-defer"),
        # 06:00 EST on fall-back day -> 08:00 EST (13:00 UTC)
        pytest.param(utc(2027, 11, 7, 11, 0), None, utc(2027, 11, 7, 13, 0), id="fall-defer"),
        # 05:00 EDT the day after spring forward, deadline 07:30 -> 19:45 EDT on the change day
        pytest.param(
            utc(2027, 3, 15, 9, 0), utc(2027, 3, 15, 11, 30), utc(2027, 3, 14, 23, 45), id="spring-earlier"
        ),
        # 05:00 EST on fall-back day, deadline 07:30 EST -> 19:45 EDT the day before
        pytest.param(
            utc(2027, 11, 7, 10, 0), utc(2027, 11, 7, 12, 30), utc(2027, 11, 6, 23, 45), id="fall-earlier"
        ),
    ],
)
def test_place_on_dst_days(due: datetime, send_by: datetime | None, expected: datetime) -> None:
    result = _place(due, now=utc(2027, 3, 1), send_by=send_by, may_override=True)
    assert result.at == expected
