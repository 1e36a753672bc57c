"""The course-wide rules over one patient's messages: quiet around sessions, education caps, once
per course, grouped booking confirmations; and running the pass twice changes nothing."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.course import (
    AFTER_SESSION,
    EDUCATION_CAPPED,
    GROUPED,
    ONCE_PER_COURSE,
    CourseChange,
    CourseItem,
    CourseRules,
    CourseSession,
    arrange,
    planned_time,
)
from service.domain.quiet_hours import Window, in_window, next_window_start

NY = ZoneInfo("America/New_York")
WINDOW = Window(time(8, 0), time(20, 0))
RULES = CourseRules()
NOW = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)  # Monday 10:00 New York
TEN = timedelta(minutes=10)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """March `day` 2027 (past 31: into April) at hour:minute in New York, as UTC."""
    wall = datetime(2027, 3, 1, hour, minute) + timedelta(days=day - 1)
    return wall.replace(tzinfo=NY).astimezone(UTC)


def session(
    sid: int, day: int, hour: int = 10, *, booked: datetime = NOW, status: str = "booked"
) -> CourseSession:
    start = local(day, hour)
    return CourseSession(sid, start, start + timedelta(hours=1), booked, status)


_ids = iter(range(1, 1_000_000))


def item(
    session_id: int | None,
    step: str,
    due: datetime,
    *,
    category: str = "education",
    channel: str = "sms",
    status: str = "pending",
    expiry: timedelta | None = timedelta(days=3),
    **kw,
) -> CourseItem:
    send_by = due + expiry if expiry is not None else None
    return CourseItem(next(_ids), session_id, step, channel, category, status, due, send_by, **kw)


def run(sessions, items, now=NOW, rules=RULES) -> list[CourseChange]:
    return arrange(sessions, items, tz=NY, window=WINDOW, rules=rules, now=now)


def applied(items: list[CourseItem], changes: list[CourseChange]) -> list[CourseItem]:
    """The rows as the service leaves them after writing the changes."""
    by_id = {c.id: c for c in changes}
    out = []
    for i in items:
        c = by_id.get(i.id)
        if c is not None:
            i = replace(
                i, due_at=c.due_at, send_by=c.send_by, status=c.status, reason=c.reason, context=c.context
            )
        out.append(i)
    return out


def settle(sessions, items, now=NOW, rules=RULES) -> list[CourseItem]:
    """Arrange, write, and check that arranging again changes nothing."""
    after = applied(items, run(sessions, items, now, rules))
    assert run(sessions, after, now, rules) == []
    return after


def by_step(items: list[CourseItem]) -> dict[tuple[int | None, str, str], CourseItem]:
    return {(i.session_id, i.step_id, i.channel): i for i in items}


# --- education caps ------------------------------------------------------------------------------


def test_the_daily_cap_counts_every_track_and_a_message_by_two_channels_once():
    sessions = [session(1, 2)]
    sent = [
        item(1, "edu_general_1", local(9, 12), status="sent", channel=c, at=local(9, 12))
        for c in ("sms", "email")
    ]
    pending = [
        *(item(1, "edu_depression_1", local(10, 12), channel=c) for c in ("sms", "email")),
        *(item(1, "edu_anxiety_1", local(10, 17), channel=c) for c in ("sms", "email")),
    ]
    after = by_step(settle(sessions, sent + pending, now=local(9, 13)))
    for c in ("sms", "email"):
        assert after[(1, "edu_depression_1", c)].due_at == local(10, 12)  # the day's one
        moved = after[(1, "edu_anxiety_1", c)]
        assert moved.due_at == local(11, 17) and moved.reason == EDUCATION_CAPPED  # next day, same time
        assert moved.send_by == local(11, 17) + timedelta(days=3)  # its send window keeps its length


def test_the_weekly_cap_looks_at_any_seven_days_and_counts_what_was_sent():
    sessions = [session(1, 2)]
    sent = [item(1, "edu_1", local(10, 12), status="sent", at=local(10, 12))]
    pending = [item(1, f"edu_{d}", local(d, 12)) for d in (11, 12, 13)]
    after = by_step(settle(sessions, sent + pending, now=local(10, 13)))
    assert after[(1, "edu_11", "sms")].due_at == local(11, 12)
    assert after[(1, "edu_12", "sms")].due_at == local(12, 12)
    # 10, 11, 12 fill the week starting the 10th: the 13th waits for the 17th (a week after the 10th)
    assert after[(1, "edu_13", "sms")].due_at == local(17, 12)
    assert after[(1, "edu_13", "sms")].reason == EDUCATION_CAPPED


def test_capped_messages_keep_their_order():
    sessions = [session(1, 2)]
    b = item(1, "b", local(10, 9))
    a = item(1, "a", local(10, 10))
    c = item(1, "c", local(11, 8))  # due before a's new time on the 11th: goes after it
    after = by_step(settle(sessions, [a, b, c], now=local(9, 9), rules=CourseRules(1, 7)))
    assert after[(1, "b", "sms")].due_at == local(10, 9)
    assert after[(1, "a", "sms")].due_at == local(11, 10)
    assert after[(1, "c", "sms")].due_at == local(12, 8)
    assert after[(1, "a", "sms")].due_at < after[(1, "c", "sms")].due_at


def test_a_partly_sent_message_stays_where_it_is():
    sessions = [session(1, 2)]
    sent = item(1, "edu_1", local(10, 12), status="sent", at=local(10, 12))
    email = item(1, "edu_1", local(10, 12), channel="email")
    other = item(1, "edu_2", local(10, 17))
    after = by_step(settle(sessions, [sent, email, other], now=local(10, 12)))
    assert after[(1, "edu_1", "email")].due_at == local(10, 12)
    assert after[(1, "edu_2", "sms")].due_at == local(11, 17)


# --- quiet around sessions ------------------------------------------------------------------------


def test_messages_falling_in_a_session_or_the_rest_after_it_move_to_its_end():
    s1, s2 = session(1, 4, 10), session(2, 8, 10)  # 10:00-11:00, quiet until 13:00
    edu = item(1, "edu_general_2", local(8, 12))
    confirmation = item(
        1, "booking_confirmation", local(8, 10, 30), category="admin", expiry=timedelta(days=2)
    )
    prep_other = item(1, "follow_up_prep", local(8, 11), category="prep", expiry=timedelta(days=3))
    safety = item(1, "checkin_same_day", local(8, 10, 30), category="safety", expiry=timedelta(hours=10))
    after = by_step(settle([s1, s2], [edu, confirmation, prep_other, safety]))
    for key in (
        (1, "edu_general_2", "sms"),
        (1, "booking_confirmation", "sms"),
        (1, "follow_up_prep", "sms"),
    ):
        assert after[key].due_at == local(8, 13) and after[key].reason == AFTER_SESSION, key
    assert after[(1, "booking_confirmation", "sms")].send_by == local(8, 13) + timedelta(days=2)
    assert after[(1, "checkin_same_day", "sms")] == safety  # a safety message never moves


def test_a_move_into_quiet_hours_waits_for_the_window():
    late = session(1, 8, 18)  # 18:00-19:00, quiet until 21:00: the window has closed
    edu = item(None, "edu_enrolment", local(8, 19))
    after = by_step(settle([late], [edu]))
    assert after[(None, "edu_enrolment", "sms")].due_at == local(9, 8)


def test_preparation_that_would_miss_its_deadline_goes_before_the_blocking_session():
    s1 = session(1, 8, 14)  # 14:00-15:00
    s2 = session(2, 8, 16)  # the same day, later
    prep = item(2, "prep_morning_of", local(8, 14, 30), category="prep", expiry=None)
    prep = replace(prep, send_by=local(8, 15, 30))  # its deadline: before session 2
    after = by_step(settle([s1, s2], [prep], now=local(8, 9)))
    moved = after[(2, "prep_morning_of", "sms")]
    assert moved.due_at == local(8, 13, 45) and moved.reason == AFTER_SESSION
    assert moved.send_by == local(8, 15, 30)
    # too late for that too: it stays
    after = by_step(settle([s1, s2], [prep], now=local(8, 14, 0)))
    assert after[(2, "prep_morning_of", "sms")] == prep


def test_a_session_no_longer_taking_place_gives_the_message_back():
    s1 = session(1, 8, 10)
    edu = item(1, "edu_general_2", local(8, 12))
    moved = settle([s1], [edu])
    assert moved[0].due_at == local(8, 13)
    back = settle([replace(s1, status="cancelled")], moved)
    assert back[0].due_at == local(8, 12) and back[0].reason is None and back[0].context is None


# --- once per course ------------------------------------------------------------------------------


def integration(sid: int, day: int, **kw) -> list[CourseItem]:
    return [
        item(sid, "integration_72h", local(day, 11), channel=c, once_per_course=True, **kw)
        for c in ("sms", "email")
    ]


def test_a_once_per_course_step_goes_for_the_earliest_session_only():
    sessions = [session(1, 2), session(2, 5), session(3, 9)]
    rows = integration(3, 12) + integration(1, 5) + integration(2, 8)
    after = by_step(settle(sessions, rows))
    for c in ("sms", "email"):
        assert after[(1, "integration_72h", c)].status == "pending"
        for sid in (2, 3):
            assert (after[(sid, "integration_72h", c)].status, after[(sid, "integration_72h", c)].reason) == (
                "skipped",
                ONCE_PER_COURSE,
            )


def test_once_per_course_already_sent_skips_every_other_session():
    sessions = [session(2, 5), session(3, 9)]
    sent = integration(1, 5, status="sent", at=local(5, 11))
    after = settle(sessions, sent + integration(2, 8) + integration(3, 12), now=local(6, 9))
    assert {(i.session_id, i.status) for i in after if i.session_id != 1} == {(2, "skipped"), (3, "skipped")}


def test_once_per_course_comes_back_when_its_carrier_is_cancelled():
    sessions = [session(1, 2), session(2, 5)]
    after = settle(sessions, integration(1, 5) + integration(2, 8))
    # session 1 is cancelled: its rows are cancelled with it and leave the pass
    cancelled = [replace(sessions[0], status="cancelled"), sessions[1]]
    left = [i for i in after if i.session_id == 2]
    back = settle(cancelled, left)
    assert {(i.status, i.reason, i.due_at) for i in back} == {("pending", None, local(8, 11))}


# --- grouped booking confirmations ----------------------------------------------------------------


def confirmations(sid: int, booked: datetime) -> list[CourseItem]:
    return [
        item(
            sid,
            "booking_confirmation",
            booked,
            category="admin",
            channel=c,
            group_within=TEN,
            expiry=timedelta(days=2),
        )
        for c in ("sms", "email")
    ]


T0 = local(1, 10)


def test_bookings_made_within_ten_minutes_of_each_other_get_one_confirmation():
    booked = {
        1: T0,
        2: T0 + timedelta(minutes=8),
        3: T0 + timedelta(minutes=16),
        4: T0 + timedelta(minutes=40),
    }
    days = {1: 20, 2: 10, 3: 15, 4: 25}  # start order differs from booking order
    sessions = [session(s, days[s], booked=b) for s, b in booked.items()]
    rows = [r for s, b in booked.items() for r in confirmations(s, b)]
    after = by_step(settle(sessions, rows, now=T0 + timedelta(minutes=40)))
    carrier = after[(1, "booking_confirmation", "sms")]
    assert carrier.status == "pending" and carrier.reason == GROUPED
    assert carrier.due_at == T0 + timedelta(minutes=26)  # last booking + 10 minutes
    assert carrier.context == {"group": [2, 3, 1]}
    assert carrier.send_by == carrier.due_at + timedelta(days=2)
    for sid in (2, 3):
        assert (
            after[(sid, "booking_confirmation", "email")].status,
            after[(sid, "booking_confirmation", "email")].reason,
        ) == ("skipped", GROUPED)
    alone = after[(4, "booking_confirmation", "sms")]  # 24 minutes after the previous: its own group
    assert alone.status == "pending" and alone.context == {"group": [4]}
    assert alone.due_at == T0 + timedelta(minutes=50)


def test_a_long_chain_waits_at_most_six_times_the_grouping_time():
    sessions, rows = [], []
    for k in range(10):
        b = T0 + k * timedelta(minutes=9)
        sessions.append(session(k + 1, 10 + k, booked=b))
        rows += confirmations(k + 1, b)
    after = by_step(settle(sessions, rows, now=T0 + timedelta(minutes=81)))
    carrier = after[(1, "booking_confirmation", "sms")]
    assert carrier.due_at == T0 + timedelta(minutes=60)
    assert carrier.context == {"group": list(range(1, 11))}


def test_a_group_whose_confirmation_went_is_closed():
    s1, s2, s3 = (
        session(1, 10, booked=T0),
        session(2, 11, booked=T0 + timedelta(minutes=5)),
        session(3, 12, booked=T0 + timedelta(minutes=13)),
    )
    went = [
        replace(r, status="sent", at=T0 + timedelta(minutes=11), context={"group": [1, 2]})
        for r in confirmations(1, T0)
    ]
    rows = went + confirmations(2, s2.booked_at) + confirmations(3, s3.booked_at)
    after = by_step(settle([s1, s2, s3], rows, now=T0 + timedelta(minutes=13)))
    assert after[(2, "booking_confirmation", "sms")].status == "skipped"  # told in the one that went
    new = after[(3, "booking_confirmation", "sms")]  # booked after it went: a new group
    assert new.status == "pending" and new.context == {"group": [3]}


def test_when_the_carrier_is_cancelled_the_next_session_carries():
    s1, s2, s3 = (session(k, 10 + k, booked=T0 + (k - 1) * timedelta(minutes=3)) for k in (1, 2, 3))
    rows = [r for s in (s1, s2, s3) for r in confirmations(s.id, s.booked_at)]
    after = settle([s1, s2, s3], rows, now=T0 + timedelta(minutes=6))
    left = [i for i in after if i.session_id != 1]  # cancelled with session 1
    again = by_step(settle([replace(s1, status="cancelled"), s2, s3], left, now=T0 + timedelta(minutes=7)))
    carrier = again[(2, "booking_confirmation", "sms")]
    assert carrier.status == "pending" and carrier.context == {"group": [2, 3]}
    assert again[(3, "booking_confirmation", "sms")].reason == GROUPED


def test_a_row_in_flight_or_sent_is_never_changed():
    s1 = session(1, 8, 10)
    rows = [
        item(1, "edu_1", local(8, 10, 30), status="sending", at=local(8, 10, 30)),
        item(1, "edu_2", local(8, 10, 30), attempts=1),  # retrying
        item(1, "edu_3", local(8, 10, 30), origin="fallback"),
    ]
    changed = {c.id for c in run([s1], rows)}
    assert changed == set()


# --- any course -----------------------------------------------------------------------------------

STEPS = ("edu_a", "edu_b", "edu_c", "admin_x", "safety_y")


@st.composite
def courses(draw):
    n = draw(st.integers(1, 8))
    day, sessions = 2, []
    for k in range(n):
        day += draw(st.integers(1, 5))
        hour = draw(st.integers(8, 18))
        b = NOW + timedelta(minutes=draw(st.integers(0, 30)))
        start = local(day, hour)
        sessions.append(
            CourseSession(k + 1, start, start + timedelta(minutes=draw(st.sampled_from([60, 120, 240]))), b)
        )
    rows = []
    for s in sessions:
        for step in draw(st.lists(st.sampled_from(STEPS), unique=True, max_size=4)):
            category = {"edu": "education", "admin": "admin", "safety": "safety"}[step.split("_")[0]]
            # as the planner leaves it: inside the send window
            due = next_window_start(s.start + timedelta(minutes=15 * draw(st.integers(-8, 40))), WINDOW, NY)
            for c in draw(st.sampled_from([("sms",), ("sms", "email")])):
                rows.append(item(s.id, step, due, category=category, channel=c))
    history = []
    for day in draw(st.lists(st.integers(1, 3), unique=True)):  # sent within the caps
        at = local(day, 12)
        history.append(item(None, f"old_{len(history)}", at, status="sent", at=at))
    return sessions, rows + history


@settings(max_examples=150, deadline=None)
@given(courses())
def test_any_course_keeps_sessions_quiet_and_education_capped(course):
    sessions, rows = course
    after = settle(sessions, rows)
    by_id = {s.id: s for s in sessions}
    for i in after:
        if i.status != "pending" or i.category == "safety":
            continue
        own = by_id.get(i.session_id) if i.session_id is not None else None
        for s in sessions:
            if (
                i.category in ("prep", "admin")
                and own is not None
                and i.due_at < own.start <= s.end + timedelta(hours=2)
            ):
                continue  # its own session starts before this quiet time ends: it goes before it
            assert not (s.start <= i.due_at < s.end + timedelta(hours=2)), (i, s)
        if i.reason in (AFTER_SESSION, EDUCATION_CAPPED):
            assert in_window(i.due_at, WINDOW, NY)
    per_day: dict[date, set] = defaultdict(set)
    for i in after:
        if i.category == "education" and i.status in ("pending", "sent"):
            per_day[(i.at or i.due_at).astimezone(NY).date()].add((i.session_id, i.step_id))
    assert all(len(v) <= 1 for v in per_day.values())
    days = sorted(per_day)
    for d in days:
        week = sum(len(per_day[d + timedelta(days=k)]) for k in range(7))
        assert week <= 3, d
    assert [i for i in after if i.category == "safety"] == [i for i in rows if i.category == "safety"]


def test_a_re_plan_sees_an_arranged_row_as_planned():
    """domain.reconcile compares a new plan with where the planner had put the row, not with
    where the course rules moved it: re-planning an unchanged session moves nothing."""
    s1 = session(1, 8, 10)
    edu = item(1, "edu_general_2", local(8, 12))
    moved = settle([s1], [edu])[0]
    row = {"due_at": moved.due_at, "send_by": moved.send_by, "reason": moved.reason, "context": moved.context}
    assert planned_time(row) == (edu.due_at, edu.send_by)
    plain = {"due_at": edu.due_at, "send_by": edu.send_by, "reason": None, "context": None}
    assert planned_time(plain) == (edu.due_at, edu.send_by)


def test_a_message_of_a_session_is_never_moved_past_that_sessions_start():
    """Session 1 11:00-12:00 then session 2 at 15:00: an admin message of session 2 due at 12:30
    falls in session 1's quiet time (until 14:00); moved after it, it would still precede
    session 2, so it moves; with session 2 at 13:30 it would land after session 2 started, so it
    goes before session 1 instead (or stays), never after its own session began."""
    first = session(1, 2, 11)
    later = session(2, 2, 15)
    note = item(2, "session_rescheduled", local(2, 12, 30), category="admin", expiry=timedelta(days=2))
    [moved] = run([first, later], [note])
    assert moved.due_at == first.end + RULES.quiet_after_session < later.start
    close = CourseSession(3, local(2, 13, 30), local(2, 14, 30), NOW)
    note = item(3, "session_rescheduled", local(2, 12, 30), category="admin", expiry=timedelta(days=2))
    [before] = run([first, close], [note])
    assert before.due_at < first.start and before.send_by == note.send_by
