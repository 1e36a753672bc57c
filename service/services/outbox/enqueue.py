"""Every outbox row is made and queued here, in the caller's transaction.

A row's origin (domain.origin.Origin) decides its dedupe key and its priority; the builders below
make the row of each origin, and the enqueue functions write rows:

- `enqueue`: one row, its id returned (a staff answer, a check-in reminder);
- `enqueue_if_absent`: one row unless its key is queued already (a fallback);
- `enqueue_many`: a few rows in one statement (an escalation's pages, a re-plan's new messages);
- `enqueue_bulk`: the planned rows of bookings and imports, converted here and handed to the
  driver (COPY on PostgreSQL).

Each builder writes the columns its origin has always written, and no others: a JSON `context`
given as None is stored as JSON null, one left out as SQL NULL.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, insert

from ...db.tables import outbox
from ...db.upsert import insert_if_absent
from ...domain import delivery
from ...domain.origin import (
    PAGE_STEP,
    REMINDER_STEP,
    STAFF_REPLY_STEP,
    SYSTEM_SCHEDULE,
    Origin,
    fallback_key,
    page_key,
    planner_key,
    priority,
    reminder_key,
    session_change_key,
    session_change_step,
    staff_reply_key,
)
from ...domain.planner import PlannedMessage

Row = dict[str, Any]


# --- the rows of each origin -------------------------------------------------------------------


def planned(
    pm: PlannedMessage,
    *,
    patient_id: int,
    session_id: int | None,
    schedule: str,
    occurrence: int,
    now: datetime,
) -> Row:
    """A message the planner made: `occurrence` is the session's (0 for a step that does not
    repeat on reschedule, and for enrolment steps)."""
    step = pm.step
    return {
        "origin": Origin.PLANNER.value,
        "dedupe_key": planner_key(
            session_id=session_id,
            patient_id=patient_id,
            schedule=schedule,
            step_id=step.id,
            channel=pm.channel,
            occurrence=occurrence,
        ),
        "patient_id": patient_id,
        "session_id": session_id,
        "schedule": schedule,
        "step_id": step.id,
        "template": step.template,
        "channel": pm.channel,
        "category": step.category,
        "priority": priority(Origin.PLANNER, step.category),
        "occurrence": occurrence,
        "due_at": pm.due_at,
        "original_due_at": pm.original_due,
        "send_by": pm.send_by,
        "next_attempt_at": pm.due_at,
        "status": pm.status,
        "reason": pm.reason,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }


def reminder(checkin: Mapping[Any, Any], channel: str, now: datetime) -> Row:
    """The one reminder of a check-in nobody answered, by the channel the question went; it is
    worth sending until the check-in closes."""
    return {
        "origin": Origin.REMINDER.value,
        "dedupe_key": reminder_key(checkin["id"], channel),
        "patient_id": checkin["patient_id"],
        "session_id": checkin["session_id"],
        "schedule": checkin["schedule"],
        "step_id": REMINDER_STEP,
        "template": "checkin_reminder",
        "channel": channel,
        "category": "safety",
        "priority": priority(Origin.REMINDER, "safety"),
        "occurrence": 0,
        "due_at": now,
        "next_attempt_at": now,
        "send_by": checkin["closes_at"],
        "status": delivery.PENDING,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }


def page(
    escalation: Mapping[Any, Any],
    contact: int,
    channel: str,
    address: str,
    context: dict[str, Any],
    now: datetime,
) -> Row:
    """A page to the on-call contact number `contact` (its place in the list) at the
    escalation's level; `context` is what the page may say."""
    return {
        "origin": Origin.ESCALATION.value,
        "dedupe_key": page_key(escalation["id"], escalation["level"], contact, channel),
        "patient_id": escalation["patient_id"],
        "session_id": escalation["session_id"],
        "schedule": SYSTEM_SCHEDULE,
        "step_id": PAGE_STEP,
        "template": "escalation_clinician",
        "channel": channel,
        "category": "safety",
        "priority": priority(Origin.ESCALATION, "safety"),
        "occurrence": 0,
        "due_at": now,
        "next_attempt_at": now,
        "status": delivery.PENDING,
        "attempts": 0,
        "audience": "staff",
        "recipient": address,
        "context": context,
        "created_at": now,
        "updated_at": now,
    }


def staff_reply(
    inbound_id: int,
    serial: int,
    *,
    patient_id: int,
    template: str,
    context: dict[str, Any] | None,
    due_at: datetime,
    reason: str | None,
    now: datetime,
) -> Row:
    """Answer number `serial` to an inbox message, by SMS, due at `due_at` (now, or when the
    patient's quiet hours end)."""
    return {
        "origin": Origin.STAFF_REPLY.value,
        "dedupe_key": staff_reply_key(inbound_id, serial),
        "patient_id": patient_id,
        "schedule": SYSTEM_SCHEDULE,
        "step_id": STAFF_REPLY_STEP,
        "template": template,
        "channel": "sms",
        "category": "admin",
        "priority": priority(Origin.STAFF_REPLY, "admin"),
        "occurrence": 0,
        "due_at": due_at,
        "next_attempt_at": due_at,
        "status": delivery.PENDING,
        "reason": reason,
        "attempts": 0,
        "audience": "patient",
        "context": context,
        "created_at": now,
        "updated_at": now,
    }


