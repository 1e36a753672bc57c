"""The HL7 v2 scheduling feed: one SIU message in, its ACK out, the booking applied once.

Each message is answered (HL7 original-mode acknowledgement, MSA-1):
- AA: applied, or a repeat of a control id already applied (acknowledged, not applied twice),
  or older than the last message applied for the same appointment (not applied, see below);
- AE: an SIU message whose content is wrong (a start missing, a visit type the clinic has not
  mapped...), MSA-3 and ERR saying which field ("SCH-11: start time missing");
- AR: a message that cannot be processed (not HL7, not SIU, an event not taken).
A failure of our own (the database unreachable) raises: the listener then answers nothing and
closes the connection, so the sender sends the message again, and the repeat is safe.

Repeats: the control id (MSH-10, with the sender MSH-3^MSH-4) of each message acknowledged AA is
kept in feed_messages (source "hl7"). A message answered AE or AR is not kept: the same control
id sent again after a fix of the config is processed anew.

Order: messages of one appointment can arrive out of order (a resend after a timeout, two
interfaces). The message time (MSH-7) of the last applied message of each appointment is kept in
feed_messages too (source "hl7-appointment", message_id the appointment id, detail the time in
UTC ISO 8601); a message strictly older than it is acknowledged and not applied, so an old S13
never moves a session back and never books again a session cancelled since.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hl7.containers import Message
from sqlalchemy import Connection, Row, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..db.tables import feed_messages
from ..domain import hl7_siu
from ..domain.hl7_siu import BadField, NotProcessable
from ..runtime import Interlude
from .feeds import REFUSED, ExternalBooking, ExternalPatient, apply_booking

log = logging.getLogger("interlude.hl7")

SOURCE = "hl7"
ORDER_SOURCE = "hl7-appointment"
ACTOR = "feed:hl7"
APPLICATION = "Interlude"
STALE = "stale"
DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Reply:
    code: str  # AA | AE | AR
    result: str  # created, rescheduled, cancelled, no-show, unchanged, duplicate, stale, refused, rejected
    text: str  # MSA-3
    ack: str  # the whole ACK message


def decode(frame: bytes) -> str:
    """The message's text: ISO 8859-1 when MSH-18 says so ("8859/1"), else UTF-8."""
    head = frame[:512].decode("latin-1").split("\r", 1)[0]
    fields = head.split(head[3:4] or "|") if head.startswith("MSH") else []
    charset = fields[17].split("~")[0].strip().upper() if len(fields) > 17 else ""
    if charset in ("8859/1", "ISO-8859-1", "ISO_IR 100"):
        return frame.decode("latin-1")
    try:
        return frame.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotProcessable(f"not UTF-8 at byte {exc.start}: say MSH-18 8859/1 for Latin-1") from exc


def receive(app: Interlude, frame: bytes, actor: str = ACTOR) -> Reply:
    """Process one message (the bytes between the MLLP start and end blocks); see the module."""
    message: Message | None = None
    try:
        message = hl7_siu.parse(decode(frame))
        booking = hl7_siu.read_siu(message, app.clinic_tz, app.config.imports.hl7_consent_field)
    except NotProcessable as exc:
        return _reply(message, "AR", "rejected", str(exc))
    except BadField as exc:
        return _reply(message, "AE", REFUSED, str(exc), exc)
    header = booking.header
    key = f"{header.sender}|{header.control_id}"
    with app.engine.connect() as conn:
        if _seen(conn, SOURCE, key) is not None:
            log.info("hl7 %s %s: repeat of a message already acknowledged", header.trigger, header.control_id)
            return _reply(message, "AA", DUPLICATE, "already received: not applied again")
        last = _seen(conn, ORDER_SOURCE, booking.appointment_id)
    assert header.sent_at is not None  # read_siu requires MSH-7
    if last is not None and last.detail and header.sent_at < datetime.fromisoformat(last.detail):
        _remember(app, key, STALE, booking.appointment_id, None)
        log.info("hl7 %s %s: older than the last applied message of its appointment", header.trigger, key)
        return _reply(
            message, "AA", STALE, "older than the last message applied for this appointment: not applied"
        )
    result = apply_booking(app, _external(booking), actor)
    if result.action == REFUSED:
        field, reason = next(iter(result.errors.items()))
        location = _location(booking, field)
        log.info("hl7 %s %s: refused (%s)", header.trigger, header.control_id, location)
        error = BadField(location, reason, "103" if field == "visit_type" else "102")
        return _reply(message, "AE", REFUSED, str(error), error)
    _remember(app, key, result.action, booking.appointment_id, header.sent_at)
    log.info(
        "hl7 %s %s: %s (session %s)", header.trigger, header.control_id, result.action, result.session_id
    )
    return _reply(message, "AA", result.action, f"{result.action}: session {result.session_id}")


