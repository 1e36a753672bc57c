"""One-tap answers to a check-in or clearance question sent by email: signed links, and the
answer they record.

Nothing reads replies to our emails, so an email question carries one link per answer. A link's
token is signed with INTERLUDE_SECRET_KEY (as unsubscribe links are) under its own salt and a
purpose string, and names the message that asked the question, the answer and when it stops
working (the question's window). It is checked again against the database when used: the
check-in must still be open, and an answer counts once.

Opening a link (GET) only shows the question: mail scanners and previews open every link in an
email. The answer is recorded by the page's button (POST), through the same `apply_answer` as an
answer by text: the same escalation, clearance and check-in state.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Connection, select

from ...db.tables import checkins, inbound_messages, outbox, patients, sessions
from ...db.upsert import insert_if_absent
from ...domain.answers import answer_codes, parse_answer
from ...domain.origin import REMINDER_STEP
from ...domain.schedule import ReplyExpectation
from ...runtime import Interlude
from ...template_context import answer_label, answer_links, message_context
from ...templates import TemplateError
from .checkins import apply_answer, step_of

log = logging.getLogger("interlude.replies")

_SALT = "interlude.answer-link.v1"
PURPOSE = "checkin-answer"
PATH = "/r/"
TOKEN_MAX = 300  # longer is not one of ours: never parsed


@dataclass(frozen=True)
class Claim:
    """What a token says: the message that asked, the answer, until when it works."""

    outbox_id: int
    answer: str
    expires_at: datetime


def _signer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=_SALT)


def make_token(
    secret_key: str, outbox_id: int, answer: str, expires_at: datetime, purpose: str = PURPOSE
) -> str:
    payload = {"p": purpose, "o": outbox_id, "a": answer, "e": int(expires_at.timestamp())}
    return str(_signer(secret_key).dumps(payload))


def read_token(secret_key: str | None, token: str) -> Claim | None:
    """The claim of a token of ours made for answering; None when forged, damaged or made for
    another purpose."""
    if not secret_key or len(token) > TOKEN_MAX:
        return None
    try:
        value = _signer(secret_key).loads(token)
    except BadSignature:
        return None
    if not isinstance(value, dict) or value.get("p") != PURPOSE:
        return None
    outbox_id, answer, expires = value.get("o"), value.get("a"), value.get("e")
    if not (isinstance(outbox_id, int) and isinstance(answer, str) and isinstance(expires, int)):
        return None
    return Claim(outbox_id, answer, datetime.fromtimestamp(expires, UTC))


# --- the links an email question carries ---------------------------------------------------------


def links_for(app: Interlude, row: Mapping[Any, Any], language: str, now: datetime) -> list[tuple[str, str]]:
    """The `answer_links` of an email to a patient that asks a question (its step expects an
    answer, or it is the reminder of an open check-in); empty for any other message, and when no
    secret key signs links."""
    secret_key = app.config.secrets.secret_key
    if not secret_key or row["channel"] != "email" or row["audience"] != "patient":
        return []
    asked = _question_of(app, row, now)
    if asked is None:
        return []
    question_id, expects, expires_at = asked
    base = app.config.web.public_base_url.rstrip("/")

    def url_of(code: str) -> str:
        return f"{base}{PATH}{make_token(secret_key, question_id, code, expires_at)}"

    return answer_links(expects, language, url_of)


def _question_of(
    app: Interlude, row: Mapping[Any, Any], now: datetime
) -> tuple[int, ReplyExpectation, datetime] | None:
    """(the id of the message that asks, what it expects, when its window closes)."""
    if row["step_id"] == REMINDER_STEP:
        with app.reader.connect() as conn:
            checkin = _latest_open(conn, row, now)
        step = step_of(app, checkin["schedule"], checkin["step_id"]) if checkin else None
        if checkin is None or step is None or step.expects is None:
            return None
        return int(checkin["outbox_id"]), step.expects, checkin["closes_at"]
    step = step_of(app, row["schedule"], row["step_id"])
    if step is None or step.expects is None:
        return None
    # The check-in opens when this message is sent, that is now: its window closes then.
    return int(row["id"]), step.expects, now + step.expects.window


def _latest_open(conn: Connection, row: Mapping[Any, Any], now: datetime) -> Mapping[Any, Any] | None:
    return (
        conn.execute(
            select(checkins)
            .where(
                checkins.c.patient_id == row["patient_id"],
                checkins.c.session_id == row["session_id"],
                checkins.c.schedule == row["schedule"],
                checkins.c.state == "open",
                checkins.c.closes_at > now,
            )
            .order_by(checkins.c.opened_at.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )


# --- using a link ----------------------------------------------------------------------------------


@dataclass
class Use:
    """What a link leads to. status: "open" (the question waits for this answer), "recorded"
    (just now), "already" (answered before), "closed" (its window passed), "invalid" (not ours,
    damaged, made for another purpose, or an answer this question does not take)."""

    status: str
    language: str = "en"
    kind: str = "checkin"
    answer: str = ""
    scale: tuple[int, int] | None = None
    choices: list[tuple[str, str, bool]] = field(default_factory=list)  # (label, token, tapped)
    session_date: str | None = None
    reply: str | None = None


def look(app: Interlude, token: str, now: datetime | None = None) -> Use:
    """The question a link answers, for its page; changes nothing."""
    now = now or app.clock()
    with app.reader.connect() as conn:
        found = _resolve(app, conn, token, now)
    return found if isinstance(found, Use) else found.use


def answer(app: Interlude, token: str, now: datetime | None = None) -> Use:
    """Record the link's answer once, as an answer by text would be recorded."""
    now = now or app.clock()
    with app.engine.begin() as conn:
        found = _resolve(app, conn, token, now)
        if isinstance(found, Use):
            return found
        use = found.use
        parsed = parse_answer(use.answer, found.expects)
        if parsed is None:  # checked in _resolve; kept for the type checker
            return Use("invalid", use.language)
        # The link's answer is kept in the patient's thread like a text, once per check-in: the
        # unique provider id is what makes a second tap (or a double submit) change nothing.
        inbound_id = insert_if_absent(
            conn,
            inbound_messages,
            {
                "provider_id": f"answer-link:{found.checkin['id']}",
                "channel": "email",
                "sender": found.patient["email"] or "answer link",
                "patient_id": found.patient["id"],
                "body": f"[answer link] {use.answer}",
                "received_at": now,
                "kind": "received",
                "needs_attention": False,
                "checkin_id": found.checkin["id"],
            },
            "provider_id",
        )
        if inbound_id is None:
            use.status = "already"
            return use
        answered = apply_answer(app, conn, found.patient, found.checkin, parsed, now, inbound_id=inbound_id)
        if answered is None:
            # Answered by text in the meantime: this tap changed nothing, and says so.
            conn.execute(inbound_messages.delete().where(inbound_messages.c.id == inbound_id))
            use.status = "already"
            return use
        use.reply = _reply(app, found.patient, answered.reply_template, use.language)
        conn.execute(
            inbound_messages.update()
            .where(inbound_messages.c.id == inbound_id)
            .values(kind=answered.kind, needs_attention=answered.attention, reply=use.reply)
        )
    log.info(
        "answer link used",
        extra={"kind": answered.kind, "patient_id": found.patient["id"], "checkin_id": found.checkin["id"]},
    )
    use.status = "recorded"
    return use


