"""What follows a failed delivery: the consent ledger, unusable numbers, fallback, staff tasks.

Transports only classify (permanent / retryable / ambiguous, with the provider's code); the
dispatcher retries and records. Once a message has finally failed, at send time or later by a
status callback, `after_failure` decides what else must happen (codes: Twilio's public error
dictionary, https://www.twilio.com/docs/api/errors):

- 21610, the number opted out at Twilio (STOP): a consent event with source "provider", so
  nothing more is sent to it by SMS until the patient opts in again;
- 21211, 21614, 21635, 30005, 30006, the number cannot receive SMS: the patient's sms_status
  becomes "unusable" and staff get a task to correct it;
- an email address the relay refuses (5xx at RCPT): a staff task;
- a preparation or safety message goes by the other channel when the patient has it (recorded in
  the audit trail and as a row whose dedupe key names the failed one); when it cannot, staff get
  a task to reach the patient themselves.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from ...db.tables import delivery_attempts, outbox, patients, sessions
from ...domain import delivery
from ...domain.consent import allows, purpose_of
from ...domain.session_state import SessionState
from ...runtime import Interlude
from ...transports.base import TransportError
from .. import audit, consent, tasks
from .enqueue import enqueue_if_absent, fallback

log = logging.getLogger("interlude.delivery")
ACTOR = "system:delivery"
OPTED_OUT = "21610"
UNUSABLE_NUMBER = frozenset({"21211", "21614", "21635", "30005", "30006"})
FALLBACK_CATEGORIES = frozenset({"prep", "safety"})
# What staff read next to a code (Twilio: its error dictionary; SMTP: RFC 5321 reply classes).
MEANINGS = {
    "21610": "the number replied STOP (opted out at Twilio)",
    "21211": "not a valid phone number",
    "21614": "not a mobile number",
    "21635": "a landline",
    "30003": "handset unreachable",
    "30004": "blocked by the recipient or carrier",
    "30005": "unknown or inactive number",
    "30006": "landline or unreachable carrier",
    "30007": "filtered as spam by the carrier",
    "30008": "unknown carrier error",
    "20429": "Twilio rate limit",
    "20003": "Twilio rejected our credentials",
    "timeout": "no answer after the request left: may have been sent",
    "connection-refused": "provider unreachable",
}
_ALIVE = frozenset({delivery.PENDING, delivery.SENDING, delivery.SENT, delivery.UNKNOWN})


def register(app: Interlude) -> None:
    """Attach the policy to the dispatcher's (and the status callback's) failure hook."""

    def on_failed(conn: Connection, row: Mapping[Any, Any], error: TransportError, now: datetime) -> None:
        after_failure(app, conn, row, error, now)

    app.hooks.on_failed.append(on_failed)


def meaning(code: str | None) -> str | None:
    """A few words for staff about a provider code, when we know it."""
    if code is None:
        return None
    if code.startswith("smtp-"):
        phase, _, reply = code[5:].partition("-")
        if reply[:1] == "5":
            return "the mail server refused the address" if phase == "rcpt" else "the mail server refused it"
        if reply[:1] == "4":
            return "the mail server asked to try later"
    return MEANINGS.get(code)


def after_failure(
    app: Interlude, conn: Connection, row: Mapping[Any, Any], error: TransportError, now: datetime
) -> list[str]:
    """Act on a final failure of `row`; returns what was done (kebab-case codes).

    Runs inside the caller's transaction, in a savepoint: a policy that breaks is logged and
    leaves the failure itself recorded.
    """
    if row["audience"] != "patient":
        return []
    try:
        with conn.begin_nested():
            actions = _act(app, conn, row, error, now)
    except Exception as exc:  # a broken policy must not undo the recorded failure
        # No traceback: database errors print their parameters, and those may be PHI.
        extra = {"outbox_id": row["id"], "code": error.code, "error": type(exc).__name__}
        log.error("delivery policy failed", extra=extra)
        return ["policy-error"]
    log.info(
        "delivery failure handled",
        extra={"outbox_id": row["id"], "code": error.code, "reason": ",".join(actions) or "none"},
    )
    return actions


def _act(
    app: Interlude, conn: Connection, row: Mapping[Any, Any], error: TransportError, now: datetime
) -> list[str]:
    patient: Mapping[Any, Any] = (
        conn.execute(select(patients).where(patients.c.id == row["patient_id"])).mappings().one()
    )
    actions: list[str] = []
    code = error.code or ""
    if row["channel"] == "sms" and code == OPTED_OUT:
        actions.append(_provider_opt_out(conn, patient, now))
    elif row["channel"] == "sms" and code in UNUSABLE_NUMBER:
        actions.append(_mark_unusable(conn, patient, code, now))
        patient = {**patient, "sms_status": "unusable"}
    elif row["channel"] == "email" and code.startswith("smtp-rcpt-5"):
        actions.append(_email_refused(conn, patient, code, now))
    if row["category"] in FALLBACK_CATEGORIES:
        actions.append(_fall_back(app, conn, row, patient, code, now))
    return actions


def _digest(value: str | None) -> str:
    """A short stable name for an address, for task keys (a new number gets a new task)."""
    return hashlib.sha256((value or "").encode()).hexdigest()[:12]


def _provider_opt_out(conn: Connection, patient: Mapping[Any, Any], now: datetime) -> str:
    if not allows(consent.events(conn, patient["id"]), "sms", "care"):
        return "opted-out-already"
    # Twilio blocks every message from this sender (or Messaging Service) to the number: all purposes.
    consent.record(
        conn,
        patient_id=patient["id"],
        channel="sms",
        action="opt_out",
        source="provider",
        now=now,
        purpose="all",
        raw_text=f"twilio error {OPTED_OUT}",
    )
    return "opted-out"


def _mark_unusable(conn: Connection, patient: Mapping[Any, Any], code: str, now: datetime) -> str:
    conn.execute(
        update(patients)
        .where(patients.c.id == patient["id"])
        .values(sms_status="unusable", sms_status_reason=f"twilio-{code}", updated_at=now)
    )
    tasks.open_task(
        conn,
        key=f"sms-unusable:p{patient['id']}:{_digest(patient['phone'])}",
        kind="sms-unusable",
        now=now,
        detail=f"Twilio {code} ({MEANINGS.get(code)}): check the patient's mobile number; SMS is paused.",
        patient_id=patient["id"],
    )
    audit.record(
        conn,
        at=now,
        actor=ACTOR,
        action="sms-unusable",
        entity="patient",
        entity_id=patient["id"],
        reason=f"twilio-{code}",
    )
    return "number-unusable"


def _email_refused(conn: Connection, patient: Mapping[Any, Any], code: str, now: datetime) -> str:
    tasks.open_task(
        conn,
        key=f"email-refused:p{patient['id']}:{_digest(patient['email'])}",
        kind="email-refused",
        now=now,
        detail=f"The mail server refused the patient's email address ({code}): check it.",
        patient_id=patient["id"],
    )
    return "email-refused"


def _fall_back(
    app: Interlude,
    conn: Connection,
    row: Mapping[Any, Any],
    patient: Mapping[Any, Any],
    code: str,
    now: datetime,
) -> str:
    """Send the same message by the other channel, or tell staff why it cannot be."""
    other = "email" if row["channel"] == "sms" else "sms"
    siblings = conn.execute(
        select(outbox.c.status).where(
            outbox.c.patient_id == row["patient_id"],
            outbox.c.session_id.is_(None)
            if row["session_id"] is None
            else outbox.c.session_id == row["session_id"],
            outbox.c.step_id == row["step_id"],
            outbox.c.channel == other,
            outbox.c.occurrence == row["occurrence"],
        )
    ).scalars()
    statuses = set(siblings)
    if statuses & _ALIVE:
        return "covered-by-" + other  # the step goes (or went) by that channel anyway
    why = _why_not(app, conn, row, patient, other) or ("both-failed" if delivery.FAILED in statuses else None)
    if why is not None:
        _undeliverable(conn, row, code, why, now)
        return f"no-fallback:{why}"
    new_id = enqueue_if_absent(conn, fallback(row, other, now))
    audit.record(
        conn,
        at=now,
        actor=ACTOR,
        action="delivery-fallback",
        entity="outbox",
        entity_id=row["id"],
        reason=f"{row['channel']} failed ({code or 'unknown'}); sent again by {other}",
        details={"fallback_outbox_id": new_id, "channel": other, "code": code},
    )
    return f"fallback-{other}"


def _why_not(
    app: Interlude, conn: Connection, row: Mapping[Any, Any], patient: Mapping[Any, Any], other: str
) -> str | None:
    address = patient["email"] if other == "email" else patient["phone"]
    if not address or other not in patient["channels"]:
        return f"no-{other}-contact"
    if other == "sms" and patient["sms_status"] != "ok":
        return "sms-unusable"
    if not allows(consent.events(conn, patient["id"]), other, purpose_of(row["category"])):
        return f"{other}-opted-out"
    if not app.templates.has(row["template"], other, patient["language"]):
        return f"no-{other}-template"
    return None


def _undeliverable(conn: Connection, row: Mapping[Any, Any], code: str, why: str, now: datetime) -> None:
    tasks.open_task(
        conn,
        key=f"undelivered:o{row['id']}",
        kind="undelivered",
        now=now,
        detail=(
            f"{row['category']} message {row['step_id']} (#{row['id']}) failed by {row['channel']} "
            f"({code or 'unknown'}) and cannot go another way ({why}): contact the patient."
        ),
        patient_id=row["patient_id"],
        session_id=row["session_id"],
        due_at=row["send_by"],
    )


# --- preparation that nobody has confirmed ------------------------------------------------------

# Attempt states that confirm a preparation message reached the patient. Twilio reports delivery
# by status callback; an SMTP relay's acceptance is as far as email can be confirmed.
_CONFIRMED = {"sms": frozenset({"delivered", "read"}), "email": frozenset({"sent", "delivered", "read"})}
# A send this recent may still be confirmed by its status callback: wait before telling staff.
CONFIRM_GRACE = timedelta(minutes=10)


def sweep_unconfirmed_prep(app: Interlude, now: datetime | None = None) -> int:
    """Open a staff task for each booked session starting within `[delivery]
    prep_unconfirmed_before` whose preparation has no confirmed delivery. Returns tasks opened."""
    now = now or app.clock()
    opened = 0
    with app.engine.begin() as conn:
        due = conn.execute(
            select(sessions).where(
                sessions.c.status == SessionState.BOOKED,
                sessions.c.start_at > now,
                sessions.c.start_at <= now + app.config.delivery.prep_unconfirmed_before,
            )
        ).mappings()
        for session in list(due):
            if _prep_state(conn, session, now) != "unconfirmed":
                continue
            hours = max(1, round((session["start_at"] - now).total_seconds() / 3600))
            task = tasks.open_task(
                conn,
                key=f"prep-unconfirmed:s{session['id']}:{session['occurrence']}",
                kind="prep-unconfirmed",
                now=now,
                detail=f"No preparation message is confirmed delivered; the session starts in about {hours} h: call the patient.",
                patient_id=session["patient_id"],
                session_id=session["id"],
                due_at=session["start_at"],
            )
            if task is not None:
                opened += 1
                log.info(
                    "prep unconfirmed", extra={"session_id": session["id"], "reason": "prep-unconfirmed"}
                )
    return opened


def _prep_state(conn: Connection, session: Mapping[Any, Any], now: datetime) -> str:
    """ "none" (no preparation planned), "confirmed", "waiting" (a send may still confirm) or "unconfirmed"."""
    rows = list(
        conn.execute(
            select(outbox).where(
                outbox.c.session_id == session["id"],
                outbox.c.category == "prep",
                outbox.c.audience == "patient",
                outbox.c.occurrence == session["occurrence"],
            )
        ).mappings()
    )
    if not rows:
        return "none"
    attempts = conn.execute(
        select(delivery_attempts).where(delivery_attempts.c.outbox_id.in_([r["id"] for r in rows]))
    ).mappings()
    waiting = any(
        r["status"] == delivery.SENDING
        or (r["status"] == delivery.PENDING and r["next_attempt_at"] <= now + CONFIRM_GRACE)
        for r in rows
    )
    for a in attempts:
        if a["status"] in _CONFIRMED.get(a["channel"], frozenset()):
            return "confirmed"
        if a["status"] not in delivery.ATTEMPT_TERMINAL and a["created_at"] >= now - CONFIRM_GRACE:
            waiting = True
    return "waiting" if waiting else "unconfirmed"
