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

from ...db.tables import consent_events, delivery_attempts, outbox, patients, sessions
from ...domain import delivery
from ...domain.consent import CHANNELS, PURPOSES, ConsentEvent, allows, purpose_of
from ...domain.planner import PlannedMessage, SessionFacts, plan_session
from ...domain.reconcile import NO_LONGER_PLANNED, reconcile
from ...domain.reconcile import Change as Reconciled
from ...domain.session_changes import Booked, booked, clash
from ...domain.session_state import Move, SessionState, change
from ...runtime import Interlude
from ...template_context import Formatter, message_context
from .. import consent, measures
from .. import validation as v
from ..content.preview import rendered_row
from ..errors import Conflict
from ..outbox.course import arranged_plan
from ..outbox.deliveries import mask_phone
from ..outbox.delivery_policy import meaning
from ..outbox.planning import patient_facts, session_facts
from ..patients import get_patient
from ..sessions import booked_sessions, get_session
from . import patient_record as record

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


def patient_page(
    app: Interlude, patient_id: int, *, all_messages: bool = False, whole_thread: bool = False
) -> dict[str, Any]:
    """Everything the patient page shows, in a fixed number of queries. Raises NotFound.

    First what needs a person (`escalations`, `opt_outs`, `number_problem`, `tasks`), then the
    conversation (`thread`, its newest entries unless `whole_thread`), then the messages: those
    that are planned or went out (`timeline`), skipped and cancelled ones too when `all_messages`
    (`hidden` counts the ones left out). A planned message the dispatcher would skip carries
    `wont_send`, why in words. Then each questionnaire's scores over time (`measures`)."""
    now = app.clock()
    with app.reader.connect() as conn:
        patient = dict(get_patient(conn, patient_id))
        all_sessions = [_session_view(s, now) for s in _sessions(conn, patient_id)]
        consent_rows = _consent_rows(conn, patient_id)
        events = record.ledger_events(consent_rows)
        timeline = _timeline(conn, patient_id)
        conversation = record.thread(app, conn, patient, timeline)
        escalations = record.open_escalations(conn, patient_id)
        tasks = record.open_tasks(conn, patient_id)
        scored = measures.completed(conn, patient_id)
    numbers = {s["id"]: s["number"] for s in all_sessions}
    for item in timeline:
        item["session_number"] = numbers.get(item["session_id"])
        item["wont_send"] = (
            record.wont_send(item, patient, events) if item["status"] == delivery.PENDING else None
        )
    shown = timeline if all_messages else [m for m in timeline if m["status"] not in record.NOT_GOING]
    thread, earlier = record.recent(conversation, whole_thread)
    return {
        "patient": patient,
        "escalations": escalations,
        "opt_outs": record.opt_outs(consent_rows),
        "number_problem": record.number_problem(patient),
        "tasks": tasks,
        "channels": record.channels(patient, events),
        "upcoming": [s for s in all_sessions if s["upcoming"]],
        "past": [s for s in reversed(all_sessions) if not s["upcoming"]],
        "timeline": shown,
        "hidden": len(timeline) - len(shown),
        "all_messages": all_messages,
        "thread": thread,
        "earlier": earlier,
        "ledger": _ledger(patient_id, consent_rows, events),
        "measures": record.questionnaires(scored, all_sessions),
    }


def _consent_rows(conn: Connection, patient_id: int) -> list[Mapping[Any, Any]]:
    query = select(consent_events).where(consent_events.c.patient_id == patient_id)
    return list(conn.execute(query.order_by(consent_events.c.id)).mappings())


