"""What the Today, escalation and Inbox pages read: one query per block, names joined in.

Times stay datetimes (the pages show them in the clinic's zone). Each view carries only what its
page needs: a patient's phone number appears on the escalation page, where someone must call.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Select, String, cast, func, literal, or_, select

from ...db.tables import (
    checkins,
    escalations,
    inbound_messages,
    measure_responses,
    outbox,
    patients,
    sessions,
    staff_tasks,
)
from ...domain.instruments import CONCERNING_BANDS, INSTRUMENTS, SAFETY_FLAG, concerning
from ...domain.origin import PAGE_STEP, Origin, page_of, page_prefix
from ...domain.session_state import SessionState
from ...runtime import Interlude
from ...template_context import display_phone, message_context
from ...templates import TemplateError
from .. import tasks
from ..errors import NotFound
from ..measures import WORSENING_TASK
from ..outbox import deliveries
from ..replies import inbound as replies
from ..replies import inbox
from ..replies.checkins import step_of
from ..replies.escalations import CATEGORY_WORDS, REASONS
from ..replies.inbox import DURING_CHECKIN

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


# --- the red banner and the counts in the navigation ------------------------------------------

_OPEN = escalations.c.state == "open"
_ALERTS = select(
    select(func.count()).select_from(escalations).where(_OPEN).scalar_subquery().label("open"),
    select(escalations.c.id)
    .where(_OPEN)
    .order_by(escalations.c.created_at, escalations.c.id)
    .limit(1)
    .scalar_subquery()
    .label("first"),
    select(func.count())
    .select_from(staff_tasks)
    .where(staff_tasks.c.state == "open", staff_tasks.c.kind.in_(tasks.URGENT_KINDS))
    .scalar_subquery()
    .label("unrouted"),
    select(func.count())
    .select_from(staff_tasks)
    .where(
        staff_tasks.c.state == "open",
        staff_tasks.c.kind.in_(tasks.URGENT_KINDS),
        staff_tasks.c.dedupe_key.not_in(
            select(literal("escalation-unrouted:") + cast(escalations.c.id, String)).where(_OPEN)
        ),
    )
    .scalar_subquery()
    .label("alone"),
    select(func.count())
    .select_from(inbound_messages)
    .where(inbound_messages.c.needs_attention.is_(True))
    .scalar_subquery()
    .label("inbox"),
)


def alerts(app: Interlude) -> dict[str, int | None]:
    """What every staff page shows at the top, in one query: open escalations (and the oldest),
    crises nobody could be paged for (open urgent tasks), the Inbox count, and `urgent`: the
    escalations and crises waiting for someone, each counted once (an open escalation nobody was
    paged for is one of both)."""
    with app.reader.connect() as conn:
        row = conn.execute(_ALERTS).one()
    return {
        "open": row.open,
        "first": row.first,
        "unrouted": row.unrouted,
        "urgent": row.open + row.alone,
        "inbox": row.inbox,
    }


# --- escalations -------------------------------------------------------------------------------

# Why an escalation was raised, in plain words, for the page a clinician reads first.
# Where a card's title says it differently from the page's reason (escalations.REASONS): the page
# for an after-hours text asks the clinician to read the Inbox, the card is that reading.
KIND_WORDS = {
    "crisis": "Crisis words in a patient's text",
    "after-hours-inbox": "A text after hours, within 72 hours of a session",
}


def reason_words(kind: str, category: str | None) -> str:
    """The reason in plain words, with the crisis category when there is one."""
    words = KIND_WORDS.get(kind) or REASONS.get(kind, kind).capitalize()
    return f"{words}: {CATEGORY_WORDS.get(category, category)}" if category else words


def _escalation_query() -> Select[Any]:
    return (
        select(
            escalations,
            patients.c.first_name,
            patients.c.last_name,
            patients.c.phone,
            sessions.c.start_at.label("session_start"),
            inbound_messages.c.body.label("words"),
            inbound_messages.c.received_at.label("words_at"),
            inbound_messages.c.kind.label("words_kind"),
            inbound_messages.c.sender.label("sender"),
        )
        # An escalation about an unknown sender has no patient: its card shows the sender's number.
        .outerjoin(patients, patients.c.id == escalations.c.patient_id)
        .outerjoin(sessions, sessions.c.id == escalations.c.session_id)
        .outerjoin(inbound_messages, inbound_messages.c.id == escalations.c.inbound_id)
    )


def open_escalations(app: Interlude) -> list[dict[str, Any]]:
    """Open escalations, oldest first, each as its Today card: the patient's words and the number
    to call, how long ago it was raised, who was paged when (and how it went), when the next
    round of pages goes out, and whether nobody could be paged."""
    query = _escalation_query().where(_OPEN).order_by(escalations.c.created_at, escalations.c.id)
    now = app.clock()
    with app.reader.connect() as conn:
        rows = list(conn.execute(query).mappings())
        ids = [r["id"] for r in rows]
        pages = _pages(app, conn, ids)
        unrouted = _unrouted(conn, ids)
    views = []
    for r in rows:
        view = _escalation_view(r)
        view.update(
            minutes=max(0, int((now - r["created_at"]).total_seconds() // 60)),
            pages=pages.get(r["id"], []),
            next_round=_next_round(app, r["level"]),
            unrouted=r["id"] in unrouted,
            next_in=_minutes_until(now, r["notify_again_at"]),
        )
        views.append(view)
    return views


def acknowledged_recently(app: Interlude, hours: int = 24) -> list[dict[str, Any]]:
    """Escalations acknowledged in the last `hours`, newest first, with who and the outcome; and
    any acknowledged earlier whose outcome is still to be written."""
    since = app.clock() - timedelta(hours=hours)
    waiting = (escalations.c.state == "acknowledged") & escalations.c.outcome.is_(None)
    query = (
        _escalation_query()
        .where(escalations.c.acked_at.is_not(None), (escalations.c.acked_at >= since) | waiting)
        .order_by(escalations.c.acked_at.desc(), escalations.c.id.desc())
        .limit(100)
    )
    with app.reader.connect() as conn:
        return [_escalation_view(r) for r in conn.execute(query).mappings()]


def _escalation_view(r: Mapping[Any, Any]) -> dict[str, Any]:
    category = r.get("category")
    phone = r["phone"] if r["patient_id"] else r["sender"]
    return {
        "id": r["id"],
        "code": r["code"],
        "kind": r["kind"],
        "category": category,
        "reason": reason_words(r["kind"], category),
        "urgent": r["kind"] != "after-hours-inbox",
        "state": r["state"],
        "level": r["level"],
        "created_at": r["created_at"],
        "notify_again_at": r["notify_again_at"],
        "acked_at": r["acked_at"],
        "acked_by": r["acked_by"],
        "acked_by_name": (r["acked_by"] or "someone").removeprefix("staff:"),
        "outcome": r["outcome"],
        "outcome_needed": r["state"] == "acknowledged" and not r["outcome"],
        "patient_id": r["patient_id"],
        "patient_name": f"{r['first_name']} {r['last_name']}" if r["patient_id"] else "Unknown sender",
        "phone": phone,
        "phone_display": display_phone(phone) if phone else None,
        "session_start": r["session_start"],
        "words": r["words"],
        "words_at": r["words_at"],
        "during_checkin": r["words_kind"] == DURING_CHECKIN,
    }


def _pages(app: Interlude, conn: Connection, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The pages sent for each escalation (their keys name it and the level), by contact name
    rather than number, in the order they were queued."""
    if not ids:
        return {}
    query = (
        select(
            outbox.c.dedupe_key, outbox.c.recipient, outbox.c.channel, outbox.c.status, outbox.c.created_at
        )
        .where(
            outbox.c.origin == Origin.ESCALATION.value,
            or_(*(outbox.c.dedupe_key.like(page_prefix(i) + "%") for i in ids)),
        )
        .order_by(outbox.c.created_at, outbox.c.id)
    )
    cfg = app.config.escalation
    names = {a: c.name for c in (*cfg.on_call, *cfg.backup) for a in (c.phone, c.email) if a}
    found: dict[int, list[dict[str, Any]]] = {}
    for r in conn.execute(query).mappings():
        escalation_id, level = page_of(r["dedupe_key"])
        found.setdefault(escalation_id, []).append(
            {
                "who": names.get(r["recipient"]) or deliveries.mask(r["channel"], r["recipient"]),
                "channel": "text" if r["channel"] == "sms" else r["channel"],
                "round": level + 1,
                "status": r["status"],
                "at": r["created_at"],
            }
        )
    return found