@dataclass
class _Found:
    use: Use
    checkin: Mapping[Any, Any]
    patient: Mapping[Any, Any]
    expects: ReplyExpectation


def _resolve(app: Interlude, conn: Connection, token: str, now: datetime) -> _Found | Use:
    secret_key = app.config.secrets.secret_key
    claim = read_token(secret_key, token)
    if claim is None or secret_key is None:
        return Use("invalid", app.config.messages.default_language)
    asked = conn.execute(select(outbox).where(outbox.c.id == claim.outbox_id)).mappings().first()
    if asked is None or asked["patient_id"] is None:
        return Use("invalid", app.config.messages.default_language)
    patient = conn.execute(select(patients).where(patients.c.id == asked["patient_id"])).mappings().first()
    if patient is None:
        return Use("invalid", app.config.messages.default_language)
    language = patient["language"]
    step = step_of(app, asked["schedule"], asked["step_id"])
    expects = step.expects if step else None
    if expects is None:
        return Use("invalid", language)
    parsed = parse_answer(claim.answer, expects)
    if parsed is None or parsed.code != claim.answer:
        return Use("invalid", language)
    checkin = _checkin_of(conn, asked)
    use = Use("open", language, expects.kind, claim.answer, expects.scale)
    use.choices = [
        (
            answer_label(expects, code, language),
            make_token(secret_key, claim.outbox_id, code, claim.expires_at),
            code == claim.answer,
        )
        for code in answer_codes(expects)
    ]
    session_id = checkin["session_id"] if checkin else asked["session_id"]
    use.session_date = _session_date(app, conn, session_id, patient, language)
    if checkin is not None and checkin["answered_at"] is not None:
        use.status = "already"
        return use
    if (
        checkin is None
        or checkin["state"] != "open"
        or checkin["closes_at"] <= now
        or claim.expires_at <= now
    ):
        use.status = "closed"
        return use
    return _Found(use, checkin, patient, expects)


def _checkin_of(conn: Connection, asked: Mapping[Any, Any]) -> Mapping[Any, Any] | None:
    """The check-in the message `asked` opened, or the one the same question by the other
    channel opened (a question sent by text and by email is one question)."""
    query = (
        select(checkins)
        .join(outbox, outbox.c.id == checkins.c.outbox_id)
        .where(
            outbox.c.patient_id == asked["patient_id"],
            outbox.c.schedule == asked["schedule"],
            outbox.c.step_id == asked["step_id"],
            outbox.c.occurrence == asked["occurrence"],
        )
        .order_by(checkins.c.opened_at.desc())
        .limit(1)
    )
    if asked["session_id"] is None:
        query = query.where(outbox.c.session_id.is_(None))
    else:
        query = query.where(outbox.c.session_id == asked["session_id"])
    return conn.execute(query).mappings().first()


def _session_date(
    app: Interlude, conn: Connection, session_id: int | None, patient: Mapping[Any, Any], language: str
) -> str | None:
    if session_id is None:
        return None
    session = conn.execute(select(sessions).where(sessions.c.id == session_id)).mappings().first()
    if session is None:
        return None
    context = message_context(app.config.clinic, app.clinic_tz, patient, session, language)
    return str(context["session"]["date"])


def _reply(app: Interlude, patient: Mapping[Any, Any], template: str, language: str) -> str | None:
    """The same words a text answer gets back, shown on the page."""
    try:
        context = message_context(app.config.clinic, app.clinic_tz, patient, None, language)
        return app.templates.render(template, "sms", language, context).body
    except TemplateError:
        log.exception("reply template failed", extra={"template": template})
        return None
