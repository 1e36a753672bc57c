"""Check-in timing: the safety send window ([clinic] safety_until), the same-day check-in (never
sooner than 90 minutes after the session, always on the session's day before safety_until, else
no text and a task to call the patient at the session's end), and the morning-of reminder that
quiet hours would move onto the evening before, where the evening-before message already goes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from service.config import MODALITIES, ConfigError, parse_config
from service.db.tables import staff_tasks
from service.domain.planner import NO_SAME_DAY_SLOT, PatientFacts, PlannedMessage, SessionFacts, plan_session
from service.domain.quiet_hours import Window
from service.domain.schedule import Schedule
from service.scheduler import sweep
from service.schedules import ScheduleError, load_schedules, parse_schedule
from service.services import sessions, tasks
from service.services.outbox.dispatch import Dispatcher
from service.services.validation import DEFAULT_DURATION
from tests.helpers import ROOT, book, by_step, enrol
from tests.test_anchors import run_until

WINDOW = Window(time(8, 0), time(20, 0), time(21, 0))
BOTH = frozenset({"sms", "email"})
NY = ZoneInfo("America/New_York")
ZONES = ("America/New_York", "America/Los_Angeles", "America/Chicago", "Pacific/Honolulu", "Europe/Madrid")
# The days the clocks change in 2027 (United States, then European Union), and the days after.
CLOCK_DAYS = (date(2027, 3, 14), date(2027, 3, 15), date(2027, 11, 7), date(2027, 11, 8))
CLOCK_DAYS += (date(2027, 3, 28), date(2027, 3, 29), date(2027, 10, 31), date(2027, 11, 1))
NOT_BEFORE = timedelta(minutes=90)


@pytest.fixture(scope="module")
def default() -> Schedule:
    return load_schedules(ROOT / "schedules")["default"]


def local(day: date, hour: int, minute: int = 0, tz: ZoneInfo = NY) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=tz).astimezone(UTC)


def plan(
    schedule: Schedule,
    start: datetime,
    minutes: int,
    *,
    tz: ZoneInfo = NY,
    booked: datetime | None = None,
    modality: str = "kat",
    window: Window = WINDOW,
) -> list[PlannedMessage]:
    booked = booked or start - timedelta(days=20)
    facts = SessionFacts(start, timedelta(minutes=minutes), modality, 1, booked)
    return plan_session(schedule, facts, PatientFacts(tz, BOTH, frozenset(), booked), window, booked)


def checkins(planned: list[PlannedMessage]) -> list[PlannedMessage]:
    return [p for p in planned if p.step.id == "checkin_same_day"]


# --- the safety window -------------------------------------------------------------------------


def test_safety_messages_use_the_safety_window_and_others_the_normal_one():
    assert WINDOW.for_category("safety") == Window(time(8), time(21))
    assert WINDOW.for_category("education") == Window(time(8), time(20))
    # A normal window that closes later than safety_until is kept for safety messages too.
    late = Window(time(0), time(23, 59), time(21))
    assert late.for_category("safety") == Window(time(0), time(23, 59))
    assert Window(time(8), time(20)).for_category("safety") == Window(time(8), time(20))


def test_safety_until_defaults_to_21_00_and_must_come_after_the_start_of_the_window():
    assert parse_config("", "cfg.toml", {}).clinic.safety_until == time(21, 0)
    assert parse_config('[clinic]\nsafety_until = "20:30"\n', "cfg.toml", {}).clinic.safety_until == time(
        20, 30
    )
    with pytest.raises(ConfigError, match=r"clinic\.safety_until: must be after clinic\.quiet_hours_start"):
        parse_config('[clinic]\nsafety_until = "08:00"\n', "cfg.toml", {})
    with pytest.raises(ConfigError, match=r"clinic\.safety_until: expected a time"):
        parse_config('[clinic]\nsafety_until = "9pm"\n', "cfg.toml", {})


# --- the schedule keys -------------------------------------------------------------------------

STEP = """
[[step]]
id = "checkin"
anchor = "{anchor}"
offset = "+3h"
category = "safety"
channels = ["sms"]
template = "checkin_same_day"
{extra}
"""


def test_the_shipped_same_day_check_in_carries_its_timing_keys(default):
    step = default.step("checkin_same_day")
    assert (step.not_before, step.same_day) == (NOT_BEFORE, True)
    assert default.step("checkin_next_day").same_day is False


@pytest.mark.parametrize(
    ("anchor", "extra", "message"),
    [
        ("end", 'not_before = "soon"', "step 'checkin': not_before:"),
        ("end", 'not_before = "-1h"', "step 'checkin': not_before: expected a positive duration"),
        ("end", 'not_before = "0m"', "step 'checkin': not_before: expected a duration after the anchor"),
        ("end", "not_before = 90", "step 'checkin': not_before: expected a duration such as"),
        ("end", 'same_day = "yes"', "step 'checkin': same_day: expected true or false, got 'yes'"),
        ("enrolment", "same_day = true", "step 'checkin': same_day: enrolment steps have no session day"),
    ],
)
def test_bad_timing_keys_are_refused_naming_the_step_and_key(anchor, extra, message):
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(STEP.format(anchor=anchor, extra=extra), "x.toml", "x")
    assert message in str(caught.value)
    assert caught.value.key in ("not_before", "same_day")


# --- the same-day check-in, by example ---------------------------------------------------------

DAY = date(2027, 4, 15)  # a Thursday, EDT


@pytest.mark.parametrize(
    ("start", "minutes", "expected"),
    [
        # 16:00-18:00: end + 3h is 21:00, the limit: moved earlier, to 20:45 (never before 19:30)
        pytest.param((16, 0), 120, (20, 45), id="ends-18:00"),
        # 17:00-19:00: due 22:00, moved earlier to 20:45, between 20:30 and 21:00
        pytest.param((17, 0), 120, (20, 45), id="ends-19:00"),
        # ends 19:20: 20:45 would be sooner than 90 minutes; its floor 20:50 is still inside
        pytest.param((18, 20), 60, (20, 50), id="ends-19:20"),
        # 06:00-07:00: 10:00, nothing to move
        pytest.param((6, 0), 60, (10, 0), id="ends-07:00"),
        # 04:00-05:00: due 08:00, the window's opening
        pytest.param((4, 0), 60, (8, 0), id="ends-05:00"),
    ],
)
def test_the_same_day_check_in_goes_90_minutes_or_more_after_the_end_and_before_21(
    default, start, minutes, expected
):
    begin = local(DAY, *start)
    found = checkins(plan(default, begin, minutes))
    assert found
    for p in found:
        assert (p.status, p.due_at) == ("pending", local(DAY, *expected))
        assert p.due_at >= begin + timedelta(minutes=minutes) + NOT_BEFORE


@pytest.mark.parametrize(
    ("start", "minutes"),
    [((18, 45), 60), ((17, 45), 120), ((20, 0), 60), ((22, 0), 120), ((23, 0), 120)],
)
def test_with_no_time_left_that_day_no_check_in_text_goes(default, start, minutes):
    found = checkins(plan(default, local(DAY, *start), minutes))
    assert found and all((p.status, p.reason) == ("skipped", NO_SAME_DAY_SLOT) for p in found)


def test_a_late_booking_after_the_session_day_s_limit_gets_no_check_in_either(default):
    """Booked at 20:55 for a session 20:56-21:56 (staff record a walk-in): no slot, skipped."""
    begin = local(DAY, 20, 56)
    found = checkins(plan(default, begin, 60, booked=local(DAY, 20, 55)))
    assert {(p.status, p.reason) for p in found} == {("skipped", NO_SAME_DAY_SLOT)}


# --- the same-day check-in, over random sessions ----------------------------------------------

days = st.one_of(
    st.sampled_from(CLOCK_DAYS), st.dates(min_value=date(2027, 1, 1), max_value=date(2027, 12, 31))
)


def _assert_same_day_rule(schedule: Schedule, start: datetime, minutes: int, tz: ZoneInfo, booked: datetime):
    end = start + timedelta(minutes=minutes)
    day = start.astimezone(tz).date()
    opens = datetime.combine(day, time(8), tzinfo=tz).astimezone(UTC)
    closes = datetime.combine(day, time(21), tzinfo=tz).astimezone(UTC)
    first = max(end + NOT_BEFORE, opens, booked)
    found = checkins(plan(schedule, start, minutes, tz=tz, booked=booked))
    assert found
    for p in found:
        if p.status == "skipped":
            assert p.reason in (NO_SAME_DAY_SLOT, "too-late"), p
            # Skipped only when no moment is left: from the floor (or the opening) to 21:00.
            assert first >= closes, (p, first, closes)
            continue
        assert p.status == "pending", p
        at = p.due_at.astimezone(tz)
        assert p.due_at >= end + NOT_BEFORE, p
        assert at.date() == day, p
        assert time(8) <= at.time() < time(21), p


@settings(max_examples=300, deadline=None)
@given(
    day=days,
    hour=st.integers(min_value=5, max_value=23),
    minute=st.sampled_from([0, 10, 15, 30, 45, 50]),
    zone=st.sampled_from(ZONES),
    modality=st.sampled_from(MODALITIES),
    ahead=st.sampled_from([timedelta(days=20), timedelta(hours=15), timedelta(hours=3), timedelta(0)]),
)
def test_a_same_day_check_in_is_late_enough_on_the_day_before_21_or_skipped(
    default, day, hour, minute, zone, modality, ahead
):
    tz = ZoneInfo(zone)
    start = local(day, hour, minute, tz)
    _assert_same_day_rule(default, start, DEFAULT_DURATION[modality], tz, start - ahead)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    day=days,
    hour=st.integers(min_value=5, max_value=23),
    minutes=st.integers(min_value=15, max_value=300),
    zone=st.sampled_from(ZONES),
)
def test_any_length_of_session_keeps_the_same_day_rule(default, day, hour, minutes, zone):
    tz = ZoneInfo(zone)
    start = local(day, hour, 0, tz)
    _assert_same_day_rule(default, start, minutes, tz, start - timedelta(days=20))


def test_every_start_hour_in_every_zone_and_modality_gets_a_check_in_or_a_call():
    """The figure: start hours 05:00-23:00, five zones, every modality, an ordinary day and the
    two clock-change days; each session gets a same-day check-in text or (no slot) a call."""
    default = load_schedules(ROOT / "schedules")["default"]
    texts = calls = 0
    for zone in ZONES:
        tz = ZoneInfo(zone)
        for day in (date(2027, 6, 9), date(2027, 3, 14), date(2027, 11, 7)):
            for hour in range(5, 24):
                for modality in MODALITIES:
                    found = checkins(
                        plan(default, local(day, hour, 0, tz), DEFAULT_DURATION[modality], tz=tz)
                    )
                    statuses = {(p.status, p.reason if p.status == "skipped" else None) for p in found}
                    assert statuses in ({("pending", None)}, {("skipped", NO_SAME_DAY_SLOT)}), statuses
                    if ("pending", None) in statuses:
                        texts += 1
                    else:
                        calls += 1
    assert texts + calls == 5 * 3 * 19 * len(MODALITIES)
    # Sessions ending after 19:30 have no slot: a start at 17:00 or later (18:00 for 60 minutes).
    assert calls > 0 and texts > calls


# --- the morning-of reminder -------------------------------------------------------------------


def test_an_8am_session_s_morning_of_is_superseded_by_the_evening_before(default):
    planned = plan(default, local(DAY, 8, 0), 60, modality="iv")
    morning = [p for p in planned if p.step.id == "prep_morning_of"]
    evening = [p for p in planned if p.step.id == "prep_evening_before"]
    assert {(p.channel, p.status, p.reason) for p in morning} == {
        ("sms", "skipped", "superseded"),
        ("email", "skipped", "superseded"),
    }
    assert {(p.status, p.due_at) for p in evening} == {("pending", local(DAY - timedelta(days=1), 18, 0))}


def test_a_10am_session_keeps_its_morning_of_at_8(default):
    planned = plan(default, local(DAY, 10, 0), 60, modality="iv")
    morning = [p for p in planned if p.step.id == "prep_morning_of"]
    assert {(p.status, p.due_at) for p in morning} == {("pending", local(DAY, 8, 0))}


def test_a_moved_morning_of_is_kept_when_no_other_preparation_goes_that_evening(default):
    """Without an evening-before message on the earlier day, the moved reminder still goes (its
    words say "tomorrow", seen from its send time)."""
    alone = replace(default, steps=tuple(s for s in default.steps if s.id != "prep_evening_before"))
    planned = plan(alone, local(DAY, 8, 0), 60, modality="iv")
    morning = [p for p in planned if p.step.id == "prep_morning_of"]
    assert {(p.status, p.due_at, p.reason) for p in morning} == {
        ("pending", local(DAY - timedelta(days=1), 19, 45), "quiet-hours-moved-earlier")
    }


def test_superseding_goes_channel_by_channel(default):
    """A patient whose evening-before goes by email only still gets the moved reminder by SMS."""
    evening = default.step("prep_evening_before")
    steps = tuple(replace(s, channels=("email",)) if s is evening else s for s in default.steps)
    planned = plan(replace(default, steps=steps), local(DAY, 8, 0), 60, modality="iv")
    morning = {p.channel: (p.status, p.reason) for p in planned if p.step.id == "prep_morning_of"}
    assert morning == {"sms": ("pending", "quiet-hours-moved-earlier"), "email": ("skipped", "superseded")}


# --- on a database: the call task and the send at 20:45 -----------------------------------------


def _tasks(app) -> list:
    with app.engine.connect() as conn:
        return list(
            conn.execute(select(staff_tasks).where(staff_tasks.c.kind == "call-after-session")).mappings()
        )


def test_with_no_slot_a_call_task_opens_at_the_session_end_through_the_worker_sweep(services, clock):
    """A session 18:45-19:45: no check-in text; the worker's sweep opens one task once the
    session has ended, due at its end, and never a second one."""
    patient = enrol(services)
    session = book(services, patient["id"], "2027-03-04T18:45", modality="iv", duration_minutes=60)
    planned = by_step(services, session["id"])
    assert {(r["status"], r["reason"]) for r in planned["checkin_same_day", "sms"]} == {
        ("skipped", NO_SAME_DAY_SLOT)
    }
    end = local(date(2027, 3, 4), 19, 45)
    clock.set(end - timedelta(minutes=5))
    assert sweep(services)["call_tasks"] == 0
    assert _tasks(services) == []
    clock.set(end + timedelta(seconds=30))
    assert sweep(services)["call_tasks"] == 1
    [task] = _tasks(services)
    assert (task["state"], task["session_id"], task["patient_id"]) == ("open", session["id"], patient["id"])
    assert task["due_at"] == end and task["created_at"] == clock.now
    assert task["detail"] == tasks.CALL_AFTER_SESSION_DETAIL
    assert "Maria" not in task["detail"] and "Lopez" not in task["detail"]
    clock.advance(timedelta(minutes=10))
    assert sweep(services)["call_tasks"] == 0
    assert len(_tasks(services)) == 1


def test_no_call_task_for_a_cancelled_session_or_one_with_a_check_in_text(services, clock):
    patient = enrol(services)
    late = book(services, patient["id"], "2027-03-04T18:45", modality="iv", duration_minutes=60)
    book(services, patient["id"], "2027-03-05T10:00", modality="iv", duration_minutes=60)
    sessions.cancel_session(services, late["id"], {"reason": "patient cancelled"}, "test")
    clock.set(local(date(2027, 3, 5), 23, 0))
    sweep(services)
    assert _tasks(services) == []


def test_a_check_in_held_back_past_21_by_an_outage_is_not_sent_and_staff_call(services, clock):
    """The worker was down from 20:30 to 21:10: at 21:10 the check-in is past its same-day limit,
    so it is skipped rather than asking about "today" the next morning, and a call task opens."""
    patient = enrol(services, channels=["sms"], email=None)
    session = book(services, patient["id"], "2027-03-04T17:00", modality="iv", duration_minutes=120)
    clock.set(local(date(2027, 3, 4), 21, 10))
    Dispatcher(services).run_once()
    [row] = by_step(services, session["id"])["checkin_same_day", "sms"]
    assert (row["status"], row["reason"]) == ("skipped", "past-deadline")
    assert sweep(services)["call_tasks"] == 1
    [task] = _tasks(services)
    assert (task["session_id"], task["due_at"]) == (session["id"], local(date(2027, 3, 4), 19, 0))


def test_a_check_in_moved_to_20_45_is_sent_then_by_the_dispatcher(services, clock):
    """17:00-19:00: the check-in waits for 20:45 and the send-time check lets it go (the safety
    window, not the 20:00 one, applies at send time too)."""
    patient = enrol(services, channels=["sms"], email=None)
    session = book(services, patient["id"], "2027-03-04T17:00", modality="iv", duration_minutes=120)
    [row] = by_step(services, session["id"])["checkin_same_day", "sms"]
    assert (row["status"], row["due_at"]) == ("pending", local(date(2027, 3, 4), 20, 45))
    clock.set(local(date(2027, 3, 4), 20, 30))
    run_until(services, clock, local(date(2027, 3, 4), 21, 0), step=timedelta(minutes=5))
    [row] = by_step(services, session["id"])["checkin_same_day", "sms"]
    assert row["status"] == "sent"
    assert local(date(2027, 3, 4), 20, 45) <= row["sent_at"] < local(date(2027, 3, 4), 21, 0)


# --- staff edits of the step -------------------------------------------------------------------


def test_staff_edit_not_before_and_same_day_and_bad_values_name_the_field(services):
    from service.services.content import edits as content
    from service.services.errors import InvalidInput

    with pytest.raises(InvalidInput) as caught:
        content.save_step(services, "default", "checkin_same_day", {"same_day": "yes"}, "a")
    assert "same_day" in caught.value.errors
    with pytest.raises(InvalidInput) as caught:
        content.save_step(services, "default", "checkin_same_day", {"not_before": "later"}, "a")
    assert "not_before" in caught.value.errors
    saved = content.save_step(services, "default", "checkin_same_day", {"not_before": "2h"}, "a")
    assert saved["changed"] and saved["raw"]["same_day"] is True
    step = services.schedule("default").step("checkin_same_day")
    assert (step.not_before, step.same_day) == (timedelta(hours=2), True)


def test_the_step_page_shows_the_timing_keys_and_today_shows_the_call_task(staff_services, staff_app, clock):
    from tests.staff_helpers import ADMIN, signed_in

    patient = enrol(staff_services)
    book(staff_services, patient["id"], "2027-03-04T18:45", modality="iv", duration_minutes=60)
    clock.set(local(date(2027, 3, 4), 19, 46))
    sweep(staff_services)
    admin_client = signed_in(staff_app, ADMIN)
    page = admin_client.get("/staff/schedules/default/steps/checkin_same_day").get_data(as_text=True)
    assert "Not before" in page and "90m after the session" in page and "Same day" in page
    today = admin_client.get("/staff/today").get_data(as_text=True)
    assert "call after session" in today and "no same-day check-in text went" in today
    # The skipped text is behind the patient page's "all messages" filter, with its reason.
    shown = admin_client.get(f"/staff/patients/{patient['id']}?messages=all").get_data(as_text=True)
    assert "no time left on the session day for a check-in text" in shown


@pytest.mark.parametrize("category", ["safety", "prep"])
def test_a_same_day_step_without_not_before_never_goes_the_day_before(category):
    """An hour before a 07:00 session is outside the window (08:00-20:00): moving it earlier
    would land on the evening before, which `same_day` forbids."""
    text = f"""
[[step]]
id = "early"
anchor = "start"
offset = "-1h"
category = "{category}"
channels = ["sms"]
template = "prep_morning_of"
quiet_hours = "earlier"
same_day = true
"""
    schedule = parse_schedule(text, "x.toml", "x")
    start = local(DAY, 7)
    [p] = plan(schedule, start, 60)
    assert p.status == "skipped" or p.due_at.astimezone(NY).date() == DAY, p
