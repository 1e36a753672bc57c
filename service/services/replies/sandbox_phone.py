"""The sandbox phone: a patient's texts as their phone would show them, and replies typed as them.

While SMS goes to the sandbox transport nothing reaches a real phone, so a clinic tries Interlude
here: what the sandbox "sent" to the patient's number, what the patient texted back and the
automatic answers, in order. A reply typed here goes through the same pipeline as a real inbound
text (replies.handle_inbound), so consent, check-in answers, escalations and the inbox all follow.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from ...db.tables import delivery_attempts, inbound_messages, patients, sandbox_messages
from ...runtime import Interlude
from .. import audit
from ..errors import InvalidInput, NotFound
from ..outbox.deliveries import mask_phone
from ..patients import get_patient
from .inbound import Inbound, ReplyResult, handle_inbound

log = logging.getLogger("interlude.sandbox_phone")

# Twilio refuses a message body longer than 1,600 characters; a real phone could not send more.
MAX_TEXT = 1600
LIST_LIMIT = 200

# What the reply pipeline made of each of the patient's texts, said for staff trying it out.
HANDLED_AS = {
    "crisis": "crisis language: escalated to on call",
    "concerning-answer": "concerning answer: escalated to on call",
    "answer": "check-in answer recorded",
    "late-answer": "late answer: to the inbox",
    "clearance-yes": "ready: session cleared",
    "clearance-no": "not ready: task for staff",
    "opt-out": "opt-out recorded",
    "opt-in": "opt-in recorded",
    "help": "help answered",
    "inbox": "to the inbox",
    "unclear-revocation": "unclear request: to the inbox",
}


@dataclass(frozen=True)
class Bubble:
    """One message on the phone: "in" reached the phone, "out" was texted by the patient."""

    direction: str
    body: str
    at: datetime
    note: str | None = None


def _sent_at() -> Any:
    # The transport stamps rows with the wall clock; the attempt row carries the service clock
    # the rest of the conversation is timed by (and a fake clock in tests).
    return func.coalesce(delivery_attempts.c.created_at, sandbox_messages.c.created_at)


def _with_attempts() -> Any:
    return sandbox_messages.outerjoin(
        delivery_attempts, delivery_attempts.c.id == sandbox_messages.c.attempt_id
    )


def _sent(phone: str) -> Any:
    return (
        select(sandbox_messages.c.id, sandbox_messages.c.body, _sent_at().label("at"))
        .select_from(_with_attempts())
        .where(sandbox_messages.c.channel == "sms", sandbox_messages.c.recipient == phone)
        .order_by(sandbox_messages.c.id)
    )


def phones(app: Interlude, limit: int = LIST_LIMIT) -> list[dict[str, Any]]:
    """Patients with a phone number, most recent texts first: id, name, masked number, last_at."""
    with app.reader.connect() as conn:
        people = list(
            conn.execute(
                select(patients.c.id, patients.c.first_name, patients.c.last_name, patients.c.phone)
                .where(patients.c.phone.is_not(None))
                .order_by(patients.c.last_name, patients.c.first_name, patients.c.id)
            ).mappings()
        )
        sent = _latest(
            conn.execute(
                select(sandbox_messages.c.recipient, func.max(_sent_at()))
                .select_from(_with_attempts())
                .where(sandbox_messages.c.channel == "sms")
                .group_by(sandbox_messages.c.recipient)
            )
        )
        texted = _latest(
            conn.execute(
                select(inbound_messages.c.patient_id, func.max(inbound_messages.c.received_at))
                .where(inbound_messages.c.channel == "sms", inbound_messages.c.patient_id.is_not(None))
                .group_by(inbound_messages.c.patient_id)
            )
        )
    rows = [_listed(p, sent.get(p["phone"]), texted.get(p["id"])) for p in people]
    rows.sort(key=lambda r: (r["last_at"] is None, -(r["last_at"].timestamp() if r["last_at"] else 0)))
    return rows[:limit]


def _latest(rows: Any) -> dict[Any, datetime]:
    # Not dict(rows): a Result has keys(), so dict() would read it as a mapping of columns.
    return {key: at for key, at in rows}


def _listed(p: Mapping[Any, Any], *times: datetime | None) -> dict[str, Any]:
    known = [t for t in times if t is not None]
    return {
        "id": p["id"],
        "name": f"{p['first_name']} {p['last_name']}",
        "phone": mask_phone(p["phone"]),
        "last_at": max(known) if known else None,
    }


def conversation(app: Interlude, patient_id: int) -> dict[str, Any]:
    """The patient's SMS conversation, oldest first, with the count of emails sent to them.

    Raises NotFound when there is no such patient or the patient has no phone number.
    """
    with app.reader.connect() as conn:
        patient = _with_phone(conn, patient_id)
        received = [
            ((r["at"], 0, i, 0), Bubble("in", r["body"], r["at"]))
            for i, r in enumerate(conn.execute(_sent(patient["phone"])).mappings())
        ]
        texted = _texted(conn, patient_id)
        emails = _emails(conn, patient["email"])
    # On a tie (one tick of a fake clock) what reached the phone came first; a reply follows its text.
    bubbles = [b for _, b in sorted(received + texted, key=lambda kv: kv[0])]
    return {
        "patient": {
            "id": patient["id"],
            "first_name": patient["first_name"],
            "initial": patient["last_name"][:1],
            "phone": mask_phone(patient["phone"]),
        },
        "bubbles": bubbles,
        "emails": emails,
    }


def _texted(conn: Connection, patient_id: int) -> list[tuple[tuple[Any, ...], Bubble]]:
    """The patient's own texts, each followed by the automatic reply the pipeline answered with."""
    rows = conn.execute(
        select(inbound_messages)
        .where(inbound_messages.c.patient_id == patient_id, inbound_messages.c.channel == "sms")
        .order_by(inbound_messages.c.received_at, inbound_messages.c.id)
    ).mappings()
    out: list[tuple[tuple[Any, ...], Bubble]] = []
    for i, t in enumerate(rows):
        at = t["received_at"]
        out.append(((at, 1, i, 0), Bubble("out", t["body"], at, HANDLED_AS.get(t["kind"], t["kind"]))))
        if t["reply"]:
            out.append(((at, 1, i, 1), Bubble("in", t["reply"], at, "automatic reply")))
    return out


