"""Book, reschedule, cancel, complete and mark no-show; the planned messages follow at once.

Each change and its re-planning happen in one transaction, with an audit event, so that no
stale reminder or duplicate can be left behind by a half-applied change.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, insert, select, update

from ..db.tables import outbox, patients, sessions
from ..domain import delivery
from ..domain.session_changes import Booked, booked, clash, notice
from ..domain.session_state import Move, SessionState, change
from ..runtime import Interlude
from . import audit
from . import validation as v
from .errors import Conflict, InvalidInput, NotFound
from .outbox import enqueue
from .outbox.course import arrange_patient
from .outbox.planning import PlanOutcome, plan_for_session, plan_new_session
from .patients import get_patient


def get_session(conn: Connection, session_id: int, *, lock: bool = False) -> Mapping[Any, Any]:
    query = select(sessions).where(sessions.c.id == session_id)
    if lock:
        query = query.with_for_update()  # PostgreSQL: one change at a time per session
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound("session", session_id)
    return row


# The column a cancel, complete or no-show reason lands in (treatment_sessions.status_reason):
# PostgreSQL refuses a longer one with an error, not a 400.
MAX_REASON = 200


def _reason(data: Any) -> str | None:
    if not isinstance(data, dict) or data.get("reason") is None:
        return None
    reason = data["reason"]
    if not isinstance(reason, str) or len(reason) > MAX_REASON or not v.storable(reason):
        raise InvalidInput({"reason": f"expected plain text of at most {MAX_REASON} characters: shorten it"})
    return reason.strip() or None


def _start(value: Any, tz: ZoneInfo, now: datetime) -> datetime:
    return v.future_start(value, tz, now)


BOOKING_FIELDS = frozenset(
    {"patient_id", "start", "modality", "duration_minutes", "number", "schedule", "external_ref", "force"}
)


class Overlap(Conflict):
    """The session would share time with another booked session of the same patient; `force`
    books it anyway (a deliberate double booking)."""

    def __init__(self, other: Booked) -> None:
        super().__init__(
            f"the time overlaps session {other.id} of the same patient, booked for "
            f"{other.start_at.isoformat()} ({other.duration_minutes} min)"
        )
        self.other = other

    def session(self) -> dict[str, Any]:
        """The other session, as the API names it."""
        return {"id": self.other.id, "start": self.other.start_at.isoformat()}


def booked_sessions(
    conn: Connection, patient_ids: list[int], *, but: int | None = None
) -> list[Mapping[Any, Any]]:
    """The booked sessions of these patients (id, patient, start, duration), `but` one left out."""
    query = select(
        sessions.c.id, sessions.c.patient_id, sessions.c.start_at, sessions.c.duration_minutes
    ).where(sessions.c.patient_id.in_(patient_ids), sessions.c.status == SessionState.BOOKED)
    if but is not None:
        query = query.where(sessions.c.id != but)
    return list(conn.execute(query).mappings())


def _refuse_overlap(
    conn: Connection, patient_id: int, start: datetime, duration: int, *, but: int | None = None
) -> None:
    """Raise Overlap when start..start+duration shares time with another booked session."""
    # PostgreSQL: the patient's row is held until the booking commits, so that two bookings of
    # one patient at once cannot both find the time free.
    conn.execute(select(patients.c.id).where(patients.c.id == patient_id).with_for_update(key_share=True))
    other = clash(start, duration, (booked(r) for r in booked_sessions(conn, [patient_id], but=but)))
    if other is not None:
        raise Overlap(other)


def read_booking(data: Any) -> tuple[v.Fields, dict[str, Any]]:
    """The fields of a booking that need no database; errors are collected in the Fields (not
    raised) so that a bulk import can report every bad field of every item."""
    f = v.Fields(data)
    f.refuse_unknown(set(BOOKING_FIELDS))
    item = {
        "patient_id": f.get("patient_id", v.positive_int(2**62), required=True),
        "modality": f.get("modality", v.one_of(v.MODALITIES), required=True),
        "duration": f.get("duration_minutes", v.positive_int(24 * 60, 120)),
        "number": f.get("number", v.positive_int(1000)),
        "schedule": f.get("schedule", v.text(64)),
        "external_ref": f.get("external_ref", v.text(100)),
        "force": f.get("force", v.boolean, default=False),
    }
    return f, item


def complete_booking(
    f: v.Fields, item: dict[str, Any], patient: Mapping[Any, Any], known: Mapping[str, Any], now: datetime
) -> None:
    """Add the start (in the patient's zone) and the schedule (the patient's unless named) to
    `item`; errors go to `f`."""
    tz = ZoneInfo(patient["timezone"])
    item["start"] = f.get("start", lambda value: _start(value, tz, now), required=True)
    item["schedule"] = item["schedule"] or patient["schedule"]
    if item["schedule"] not in known:
        f.errors["schedule"] = f"unknown schedule (known: {', '.join(sorted(known))})"


def session_row(item: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The treatment_sessions row of a validated booking (its number already chosen)."""
    return {
        "patient_id": item["patient_id"],
        "start_at": item["start"],
        "duration_minutes": item["duration"] or v.DEFAULT_DURATION[item["modality"]],
        "modality": item["modality"],
        "number": item["number"],
        "status": SessionState.BOOKED,
        "schedule": item["schedule"],
        "occurrence": 0,
        "external_ref": item["external_ref"],
        "booked_at": now,
        "rescheduled_at": None,
        "created_at": now,
        "updated_at": now,
    }


