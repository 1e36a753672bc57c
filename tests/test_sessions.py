"""Booking, rescheduling, cancelling, completing: the planned messages follow at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from service.db.tables import audit_events, outbox
from service.db.tables import sessions as sessions_table
from service.services import sessions
from service.services.errors import Conflict, InvalidInput, NotFound
from service.services.outbox.dispatch import Dispatcher
from tests.helpers import book, by_step, enrol, rows, sandbox


def test_booking_plans_the_course_in_the_patients_zone(services):
    p = enrol(services)
    s = book(services, p["id"], "2027-03-12T09:00")  # Friday 09:00 New York (EST, UTC-5)
    plan = by_step(services, s["id"])
    assert plan[("booking_confirmation", "sms")][0]["status"] == "pending"
    evening = plan[("prep_evening_before", "sms")][0]
    assert evening["due_at"].isoformat() == "2027-03-11T23:00:00+00:00"  # 18:00 EST the day before
    morning = plan[("prep_morning_of", "sms")][0]
    assert morning["due_at"].isoformat() == "2027-03-12T13:00:00+00:00"  # 06:00 -> deferred to 08:00 EST
    assert morning["reason"] == "quiet-hours-deferred"
    assert plan[("prep_morning_of", "email")][0]["due_at"] == morning["due_at"]  # by text and by email


def test_planning_twice_is_idempotent(services):
    p = enrol(services)
    s = book(services, p["id"], "2027-03-12T09:00")
    before = rows(services, session_id=s["id"])
    from service.services.outbox.planning import plan_for_session
    from service.services.patients import get_patient

    with services.engine.begin() as conn:
        session = sessions.get_session(conn, s["id"])
        outcome = plan_for_session(
            conn,
            services.schedule("default"),
            session,
            get_patient(conn, p["id"]),
            services.window,
            services.clock(),
        )
    assert outcome.created == 0 and outcome.moved == 0
    assert len(rows(services, session_id=s["id"])) == len(before)


def test_reschedule_moves_every_pending_message_and_keeps_one_row_each(services, clock):
    p = enrol(services)
    s = book(services, p["id"], "2027-03-12T09:00")
    pending_before = {
        k: v[0]["due_at"] for k, v in by_step(services, s["id"]).items() if v[0]["status"] == "pending"
    }
    sessions.reschedule_session(
        services, s["id"], {"start": "2027-03-19T14:00", "reason": "patient asked"}, "test"
    )
    plan = by_step(services, s["id"])
    evening = [r for r in plan[("prep_evening_before", "sms")] if r["status"] == "pending"]
    assert len(evening) == 1
    assert evening[0]["due_at"].isoformat() == "2027-03-18T22:00:00+00:00"  # 18:00 EDT (after the DST change)
    for key, _due in pending_before.items():
        live = [r for r in plan[key] if r["status"] == "pending"]
        assert len(live) <= 1, key
    notice = plan[("session_rescheduled", "sms")]
    assert len(notice) == 1 and notice[0]["status"] == "pending"
    with services.engine.connect() as conn:
        trail = (
            conn.execute(select(audit_events).where(audit_events.c.action == "session.rescheduled"))
            .mappings()
            .one()
        )
    assert trail["reason"] == "patient asked" and trail["actor"] == "test"


def test_reschedule_never_resends_what_was_sent_for_the_same_date(services, clock):
    p = enrol(services)
    s = book(services, p["id"], "2027-03-12T09:00")
    Dispatcher(services).run_once()  # the booking confirmation goes now
    sent_before = len(sandbox(services))
    assert sent_before == 2  # SMS and email
    sessions.reschedule_session(services, s["id"], {"start": "2027-03-12T10:00"}, "test")
    plan = by_step(services, s["id"])
    assert [r["status"] for r in plan[("booking_confirmation", "sms")]] == ["sent"]
    Dispatcher(services).run_once()
    # Only the reschedule notice went out: the confirmation was not sent again.
    new = sandbox(services)[sent_before:]
    assert sorted(m["channel"] for m in new) == ["email", "sms"]
    assert all("has moved" in m["body"] for m in new)


def test_prep_sent_for_the_old_date_is_sent_again_for_the_new_date(services, clock):
    p = enrol(services)
    s = book(services, p["id"], "2027-03-12T09:00")
    clock.set(clock.now.replace(day=11, hour=23, minute=5))  # just after the evening-before message was due
    Dispatcher(services).run_once()
    evening = by_step(services, s["id"])[("prep_evening_before", "sms")]
    assert [r["status"] for r in evening] == ["sent"]
    sessions.reschedule_session(services, s["id"], {"start": "2027-03-16T09:00"}, "test")
    evening = by_step(services, s["id"])[("prep_evening_before", "sms")]
    assert [r["status"] for r in evening] == ["sent", "pending"]  # fasting times for the new date
    assert evening[1]["due_at"].isoformat() == "2027-03-15T22:00:00+00:00"


def test_cancel_cancels_pending_messages_with_a_reason_and_keeps_sent_ones(services):
    p = enrol(services)
    s = book(services, p["id"], "2027-03-12T09:00")
    Dispatcher(services).run_once()
    result = sessions.cancel_session(services, s["id"], {"reason": "feeling unwell"}, "test")
    assert result["status"] == "cancelled" and result["messages"]["cancelled"] > 0
    statuses = {
        (r["step_id"], r["channel"]): (r["status"], r["reason"]) for r in rows(services, session_id=s["id"])
    }
    assert statuses[("booking_confirmation", "sms")] == ("sent", None)
    assert statuses[("prep_evening_before", "sms")] == ("cancelled", "session-cancelled")
    # only the notice telling the patient of the change is left to send
    assert not [
        r
        for r in rows(services, session_id=s["id"])
        if r["status"] == "pending" and r["origin"] != "session-change"
    ]


def test_cancel_twice_is_harmless_and_a_cancelled_session_cannot_move(services):
    p = enrol(services)
    s = book(services, p["id"], "2027-03-12T09:00")
    sessions.cancel_session(services, s["id"], {}, "test")
    assert sessions.cancel_session(services, s["id"], {}, "test")["status"] == "cancelled"
    with pytest.raises(Conflict):
        sessions.reschedule_session(services, s["id"], {"start": "2027-03-20T09:00"}, "test")


def test_complete_drops_pending_prep_and_keeps_check_ins(services, clock):
    p = enrol(services)
    s = book(services, p["id"], "2027-03-02T12:00")  # today, two hours from T0 (10:00 EST)
    with pytest.raises(Conflict):
        sessions.complete_session(services, s["id"], {}, "test")
    clock.advance(timedelta(hours=3))
    sessions.complete_session(services, s["id"], {}, "test")
    left = {(r["step_id"], r["status"]) for r in rows(services, session_id=s["id"])}
    assert ("checkin_same_day", "pending") in left
    assert not any(step.startswith("prep") and status == "pending" for step, status in left)


def test_no_show_cancels_everything_pending(services, clock):
    p = enrol(services)
    s = book(services, p["id"], "2027-03-02T12:00")
    clock.advance(timedelta(hours=3))
    sessions.no_show_session(services, s["id"], {"reason": "did not arrive"}, "test")
    # only the notice telling the patient of the change is left to send
    assert not [
        r
        for r in rows(services, session_id=s["id"])
        if r["status"] == "pending" and r["origin"] != "session-change"
    ]


def test_late_booking_sends_what_still_makes_sense(services):
    p = enrol(services)
    s = book(services, p["id"], "2027-03-02T13:00")  # three hours from now (10:00 EST)
    plan = {k: v[0] for k, v in by_step(services, s["id"]).items()}
    assert plan[("prep_ahead", "sms")]["status"] == "skipped"
    assert plan[("prep_ahead", "sms")]["reason"] == "too-late"
    going_now = [k[0] for k, r in plan.items() if r["category"] == "prep" and r["status"] == "pending"]
    # one message with the fasting times (by text and by email), not a burst
    assert going_now == ["prep_morning_of", "prep_morning_of"]
    assert plan[("prep_morning_of", "sms")]["due_at"] == services.clock()
    assert plan[("prep_evening_before", "sms")]["status"] == "skipped"
    assert plan[("prep_evening_before", "sms")]["reason"] == "superseded"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"start": "2027-03-12T09:00", "modality": "laser"}, "modality"),
        ({"start": "tomorrow", "modality": "iv"}, "start"),
        ({"start": "2020-01-01T09:00", "modality": "iv"}, "start"),
        ({"start": "2027-03-14T02:30", "modality": "iv"}, "start"),  # does not exist in New York
        ({"start": "2027-11-07T01:30", "modality": "iv"}, "start"),  # happens twice in New York
        ({"start": "2027-03-12T09:00", "modality": "iv", "duration_minutes": -5}, "duration_minutes"),
        ({"start": "2027-03-12T09:00", "modality": "iv", "schedule": "nope"}, "schedule"),
        ({"start": "2027-03-12T09:00", "modality": "iv", "colour": "red"}, "colour"),
        ({"modality": "iv"}, "start"),
    ],
)
def test_bad_booking_is_refused_by_field_and_writes_nothing(services, payload, field):
    p = enrol(services)
    with services.engine.connect() as conn:
        before = conn.execute(select(outbox.c.id)).all()
    with pytest.raises(InvalidInput) as err:
        sessions.book_session(services, {"patient_id": p["id"], **payload}, "test")
    assert field in err.value.errors
    with services.engine.connect() as conn:
        assert conn.execute(select(outbox.c.id)).all() == before
        assert conn.execute(select(sessions_table.c.id)).all() == []


def test_booking_for_an_unknown_patient_is_not_found(services):
    with pytest.raises(NotFound):
        book(services, 999, "2027-03-12T09:00")


def test_booking_with_an_explicit_offset_is_exact(services):
    p = enrol(services, timezone="America/Los_Angeles")
    s = book(services, p["id"], "2027-03-12T09:00:00-05:00")
    assert s["start"] == "2027-03-12T14:00:00+00:00"


def test_session_numbers_count_up(services):
    p = enrol(services)
    a = book(services, p["id"], "2027-03-12T09:00")
    b = book(services, p["id"], "2027-03-15T09:00")
    assert (a["number"], b["number"]) == (1, 2)
