"""What the patient page shows before anything else: what needs a person now (an open escalation,
an opt-out, a number that cannot take texts, open tasks), the conversation as one thread, and
which planned messages will not go.

Each block is one query whatever the length of the course (no query per message), and the rules
are the dispatcher's: a message the page says will not go is one the dispatcher would skip.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from ...db.tables import audit_events, checkins, escalations, inbound_messages, staff_tasks
from ...domain.consent import (
    CHANNELS,
    PURPOSES,
    ConsentEvent,
    LedgerEvent,
    allows,
    needs_patient_keyword,
    purpose_of,
    standing_opt_out,
)
from ...domain.instruments import INSTRUMENTS
from ...domain.origin import Origin, staff_reply_inbound
from ...domain.session_state import SessionState
from ...runtime import Interlude
from ...template_context import message_context
from ...templates import TemplateError
from .. import measures as measure_results
from ..outbox.delivery_policy import meaning
from .today import reason_words

log = logging.getLogger("interlude.patient_page")

# How an opt-out or opt-in reached the ledger, as staff say it.
SOURCE_WORDS = {
    "keyword": "by text (keyword)",
    "provider-keyword": "by text, through the carrier (keyword)",
    "plain-words": "by text, in their own words",
    "email-link": "by the link in an email",
    "staff": "recorded by staff",
    "api": "through the clinic's system",
    "cli": "by an operator",
    "provider": "by the provider",
    "enrolment": "at enrolment",
}
# Why a number cannot take texts (patients.sms_status_reason), when the code alone says too little.
NUMBER_WORDS = {
    "recipient-says-wrong-number": "the person at this number says it is not the patient's",
}
# Messages with these statuses never went and never will: the timeline hides them unless asked.
NOT_GOING = ("skipped", "cancelled")
THREAD_SHOWN = 30  # the newest entries of the conversation shown unless all are asked for
# Who queued a message that has no schedule step of its own, in plain words.
SYSTEM_TITLES = {
    "_staff_reply": "Answer from staff",
    "_checkin_reminder": "Check-in reminder",
    "_session_cancelled": "Session cancelled notice",
    "_session_no_show": "Missed session notice",
}


# --- what needs a person -----------------------------------------------------------------------


def open_escalations(conn: Connection, patient_id: int) -> list[dict[str, Any]]:
    """The patient's open escalations, oldest first, with why each was raised in plain words."""
    query = (
        select(
            escalations.c.id,
            escalations.c.code,
            escalations.c.kind,
            escalations.c.category,
            escalations.c.created_at,
        )
        .where(escalations.c.patient_id == patient_id, escalations.c.state == "open")
        .order_by(escalations.c.created_at, escalations.c.id)
    )
    return [
        {
            "id": r["id"],
            "code": r["code"],
            "reason": reason_words(r["kind"], r["category"]),
            "created_at": r["created_at"],
        }
        for r in conn.execute(query).mappings()
    ]


def open_tasks(conn: Connection, patient_id: int) -> list[dict[str, Any]]:
    """The patient's open tasks, soonest due first (those with no due time last)."""
    query = (
        select(staff_tasks)
        .where(staff_tasks.c.patient_id == patient_id, staff_tasks.c.state == "open")
        .order_by(staff_tasks.c.due_at.is_(None), staff_tasks.c.due_at, staff_tasks.c.id)
    )
    return [
        {
            "id": r["id"],
            "kind": r["kind"],
            "title": r["kind"].replace("-", " ").capitalize(),
            "detail": r["detail"],
            "due_at": r["due_at"],
            "created_at": r["created_at"],
        }
        for r in conn.execute(query).mappings()
    ]


def ledger_events(rows: Iterable[Mapping[Any, Any]]) -> list[ConsentEvent]:
    return [ConsentEvent(r["id"], r["channel"], r["purpose"], r["action"]) for r in rows]