def book_session(app: Interlude, data: Any, actor: str) -> dict[str, Any]:
    """Book a session and plan its messages. Raises InvalidInput, NotFound."""
    f, item = read_booking(data)
    if item["patient_id"] is None:  # the other fields' errors are named with the start's
        f.done()
    now = app.clock()
    with app.engine.begin() as conn:
        patient = get_patient(conn, item["patient_id"])
        complete_booking(f, item, patient, app.schedules, now)
        f.done()
        if item["number"] is None:
            item["number"] = _next_number(conn, item["patient_id"])
        row = session_row(item, now)
        if not item["force"]:
            _refuse_overlap(conn, item["patient_id"], row["start_at"], row["duration_minutes"])
        session_id = conn.execute(insert(sessions).values(**row).returning(sessions.c.id)).scalar_one()
        session = get_session(conn, session_id)
        schedule = app.schedule(item["schedule"])
        outcome = plan_new_session(conn, schedule, session, patient, app.window, now)
        arrange_patient(conn, app, patient["id"], now)
        audit.record(
            conn,
            at=now,
            actor=actor,
            action="session.booked",
            entity="session",
            entity_id=session_id,
            details={"planned": outcome.as_dict()},
        )
        return public_session(session, outcome)


def _next_number(conn: Connection, patient_id: int) -> int:
    count = conn.execute(
        select(func.count())
        .select_from(sessions)
        .where(
            sessions.c.patient_id == patient_id,
            sessions.c.status.in_([SessionState.BOOKED, SessionState.COMPLETED]),
        )
    ).scalar_one()
    return int(count) + 1


def reschedule_session(app: Interlude, session_id: int, data: Any, actor: str) -> dict[str, Any]:
    """Move a booked session; every pending message moves with it, atomically."""
    f = v.Fields(data)
    f.refuse_unknown({"start", "reason", "duration_minutes", "force"})
    try:
        reason = _reason(data)
    except InvalidInput as exc:  # named with the other fields' errors
        f.errors.update(exc.errors)
        reason = None
    duration = f.get("duration_minutes", v.positive_int(24 * 60, 120))
    force = f.get("force", v.boolean, default=False)
    now = app.clock()
    with app.engine.begin() as conn:
        session = get_session(conn, session_id, lock=True)
        patient = get_patient(conn, session["patient_id"])
        start = f.get("start", lambda value: _start(value, ZoneInfo(patient["timezone"]), now), required=True)
        f.done()
        refused = change(session["status"], Move.RESCHEDULE, start_at=session["start_at"], now=now).refused
        if refused is not None:
            raise Conflict(f"session {session_id} {refused}")
        old_start = session["start_at"]
        if start == old_start and duration in (None, session["duration_minutes"]):
            return public_session(session, PlanOutcome())
        if not force:
            _refuse_overlap(
                conn, session["patient_id"], start, duration or session["duration_minutes"], but=session_id
            )
        conn.execute(
            update(sessions)
            .where(sessions.c.id == session_id)
            .values(
                start_at=start,
                duration_minutes=duration or session["duration_minutes"],
                occurrence=session["occurrence"] + 1,
                rescheduled_at=now,
                updated_at=now,
            )
        )
        session = get_session(conn, session_id)
        outcome = plan_for_session(
            conn,
            app.schedule(session["schedule"]),
            session,
            patient,
            app.window,
            now,
            anchors=("start", "end", "reschedule"),
        )
        arrange_patient(conn, app, patient["id"], now)
        audit.record(
            conn,
            at=now,
            actor=actor,
            action="session.rescheduled",
            entity="session",
            entity_id=session_id,
            reason=reason,
            details={"from": old_start.isoformat(), "to": start.isoformat(), "planned": outcome.as_dict()},
        )
        return public_session(session, outcome)