def _external(b: hl7_siu.SiuBooking) -> ExternalBooking:
    p = b.patient
    return ExternalBooking(
        source=SOURCE,
        source_id=f"SIU^{b.header.trigger} {b.header.control_id} appointment {b.appointment_id}",
        external_id=b.appointment_id,
        patient=ExternalPatient(
            external_ref=p.external_ref,
            first_name=p.first_name,
            last_name=p.last_name,
            phone=p.phone,
            email=p.email,
            language=p.language,
            consented_sms=p.consented_sms,
        ),
        start=b.start,
        visit_type=b.visit_type,
        status=b.status,
        duration_minutes=b.duration_minutes,
        version=b.header.sent,
    )


def _location(b: hl7_siu.SiuBooking, field: str) -> str:
    """The HL7 field a refused value was read from ("patient.phone" -> "PID-13")."""
    name = field.removeprefix("patient.")
    return b.where.get(name, {"status": "MSH-9"}.get(name, "SCH"))


def _seen(conn: Connection, source: str, message_id: str) -> Row[Any, Any] | None:
    return conn.execute(
        select(feed_messages.c.result, feed_messages.c.detail).where(
            feed_messages.c.source == source, feed_messages.c.message_id == message_id
        )
    ).first()


def _remember(app: Interlude, key: str, result: str, appointment: str, sent_at: datetime | None) -> None:
    """The message as acknowledged and, when applied, its time as its appointment's newest."""
    now = app.clock()
    with app.engine.begin() as conn:
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(feed_messages).values(
                        source=SOURCE, message_id=key, received_at=now, result=result, detail=appointment
                    )
                )
        except IntegrityError:
            pass  # the same message, sent again at the same moment: applied once (idempotent)
        if sent_at is None:
            return
        newest = sent_at.astimezone(UTC).isoformat()
        row = _seen(conn, ORDER_SOURCE, appointment)
        if row is None:
            conn.execute(
                insert(feed_messages).values(
                    source=ORDER_SOURCE, message_id=appointment, received_at=now, result=result, detail=newest
                )
            )
        elif not row.detail or datetime.fromisoformat(row.detail) <= sent_at:
            conn.execute(
                update(feed_messages)
                .where(feed_messages.c.source == ORDER_SOURCE, feed_messages.c.message_id == appointment)
                .values(received_at=now, result=result, detail=newest)
            )


def _reply(
    message: Message | None, code: str, result: str, text: str, error: BadField | None = None
) -> Reply:
    ack = hl7_siu.acknowledgement(message, code, text, error, app=APPLICATION)
    return Reply(code, result, text, ack)


def answer(app: Interlude, frame: bytes) -> bytes:
    """The ACK for one framed message's content, as the listener sends it (UTF-8)."""
    return receive(app, frame).ack.encode("utf-8")


def too_large(limit: int) -> bytes:
    """The AR for a message over the listener's size limit (its content was not read)."""
    text = f"message larger than {limit} bytes: not read"
    return _reply(None, "AR", "rejected", text).ack.encode("utf-8")