def opt_outs(rows: list[Mapping[Any, Any]]) -> list[dict[str, Any]]:
    """Per channel the patient opted out of (for care, education or both): the purposes, and the
    ledger event that decided it: when, how, what they wrote, and whether only the patient can
    lift it (an opt-out they texted: they text START, the carriers' rule)."""
    events = [LedgerEvent(r["id"], r["channel"], r["purpose"], r["action"], r["source"]) for r in rows]
    by_id = {r["id"]: r for r in rows}
    found = []
    for channel in CHANNELS:
        standing = {p: e for p in PURPOSES if (e := standing_opt_out(events, channel, p)) is not None}
        if not standing:
            continue
        stopped = list(standing)
        decisive = standing[stopped[0]]
        row = by_id[decisive.id]
        found.append(
            {
                "channel": channel,
                "purposes": stopped,
                "all": len(stopped) == len(PURPOSES),
                "by_patient": needs_patient_keyword(channel, decisive),
                "how": SOURCE_WORDS.get(row["source"], row["source"]),
                "raw_text": row["raw_text"],
                "at": row["created_at"],
            }
        )
    return found


def number_problem(patient: Mapping[Any, Any]) -> dict[str, Any] | None:
    """Why the patient's phone cannot take texts, in words; None when it can (or there is none)."""
    if not patient["phone"] or patient["sms_status"] == "ok":
        return None
    return {"status": patient["sms_status"], "why": number_words(patient["sms_status_reason"])}


def number_words(reason: str | None) -> str:
    """ "twilio-21614" is "Twilio error 21614: not a mobile number"; other codes in words."""
    if not reason:
        return "the provider refused it"
    if reason in NUMBER_WORDS:
        return NUMBER_WORDS[reason]
    provider, _, code = reason.partition("-")
    if provider == "twilio" and code:
        said = meaning(code)
        return f"Twilio error {code}" + (f": {said}" if said else "")
    return reason.replace("-", " ")


# --- which messages can go ---------------------------------------------------------------------


def wont_send(
    message: Mapping[Any, Any], patient: Mapping[Any, Any], events: list[ConsentEvent]
) -> str | None:
    """Why a planned message will be skipped when it is due, in the dispatcher's order (consent,
    then a contact on that channel, then a number that takes texts); None when it can go."""
    channel = message["channel"]
    if not allows(events, channel, purpose_of(message["category"])):
        return "opted out"
    if channel not in (patient["channels"] or ()) or not patient["phone" if channel == "sms" else "email"]:
        return "no phone number for texts" if channel == "sms" else "no email address"
    if channel == "sms" and patient["sms_status"] != "ok":
        return "the number cannot take texts"
    return None


def channels(patient: Mapping[Any, Any], events: list[ConsentEvent]) -> list[dict[str, Any]]:
    """Each channel the patient gave, with why it does not carry care messages now (None: it does)."""
    found = []
    for channel in CHANNELS:
        if channel not in (patient["channels"] or ()):
            continue
        care = {"channel": channel, "category": "prep"}
        found.append({"channel": channel, "stopped": wont_send(care, patient, events)})
    return found


# --- the conversation --------------------------------------------------------------------------