def _ledger(patient_id: int, rows: list[Mapping[Any, Any]], events: list[ConsentEvent]) -> dict[str, Any]:
    """The consent state per channel and purpose and the events behind it (as consent.ledger,
    from rows this page has read already)."""
    return {
        "patient_id": patient_id,
        "state": {c: {p: allows(events, c, p) for p in PURPOSES} for c in CHANNELS},
        "events": [
            {
                "at": r["created_at"],
                "channel": r["channel"],
                "purpose": r["purpose"],
                "action": r["action"],
                "source": r["source"],
                "how": record.SOURCE_WORDS.get(r["source"], r["source"]),
                "raw_text": r["raw_text"],
            }
            for r in rows
        ],
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
        "key": row["dedupe_key"],
        "origin": row["origin"],
        "session_id": row["session_id"],
        "schedule": row["schedule"],
        "step": row["step_id"],
        "title": record.SYSTEM_TITLES.get(row["step_id"]),
        "context": row["context"],
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
    subject: str | None = None  # an email's subject, rendered as the dispatcher would
    text: str | None = None  # the words the patient would read, rendered as the dispatcher would


@dataclass(frozen=True)
class PlannedStep:
    """One message of a booking as staff read it: a step at one time, with every channel it goes
    by (the text message and the email of one reminder are one thing to check, not two)."""

    step: str
    category: str
    due_at: datetime
    status: str
    reason: str | None
    channels: tuple[Planned, ...]


@dataclass(frozen=True)
class Change:
    """What a reschedule does to one message of the session."""

    step: str
    channel: str
    action: str  # moves | unchanged | new | skipped | cancelled | already-sent
    before: datetime | None
    after: datetime | None
    reason: str | None


@dataclass(frozen=True)
class StepChange:
    """What a reschedule does to one step of the session, by every channel it goes by."""

    step: str
    action: str
    before: datetime | None
    after: datetime | None
    reason: str | None
    channels: tuple[str, ...]


def preview_booking(app: Interlude, patient_id: int, data: Any) -> dict[str, Any]:
    """The messages booking this session would plan for this patient (their zone, channels,
    indications, quiet hours), in send order, each with its text; and the patient's booked
    session it would overlap, if any (the booking's own rule, shown before saving). Nothing is
    written. Raises InvalidInput (every bad field at once), NotFound."""
    f = v.Fields(data)
    f.refuse_unknown(BOOK_FIELDS)
    modality = f.get("modality", v.one_of(v.MODALITIES), required=True)
    duration = f.get("duration_minutes", v.positive_int(24 * 60, 120))
    number = f.get("number", v.positive_int(1000))
    schedule = f.get("schedule", v.text(64))
    now = app.clock()
    with app.reader.connect() as conn:
        patient = get_patient(conn, patient_id)
        tz = ZoneInfo(patient["timezone"])
        start = f.get("start", lambda value: v.future_start(value, tz, now), required=True)
        schedule = schedule or patient["schedule"]
        if schedule not in app.schedules:
            f.errors["schedule"] = f"unknown schedule (known: {', '.join(sorted(app.schedules))})"
        f.done()
        number = number or _next_number(conn, patient_id)
        events = consent.events(conn, patient_id)
        length = timedelta(minutes=duration or v.DEFAULT_DURATION[modality])
        overlap = _overlap(conn, patient_id, start, length)
    facts = SessionFacts(start, length, modality, number, now)
    planned = plan_session(app.schedule(schedule), facts, patient_facts(patient), app.window, now)
    with app.reader.connect() as conn:  # as the course-wide rules would leave them
        row = {"id": None, "start_at": start, "duration_minutes": length.seconds // 60, "booked_at": now}
        planned = arranged_plan(conn, app, patient, row, planned, now)
    planned.sort(key=lambda p: (p.due_at, p.step.id, p.channel))
    session_row = {**row, "modality": modality, "number": number}
    rows = [_planned(app, p, patient, session_row, events) for p in planned]
    return {
        "start": start,
        "end": start + length,
        "number": number,
        "schedule": schedule,
        "messages": rows,
        "steps": by_step(rows),
        "overlap": overlap,
    }


def _overlap(
    conn: Connection, patient_id: int, start: datetime, length: timedelta, *, but: int | None = None
) -> Booked | None:
    """The patient's booked session that start..start+length would overlap: the rule booking and
    rescheduling refuse by (domain.session_changes.clash), read without taking any lock."""
    others = (booked(r) for r in booked_sessions(conn, [patient_id], but=but))
    return clash(start, int(length.total_seconds() // 60), others)


def _next_number(conn: Connection, patient_id: int) -> int:
    """As booking counts: sessions booked or completed so far, plus one."""
    query = select(func.count()).where(
        sessions.c.patient_id == patient_id,
        sessions.c.status.in_([SessionState.BOOKED, SessionState.COMPLETED]),
    )
    return int(conn.execute(query).scalar_one()) + 1


def _planned(
    app: Interlude,
    pm: PlannedMessage,
    patient: Mapping[Any, Any],
    session: Mapping[str, Any],
    events: list[Any],
) -> Planned:
    note = None
    if not allows(events, pm.channel, purpose_of(pm.step.category)):
        note = f"the patient opted out of {pm.channel}: not sent"
    elif pm.channel == "sms" and patient["sms_status"] != "ok":
        note = "the phone number cannot receive SMS: not sent"
    subject, text = _text(app, pm, patient, session)
    return Planned(
        pm.step.id, pm.step.category, pm.channel, pm.due_at, pm.status, pm.reason, note, subject, text
    )


def _text(
    app: Interlude, pm: PlannedMessage, patient: Mapping[Any, Any], session: Mapping[str, Any]
) -> tuple[str | None, str]:
    """The subject and text of a planned message as the command line's preview renders it: the
    dispatcher's context and template, seen from the planned send time."""
    language = patient["language"]
    zone = ZoneInfo(patient["timezone"])
    scoped = session if pm.step.session_scoped else None
    context = message_context(app.config.clinic, app.clinic_tz, patient, scoped, language, now=pm.due_at)
    fmt = Formatter(zone, language, app.clinic_tz)
    shown = rendered_row(app, pm, context, fmt, language, bool(patient["detailed_messages"]))
    return shown.subject, shown.text


def by_step(messages: list[Planned]) -> list[PlannedStep]:
    """`messages` (in send order) as one item per step, time and outcome, with its channels."""
    groups: dict[tuple[Any, ...], list[Planned]] = {}
    for m in messages:
        groups.setdefault((m.step, m.due_at, m.status, m.reason), []).append(m)
    return [
        PlannedStep(step, found[0].category, due_at, status, reason, tuple(sorted(found, key=_channel_order)))
        for (step, due_at, status, reason), found in groups.items()
    ]


def _channel_order(item: Planned | str) -> int:
    """Text message before email, as every page lists them."""
    channel = item if isinstance(item, str) else item.channel
    return v.CHANNELS.index(channel) if channel in v.CHANNELS else len(v.CHANNELS)


def preview_reschedule(app: Interlude, session_id: int, data: Any) -> dict[str, Any]:
    """Which messages of the session a reschedule would move, and to when; and the patient's
    other booked session the new time would overlap, if any. Nothing is written.

    The rule is the real reschedule's (domain.reconcile): a pending message moves (or is
    skipped), one already sent for this occurrence is not sent again, a new one is planned, one
    no longer planned is cancelled. Raises InvalidInput, NotFound, Conflict.
    """
    f = v.Fields(data)
    f.refuse_unknown(RESCHEDULE_FIELDS)
    duration = f.get("duration_minutes", v.positive_int(24 * 60, 120))
    f.get("reason", v.text(500))
    now = app.clock()
    with app.reader.connect() as conn:
        session = get_session(conn, session_id)
        patient = get_patient(conn, session["patient_id"])
        tz = ZoneInfo(patient["timezone"])
        start = f.get("start", lambda value: v.future_start(value, tz, now), required=True)
        f.done()
        refused = change(session["status"], Move.RESCHEDULE, start_at=session["start_at"], now=now).refused
        if refused is not None:
            raise Conflict(f"session {session_id} {refused}")
        existing = list(conn.execute(select(outbox).where(outbox.c.session_id == session_id)).mappings())
        length = timedelta(minutes=duration or session["duration_minutes"])
        overlap = _overlap(conn, patient["id"], start, length, but=session_id)
    if start == session["start_at"] and duration in (None, session["duration_minutes"]):
        return {"start": start, "same": True, "changes": [], "steps": [], "overlap": None}
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
    steps = _changes_by_step(changes)
    return {"start": start, "same": False, "changes": changes, "steps": steps, "overlap": overlap}


def _change_view(change: Reconciled, arranged: Mapping[tuple[str, str], PlannedMessage]) -> Change:
    before = change.pending["due_at"] if change.pending is not None else None
    pm = change.planned
    if pm is None:  # cancelled: no longer planned
        return Change(change.step_id, change.channel, change.action.value, before, None, NO_LONGER_PLANNED)
    pm = arranged.get((change.step_id, change.channel), pm)
    return Change(change.step_id, change.channel, change.action.value, before, pm.due_at, pm.reason)


def _changes_by_step(changes: list[Change]) -> list[StepChange]:
    """`changes` as one item per step and outcome, with the channels it concerns."""
    groups: dict[tuple[str, str, datetime | None, datetime | None, str | None], list[str]] = {}
    for c in changes:
        groups.setdefault((c.step, c.action, c.before, c.after, c.reason), []).append(c.channel)
    return [
        StepChange(step, action, before, after, reason, tuple(sorted(found, key=_channel_order)))
        for (step, action, before, after, reason), found in groups.items()
    ]


def session_summary(app: Interlude, session_id: int) -> dict[str, Any]:
    """A session, its patient's name and zone, and its messages still pending, one item per step
    and time with its channels. Raises NotFound."""
    now = app.clock()
    with app.reader.connect() as conn:
        session = get_session(conn, session_id)
        patient = get_patient(conn, session["patient_id"])
        query = select(outbox).where(outbox.c.session_id == session_id, outbox.c.status == delivery.PENDING)
        pending = list(conn.execute(query.order_by(outbox.c.due_at, outbox.c.id)).mappings())
    groups: dict[tuple[Any, ...], list[str]] = {}
    for r in pending:
        groups.setdefault((r["step_id"], r["due_at"], r["schedule"]), []).append(r["channel"])
    return {
        "session": _session_view(session, now),
        "patient": {k: patient[k] for k in ("id", "first_name", "last_name", "timezone")},
        "pending": [{"step": r["step_id"], "channel": r["channel"], "due_at": r["due_at"]} for r in pending],
        "pending_steps": [
            {
                "step": step,
                "due_at": due_at,
                "schedule": schedule,
                "channels": sorted(channels, key=_channel_order),
            }
            for (step, due_at, schedule), channels in groups.items()
        ],
    }
