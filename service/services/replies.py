"""What patients send back, handled in a fixed order (design decision 7):

de-duplicate by the provider's message id -> crisis screen (always answered at once with crisis
resources and escalated, whatever else the text says) -> STOP / START / HELP and plain-word
revocations -> the answer to the patient's open question -> otherwise the staff inbox.

Every message is stored (the thread staff read) and nothing is dropped: what the pipeline cannot
act on reaches a person. Logs carry ids and kinds only, never the text or the number.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select, update

from ..bootstrap import Interlude
from ..db.tables import inbound_messages, patients, sessions
from ..db.upsert import insert_if_absent
from ..domain.answers import parse_answer
from ..domain.consent import allows
from ..domain.crisis import screen
from ..domain.keywords import classify_keyword
from ..domain.text import fold
from ..templates import TemplateError
from . import consent
from .checkins import open_question, recently_closed, record_answer, step_of
from .context import message_context
from .errors import ServiceError
from .escalations import acknowledge, raise_escalation
from .tasks import open_task

log = logging.getLogger("interlude.replies")


@dataclass(frozen=True)
class Inbound:
    provider_id: str
    sender: str
    body: str
    channel: str = "sms"
    opt_out_type: str | None = None  # Twilio Advanced Opt-Out already answered: STOP, START or HELP


@dataclass(frozen=True)
class ReplyResult:
    kind: str
    reply: str | None
    inbound_id: int | None = None
    duplicate: bool = False
    attention: bool = False


@dataclass
class _Route:
    kind: str
    reply_template: str | None = None
    attention: bool = False
    checkin_id: int | None = None


def handle_inbound(app: Interlude, msg: Inbound) -> ReplyResult:
    """Store and act on one inbound message; returns what to answer (None: no answer).

    A patient's message is stored, routed and its effects (consent, answers, escalations, tasks)
    committed in one transaction: a crash leaves either all of it or none, and the provider's
    retry is then handled afresh.
    """
    now = app.clock()
    if _staff_name(app, msg.sender) is not None:
        return _staff_message(app, msg, now)
    with app.engine.begin() as conn:
        patient = _patient_by_address(conn, msg.sender, msg.channel)
        inbound_id = _store(conn, msg, patient, now)
        if inbound_id is None:
            log.info("duplicate inbound", extra={"channel": msg.channel})
            return ReplyResult("duplicate", None, duplicate=True)
        route = _route(app, conn, msg, patient, inbound_id, now)
        reply = _say(app, route.reply_template, patient) if route.reply_template else None
        conn.execute(
            update(inbound_messages)
            .where(inbound_messages.c.id == inbound_id)
            .values(
                kind=route.kind, needs_attention=route.attention, reply=reply, checkin_id=route.checkin_id
            )
        )
    log.info("inbound handled", extra={"kind": route.kind, "patient_id": patient["id"] if patient else None})
    return ReplyResult(route.kind, reply, inbound_id, attention=route.attention)


def _store(conn: Connection, msg: Inbound, patient: Mapping[Any, Any] | None, now: datetime) -> int | None:
    """Keep the message (the thread staff read); None when this provider id was seen before."""
    return insert_if_absent(
        conn,
        inbound_messages,
        {
            "provider_id": msg.provider_id,
            "channel": msg.channel,
            "sender": msg.sender,
            "patient_id": patient["id"] if patient else None,
            "body": msg.body[:5000],
            "received_at": now,
            "kind": "received",
            "needs_attention": False,
        },
        "provider_id",
    )


def _staff_name(app: Interlude, sender: str) -> str | None:
    cfg = app.config.escalation
    return next((c.name for c in (*cfg.on_call, *cfg.backup) if c.phone and c.phone == sender), None)


def _staff_message(app: Interlude, msg: Inbound, now: datetime) -> ReplyResult:
    """A text from an on-call phone: `ACK <code> [outcome]` acknowledges that escalation."""
    with app.engine.begin() as conn:
        inbound_id = _store(conn, msg, None, now)
    if inbound_id is None:
        return ReplyResult("duplicate", None, duplicate=True)
    name = _staff_name(app, msg.sender) or "on call"
    words = fold(msg.body).split()
    clinic = app.config.clinic.name
    if len(words) >= 2 and words[0] in ("ack", "acknowledge"):
        try:
            esc = acknowledge(app, words[1], by=f"{name} (sms)", outcome=" ".join(words[2:]) or None)
            reply = f"{clinic}: escalation {esc['code']} acknowledged by {name}. Record the outcome on the staff page."
            kind, attention = "staff-ack", False
        except ServiceError as exc:
            reply, kind, attention = f"{clinic}: {exc}", "staff-message", True
    else:
        reply, kind, attention = f"{clinic}: to acknowledge, reply ACK and the code.", "staff-message", True
    with app.engine.begin() as conn:
        conn.execute(
            update(inbound_messages)
            .where(inbound_messages.c.id == inbound_id)
            .values(kind=kind, reply=reply, needs_attention=attention)
        )
    return ReplyResult(kind, reply, inbound_id, attention=attention)


def _patient_by_address(conn: Connection, sender: str, channel: str) -> Mapping[Any, Any] | None:
    column = patients.c.phone if channel == "sms" else patients.c.email
    return (
        conn.execute(
            select(patients).where(column == sender).order_by(patients.c.enrolled_at.desc()).limit(1)
        )
        .mappings()
        .first()
    )


def _route(
    app: Interlude,
    conn: Connection,
    msg: Inbound,
    patient: Mapping[Any, Any] | None,
    inbound_id: int,
    now: datetime,
) -> _Route:
    hit = screen(msg.body)
    if hit is not None:
        return _crisis(app, conn, patient, inbound_id, now)
    keyword = classify_keyword(msg.body)
    if msg.opt_out_type:
        return _provider_keyword(app, conn, msg, patient, now)
    if patient is None:
        # Not enrolled: nothing is ever sent to this number, but STOP and HELP are still answered
        # (CTIA: regardless of subscription) and anything else reaches a person.
        templates = {"opt-out": "reply_opt_out", "help": "reply_help"}
        return _Route("unknown-sender", templates.get(keyword or ""), attention=keyword not in templates)
    opted_out = not allows(consent.events(conn, patient["id"]), "sms", "care")
    if keyword == "opt-out":
        return _opt_out(
            app,
            conn,
            msg,
            patient,
            now,
            source="keyword" if len(fold(msg.body).split()) == 1 else "plain-words",
        )
    if keyword == "opt-in" and (fold(msg.body) != "yes" or opted_out):
        if opted_out:
            consent.record(
                conn,
                patient_id=patient["id"],
                channel=msg.channel,
                action="opt_in",
                source="keyword",
                raw_text=msg.body[:500],
                wording_version=_version(app, "reply_opt_in"),
                now=now,
            )
        return _Route("opt-in", "reply_opt_in")
    if keyword == "help":
        return _Route("help", "reply_help")
    answered = _answer(app, conn, msg, patient, inbound_id, now)
    if answered is not None:
        return answered
    kind = "unclear-revocation" if keyword == "unclear-revocation" else "inbox"
    return _Route(kind, _ack_template(app, conn, patient, now), attention=True)


def _crisis(
    app: Interlude, conn: Connection, patient: Mapping[Any, Any] | None, inbound_id: int, now: datetime
) -> _Route:
    if patient is None:
        open_task(
            conn,
            key=f"crisis-unknown:{inbound_id}",
            kind="crisis-unknown-sender",
            now=now,
            detail="crisis language from a number not enrolled: call back now",
        )
    else:
        session_id = _current_session(conn, patient["id"], now)
        raise_escalation(
            app, conn, patient=patient, kind="crisis", now=now, session_id=session_id, inbound_id=inbound_id
        )
    return _Route("crisis", "reply_crisis", attention=True)


def _provider_keyword(
    app: Interlude, conn: Connection, msg: Inbound, patient: Mapping[Any, Any] | None, now: datetime
) -> _Route:
    """Twilio's Advanced Opt-Out has answered already: record the change, send nothing more."""
    kind = (msg.opt_out_type or "").upper()
    if patient is None or kind not in ("STOP", "START"):
        return _Route(f"provider-{kind.lower() or 'keyword'}")
    action = "opt_out" if kind == "STOP" else "opt_in"
    consent.record(
        conn,
        patient_id=patient["id"],
        channel=msg.channel,
        action=action,
        source="provider-keyword",
        raw_text=msg.body[:500],
        now=now,
    )
    if action == "opt_out":
        _active_course_task(conn, patient, now)
    return _Route("opt-out" if action == "opt_out" else "opt-in")


