"""Read queries for the staff Patients pages: search, a patient's sessions, timeline and thread,
and dry runs of booking and rescheduling (what would be planned, nothing written)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, func, or_, select

from ...db.tables import delivery_attempts, inbound_messages, outbox, patients, sessions
from ...domain import delivery
from ...domain.consent import allows, purpose_of
from ...domain.planner import PlannedMessage, SessionFacts, plan_session
from ...domain.reconcile import NO_LONGER_PLANNED, reconcile
from ...domain.reconcile import Change as Reconciled
from ...domain.session_state import Move, SessionState, change
from ...runtime import Interlude
from .. import consent
from .. import validation as v
from ..errors import Conflict
from ..outbox.course import arranged_plan
from ..outbox.deliveries import mask_phone
from ..outbox.delivery_policy import meaning
from ..outbox.planning import patient_facts, session_facts
from ..patients import get_patient
from ..sessions import get_session

RECENT = 50
BOOK_FIELDS = {"patient_id", "start", "modality", "duration_minutes", "number", "schedule", "external_ref"}
RESCHEDULE_FIELDS = {"start", "reason", "duration_minutes"}
# Provider reports that settle what happened to a sent message.
SETTLED = {"delivered": "delivered", "read": "delivered", "undelivered": "failed", "failed": "failed"}


# --- search ------------------------------------------------------------------------------------


def search(app: Interlude, query: str, *, limit: int = RECENT) -> list[dict[str, Any]]:
    """Patients whose name contains every word typed, and whose phone ends with the digits typed.

    Words are matched case-insensitively in the first or last name; digits may be typed in any
    format ("(202) 555-0143", "2025550143", "+1 202 555 0143") and match the end of the stored
    E.164 number. An empty query lists the newest patients. Phones come back masked.
    """
    words = [w.lower() for w in query.split() if any(c.isalpha() for c in w)]
    digits = "".join(re.sub(r"\D", "", w) for w in query.split() if not any(c.isalpha() for c in w))
    stmt = select(patients.c.id, patients.c.first_name, patients.c.last_name, patients.c.phone).limit(limit)
    if not words and not digits:
        if query.strip():
            return []
        stmt = stmt.order_by(patients.c.created_at.desc(), patients.c.id.desc())
    else:
        conditions = [
            or_(
                func.lower(patients.c.first_name).contains(w, autoescape=True),
                func.lower(patients.c.last_name).contains(w, autoescape=True),
            )
            for w in words
        ]
        if digits:
            conditions.append(patients.c.phone.endswith(digits, autoescape=True))
        stmt = stmt.where(and_(*conditions)).order_by(
            patients.c.last_name, patients.c.first_name, patients.c.id
        )
    now = app.clock()
    with app.reader.connect() as conn:
        rows = list(conn.execute(stmt).mappings())
        upcoming = _next_sessions(conn, [r["id"] for r in rows], now)
    return [
        {
            "id": r["id"],
            "name": f"{r['first_name']} {r['last_name']}",
            "phone": mask_phone(r["phone"]),
            "next_session": upcoming.get(r["id"]),
        }
        for r in rows
    ]


def _next_sessions(conn: Connection, ids: list[int], now: datetime) -> dict[int, datetime]:
    if not ids:
        return {}
    query = (
        select(sessions.c.patient_id, func.min(sessions.c.start_at))
        .where(
            sessions.c.patient_id.in_(ids),
            sessions.c.status == SessionState.BOOKED,
            sessions.c.start_at >= now,
        )
        .group_by(sessions.c.patient_id)
    )
    return {pid: start for pid, start in conn.execute(query)}


# --- one patient -------------------------------------------------------------------------------


def patient_page(app: Interlude, patient_id: int) -> dict[str, Any]:
    """Everything the patient page shows. Raises NotFound."""
    now = app.clock()
    with app.reader.connect() as conn:
        patient = dict(get_patient(conn, patient_id))
        all_sessions = [_session_view(s, now) for s in _sessions(conn, patient_id)]
        timeline = _timeline(conn, patient_id)
        thread = _thread(conn, patient_id)
    ledger = consent.ledger(app, patient_id)
    for event in ledger["events"]:
        event["at"] = datetime.fromisoformat(event["at"])
    numbers = {s["id"]: s["number"] for s in all_sessions}
    for item in timeline:
        item["session_number"] = numbers.get(item["session_id"])
    return {
        "patient": patient,
        "upcoming": [s for s in all_sessions if s["upcoming"]],
        "past": [s for s in reversed(all_sessions) if not s["upcoming"]],
        "timeline": timeline,
        "thread": thread,
        "ledger": ledger,
    }


def session_owner(app: Interlude, patient_id: int) -> dict[str, Any]:
    """The few details the booking form needs: name, zone, default schedule. Raises NotFound."""
    with app.reader.connect() as conn:
        patient = get_patient(conn, patient_id)
    return {k: patient[k] for k in ("id", "first_name", "last_name", "timezone", "schedule")}


def _sessions(conn: Connection, patient_id: int) -> list[Mapping[Any, Any]]:
    query = select(sessions).where(sessions.c.patient_id == patient_id)
    return list(conn.execute(query.order_by(sessions.c.start_at, sessions.c.id)).mappings())


def _session_view(row: Mapping[Any, Any], now: datetime) -> dict[str, Any]:
    end = row["start_at"] + timedelta(minutes=row["duration_minutes"])
    return {
        **row,
        "end_at": end,
        "upcoming": end >= now and row["status"] == SessionState.BOOKED,
        "started": row["start_at"] <= now,
        "can_change": row["status"] == SessionState.BOOKED,
    }


def _timeline(conn: Connection, patient_id: int) -> list[dict[str, Any]]:
    """Every message to the patient, oldest first: planned ones at their due time."""
    query = select(outbox).where(outbox.c.patient_id == patient_id, outbox.c.audience == "patient")
    rows = list(conn.execute(query).mappings())
    latest = _latest_attempts(conn, [r["id"] for r in rows])
    items = [_message_view(r, latest.get(r["id"])) for r in rows]
    return sorted(items, key=lambda m: (m["at"], m["id"]))


def _latest_attempts(conn: Connection, ids: list[int]) -> dict[int, Mapping[Any, Any]]:
    latest: dict[int, Mapping[Any, Any]] = {}
    if ids:
        query = select(delivery_attempts).where(delivery_attempts.c.outbox_id.in_(ids))
        for a in conn.execute(query.order_by(delivery_attempts.c.id)).mappings():
            latest[a["outbox_id"]] = a
    return latest


def _message_view(row: Mapping[Any, Any], attempt: Mapping[Any, Any] | None) -> dict[str, Any]:
    state = row["status"]
    if state == delivery.SENT and attempt is not None:
        state = SETTLED.get(attempt["status"], state)
    code = attempt["error_code"] if attempt else None
    return {
        "id": row["id"],
        "session_id": row["session_id"],
        "step": row["step_id"],
        "template": row["template"],
        "channel": row["channel"],
        "category": row["category"],
        "status": row["status"],
        "state": state,
        "delivery": attempt["status"] if attempt else None,
        "reason": row["reason"],
        "error_code": code,
        "why": meaning(code),
        "due_at": row["due_at"],
        "sent_at": row["sent_at"],
        "at": row["sent_at"] or row["due_at"],
        "attempts": row["attempts"],
    }


def _thread(conn: Connection, patient_id: int) -> list[dict[str, Any]]:
    query = select(inbound_messages).where(inbound_messages.c.patient_id == patient_id)
    rows = conn.execute(query.order_by(inbound_messages.c.received_at, inbound_messages.c.id)).mappings()
    return [dict(r) for r in rows]


# --- sessions: what a change would do ----------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    """One message a booking would plan, as staff read it before saving."""

    step: str
    category: str
    channel: str
    due_at: datetime
    status: str  # "pending" or "skipped"
    reason: str | None
    note: str | None  # why the send-time checks would hold it back (opted out, number unusable)


@dataclass(frozen=True)
class Change:
    """What a reschedule does to one message of the session."""

    step: str
    channel: str
    action: str  # moves | unchanged | new | skipped | cancelled | already-sent
    before: datetime | None
    after: datetime | None
    reason: str | None


def _future(value: Any, tz: ZoneInfo, now: datetime) -> datetime:
    start = v.local_or_aware_time(value, tz)
    if start <= now:
        raise ValueError("must be in the future")
    if start - now > v.MAX_AHEAD:
        raise ValueError("more than two years ahead")
    return start


def preview_booking(app: Interlude, patient_id: int, data: Any) -> dict[str, Any]:
    """The messages booking this session would plan for this patient (their zone, channels,
    indications, quiet hours), in send order; nothing is written. Raises InvalidInput, NotFound."""
    f = v.Fields(data)
    f.refuse_unknown(BOOK_FIELDS)
    modality = f.get("modality", v.one_of(v.MODALITIES), required=True)
    duration = f.get("duration_minutes", v.positive_int(24 * 60))
    number = f.get("number", v.positive_int(1000))
    schedule = f.get("schedule", v.text(64))
    now = app.clock()
    with app.reader.connect() as conn:
        patient = get_patient(conn, patient_id)
        tz = ZoneInfo(patient["timezone"])
        start = f.get("start", lambda value: _future(value, tz, now), required=True)
        schedule = schedule or patient["schedule"]
        if schedule not in app.schedules:
            f.errors["schedule"] = f"unknown schedule (known: {', '.join(sorted(app.schedules))})"
        f.done()
        number = number or _next_number(conn, patient_id)
        events = consent.events(conn, patient_id)
    length = timedelta(minutes=duration or v.DEFAULT_DURATION[modality])
    facts = SessionFacts(start, length, modality, number, now)
    planned = plan_session(app.schedule(schedule), facts, patient_facts(patient), app.window, now)
    with app.reader.connect() as conn:  # as the course-wide rules would leave them
        row = {"id": None, "start_at": start, "duration_minutes": length.seconds // 60, "booked_at": now}
        planned = arranged_plan(conn, app, patient, row, planned, now)
    planned.sort(key=lambda p: (p.due_at, p.step.id, p.channel))
    rows = [_planned(p, patient, events) for p in planned]
    return {"start": start, "end": start + length, "number": number, "schedule": schedule, "messages": rows}


def _next_number(conn: Connection, patient_id: int) -> int:
    """As booking counts: sessions booked or completed so far, plus one."""
    query = select(func.count()).where(
        sessions.c.patient_id == patient_id,
        sessions.c.status.in_([SessionState.BOOKED, SessionState.COMPLETED]),
    )
    return int(conn.execute(query).scalar_one()) + 1


def _planned(pm: PlannedMessage, patient: Mapping[Any, Any], events: list[Any]) -> Planned:
    note = None
    if not allows(events, pm.channel, purpose_of(pm.step.category)):
        note = f"the patient opted out of {pm.channel}: not sent"
    elif pm.channel == "sms" and patient["sms_status"] != "ok":
        note = "the phone number cannot receive SMS: not sent"
    return Planned(pm.step.id, pm.step.category, pm.channel, pm.due_at, pm.status, pm.reason, note)


def preview_reschedule(app: Interlude, session_id: int, data: Any) -> dict[str, Any]:
    """Which messages of the session a reschedule would move, and to when; nothing is written.

    The rule is the real reschedule's (domain.reconcile): a pending message moves (or is
    skipped), one already sent for this occurrence is not sent again, a new one is planned, one
    no longer planned is cancelled. Raises InvalidInput, NotFound, Conflict.
    """
    f = v.Fields(data)
    f.refuse_unknown(RESCHEDULE_FIELDS)
    duration = f.get("duration_minutes", v.positive_int(24 * 60))
    f.get("reason", v.text(500))
    now = app.clock()
    with app.reader.connect() as conn:
        session = get_session(conn, session_id)
        patient = get_patient(conn, session["patient_id"])
        start = f.get(
            "start", lambda value: _future(value, ZoneInfo(patient["timezone"]), now), required=True
        )
        f.done()
        refused = change(session["status"], Move.RESCHEDULE, start_at=session["start_at"], now=now).refused
        if refused is not None:
            raise Conflict(f"session {session_id} {refused}")
        existing = list(conn.execute(select(outbox).where(outbox.c.session_id == session_id)).mappings())
    if start == session["start_at"] and duration in (None, session["duration_minutes"]):
        return {"start": start, "same": True, "changes": []}
    moved = {
        **session,
        "start_at": start,
        "duration_minutes": duration or session["duration_minutes"],
        "occurrence": session["occurrence"] + 1,
        "rescheduled_at": now,
    }
    planned = plan_session(
        app.schedule(session["schedule"]),
        session_facts(moved),
        patient_facts(patient),
        app.window,
        now,
        anchors=("start", "end", "reschedule"),
    )
    reconciled = reconcile(
        existing,
        planned,
        patient_id=patient["id"],
        session_id=session_id,
        schedule=session["schedule"],
        occurrence=moved["occurrence"],
    )
    with app.reader.connect() as conn:  # where the course-wide rules would then put each
        arranged = {
            (pm.step.id, pm.channel): pm for pm in arranged_plan(conn, app, patient, moved, planned, now)
        }
    changes = [_change_view(c, arranged) for c in reconciled]
    changes.sort(key=lambda c: (c.after or c.before or now, c.step, c.channel))
    return {"start": start, "same": False, "changes": changes}


def _change_view(change: Reconciled, arranged: Mapping[tuple[str, str], PlannedMessage]) -> Change:
    before = change.pending["due_at"] if change.pending is not None else None
    pm = change.planned
    if pm is None:  # cancelled: no longer planned
        return Change(change.step_id, change.channel, change.action.value, before, None, NO_LONGER_PLANNED)
    pm = arranged.get((change.step_id, change.channel), pm)
    return Change(change.step_id, change.channel, change.action.value, before, pm.due_at, pm.reason)


def session_summary(app: Interlude, session_id: int) -> dict[str, Any]:
    """A session, its patient's name and zone, and its messages still pending. Raises NotFound."""
    now = app.clock()
    with app.reader.connect() as conn:
        session = get_session(conn, session_id)
        patient = get_patient(conn, session["patient_id"])
        query = select(outbox).where(outbox.c.session_id == session_id, outbox.c.status == delivery.PENDING)
        pending = list(conn.execute(query.order_by(outbox.c.due_at, outbox.c.id)).mappings())
    return {
        "session": _session_view(session, now),
        "patient": {k: patient[k] for k in ("id", "first_name", "last_name", "timezone")},
        "pending": [{"step": r["step_id"], "channel": r["channel"], "due_at": r["due_at"]} for r in pending],
    }