def thread(
    app: Interlude, conn: Connection, patient: Mapping[Any, Any], timeline: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """What the patient texted, the automatic answer to each, and what staff answered from the
    Inbox (with who answered), oldest first so the newest is last, as a conversation reads."""
    query = select(inbound_messages).where(inbound_messages.c.patient_id == patient["id"])
    inbound = list(
        conn.execute(query.order_by(inbound_messages.c.received_at, inbound_messages.c.id)).mappings()
    )
    asked = _questions(conn, [r["checkin_id"] for r in inbound if r["checkin_id"] is not None])
    answers = [m for m in timeline if m["origin"] == Origin.STAFF_REPLY.value]
    by = _answered_by(conn, [r["id"] for r in inbound])
    handled = {r["id"]: r["handled_by"] for r in inbound}
    entries: list[tuple[datetime, int, dict[str, Any]]] = []
    for r in inbound:
        entries.append((r["received_at"], 0, _said(r, asked.get(r["checkin_id"]))))
        if r["reply"]:
            entries.append(
                (r["received_at"], 1, {"side": "auto", "at": r["received_at"], "body": r["reply"]})
            )
    for m in answers:
        who = by.get(m["id"]) or handled.get(staff_reply_inbound(m["key"]) or 0)
        text = answer_text(app, patient, m)
        entries.append(
            (m["at"], 2, {"side": "staff", "at": m["at"], "body": text, "by": who, "state": m["state"]})
        )
    entries.sort(key=lambda e: (e[0], e[1]))
    return [e[2] for e in entries]


def _said(row: Mapping[Any, Any], question: Mapping[Any, Any] | None) -> dict[str, Any]:
    return {
        "side": "patient",
        "at": row["received_at"],
        "body": row["body"],
        "kind": row["kind"],
        "needs_attention": row["needs_attention"],
        "handled_at": row["handled_at"],
        "handled_by": row["handled_by"],
        "question": question,
    }


def _questions(conn: Connection, ids: list[int]) -> dict[int, Mapping[Any, Any]]:
    """The step (and its schedule) of each check-in a text answered."""
    if not ids:
        return {}
    query = select(checkins.c.id, checkins.c.schedule, checkins.c.step_id).where(checkins.c.id.in_(ids))
    return {r["id"]: r for r in conn.execute(query).mappings()}


def _answered_by(conn: Connection, inbound_ids: list[int]) -> dict[int, str]:
    """Who sent each staff answer, by its outbox id: the actor of the audit event the Inbox
    records with every answer (the message's handled_by stands in for an answer without one)."""
    found: dict[int, str] = {}
    if not inbound_ids:
        return found
    query = select(audit_events.c.actor, audit_events.c.details).where(
        audit_events.c.action == "inbox-answered",
        audit_events.c.entity == "inbound",
        audit_events.c.entity_id.in_(inbound_ids),
    )
    for r in conn.execute(query.order_by(audit_events.c.id)):
        outbox_id = (r.details or {}).get("outbox_id")
        if outbox_id is not None:
            found[outbox_id] = r.actor
    return found


def answer_text(app: Interlude, patient: Mapping[Any, Any], message: Mapping[Any, Any]) -> str:
    """A staff answer as the patient reads it: its template rendered as the dispatcher renders it
    (a free answer's text is kept in its context)."""
    language = patient["language"]
    context = message_context(app.config.clinic, app.clinic_tz, patient, None, language)
    context.update(message["context"] or {})
    try:
        rendered = app.templates.render(
            message["template"],
            "sms",
            language,
            context,
            detailed=bool(patient["detailed_messages"]),
            category=message["category"],
        )
    except TemplateError:
        log.exception("staff answer could not be rendered", extra={"outbox_id": message["id"]})
        return str(
            (message["context"] or {}).get("text") or "A prepared answer (its text could not be shown)"
        )
    return rendered.body


def recent(entries: list[dict[str, Any]], everything: bool) -> tuple[list[dict[str, Any]], int]:
    """The newest THREAD_SHOWN entries (all when asked) and how many earlier ones are left out."""
    if everything or len(entries) <= THREAD_SHOWN:
        return entries, 0
    return entries[-THREAD_SHOWN:], len(entries) - THREAD_SHOWN


# --- questionnaires ----------------------------------------------------------------------------

# The sessions the questionnaire chart marks on its time axis.
MARKED_SESSIONS = (SessionState.BOOKED, SessionState.COMPLETED)


def questionnaires(
    rows: list[Mapping[Any, Any]], sessions: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Each instrument the patient answered, in the instruments' order: its scores oldest first
    (`results`), the patient's sessions to mark (`sessions`: number and start), and the last
    answers as read (`last_answers`: each item's words and the option chosen, in the language
    the patient answered in)."""
    marked = [(s["number"], s["start_at"]) for s in sessions if s["status"] in MARKED_SESSIONS]
    found = measure_results.by_instrument(rows)
    views = []
    for key, instrument in INSTRUMENTS.items():
        results = found.get(key)
        if not results:
            continue
        last = results[-1]
        lang = instrument.language_for(last["language"])
        views.append(
            {
                "key": key,
                "instrument": instrument,
                "results": results,
                "sessions": marked,
                "language": lang,
                "last": last,
                "last_answers": [
                    {
                        "number": n,
                        "text": text,
                        "score": last["answers"].get(n),
                        "option": instrument.options[lang][last["answers"][n]]
                        if n in last["answers"]
                        else None,
                    }
                    for n, text in enumerate(instrument.items[lang], start=1)
                ],
            }
        )
    return views
