"""What the Today, escalation and Inbox pages read: one query per block, names joined in.

Times stay datetimes (the pages show them in the clinic's zone). Each view carries only what its
page needs: a patient's phone number appears on the escalation page, where someone must call.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from ..bootstrap import Interlude
from ..db.tables import checkins, escalations, inbound_messages, patients, sessions
from ..templates import TemplateError
from . import deliveries, replies, tasks
from .checkins import step_of
from .context import display_phone, message_context
from .errors import NotFound
from .escalations import REASONS

log = logging.getLogger("interlude.today")
FAILED_DAYS = 7  # failed deliveries older than this have left the Today page (patient pages keep them)


def _names(conn: Connection, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    query = select(patients.c.id, patients.c.first_name, patients.c.last_name).where(
        patients.c.id.in_(wanted)
    )
    return {r.id: f"{r.first_name} {r.last_name}" for r in conn.execute(query)}


def _at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# --- escalations -------------------------------------------------------------------------------


def open_escalations(app: Interlude) -> list[dict[str, Any]]:
    """Open escalations, oldest first, with the patient's name and the session's start."""
    query = (
        select(
            escalations,
            patients.c.first_name,
            patients.c.last_name,
            sessions.c.start_at.label("session_start"),
        )
        .join(patients, patients.c.id == escalations.c.patient_id)
        .outerjoin(sessions, sessions.c.id == escalations.c.session_id)
        .where(escalations.c.state == "open")
        .order_by(escalations.c.created_at, escalations.c.id)
    )
    with app.reader.connect() as conn:
        return [_escalation_view(r) for r in conn.execute(query).mappings()]


def _escalation_view(r: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "id": r["id"],
        "code": r["code"],
        "kind": r["kind"],
        "reason": REASONS.get(r["kind"], r["kind"]),
        "state": r["state"],
        "level": r["level"],
        "created_at": r["created_at"],
        "acked_at": r["acked_at"],
        "acked_by": r["acked_by"],
        "outcome": r["outcome"],
        "patient_id": r["patient_id"],
        "patient_name": f"{r['first_name']} {r['last_name']}",
        "session_start": r["session_start"],
    }


def escalation(app: Interlude, escalation_id: int) -> dict[str, Any]:
    """One escalation with what happened: the patient (and the number to call), the session,
    the check-in and the message behind it. Raises NotFound."""
    query = (
        select(
            escalations,
            patients.c.first_name,
            patients.c.last_name,
            sessions.c.start_at.label("session_start"),
        )
        .join(patients, patients.c.id == escalations.c.patient_id)
        .outerjoin(sessions, sessions.c.id == escalations.c.session_id)
        .where(escalations.c.id == escalation_id)
    )
    with app.reader.connect() as conn:
        row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound("escalation", escalation_id)
        view = _escalation_view(row)
        phone = conn.execute(select(patients.c.phone).where(patients.c.id == row["patient_id"])).scalar()
        view["phone"] = phone
        view["phone_display"] = display_phone(phone) if phone else None
        view["session"] = _session(conn, row["session_id"])
        view["checkin"] = _checkin(app, conn, row["checkin_id"])
        view["message"] = _message(conn, row["inbound_id"])
    return view


def _session(conn: Connection, session_id: int | None) -> dict[str, Any] | None:
    if session_id is None:
        return None
    query = select(
        sessions.c.start_at, sessions.c.modality, sessions.c.number, sessions.c.status, sessions.c.clearance
    ).where(sessions.c.id == session_id)
    row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def _checkin(app: Interlude, conn: Connection, checkin_id: int | None) -> dict[str, Any] | None:
    if checkin_id is None:
        return None
    row = conn.execute(select(checkins).where(checkins.c.id == checkin_id)).mappings().first()
    if row is None:
        return None
    step = step_of(app, row["schedule"], row["step_id"])
    options = step.expects.options if step and step.expects else ()
    label = next((o.label for o in options if o.code == row["answer"]), None)
    return {
        "step": row["step_id"].replace("_", " "),
        "kind": row["kind"],
        "asked_at": row["opened_at"],
        "answer": row["answer"],
        "answer_label": label,
        "answered_at": row["answered_at"],
        "closes_at": row["closes_at"],
        "state": row["state"],
    }


def _message(conn: Connection, inbound_id: int | None) -> dict[str, Any] | None:
    if inbound_id is None:
        return None
    query = select(inbound_messages.c.body, inbound_messages.c.received_at, inbound_messages.c.reply).where(
        inbound_messages.c.id == inbound_id
    )
    row = conn.execute(query).mappings().first()
    return dict(row) if row else None


# --- sessions, deliveries, tasks ---------------------------------------------------------------


def sessions_ahead(app: Interlude) -> list[dict[str, Any]]:
    """Today's and tomorrow's sessions (days in the clinic's zone), each day with its sessions."""
    tz = app.clinic_tz
    today = app.clock().astimezone(tz).date()
    days = [today, today + timedelta(days=1)]
    start = datetime.combine(today, time(0), tzinfo=tz)
    end = datetime.combine(today + timedelta(days=2), time(0), tzinfo=tz)
    query = (
        select(
            sessions.c.id,
            sessions.c.patient_id,
            sessions.c.start_at,
            sessions.c.modality,
            sessions.c.number,
            sessions.c.status,
            sessions.c.clearance,
            patients.c.first_name,
            patients.c.last_name,
        )
        .join(patients, patients.c.id == sessions.c.patient_id)
        .where(sessions.c.start_at >= start, sessions.c.start_at < end, sessions.c.status != "cancelled")
        .order_by(sessions.c.start_at, sessions.c.id)
    )
    by_day: dict[date, list[dict[str, Any]]] = {d: [] for d in days}
    with app.reader.connect() as conn:
        for r in conn.execute(query).mappings():
            view = dict(r)
            view["patient_name"] = f"{r['first_name']} {r['last_name']}"
            by_day[r["start_at"].astimezone(tz).date()].append(view)
    labels = ("Today", "Tomorrow")
    return [{"label": label, "day": d, "sessions": by_day[d]} for label, d in zip(labels, days, strict=True)]


def failed_deliveries(app: Interlude) -> list[dict[str, Any]]:
    """Messages that failed (or whose outcome is unknown) in the last FAILED_DAYS, newest first,
    with masked recipients and the patient's name."""
    since = app.clock() - timedelta(days=FAILED_DAYS)
    found = []
    for d in deliveries.list_deliveries(app, failed=True):
        updated = _at(d["updated_at"])
        if updated is not None and updated >= since:
            found.append({**d, "updated_at": updated, "to_clinician": d["step"] == "_escalation"})
    with app.reader.connect() as conn:
        names = _names(conn, (d["patient_id"] for d in found))
    return [{**d, "patient_name": names.get(d["patient_id"])} for d in found]


def open_tasks(app: Interlude) -> list[dict[str, Any]]:
    """Open staff tasks (soonest due first) with the patient's name."""
    found = tasks.list_tasks(app, "open")
    with app.reader.connect() as conn:
        names = _names(conn, (t["patient_id"] for t in found))
    return [
        {
            **t,
            "kind_label": t["kind"].replace("-", " "),
            "created_at": _at(t["created_at"]),
            "due_at": _at(t["due_at"]),
            "patient_name": names.get(t["patient_id"]),
        }
        for t in found
    ]


# --- inbox -------------------------------------------------------------------------------------


def inbox_count(app: Interlude) -> int:
    with app.reader.connect() as conn:
        query = select(func.count()).select_from(inbound_messages)
        return int(conn.execute(query.where(inbound_messages.c.needs_attention.is_(True))).scalar_one())


def inbox_item(app: Interlude, inbound_id: int) -> dict[str, Any]:
    """One inbound message (handled or not); raises NotFound."""
    with app.reader.connect() as conn:
        row = (
            conn.execute(select(inbound_messages).where(inbound_messages.c.id == inbound_id))
            .mappings()
            .first()
        )
    if row is None:
        raise NotFound("inbox item", inbound_id)
    return dict(row)


def inbox_items(app: Interlude) -> list[dict[str, Any]]:
    """What needs a person, oldest first: who sent it, whether they may be answered by text (and
    why not), and the prepared answers as this patient would receive them."""
    items = replies.inbox(app)
    quick = replies.quick_answers(app)
    with app.reader.connect() as conn:
        ids = {i["patient_id"] for i in items if i["patient_id"] is not None}
        people = {p["id"]: p for p in conn.execute(select(patients).where(patients.c.id.in_(ids))).mappings()}
        senders = _senders(conn, [i["id"] for i in items if i["patient_id"] is None])
        views = []
        for item in items:
            patient = people.get(item["patient_id"])
            refusal = replies.answer_refusal(conn, patient)
            views.append(
                {
                    **item,
                    "received_at": _at(item["received_at"]),
                    "patient_name": f"{patient['first_name']} {patient['last_name']}" if patient else None,
                    "sender": senders.get(item["id"]),
                    "refusal": refusal,
                    "quick": [] if refusal or patient is None else _quick(app, quick, patient),
                }
            )
    return views


def _senders(conn: Connection, ids: list[int]) -> dict[int, str]:
    """The number of a sender who is not a patient: the only way to find out who wrote."""
    if not ids:
        return {}
    query = select(inbound_messages.c.id, inbound_messages.c.sender).where(inbound_messages.c.id.in_(ids))
    return {r.id: r.sender for r in conn.execute(query)}


def _quick(app: Interlude, names: list[str], patient: Mapping[Any, Any]) -> list[dict[str, str]]:
    context = message_context(app.config.clinic, app.clinic_tz, patient, None, patient["language"])
    out = []
    for name in names:
        try:
            rendered = app.templates.render(
                name, "sms", patient["language"], context, detailed=bool(patient["detailed_messages"])
            )
        except TemplateError:
            log.exception("quick answer template failed", extra={"template": name})
            continue
        out.append({"name": name, "text": rendered.body})
    return out