def _cancel_pending(
    conn: Connection, session_id: int, reason: str, now: datetime, categories: tuple[str, ...] | None = None
) -> int:
    query = update(outbox).where(outbox.c.session_id == session_id, outbox.c.status == delivery.PENDING)
    if categories is not None:
        query = query.where(outbox.c.category.in_(categories))
    return conn.execute(query.values(status=delivery.CANCELLED, reason=reason, updated_at=now)).rowcount


def _change_status(
    app: Interlude,
    session_id: int,
    data: Any,
    actor: str,
    *,
    move: Move,
    cancel: tuple[str, ...] | None,
    message_reason: str,
) -> dict[str, Any]:
    f = v.Fields(data if data is not None else {})
    f.refuse_unknown({"reason"})
    f.done()
    reason = _reason(data)
    now = app.clock()
    with app.engine.begin() as conn:
        session = get_session(conn, session_id, lock=True)
        moved = change(session["status"], move, start_at=session["start_at"], now=now)
        if moved.unchanged:
            return public_session(session, PlanOutcome())  # repeating a request changes nothing
        if moved.refused is not None:
            raise Conflict(f"session {session_id} {moved.refused}")
        to = moved.to
        conn.execute(
            update(sessions)
            .where(sessions.c.id == session_id)
            .values(status=to, status_reason=reason, updated_at=now)
        )
        cancelled = _cancel_pending(conn, session_id, message_reason, now, cancel)
        told = _tell_patient(app, conn, session, move, now)
        arrange_patient(conn, app, session["patient_id"], now)
        audit.record(
            conn,
            at=now,
            actor=actor,
            action=f"session.{to}",
            entity="session",
            entity_id=session_id,
            reason=reason,
            details={"messages_cancelled": cancelled, "patient_told": told},
        )
        outcome = PlanOutcome(cancelled=cancelled)
        return public_session(get_session(conn, session_id), outcome)


def _tell_patient(
    app: Interlude, conn: Connection, session: Mapping[Any, Any], move: Move, now: datetime
) -> list[str]:
    """Queue the notice of a cancel or a no-show on each of the patient's channels, in the
    change's transaction; returns the channels. Consent, quiet hours and contact details are
    checked again at send time, as for every message."""
    settings = app.config.messages
    enabled = {Move.CANCEL: settings.notify_cancellation, Move.NO_SHOW: settings.notify_no_show}
    told = notice(move, start_at=session["start_at"], now=now, enabled=enabled.get(move, False))
    if told is None:
        return []
    patient = get_patient(conn, session["patient_id"])
    channels = [c for c in patient["channels"] if patient["phone" if c == "sms" else "email"]]
    for channel in channels:
        enqueue.enqueue_if_absent(
            conn, enqueue.session_change(session, told.change, told.template, channel, now)
        )
    return channels


def cancel_session(app: Interlude, session_id: int, data: Any, actor: str) -> dict[str, Any]:
    """Cancel a booked session and every message still pending for it, with a reason."""
    return _change_status(
        app, session_id, data, actor, move=Move.CANCEL, cancel=None, message_reason="session-cancelled"
    )


def complete_session(app: Interlude, session_id: int, data: Any, actor: str) -> dict[str, Any]:
    """Mark a session done: preparation still pending is dropped, check-ins and education go on."""
    return _change_status(
        app, session_id, data, actor, move=Move.COMPLETE, cancel=("prep",), message_reason="session-completed"
    )


def no_show_session(app: Interlude, session_id: int, data: Any, actor: str) -> dict[str, Any]:
    """Mark a no-show: nothing about this session is sent any more; staff follow up by phone."""
    return _change_status(
        app, session_id, data, actor, move=Move.NO_SHOW, cancel=None, message_reason="session-no-show"
    )


def public_session(row: Mapping[Any, Any], outcome: PlanOutcome | None = None) -> dict[str, Any]:
    out = {
        "id": row["id"],
        "patient_id": row["patient_id"],
        "start": row["start_at"].isoformat(),
        "end": (row["start_at"] + timedelta(minutes=row["duration_minutes"])).isoformat(),
        "duration_minutes": row["duration_minutes"],
        "modality": row["modality"],
        "number": row["number"],
        "status": row["status"],
        "schedule": row["schedule"],
        "external_ref": row["external_ref"],
    }
    if outcome is not None:
        out["messages"] = outcome.as_dict()
    return out