def _with_phone(conn: Connection, patient_id: int) -> Mapping[Any, Any]:
    patient = get_patient(conn, patient_id)
    if not patient["phone"]:
        raise NotFound("patient phone", patient_id)
    return patient


def _emails(conn: Connection, address: str | None) -> int:
    if not address:
        return 0
    return int(
        conn.execute(
            select(func.count())
            .select_from(sandbox_messages)
            .where(sandbox_messages.c.channel == "email", sandbox_messages.c.recipient == address)
        ).scalar_one()
    )


def reply_as_patient(app: Interlude, patient_id: int, text: str, actor: str) -> ReplyResult:
    """Text `text` from the patient's phone through the real reply pipeline; returns its result.

    Raises InvalidInput (field "body") for an empty or over-long text, NotFound for a patient
    without a phone. The staff member who typed it is on the audit trail.
    """
    body = text.replace("\r\n", "\n")
    if not body.strip():
        raise InvalidInput({"body": "Type a text to send."})
    if len(body) > MAX_TEXT:
        raise InvalidInput(
            {"body": f"A text can be at most {MAX_TEXT:,} characters (this one is {len(body):,})."}
        )
    with app.reader.connect() as conn:
        phone = _with_phone(conn, patient_id)["phone"]
    result = handle_inbound(app, Inbound(provider_id="SB" + uuid.uuid4().hex, sender=phone, body=body))
    with app.engine.begin() as conn:
        audit.record(
            conn,
            at=app.clock(),
            actor=actor,
            action="sandbox-reply",
            entity="patient",
            entity_id=patient_id,
            details={"inbound_id": result.inbound_id, "kind": result.kind},
        )
    log.info("sandbox reply", extra={"patient_id": patient_id, "kind": result.kind})
    return result