def _opt_out(
    app: Interlude, conn: Connection, msg: Inbound, patient: Mapping[Any, Any], now: datetime, source: str
) -> _Route:
    consent.record(
        conn,
        patient_id=patient["id"],
        channel=msg.channel,
        action="opt_out",
        source=source,
        raw_text=msg.body[:500],
        wording_version=_version(app, "reply_opt_out"),
        now=now,
    )
    _active_course_task(conn, patient, now)
    return _Route("opt-out", "reply_opt_out")


def _active_course_task(conn: Connection, patient: Mapping[Any, Any], now: datetime) -> None:
    """A patient mid-course who stops texts must be reached another way."""
    upcoming = conn.execute(
        select(sessions.c.id).where(
            sessions.c.patient_id == patient["id"], sessions.c.status == "booked", sessions.c.start_at > now
        )
    ).first()
    if upcoming is not None:
        open_task(
            conn,
            key=f"opted-out:{patient['id']}:{now.date().isoformat()}",
            kind="opted-out-mid-course",
            now=now,
            patient_id=patient["id"],
            session_id=upcoming[0],
            detail="opted out of texts with a session booked: call to agree another way to reach them",
        )


def _answer(
    app: Interlude, conn: Connection, msg: Inbound, patient: Mapping[Any, Any], inbound_id: int, now: datetime
) -> _Route | None:
    question = open_question(conn, patient["id"], now)
    if question is None:
        last = recently_closed(conn, patient["id"])
        step = step_of(app, last["schedule"], last["step_id"]) if last else None
        if last and step and step.expects and parse_answer(msg.body, step.expects):
            return _Route(
                "late-answer", _ack_template(app, conn, patient, now), attention=True, checkin_id=last["id"]
            )
        return None
    step = step_of(app, question["schedule"], question["step_id"])
    answer = parse_answer(msg.body, step.expects) if step and step.expects else None
    if answer is None:
        return None
    record_answer(conn, question, answer.code, answer.concerning, now)
    if question["kind"] == "clearance":
        if answer.concerning:
            open_task(
                conn,
                key=f"not-cleared:{question['id']}",
                kind="not-cleared",
                now=now,
                patient_id=patient["id"],
                session_id=question["session_id"],
                detail="patient says they are not ready (ride home or fasting): call them",
            )
            return _Route(
                "clearance-no", "reply_clearance_not_ready", attention=True, checkin_id=question["id"]
            )
        return _Route("clearance-yes", "reply_clearance_thanks", checkin_id=question["id"])
    if answer.concerning:
        raise_escalation(
            app,
            conn,
            patient=patient,
            kind="concerning-answer",
            now=now,
            session_id=question["session_id"],
            checkin_id=question["id"],
            inbound_id=inbound_id,
        )
        return _Route(
            "concerning-answer", "reply_checkin_concerning", attention=True, checkin_id=question["id"]
        )
    return _Route("answer", "reply_checkin_thanks", checkin_id=question["id"])