def fallback(failed: Mapping[Any, Any], channel: str, now: datetime) -> Row:
    """The failed message again, by `channel`, now: same step, words and deadline."""
    keep = ("patient_id", "session_id", "schedule", "step_id", "template", "category")
    return {
        "origin": Origin.FALLBACK.value,
        **{k: failed[k] for k in keep},
        "priority": priority(Origin.FALLBACK, failed["category"]),
        "occurrence": failed["occurrence"],
        "dedupe_key": fallback_key(failed["id"]),
        "channel": channel,
        "due_at": now,
        "original_due_at": failed["due_at"],
        "send_by": failed["send_by"],
        "next_attempt_at": now,
        "status": delivery.PENDING,
        "reason": f"fallback-from-{failed['channel']}",
        "attempts": 0,
        "audience": "patient",
        "context": failed["context"],
        "created_at": now,
        "updated_at": now,
    }


# How long a cancel or no-show notice is worth sending: past quiet hours, not days later.
SESSION_CHANGE_EXPIRY = timedelta(days=1)


def session_change(
    session: Mapping[Any, Any], change: str, template: str, channel: str, now: datetime
) -> Row:
    """The notice telling the patient that staff cancelled `session` or marked it a no-show
    (`change`), by `channel`; consent, quiet hours and contact details are checked at send time
    as for every patient message."""
    return {
        "origin": Origin.SESSION_CHANGE.value,
        "dedupe_key": session_change_key(session["id"], change, channel),
        "patient_id": session["patient_id"],
        "session_id": session["id"],
        "schedule": SYSTEM_SCHEDULE,
        "step_id": session_change_step(change),
        "template": template,
        "channel": channel,
        "category": "admin",
        "priority": priority(Origin.SESSION_CHANGE, "admin"),
        "occurrence": session["occurrence"],
        "due_at": now,
        "send_by": now + SESSION_CHANGE_EXPIRY,
        "next_attempt_at": now,
        "status": delivery.PENDING,
        "attempts": 0,
        "audience": "patient",
        "created_at": now,
        "updated_at": now,
    }


# --- writing them ------------------------------------------------------------------------------


def enqueue(conn: Connection, row: Row) -> int:
    """Queue one row; returns its id."""
    return int(conn.execute(insert(outbox).values(**row).returning(outbox.c.id)).scalar_one())


def enqueue_if_absent(conn: Connection, row: Row) -> int | None:
    """Queue one row unless a row with its key is queued already; returns the new id or None."""
    return insert_if_absent(conn, outbox, row, "dedupe_key")


def enqueue_many(conn: Connection, rows: list[Row]) -> None:
    """Queue a few rows in one statement."""
    if rows:
        conn.execute(insert(outbox), rows)


# The columns `planned` fills, in order: the rest take their defaults (audience "patient", no claim).
_COLUMNS = (
    "origin",
    "dedupe_key",
    "patient_id",
    "session_id",
    "schedule",
    "step_id",
    "template",
    "channel",
    "category",
    "priority",
    "occurrence",
    "due_at",
    "original_due_at",
    "send_by",
    "next_attempt_at",
    "status",
    "reason",
    "attempts",
    "created_at",
    "updated_at",
)
_MISSING = object()
_TIMES = frozenset({"due_at", "original_due_at", "send_by", "next_attempt_at", "created_at", "updated_at"})


def _sqlite_time(value: datetime | None) -> str | None:
    """What UTCDateTime stores on SQLite: naive UTC text, always with microseconds, so that text
    order is time order (the same text SQLAlchemy's own DATETIME type writes)."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value


def enqueue_bulk(conn: Connection, rows: list[Row]) -> None:
    """Queue rows made by `planned` in one executemany (COPY on PostgreSQL).

    Planning a large import spends most of its time converting parameters, so the values are
    converted here once, as UTCDateTime would convert them, and handed to the driver directly:
    about three times faster than `insert(outbox)` with the same rows.
    """
    if not rows:
        return
    convert = _sqlite_time if conn.dialect.name == "sqlite" else _utc
    seen: dict[datetime | None, Any] = {}  # a batch shares most instants (now, the day's openings)
    times = [i for i, c in enumerate(_COLUMNS) if c in _TIMES]
    pick = itemgetter(*_COLUMNS)
    params = []
    for r in rows:
        values = list(pick(r))
        for i in times:
            value = values[i]
            text = seen.get(value, _MISSING)
            if text is _MISSING:
                text = seen[value] = convert(value)
            values[i] = text
        params.append(tuple(values))
    if conn.dialect.name == "postgresql":
        # COPY: PostgreSQL's bulk path, several times faster than a multi-row INSERT.
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY outbox ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
            for row in params:
                copy.write_row(row)
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO outbox ({', '.join(_COLUMNS)}) VALUES ({', '.join([mark] * len(_COLUMNS))})"
    conn.exec_driver_sql(sql, params)
