"""The planner: which messages a session or an enrolment produces, and exactly when (UTC)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from service.domain.durations import parse_offset
from service.domain.planner import (
    PatientFacts,
    PlannedMessage,
    SessionFacts,
    plan_enrolment,
    plan_session,
)
from service.domain.quiet_hours import Window, in_window
from service.domain.schedule import Conditions, Schedule, Step
from service.schedules import load_schedules

ROOT = Path(__file__).resolve().parents[2]
NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
SYDNEY = ZoneInfo("Australia/Sydney")
WINDOW = Window(time(8, 0), time(20, 0))
BOTH = frozenset({"sms", "email"})


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture(scope="module")
def default() -> Schedule:
    return load_schedules(ROOT / "schedules")["default"]


def patient(
    tz: ZoneInfo = NY,
    channels: frozenset[str] = BOTH,
    indications: frozenset[str] = frozenset({"depression"}),
    enrolled_at: datetime | None = None,
) -> PatientFacts:
    enrolled = enrolled_at or utc(2027, 1, 4, 15, 0)
    return PatientFacts(tz=tz, channels=channels, indications=indications, enrolled_at=enrolled)


def session(
    start: datetime,
    booked_at: datetime,
    *,
    hours: float = 2,
    modality: str = "iv",
    number: int = 1,
    rescheduled_at: datetime | None = None,
) -> SessionFacts:
    return SessionFacts(
        start=start,
        duration=timedelta(hours=hours),
        modality=modality,
        number=number,
        booked_at=booked_at,
        rescheduled_at=rescheduled_at,
    )


def step(step_id: str = "s", **kwargs: object) -> Step:
    values: dict[str, object] = {
        "id": step_id,
        "anchor": "start",
        "template": step_id,
        "category": "admin",
        "channels": ("sms",),
        "quiet_hours": "ignore",
        "if_late": "send",
    }
    values.update(kwargs)
    values["offset"] = parse_offset(str(values.get("offset", "0m")))
    if isinstance(values.get("deadline"), str):
        values["deadline"] = parse_offset(str(values["deadline"]))
    return Step(**values)  # type: ignore[arg-type]


def schedule(*steps: Step) -> Schedule:
    return Schedule(name="test", description="", steps=steps)


def rows(planned: list[PlannedMessage]) -> list[tuple[str, str, str, datetime, str | None]]:
    return [(p.step.id, p.channel, p.status, p.due_at, p.reason) for p in planned]


def only(planned: list[PlannedMessage]) -> PlannedMessage:
    assert len(planned) == 1, rows(planned)
    return planned[0]


# --- offsets across DST -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "start", "due", "hours_before"),
    [
        # session 18:00 EDT on spring-forward day; 18:00 EST the day before is 23 h earlier
        pytest.param(NY, utc(2027, 3, 14, 22, 0), utc(2027, 3, 13, 23, 0), 23, id="new-york-spring"),
        # session 18:00 EST on fall-back day; 18:00 EDT the day before is 25 h earlier
        pytest.param(NY, utc(2027, 11, 7, 23, 0), utc(2027, 11, 6, 22, 0), 25, id="new-york-fall"),
        pytest.param(LONDON, utc(2027, 3, 28, 17, 0), utc(2027, 3, 27, 18, 0), 23, id="london-spring"),
        pytest.param(LONDON, utc(2027, 10, 31, 18, 0), utc(2027, 10, 30, 17, 0), 25, id="london-fall"),
        # southern hemisphere: DST ends on 4 April (+11 -> +10) and starts on 3 October (+10 -> +11)
        pytest.param(SYDNEY, utc(2027, 4, 4, 8, 0), utc(2027, 4, 3, 7, 0), 25, id="sydney-autumn"),
        pytest.param(SYDNEY, utc(2027, 10, 3, 7, 0), utc(2027, 10, 2, 8, 0), 23, id="sydney-spring"),
    ],
)
@pytest.mark.parametrize("at", [None, time(18, 0)], ids=["no-at", "at-18:00"])
def test_minus_one_day_is_the_same_wall_time_the_day_before(
    tz: ZoneInfo, start: datetime, due: datetime, hours_before: int, at: time | None
) -> None:
    """Offset "-1d" (at "18:00") from an 18:00 session is 18:00 local the day before, 23 or 25 hours earlier."""
    planned = plan_session(
        schedule(step(offset="-1d", at=at)),
        session(start, utc(2027, 1, 1)),
        patient(tz),
        WINDOW,
        utc(2027, 1, 1),
    )
    message = only(planned)
    assert message.due_at == due
    assert start - message.due_at == timedelta(hours=hours_before)
    local = message.due_at.astimezone(tz)
    assert local.time() == time(18, 0)
    assert local.date() == start.astimezone(tz).date() - timedelta(days=1)


@pytest.mark.parametrize(
    ("tz", "start", "due"),
    [
        # 04:00 EDT -> 00:00 EST: four hours on the wall clock, three real ones
        pytest.param(NY, utc(2027, 3, 14, 8, 0), utc(2027, 3, 14, 5, 0), id="new-york-spring"),
        # 03:00 EST -> 01:00 EDT (the first 01:00)
        pytest.param(NY, utc(2027, 11, 7, 8, 0), utc(2027, 11, 7, 5, 0), id="new-york-fall"),
        pytest.param(LONDON, utc(2027, 3, 28, 2, 0), utc(2027, 3, 27, 23, 0), id="london-spring"),
        pytest.param(SYDNEY, utc(2027, 10, 2, 17, 0), utc(2027, 10, 2, 14, 0), id="sydney-spring"),
        pytest.param(SYDNEY, utc(2027, 4, 3, 18, 0), utc(2027, 4, 3, 15, 0), id="sydney-autumn"),
    ],
)
def test_hours_are_exact_hours_across_a_dst_change(tz: ZoneInfo, start: datetime, due: datetime) -> None:
    planned = plan_session(
        schedule(step(offset="-3h")), session(start, utc(2027, 1, 1)), patient(tz), WINDOW, utc(2027, 1, 1)
    )
    assert only(planned).due_at == due
    assert start - due == timedelta(hours=3)


@pytest.mark.parametrize(
    ("tz", "start", "at", "due", "wall"),
    [
        # 02:30 does not exist on 14 March in New York: 03:30 EDT, after the gap
        pytest.param(
            NY, utc(2027, 3, 15, 14, 0), time(2, 30), utc(2027, 3, 14, 7, 30), "03:30", id="new-york"
        ),
        pytest.param(
            LONDON, utc(2027, 3, 29, 9, 0), time(1, 30), utc(2027, 3, 28, 1, 30), "02:30", id="london"
        ),
        pytest.param(
            SYDNEY, utc(2027, 10, 3, 23, 0), time(2, 30), utc(2027, 10, 2, 16, 30), "03:30", id="sydney"
        ),
    ],
)
def test_an_at_time_in_the_spring_gap_resolves_after_the_gap(
    tz: ZoneInfo, start: datetime, at: time, due: datetime, wall: str
) -> None:
    planned = plan_session(
        schedule(step(offset="-1d", at=at)),
        session(start, utc(2027, 1, 1)),
        patient(tz),
        WINDOW,
        utc(2027, 1, 1),
    )
    message = only(planned)
    assert message.due_at == due
    assert message.due_at.astimezone(tz).strftime("%H:%M") == wall


def test_an_ambiguous_at_time_takes_the_first_occurrence() -> None:
    """01:30 happens twice on 7 November in New York; the EDT one comes first."""
    planned = plan_session(
        schedule(step(offset="-1d", at=time(1, 30))),
        session(utc(2027, 11, 8, 15, 0), utc(2027, 1, 1)),
        patient(NY),
        WINDOW,
        utc(2027, 1, 1),
    )
    assert only(planned).due_at == utc(2027, 11, 7, 5, 30)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # session 09:00 EDT on spring-forward day; due 07:00 EDT -> 08:00 EDT = 12:00 UTC
        pytest.param(utc(2027, 3, 14, 13, 0), utc(2027, 3, 14, 12, 0), id="spring-forward"),
        # session 09:00 EST on fall-back day; due 07:00 EST -> 08:00 EST = 13:00 UTC
        pytest.param(utc(2027, 11, 7, 14, 0), utc(2027, 11, 7, 13, 0), id="fall-back"),
    ],
)
def test_quiet_hours_use_local_wall_time_on_dst_days(start: datetime, expected: datetime) -> None:
    planned = plan_session(
        schedule(step(offset="-2h", quiet_hours="defer", category="prep")),
        session(start, utc(2027, 1, 1)),
        patient(NY),
        WINDOW,
        utc(2027, 1, 1),
    )
    message = only(planned)
    assert (message.due_at, message.reason) == (expected, "quiet-hours-deferred")
    assert message.due_at.astimezone(NY).time() == time(8, 0)


# --- the shipped default schedule --------------------------------------------------------------

BOOKED = utc(2027, 4, 1, 15, 0)  # Thursday 11:00 EDT
START = utc(2027, 4, 15, 14, 0)  # Thursday two weeks later, 10:00 EDT; ends 12:00 EDT


# The steps these tests pin down; education steps added to the shipped file later are checked
# only by the general rules (pending, inside the window).
CORE_STEPS = (
    "booking_confirmation",
    "session_rescheduled",
    "prep_ahead",
    "prep_evening_before",
    "prep_morning_of",
    "checkin_same_day",
    "checkin_next_day",
    "integration_72h",
    "edu_general_1",
)


def core(planned: list[PlannedMessage]) -> list[PlannedMessage]:
    return [p for p in planned if p.step.id in CORE_STEPS]


def test_normal_booking_plans_every_step_on_time(default: Schedule) -> None:
    planned = plan_session(default, session(START, BOOKED), patient(), WINDOW, BOOKED)
    assert rows(core(planned)) == [
        ("booking_confirmation", "sms", "pending", BOOKED, None),
        ("booking_confirmation", "email", "pending", BOOKED, None),
        ("prep_ahead", "sms", "pending", utc(2027, 4, 12, 14, 0), None),  # Mon 10:00 EDT
        ("prep_ahead", "email", "pending", utc(2027, 4, 12, 14, 0), None),
        ("prep_evening_before", "sms", "pending", utc(2027, 4, 14, 22, 0), None),  # Wed 18:00
        ("prep_evening_before", "email", "pending", utc(2027, 4, 14, 22, 0), None),
        # 07:00 EDT is in quiet hours: deferred to 08:00, still before the 09:30 deadline
        ("prep_morning_of", "sms", "pending", utc(2027, 4, 15, 12, 0), "quiet-hours-deferred"),
        ("prep_morning_of", "email", "pending", utc(2027, 4, 15, 12, 0), "quiet-hours-deferred"),
        ("checkin_same_day", "sms", "pending", utc(2027, 4, 15, 19, 0), None),  # end + 3 h = 15:00
        ("checkin_same_day", "email", "pending", utc(2027, 4, 15, 19, 0), None),
        ("checkin_next_day", "sms", "pending", utc(2027, 4, 16, 14, 0), None),  # Fri 10:00
        ("checkin_next_day", "email", "pending", utc(2027, 4, 16, 14, 0), None),
        ("integration_72h", "sms", "pending", utc(2027, 4, 18, 15, 0), None),  # Sun 11:00
        ("integration_72h", "email", "pending", utc(2027, 4, 18, 15, 0), None),
        ("edu_general_1", "sms", "pending", utc(2027, 4, 17, 16, 0), None),  # Sat 12:00
        ("edu_general_1", "email", "pending", utc(2027, 4, 17, 16, 0), None),
    ]
    assert Counter(p.step.category for p in core(planned)) == {
        "admin": 2,
        "prep": 6,
        "safety": 4,
        "education": 4,
    }
    assert all(p.status == "pending" for p in planned)
    assert all(p.due_at.utcoffset() == timedelta(0) for p in planned)
    assert all(in_window(p.due_at, WINDOW, NY) for p in planned)


def test_normal_booking_deadlines(default: Schedule) -> None:
    """A preparation message is worth sending only until its deadline before the session."""
    planned = {
        (p.step.id, p.channel): p
        for p in plan_session(default, session(START, BOOKED), patient(), WINDOW, BOOKED)
    }
    assert planned["prep_ahead", "sms"].send_by == START - timedelta(days=1)
    assert planned["prep_evening_before", "sms"].send_by == START
    assert planned["prep_morning_of", "sms"].send_by == START - timedelta(minutes=30)
    assert planned["prep_morning_of", "sms"].original_due == START - timedelta(hours=3)
    # A same-day check-in goes on the session's day, before the window closes (20:00 EDT here).
    assert planned["checkin_same_day", "sms"].send_by == utc(2027, 4, 16, 0, 0)
    assert planned["booking_confirmation", "sms"].send_by == BOOKED + timedelta(days=2)


def test_late_booking_three_hours_ahead_sends_one_prep_message_now(default: Schedule) -> None:
    """Booked at 11:00 for 14:00: the 3-day prep is too late, the evening-before is superseded."""
    now = utc(2027, 4, 15, 15, 0)
    start = utc(2027, 4, 15, 18, 0)
    planned = plan_session(default, session(start, now), patient(), WINDOW, now)
    prep = [r for r in rows(planned) if r[0].startswith("prep_")]
    assert prep == [
        ("prep_ahead", "sms", "skipped", utc(2027, 4, 12, 14, 0), "too-late"),
        ("prep_ahead", "email", "skipped", utc(2027, 4, 12, 14, 0), "too-late"),
        ("prep_evening_before", "sms", "skipped", now, "superseded"),
        ("prep_evening_before", "email", "skipped", now, "superseded"),
        ("prep_morning_of", "sms", "pending", now, None),
        ("prep_morning_of", "email", "pending", now, None),
    ]
    pending = [p for p in planned if p.status == "pending"]
    going = [(p.step.id, p.due_at) for p in pending if p.step.category == "prep"]
    assert going == [("prep_morning_of", now)] * 2  # by text and by email
    assert ("booking_confirmation", "sms", "pending", now, None) in rows(planned)


def test_late_booking_with_every_prep_step_overdue_keeps_the_last(default: Schedule) -> None:
    """Booked 2.5 h ahead: the morning-of reminder is late too; it is the one that goes, now."""
    now = utc(2027, 4, 15, 15, 30)
    start = utc(2027, 4, 15, 18, 0)
    planned = plan_session(default, session(start, now), patient(), WINDOW, now)
    prep = [r for r in rows(planned) if r[0] in ("prep_evening_before", "prep_morning_of")]
    assert prep == [
        ("prep_evening_before", "sms", "skipped", now, "superseded"),
        ("prep_evening_before", "email", "skipped", now, "superseded"),
        ("prep_morning_of", "sms", "pending", now, "late-booking-sent-now"),
        ("prep_morning_of", "email", "pending", now, "late-booking-sent-now"),
    ]


@pytest.mark.parametrize(
    "now",
    [
        pytest.param(utc(2027, 4, 15, 10, 30), id="booked-06:30-same-morning"),
        pytest.param(utc(2027, 4, 15, 2, 0), id="booked-22:00-the-evening-before"),
    ],
)
def test_late_booking_in_quiet_hours_still_sends_one_prep_message(default: Schedule, now: datetime) -> None:
    """Session at 09:00: the overdue evening-before and the morning-of would both go at 08:00."""
    start = utc(2027, 4, 15, 13, 0)
    planned = plan_session(default, session(start, now), patient(), WINDOW, now)
    pending_prep = [
        (p.step.id, p.due_at) for p in planned if p.step.category == "prep" and p.status == "pending"
    ]
    assert pending_prep == [("prep_morning_of", utc(2027, 4, 15, 12, 0))] * 2  # by text and by email
    superseded = {p.step.id for p in planned if p.reason == "superseded"}
    assert superseded == {"prep_evening_before"}


def test_late_booking_the_evening_before_keeps_both_prep_messages(default: Schedule) -> None:
    """Booked at 19:00 for 10:00 the next day: the clearance goes now, the morning-of at 08:00."""
    now = utc(2027, 4, 14, 23, 0)
    planned = plan_session(default, session(START, now), patient(), WINDOW, now)
    prep = [r for r in rows(planned) if r[0].startswith("prep_") and r[2] == "pending"]
    assert prep == [
        ("prep_evening_before", "sms", "pending", now, "late-booking-sent-now"),
        ("prep_evening_before", "email", "pending", now, "late-booking-sent-now"),
        ("prep_morning_of", "sms", "pending", utc(2027, 4, 15, 12, 0), "quiet-hours-deferred"),
        ("prep_morning_of", "email", "pending", utc(2027, 4, 15, 12, 0), "quiet-hours-deferred"),
    ]


def test_morning_of_reminder_for_an_8am_session_moves_to_the_evening_before(default: Schedule) -> None:
    """Due 05:00, deadline 07:30, window opens 08:00: it would go at 19:45 the evening before,
    where the evening-before message already goes: it is superseded."""
    start = utc(2027, 4, 15, 12, 0)  # 08:00 EDT
    planned = plan_session(default, session(start, BOOKED), patient(), WINDOW, BOOKED)
    morning = only([p for p in planned if p.step.id == "prep_morning_of" and p.channel == "sms"])
    assert (morning.status, morning.due_at, morning.reason) == (
        "skipped",
        utc(2027, 4, 14, 23, 45),
        "superseded",
    )


@pytest.mark.parametrize(
    ("start", "status", "expected", "reason"),
    [
        # ends 19:00 EDT, due 22:00 -> moved earlier to 20:45 (safety window until 21:00),
        # 90 minutes or more after the session ended
        pytest.param(
            utc(2027, 4, 15, 21, 0),
            "pending",
            utc(2027, 4, 16, 0, 45),
            "quiet-hours-moved-earlier",
            id="ends-19:00",
        ),
        # ends 19:50 EDT: 90 minutes later is past 21:00, and the next morning is another day
        pytest.param(
            utc(2027, 4, 15, 21, 50), "skipped", utc(2027, 4, 16, 2, 50), "no-same-day-slot", id="ends-19:50"
        ),
    ],
)
def test_same_day_checkin_never_moves_before_the_session_ended(
    default: Schedule, start: datetime, status: str, expected: datetime, reason: str
) -> None:
    window = Window(time(8, 0), time(20, 0), time(21, 0))
    planned = plan_session(default, session(start, BOOKED), patient(), window, BOOKED)
    checkin = only([p for p in planned if p.step.id == "checkin_same_day" and p.channel == "sms"])
    assert (checkin.status, checkin.due_at, checkin.reason) == (status, expected, reason)
    assert checkin.due_at >= start + timedelta(hours=2, minutes=90)


def test_second_session_gets_no_first_session_education(default: Schedule) -> None:
    planned = plan_session(default, session(START, BOOKED, number=2), patient(), WINDOW, BOOKED)
    ids = {p.step.id for p in planned}
    assert "edu_general_1" not in ids
    assert "integration_72h" in ids


def test_channels_the_patient_lacks_produce_nothing(default: Schedule) -> None:
    planned = plan_session(
        default, session(START, BOOKED), patient(channels=frozenset({"email"})), WINDOW, BOOKED
    )
    assert {p.channel for p in planned} == {"email"}
    assert [p.step.id for p in core(planned)] == [
        "booking_confirmation",
        "prep_ahead",
        "prep_evening_before",
        "prep_morning_of",  # every preparation and safety step has an email version
        "checkin_same_day",
        "checkin_next_day",
        "integration_72h",
        "edu_general_1",
    ]


def test_a_patient_without_channels_gets_nothing(default: Schedule) -> None:
    assert plan_session(default, session(START, BOOKED), patient(channels=frozenset()), WINDOW, BOOKED) == []


def test_reschedule_anchor_only_when_asked(default: Schedule) -> None:
    moved_at = utc(2027, 4, 5, 16, 0)
    s = session(START, BOOKED, rescheduled_at=moved_at)
    assert "session_rescheduled" not in {
        p.step.id for p in plan_session(default, s, patient(), WINDOW, moved_at)
    }
    planned = plan_session(default, s, patient(), WINDOW, moved_at, anchors=("start", "end", "reschedule"))
    ids = [p.step.id for p in planned]
    assert "booking_confirmation" not in ids
    assert [r for r in rows(planned) if r[0] == "session_rescheduled"] == [
        ("session_rescheduled", "sms", "pending", moved_at, None),
        ("session_rescheduled", "email", "pending", moved_at, None),
    ]


def test_reschedule_anchor_falls_back_to_booking_time() -> None:
    planned = plan_session(
        schedule(step(anchor="reschedule")),
        session(START, BOOKED),
        patient(),
        WINDOW,
        BOOKED,
        anchors=("reschedule",),
    )
    assert only(planned).due_at == BOOKED


def test_anchors_filter_steps() -> None:
    sched = schedule(
        step("a", anchor="start", offset="-1d"),
        step("b", anchor="end", offset="+1h"),
        step("c", anchor="booking"),
    )
    planned = plan_session(sched, session(START, BOOKED), patient(), WINDOW, BOOKED, anchors=("end",))
    assert [(p.step.id, p.due_at) for p in planned] == [("b", START + timedelta(hours=3))]


# --- conditions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("conditions", "modality", "number", "indications", "applies"),
    [
        (Conditions(modalities=("intranasal",)), "iv", 1, {"depression"}, False),
        (Conditions(modalities=("intranasal",)), "intranasal", 1, {"depression"}, True),
        (Conditions(modalities=("iv", "im")), "im", 4, {"depression"}, True),
        (Conditions(sessions=(1,)), "iv", 1, {"depression"}, True),
        (Conditions(sessions=(1,)), "iv", 2, {"depression"}, False),
        (Conditions(sessions=(2, 4)), "iv", 4, {"depression"}, True),
        (Conditions(from_session=3), "iv", 2, {"depression"}, False),
        (Conditions(from_session=3), "iv", 3, {"depression"}, True),
        (Conditions(from_session=3), "iv", 7, {"depression"}, True),
        (Conditions(indications=("ptsd",)), "iv", 1, {"depression"}, False),
        (Conditions(indications=("ptsd",)), "iv", 1, {"depression", "ptsd"}, True),
        (Conditions(indications=("ptsd",)), "iv", 1, set(), False),
        (Conditions(modalities=("iv",), indications=("ptsd",)), "iv", 1, {"depression"}, False),
        (Conditions(), "oral", 9, set(), True),
    ],
)
def test_conditions_decide_whether_a_step_applies(
    conditions: Conditions, modality: str, number: int, indications: set[str], applies: bool
) -> None:
    planned = plan_session(
        schedule(step(offset="-1d", conditions=conditions)),
        session(START, BOOKED, modality=modality, number=number),
        patient(indications=frozenset(indications)),
        WINDOW,
        BOOKED,
    )
    assert len(planned) == (1 if applies else 0)


# --- lateness and expiry -------------------------------------------------------------------------


def test_overdue_step_that_says_skip_is_skipped_too_late() -> None:
    now = START - timedelta(hours=1)
    planned = plan_session(
        schedule(step(offset="-2h", category="safety", if_late="skip")),
        session(START, now),
        patient(),
        WINDOW,
        now,
    )
    message = only(planned)
    assert (message.status, message.reason, message.due_at) == (
        "skipped",
        "too-late",
        START - timedelta(hours=2),
    )


def test_overdue_step_past_its_expiry_is_skipped_even_if_late_sending_is_allowed() -> None:
    now = START + timedelta(days=2)
    planned = plan_session(
        schedule(step(anchor="booking", expires_after=timedelta(days=1))),
        session(START, BOOKED),
        patient(),
        WINDOW,
        now,
    )
    assert (only(planned).status, only(planned).reason) == ("skipped", "too-late")


def test_safety_message_with_no_send_window_before_expiry_is_skipped() -> None:
    """A check-in due at 02:00 that expires at 05:00 has nowhere to go; it is not overridden."""
    start = utc(2027, 4, 15, 4, 0)  # midnight EDT, ends 02:00
    planned = plan_session(
        schedule(
            step(anchor="end", category="safety", quiet_hours="defer", expires_after=timedelta(hours=3))
        ),
        session(start, BOOKED),
        patient(),
        WINDOW,
        utc(2027, 4, 15, 5, 0),  # planned at 01:00 EDT, after 19:45 has gone
    )
    message = only(planned)
    assert (message.status, message.reason) == ("skipped", "no-send-window-before-deadline")


def test_prep_message_with_no_send_window_before_its_deadline_goes_anyway() -> None:
    """Booked at 06:00 for a 07:30 session: the patient must know before the session."""
    now = utc(2027, 4, 15, 10, 0)  # 06:00 EDT
    start = utc(2027, 4, 15, 11, 30)  # 07:30 EDT
    planned = plan_session(
        schedule(step(offset="-3h", category="prep", quiet_hours="defer", deadline="-30m")),
        session(start, now),
        patient(),
        WINDOW,
        now,
    )
    message = only(planned)
    assert (message.status, message.due_at, message.reason) == (
        "pending",
        now,
        "quiet-hours-overridden-deadline",
    )


# --- enrolment ------------------------------------------------------------------------------------

ENROLLED = utc(2027, 4, 1, 15, 0)  # 11:00 EDT


def _enrolment_schedule() -> Schedule:
    return schedule(
        step("welcome", anchor="enrolment", category="admin", channels=("sms", "email")),
        step(
            "edu_day_1",
            anchor="enrolment",
            offset="+1d",
            at=time(12, 0),
            category="education",
            quiet_hours="defer",
        ),
        step(
            "edu_ptsd",
            anchor="enrolment",
            offset="+2d",
            at=time(12, 0),
            category="education",
            conditions=Conditions(indications=("ptsd",)),
        ),
        step("prep", anchor="start", offset="-1d", category="prep"),
    )


def test_enrolment_steps() -> None:
    planned = plan_enrolment(_enrolment_schedule(), patient(enrolled_at=ENROLLED), WINDOW, ENROLLED)
    assert rows(planned) == [
        ("welcome", "sms", "pending", ENROLLED, None),
        ("welcome", "email", "pending", ENROLLED, None),
        ("edu_day_1", "sms", "pending", utc(2027, 4, 2, 16, 0), None),  # 12:00 EDT
    ]


def test_enrolment_steps_follow_indications() -> None:
    p = patient(enrolled_at=ENROLLED, indications=frozenset({"ptsd"}))
    planned = plan_enrolment(_enrolment_schedule(), p, WINDOW, ENROLLED)
    assert ("edu_ptsd", "sms", "pending", utc(2027, 4, 3, 16, 0), None) in rows(planned)


def test_enrolment_steps_are_not_planned_for_a_session() -> None:
    planned = plan_session(
        _enrolment_schedule(), session(START, BOOKED), patient(enrolled_at=ENROLLED), WINDOW, BOOKED
    )
    assert [p.step.id for p in planned] == ["prep"]


def test_enrolment_in_the_evening_defers_education_to_the_window() -> None:
    """Enrolled 21:00 EDT: "+1d" without `at` is 21:00 the next day, deferred to the morning after."""
    enrolled = utc(2027, 4, 2, 1, 0)
    sched = schedule(step("edu", anchor="enrolment", offset="+1d", category="education", quiet_hours="defer"))
    message = only(plan_enrolment(sched, patient(enrolled_at=enrolled), WINDOW, enrolled))
    assert (message.due_at, message.reason) == (utc(2027, 4, 3, 12, 0), "quiet-hours-deferred")


def test_enrolment_step_already_past_is_skipped() -> None:
    sched = schedule(step("edu", anchor="enrolment", offset="+1d", category="education", if_late="skip"))
    now = ENROLLED + timedelta(days=5)
    message = only(plan_enrolment(sched, patient(enrolled_at=ENROLLED), WINDOW, now))
    assert (message.status, message.reason) == ("skipped", "too-late")
