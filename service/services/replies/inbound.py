"""What patients send back, handled in a fixed order (design decision 7):

crisis screen, before any transaction and for every sender, on-call phones included (always
answered at once with the resources for what was found, and escalated, whatever else the text
says) -> de-duplicate by the provider's message id -> STOP / START / HELP / wrong number and
plain-word revocations, TIPS OFF / TIPS ON (education texts only) -> the answer to the patient's open question (free text during an open
safety check-in gets the options again, once) -> otherwise the staff inbox, which pages the
on-call clinician after hours soon after a session.

Every message is stored (the thread staff read) and nothing is dropped: what the pipeline cannot
act on reaches a person. Logs carry ids and kinds only, never the text or the number.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, bindparam, func, select, update

from ...db.tables import inbound_messages, outbox, patients, sessions
from ...db.upsert import insert_if_absent
from ...domain.answers import parse_answer
from ...domain.consent import allows
from ...domain.crisis import CrisisHit, screen
from ...domain.keywords import classify_keyword
from ...domain.origin import staff_reply_prefix
from ...domain.quiet_hours import place
from ...domain.segments import AVOIDABLE
from ...domain.session_state import SessionState
from ...domain.text import fold
from ...runtime import Interlude
from ...template_context import message_context
from ...templates import TemplateError
from .. import audit, consent
from ..errors import Conflict, InvalidInput, NotFound, ServiceError
from ..outbox.enqueue import enqueue, staff_reply
from ..tasks import open_task
from . import inbox as inbox_module
from .checkins import apply_answer, open_question, recently_closed, step_of
from .escalations import acknowledge, page_after_hours_inbox, raise_escalation

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
    context: dict[str, Any] = field(default_factory=dict)  # what the reply template sees besides clinic.*
    fallback: str | None = None  # rendered when reply_template cannot be
    language: str | None = None  # instead of the patient's (an unknown sender writing in Spanish)


BODY_MAX = 5000  # what is stored, and so what is screened
INBOX_KINDS = ("inbox", "unclear-revocation", "checkin-free-text", "late-answer")
_ACK = re.compile(r"(?:ack|acknowledge) [0-9]{6}(?: .*)?")


def handle_inbound(app: Interlude, msg: Inbound) -> ReplyResult:
    """Store and act on one inbound message; returns what to answer (None: no answer).

    The crisis screen (then the keyword reading) runs first, outside any transaction: its time
    depends on what the sender wrote, and nothing a sender writes may hold the write lock. It
    runs for every sender; an on-call phone's `ACK <code>` is an acknowledgement even when its
    outcome words describe the patient's crisis. A patient's message is then stored, routed and
    its effects (consent, answers, escalations, tasks) committed in one transaction: a crash
    leaves either all of it or none, and the provider's retry is then handled afresh.
    """
    now = app.clock()
    body = msg.body[:BODY_MAX]
    hit = screen(body)
    keyword = None if hit is not None else classify_keyword(body)
    if _staff_name(app, msg.sender) is not None and (hit is None or _ACK.fullmatch(fold(body))):
        return _staff_message(app, msg, now, screened=hit is not None)
    with app.engine.begin() as conn:
        patient = _patient_by_address(conn, msg.sender, msg.channel)
        inbound_id = _store(conn, msg, patient, now)
        if inbound_id is None:
            log.info("duplicate inbound", extra={"channel": msg.channel})
            return ReplyResult("duplicate", None, duplicate=True)
        route = _route(app, conn, msg, patient, inbound_id, now, hit, keyword)
        reply = _say(app, route, patient) if route.reply_template else None
        routed = {"i": inbound_id, "k": route.kind, "a": route.attention, "r": reply, "c": route.checkin_id}
        conn.execute(_ROUTED, routed)
    log.info(
        "inbound handled",
        extra={
            "kind": route.kind,
            "category": hit.category if hit else None,
            "patient_id": patient["id"] if patient else None,
        },
    )
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
            "body": msg.body[:BODY_MAX],
            "received_at": now,
            "kind": "received",
            "needs_attention": False,
        },
        "provider_id",
    )


def _staff_name(app: Interlude, sender: str) -> str | None:
    cfg = app.config.escalation
    return next((c.name for c in (*cfg.on_call, *cfg.backup) if c.phone and c.phone == sender), None)


def _staff_message(app: Interlude, msg: Inbound, now: datetime, *, screened: bool) -> ReplyResult:
    """A text from an on-call phone: `ACK <code> [outcome]` acknowledges that escalation.

    `screened`: the crisis screen fired on the outcome words ("ACK 123456 took pills, sent to
    the ER"); the acknowledgement stands and the message also waits in the Inbox for a person.
    """
    with app.engine.begin() as conn:
        inbound_id = _store(conn, msg, None, now)
    if inbound_id is None:
        return ReplyResult("duplicate", None, duplicate=True)
    name = _staff_name(app, msg.sender) or "on call"
    words = fold(msg.body).split()
    clinic = app.config.clinic.sms_name
    if len(words) >= 2 and words[0] in ("ack", "acknowledge"):
        try:
            esc = acknowledge(app, words[1], by=f"{name} (sms)", outcome=" ".join(words[2:]) or None)
            reply = f"{clinic}: escalation {esc['code']} acknowledged by {name}. Record the outcome on the staff page."
            kind, attention = "staff-ack", screened
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


# The statements every inbound message runs, built once: building a statement costs more than
# executing it on an indexed lookup (about 150 us against 60 us, measured for the sender lookup).
# A number its holder said is not the patient's no longer speaks for that patient.
_BY_ADDRESS = {
    "sms": select(patients)
    .where(patients.c.phone == bindparam("address"), patients.c.sms_status != "wrong-number")
    .order_by(patients.c.enrolled_at.desc())
    .limit(1),
    "email": select(patients)
    .where(patients.c.email == bindparam("address"))
    .order_by(patients.c.enrolled_at.desc())
    .limit(1),
}
_ROUTED = (
    update(inbound_messages)
    .where(inbound_messages.c.id == bindparam("i"))
    .values(
        kind=bindparam("k"), needs_attention=bindparam("a"), reply=bindparam("r"), checkin_id=bindparam("c")
    )
)
# An automatic acknowledgement sent lately; the options reply of a check-in (`skip`) is not one.
_ACKED_SINCE = select(inbound_messages.c.id).where(
    inbound_messages.c.patient_id == bindparam("patient_id"),
    inbound_messages.c.received_at > bindparam("since"),
    inbound_messages.c.reply.is_not(None),
    inbound_messages.c.kind.in_(INBOX_KINDS),
    inbound_messages.c.id != bindparam("skip"),
)
# The message of this check-in that got the options again (at most one per check-in).
_OPTIONS_SENT = (
    select(inbound_messages.c.id)
    .where(
        inbound_messages.c.checkin_id == bindparam("checkin_id"),
        inbound_messages.c.kind == "checkin-free-text",
        inbound_messages.c.reply.is_not(None),
    )
    .order_by(inbound_messages.c.id)
    .limit(1)
)


def _patient_by_address(conn: Connection, sender: str, channel: str) -> Mapping[Any, Any] | None:
    query = _BY_ADDRESS["sms" if channel == "sms" else "email"]
    return conn.execute(query, {"address": sender}).mappings().first()


def _route(
    app: Interlude,
    conn: Connection,
    msg: Inbound,
    patient: Mapping[Any, Any] | None,
    inbound_id: int,
    now: datetime,
    hit: CrisisHit | None,
    keyword: str | None,
) -> _Route:
    if hit is not None:  # first: "can't stop throwing up" is a symptom, never a revocation
        return _crisis(app, conn, patient, inbound_id, now, hit)
    if msg.opt_out_type:
        return _provider_keyword(app, conn, msg, patient, now)
    if patient is None:
        # Not enrolled: nothing is ever sent to this number, but STOP and HELP are still answered
        # (CTIA: regardless of subscription) and anything else reaches a person.
        templates = {"opt-out": "reply_opt_out", "help": "reply_help"}
        return _Route(
            "unknown-sender",
            templates.get(keyword or ""),
            attention=keyword not in templates,
            language="es" if keyword == "help" and fold(msg.body) == "ayuda" else None,
        )
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
    if keyword in ("tips-off", "tips-on"):
        return _tips(app, conn, msg, patient, now, on=keyword == "tips-on", opted_out=opted_out)
    if keyword == "help":  # HELP, AYUDA...: in the patient's language
        return _Route("help", "reply_help")
    if keyword == "wrong-number":
        return _wrong_number(conn, msg, patient, inbound_id, now)
    answered = _answer(app, conn, msg, patient, inbound_id, now, free_text=keyword in (None, "opt-in"))
    if answered is not None:
        return answered
    kind = "unclear-revocation" if keyword == "unclear-revocation" else "inbox"
    return _to_inbox(app, conn, kind, patient, inbound_id, now)


def _crisis(
    app: Interlude,
    conn: Connection,
    patient: Mapping[Any, Any] | None,
    inbound_id: int,
    now: datetime,
    hit: CrisisHit,
) -> _Route:
    """Escalate, and answer with the resources for what was found; "alerted" only if a page went."""
    if patient is None:
        # A patient writing from a new phone, or someone on their behalf: paged all the same, and
        # a task for whoever reads it in the day to call this number back.
        open_task(
            conn,
            key=f"crisis-unknown:{inbound_id}",
            kind="crisis-unknown-sender",
            now=now,
            detail=f"crisis language ({hit.category}) from a number not enrolled: call back now",
        )
    session_id = _current_session(conn, patient["id"], now) if patient else None
    raised = raise_escalation(
        app,
        conn,
        patient=patient,
        kind="crisis",
        now=now,
        session_id=session_id,
        inbound_id=inbound_id,
        category=hit.category,
    )
    paged = raised.get("paged") is True
    return _Route(
        "crisis",
        f"reply_crisis_{hit.category.replace('-', '_')}",
        attention=True,
        context={"paged": paged},
        fallback="reply_crisis",
    )


def _wrong_number(
    conn: Connection, msg: Inbound, patient: Mapping[Any, Any], inbound_id: int, now: datetime
) -> _Route:
    """The person at this address says it is not the patient's: stop texting it, find the right one.

    No consent event: the person answering is not the patient, whose consent stands for the
    right number. One confirmation is sent, as after a STOP, so the person knows it is done.
    """
    if msg.channel == "sms":
        conn.execute(
            update(patients)
            .where(patients.c.id == patient["id"])
            .values(
                sms_status="wrong-number", sms_status_reason="recipient-says-wrong-number", updated_at=now
            )
        )
    open_task(
        conn,
        key=f"wrong-number:{inbound_id}",
        kind="wrong-number",
        now=now,
        patient_id=patient["id"],
        detail="the person at this number says it is not the patient: find the right number",
    )
    audit.record(
        conn,
        at=now,
        actor="system:replies",
        action="wrong-number",
        entity="patient",
        entity_id=patient["id"],
        reason="recipient-says-wrong-number",
        details={"inbound_id": inbound_id, "channel": msg.channel},
    )
    return _Route("wrong-number", "reply_wrong_number", attention=True)


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


def _tips(
    app: Interlude,
    conn: Connection,
    msg: Inbound,
    patient: Mapping[Any, Any],
    now: datetime,
    *,
    on: bool,
    opted_out: bool,
) -> _Route:
    """TIPS OFF / TIPS ON: education texts on this channel only; reminders and check-ins go on.

    A patient who sent STOP is not subscribed again to tips alone: an education opt-in newer than
    the full opt-out would let tips through while care texts stay off. They are told to send START.
    """
    template = "reply_tips_on" if on else "reply_tips_off"
    if not (on and opted_out):
        consent.record(
            conn,
            patient_id=patient["id"],
            channel=msg.channel,
            purpose="education",
            action="opt_in" if on else "opt_out",
            source="keyword",
            raw_text=msg.body[:500],
            wording_version=_version(app, template),
            now=now,
        )
    return _Route("tips-on" if on else "tips-off", template, context={"all_off": opted_out})


def _active_course_task(conn: Connection, patient: Mapping[Any, Any], now: datetime) -> None:
    """A patient mid-course who stops texts must be reached another way."""
    upcoming = conn.execute(
        select(sessions.c.id).where(
            sessions.c.patient_id == patient["id"],
            sessions.c.status == SessionState.BOOKED,
            sessions.c.start_at > now,
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
    app: Interlude,
    conn: Connection,
    msg: Inbound,
    patient: Mapping[Any, Any],
    inbound_id: int,
    now: datetime,
    *,
    free_text: bool,
) -> _Route | None:
    """The route of an answer to the patient's open (or just closed) question; None when the text
    is not one. `free_text`: no keyword in it, so during a safety check-in it gets the options."""
    question = open_question(conn, patient["id"], now)
    if question is None:
        last = recently_closed(conn, patient["id"])
        step = step_of(app, last["schedule"], last["step_id"]) if last else None
        if last and step and step.expects and parse_answer(msg.body, step.expects):
            return _to_inbox(app, conn, "late-answer", patient, inbound_id, now, checkin_id=last["id"])
        return None
    step = step_of(app, question["schedule"], question["step_id"])
    answer = parse_answer(msg.body, step.expects) if step and step.expects else None
    if answer is None:
        if free_text and question["kind"] == "checkin" and step and step.expects:
            return _checkin_free_text(app, conn, patient, question, step.expects.scale, inbound_id, now)
        return None
    answered = apply_answer(app, conn, patient, question, answer, now, inbound_id=inbound_id)
    if answered is None:  # answered a moment ago (by an email link, say): a person reads this one
        return None
    return _Route(answered.kind, answered.reply_template, answered.attention, checkin_id=question["id"])


def _checkin_free_text(
    app: Interlude,
    conn: Connection,
    patient: Mapping[Any, Any],
    question: Mapping[Any, Any],
    scale: tuple[int, int] | None,
    inbound_id: int,
    now: datetime,
) -> _Route:
    """Words that answer no option of an open safety check-in: the options and the emergency
    line again, once per check-in (the check-in stays open); later ones are ordinary Inbox items.
    Either way a person reads it, flagged as written during a safety check-in."""
    earlier = conn.execute(_OPTIONS_SENT, {"checkin_id": question["id"]}).scalar()
    if earlier is not None:
        return _to_inbox(
            app, conn, "checkin-free-text", patient, inbound_id, now, checkin_id=question["id"], skip=earlier
        )
    paged = page_after_hours_inbox(app, conn, patient=patient, inbound_id=inbound_id, now=now)
    return _Route(
        "checkin-free-text",
        "reply_checkin_options",
        attention=True,
        checkin_id=question["id"],
        context={"paged": paged, "scale": list(scale) if scale else None},
    )


def _to_inbox(
    app: Interlude,
    conn: Connection,
    kind: str,
    patient: Mapping[Any, Any],
    inbound_id: int,
    now: datetime,
    *,
    checkin_id: int | None = None,
    skip: int = 0,
) -> _Route:
    """A message for a person: pages the on-call clinician after hours soon after a session, and
    acknowledges it automatically (always when it paged, else once per `inbox_ack_every`)."""
    paged = page_after_hours_inbox(app, conn, patient=patient, inbound_id=inbound_id, now=now)
    since = now - app.config.escalation.inbox_ack_every
    acked = conn.execute(_ACKED_SINCE, {"patient_id": patient["id"], "since": since, "skip": skip}).first()
    template = "reply_inbox_ack" if paged or acked is None else None
    return _Route(kind, template, attention=True, checkin_id=checkin_id, context={"paged": paged})


def _current_session(conn: Connection, patient_id: int, now: datetime) -> int | None:
    row = conn.execute(
        select(sessions.c.id)
        .where(
            sessions.c.patient_id == patient_id,
            sessions.c.status.in_((SessionState.BOOKED, SessionState.COMPLETED)),
        )
        .order_by((sessions.c.start_at > now).asc(), sessions.c.start_at.desc())
        .limit(1)
    ).first()
    return None if row is None else int(row[0])


def _say(app: Interlude, route: _Route, patient: Mapping[Any, Any] | None) -> str | None:
    """The reply's text in the patient's language: its template, else its fallback; a crisis is
    never left without 911 and 988, whatever fails."""
    clinic_tz = ZoneInfo(app.config.clinic.timezone)
    who = patient or {
        "first_name": "",
        "timezone": app.config.clinic.timezone,
        "detailed_messages": False,
        "language": app.config.messages.default_language,
    }
    language = route.language or who["language"]
    for template in (route.reply_template, route.fallback):
        if template is None:
            continue
        try:
            context = message_context(app.config.clinic, clinic_tz, who, None, language)
            context.update(route.context)
            return app.templates.render(template, "sms", language, context).body
        except TemplateError:
            log.exception("reply template failed", extra={"template": template})
    if route.kind == "crisis":
        return (
            f"{app.config.clinic.sms_name}: if you are in danger or this is a medical emergency, call {app.config.clinic.emergency} now. "
            f"Call or text {app.config.clinic.crisis} any time. After hours: {app.config.clinic.after_hours_phone}."
        )
    return None


def _version(app: Interlude, template: str) -> str:
    """Which wording the patient was shown: template name and a short hash of its English SMS."""
    path = f"{template}/{app.config.messages.default_language}/sms.txt"
    try:  # the wording in effect, edits included
        digest = hashlib.sha256(app.templates.source(path).encode("utf-8")).hexdigest()[:8]
    except TemplateError:
        digest = "missing"
    return f"{template}@{digest}"


# The Inbox read model and marking an item handled live in services/inbox.py; kept importable
# from here for the API and the command line.
inbox = inbox_module.inbox
mark_handled = inbox_module.mark_handled


# --- staff answers from the inbox ---------------------------------------------------------------

STAFF_REPLY = "staff_reply"  # renders the free text staff wrote: "{{ clinic.sms_name }}: {{ text }}"
QUICK_PREFIX = "staff_reply_"  # prepared answers: messages/staff_reply_*/<lang>/sms.txt
ANSWER_MAX = 320  # at most 3 GSM-7 segments with the clinic's name in front
_PLAIN = str.maketrans(AVOIDABLE)  # a phone keyboard's curly quote would make the SMS UCS-2


def quick_answers(app: Interlude) -> list[str]:
    """The prepared answers staff may send from the inbox (templates named staff_reply_*)."""
    return [name for name in app.templates.names() if name.startswith(QUICK_PREFIX)]


def answer_refusal(conn: Connection, patient: Mapping[Any, Any] | None) -> str | None:
    """Why this sender may not be answered by SMS now; None when they may."""
    if patient is None:
        return "not an enrolled patient: nothing is ever texted to this number"
    if not patient["phone"] or "sms" not in patient["channels"] or patient["sms_status"] != "ok":
        return "the patient has no number that can receive texts: call or email them"
    if not consent.allows_now(conn, patient["id"], "sms"):
        return "the patient has opted out of texts: call them instead"
    return None


def answer_inbound(
    app: Interlude, inbound_id: int, by: str, *, template: str | None = None, text: str | None = None
) -> dict[str, Any]:
    """Answer an inbox item by SMS with a prepared `template` or free `text`.

    Queues one outbox row for the dispatcher (which checks consent and quiet hours again before
    it sends), marks the item handled and records an audit event, in one transaction. Returns
    the outbox id and when it is due. Raises NotFound, InvalidInput (field "template" or
    "text") or Conflict when someone handled the item already.
    """
    now = app.clock()
    with app.engine.begin() as conn:
        query = select(inbound_messages).where(inbound_messages.c.id == inbound_id)
        row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound("inbox item", inbound_id)
        who = select(patients).where(patients.c.id == row["patient_id"])
        patient = conn.execute(who).mappings().first() if row["patient_id"] else None
        refusal = answer_refusal(conn, patient)
        if refusal or patient is None:
            raise InvalidInput({"text": refusal or "no patient"})
        template, context = _answer_content(app, template, text)
        taken = conn.execute(
            update(inbound_messages)
            .where(inbound_messages.c.id == inbound_id, inbound_messages.c.needs_attention.is_(True))
            .values(needs_attention=False, handled_at=now, handled_by=by)
        )
        if taken.rowcount != 1:  # a double submit, or a colleague was quicker: never two answers
            done_by = conn.execute(
                select(inbound_messages.c.handled_by).where(inbound_messages.c.id == inbound_id)
            ).scalar()
            raise Conflict(
                f"this message was handled already by {(done_by or 'someone').removeprefix('staff:')}"
            )
        outbox_id, due = _queue_answer(app, conn, inbound_id, patient, template, context, now)
        audit.record(
            conn,
            at=now,
            actor=by,
            action="inbox-answered",
            entity="inbound",
            entity_id=inbound_id,
            details={"outbox_id": outbox_id, "template": template},
        )
    log.info("inbox answered", extra={"inbound_id": inbound_id, "outbox_id": outbox_id})
    return {"outbox_id": outbox_id, "due_at": due, "template": template}


def _answer_content(
    app: Interlude, template: str | None, text: str | None
) -> tuple[str, dict[str, Any] | None]:
    if template:
        if template not in quick_answers(app):
            raise InvalidInput({"template": "choose one of the prepared answers"})
        return template, None
    clean = (text or "").replace("\r\n", "\n").translate(_PLAIN).strip()
    if not clean:
        raise InvalidInput({"text": "write the answer, or choose a prepared one"})
    if len(clean) > ANSWER_MAX:
        raise InvalidInput({"text": f"{len(clean)} characters; at most {ANSWER_MAX}"})
    return STAFF_REPLY, {"text": clean}


def _queue_answer(
    app: Interlude,
    conn: Connection,
    inbound_id: int,
    patient: Mapping[Any, Any],
    template: str,
    context: dict[str, Any] | None,
    now: datetime,
) -> tuple[int, datetime]:
    """One pending outbox row, due now or when the patient's quiet hours end."""
    tz = ZoneInfo(patient["timezone"])
    spot = place(now, now=now, send_by=None, policy="defer", window=app.window, tz=tz, may_override=False)
    due = spot.at or now
    earlier = conn.execute(
        select(func.count())
        .select_from(outbox)
        .where(outbox.c.dedupe_key.like(staff_reply_prefix(inbound_id) + "%"))
    ).scalar_one()
    row = staff_reply(
        inbound_id,
        earlier + 1,
        patient_id=patient["id"],
        template=template,
        context=context,
        due_at=due,
        reason=spot.reason,
        now=now,
    )
    return enqueue(conn, row), due