def _minutes_until(now: datetime, then: datetime | None) -> int | None:
    return None if then is None else max(0, -int((now - then).total_seconds() // 60))


def _unrouted(conn: Connection, ids: list[int]) -> set[int]:
    if not ids:
        return set()
    keys = {f"escalation-unrouted:{i}": i for i in ids}
    query = select(staff_tasks.c.dedupe_key).where(
        staff_tasks.c.dedupe_key.in_(keys), staff_tasks.c.state == "open"
    )
    return {keys[k] for k in conn.execute(query).scalars()}


def _next_round(app: Interlude, level: int) -> str | None:
    """Who the next round of pages goes to (mirrors escalations._contacts); None: nobody."""
    cfg = app.config.escalation
    if level == 0 and cfg.backup:
        return "The backup, " + ", ".join(c.name for c in cfg.backup)
    if not cfg.on_call and not cfg.backup:
        return None
    return "Everyone on call again, " + ", ".join(c.name for c in (*cfg.on_call, *cfg.backup))


def urgent_tasks(app: Interlude) -> list[dict[str, Any]]:
    """Open tasks that stand for a crisis nobody was paged for, oldest first; an unrouted
    escalation's task carries the escalation's id."""
    found = [t for t in open_tasks(app) if t["kind"] in tasks.URGENT_KINDS]
    for t in found:
        head, _, tail = t["key"].partition(":")
        t["escalation_id"] = int(tail) if head == "escalation-unrouted" and tail.isdigit() else None
    return found


def flagged_messages(app: Interlude) -> list[dict[str, Any]]:
    """Pinned Inbox messages with no escalation of their own (free text during a safety check-in,
    crisis words from a number that is not a patient's): Today shows them under the escalations."""
    found = [i for i in inbox.inbox(app) if i["pinned"] and i["escalation"] is None]
    with app.reader.connect() as conn:
        names = _names(conn, (i["patient_id"] for i in found))
        senders = _senders(conn, [i["id"] for i in found if i["patient_id"] is None])
    return [
        {
            **i,
            "received_at": _at(i["received_at"]),
            "patient_name": names.get(i["patient_id"]),
            "sender": senders.get(i["id"]),
        }
        for i in found
    ]


def escalation(app: Interlude, escalation_id: int) -> dict[str, Any]:
    """One escalation with what happened: the patient (and the number to call), the session,
    the check-in and the message behind it. Raises NotFound."""
    query = _escalation_query().where(escalations.c.id == escalation_id)
    with app.reader.connect() as conn:
        row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound("escalation", escalation_id)
        view = _escalation_view(row)
        view["minutes"] = max(0, int((app.clock() - row["created_at"]).total_seconds() // 60))
        view["pages"] = _pages(app, conn, [escalation_id]).get(escalation_id, [])
        view["next_round"] = _next_round(app, row["level"])
        view["next_in"] = _minutes_until(app.clock(), row["notify_again_at"])
        view["unrouted"] = bool(_unrouted(conn, [escalation_id]))
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
        "step": row["step_id"],
        "schedule": row["schedule"],
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
        .where(
            sessions.c.start_at >= start,
            sessions.c.start_at < end,
            sessions.c.status != SessionState.CANCELLED,
        )
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
            found.append({**d, "updated_at": updated, "to_clinician": d["step"] == PAGE_STEP})
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


# --- questionnaires ----------------------------------------------------------------------------

MEASURE_DAYS = 7  # concerning questionnaire results stay on Today this long after completion


def concerning_results(app: Interlude) -> list[dict[str, Any]]:
    """Questionnaires completed in the last MEASURE_DAYS days whose result a clinician should see
    (domain.instruments.concerning: PHQ-9 item 9 above 0, a concerning band, or a worsening whose
    task is still open), newest first, with the patient's name; one query."""
    since = app.clock() - timedelta(days=MEASURE_DAYS)
    worsening_key = literal(f"{WORSENING_TASK}:") + cast(measure_responses.c.id, String)
    query = (
        select(
            measure_responses.c.id,
            measure_responses.c.patient_id,
            measure_responses.c.instrument,
            measure_responses.c.completed_at,
            measure_responses.c.score,
            measure_responses.c.band,
            measure_responses.c.flags,
            patients.c.first_name,
            patients.c.last_name,
            staff_tasks.c.id.label("task_id"),
        )
        .join(patients, patients.c.id == measure_responses.c.patient_id)
        .outerjoin(
            staff_tasks,
            (staff_tasks.c.dedupe_key == worsening_key) & (staff_tasks.c.state == "open"),
        )
        .where(measure_responses.c.completed_at >= since)
        .order_by(measure_responses.c.completed_at.desc(), measure_responses.c.id.desc())
    )
    with app.reader.connect() as conn:
        rows = list(conn.execute(query).mappings())
    found = []
    for r in rows:
        flags = list(r["flags"] or [])
        if not concerning(r["band"], flags, r["task_id"] is not None):
            continue
        instrument = INSTRUMENTS.get(r["instrument"])
        found.append(
            {
                "id": r["id"],
                "patient_id": r["patient_id"],
                "patient_name": f"{r['first_name']} {r['last_name']}",
                "instrument": instrument.name if instrument else r["instrument"],
                "score": r["score"],
                "max_total": instrument.max_total if instrument else None,
                "band": r["band"],
                "item9": SAFETY_FLAG in flags,
                "worsening": r["task_id"] is not None,
                "why": _concern_words(r["band"], flags, r["task_id"] is not None),
                "completed_at": r["completed_at"],
            }
        )
    return found


def _concern_words(band: str | None, flags: list[str], worsening: bool) -> list[str]:
    words = []
    if SAFETY_FLAG in flags:
        words.append("thoughts of self-harm (item 9 above 0)")
    if band in CONCERNING_BANDS:
        words.append(f"{band} band")
    if worsening:
        words.append("worse than last time (task open)")
    return words


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
    """What needs a person, pinned first then oldest first (inbox.inbox): who sent it, whether
    they may be answered by text (and why not), and the prepared answers as this patient would
    receive them."""
    items = inbox.inbox(app)
    names = replies.quick_answers(app)
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
                    "escalation": _at_times(item["escalation"]),
                    "quick": [] if refusal or patient is None else _quick(app, names, patient),
                }
            )
    return views


def _at_times(esc: dict[str, Any] | None) -> dict[str, Any] | None:
    if esc is None:
        return None
    return {**esc, "acked_at": _at(esc["acked_at"]), "notify_again_at": _at(esc["notify_again_at"])}


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