def _ack_template(app: Interlude, conn: Connection, patient: Mapping[Any, Any], now: datetime) -> str | None:
    """One automatic office-hours acknowledgement per patient per `inbox_ack_every`."""
    since = now - app.config.escalation.inbox_ack_every
    recent = conn.execute(
        select(inbound_messages.c.id).where(
            inbound_messages.c.patient_id == patient["id"],
            inbound_messages.c.received_at > since,
            inbound_messages.c.reply.is_not(None),
            inbound_messages.c.kind.in_(("inbox", "unclear-revocation", "late-answer")),
        )
    ).first()
    return None if recent is not None else "reply_inbox_ack"


def _current_session(conn: Connection, patient_id: int, now: datetime) -> int | None:
    row = conn.execute(
        select(sessions.c.id)
        .where(sessions.c.patient_id == patient_id, sessions.c.status.in_(("booked", "completed")))
        .order_by((sessions.c.start_at > now).asc(), sessions.c.start_at.desc())
        .limit(1)
    ).first()
    return None if row is None else int(row[0])


def _say(app: Interlude, template: str, patient: Mapping[Any, Any] | None) -> str | None:
    clinic_tz = ZoneInfo(app.config.clinic.timezone)
    who = patient or {
        "first_name": "",
        "timezone": app.config.clinic.timezone,
        "detailed_messages": False,
        "language": app.config.messages.default_language,
    }
    language = who["language"]
    try:
        context = message_context(app.config.clinic, clinic_tz, who, None, language)
        return app.templates.render(template, "sms", language, context).body
    except TemplateError:
        log.exception("reply template failed", extra={"template": template})
        if template == "reply_crisis":  # never leave a crisis without the numbers
            return (
                f"{app.config.clinic.name}: if you are in danger call 911. Call or text 988 any time. "
                f"After hours: {app.config.clinic.after_hours_phone}."
            )
        return None


def _version(app: Interlude, template: str) -> str:
    """Which wording the patient was shown: template name and a short hash of its English SMS."""
    path = app.templates.folder / template / app.config.messages.default_language / "sms.txt"
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    except OSError:
        digest = "missing"
    return f"{template}@{digest}"


def mark_handled(app: Interlude, inbound_id: int, by: str) -> None:
    with app.engine.begin() as conn:
        conn.execute(
            update(inbound_messages)
            .where(inbound_messages.c.id == inbound_id)
            .values(needs_attention=False, handled_at=app.clock(), handled_by=by)
        )


def inbox(app: Interlude, limit: int = 200) -> list[dict[str, Any]]:
    """Messages that need a person, oldest first."""
    with app.reader.connect() as conn:
        rows = conn.execute(
            select(inbound_messages)
            .where(inbound_messages.c.needs_attention.is_(True))
            .order_by(inbound_messages.c.received_at)
            .limit(limit)
        ).mappings()
        return [
            {
                "id": r["id"],
                "patient_id": r["patient_id"],
                "kind": r["kind"],
                "body": r["body"],
                "received_at": r["received_at"].isoformat(),
                "reply": r["reply"],
            }
            for r in rows
        ]
