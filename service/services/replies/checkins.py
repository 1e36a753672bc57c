"""Check-ins and clearance: open when the question is sent, answered, reminded, escalated, closed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from ...db.tables import checkins, outbox, patients, sessions
from ...db.upsert import insert_if_absent
from ...domain.answers import Answer
from ...domain.office_hours import clearance_task_at
from ...domain.schedule import Step
from ...domain.session_state import SessionState
from ...runtime import Interlude, SentHook
from ..outbox.enqueue import enqueue, reminder
from ..tasks import open_task
from .escalations import raise_escalation


def step_of(app: Interlude, schedule: str, step_id: str) -> Step | None:
    sched = app.schedules.get(schedule)
    if sched is None:
        return None
    try:
        return sched.step(step_id)
    except KeyError:
        return None


def open_when_sent(app: Interlude) -> SentHook:
    """The dispatcher hook: a sent message whose step expects a reply opens its question."""

    def hook(conn: Connection, row: Mapping[Any, Any], now: datetime) -> None:
        if row["audience"] != "patient":
            return
        step = step_of(app, row["schedule"], row["step_id"])
        if step is None or step.expects is None:
            return
        already = conn.execute(
            select(checkins.c.id).where(
                checkins.c.patient_id == row["patient_id"],
                checkins.c.session_id == row["session_id"],
                checkins.c.step_id == row["step_id"],
                checkins.c.state == "open",
            )
        ).first()
        if already is not None:
            return  # the same question by SMS and by email is one question
        expects = step.expects
        insert_if_absent(
            conn,
            checkins,
            {
                "outbox_id": row["id"],
                "patient_id": row["patient_id"],
                "session_id": row["session_id"],
                "schedule": row["schedule"],
                "step_id": row["step_id"],
                "kind": expects.kind,
                "state": "open",
                "opened_at": now,
                "remind_at": now + expects.reminder_after if expects.reminder_after else None,
                "closes_at": now + expects.window,
            },
            "outbox_id",
        )

    return hook


def open_question(conn: Connection, patient_id: int, now: datetime) -> Mapping[Any, Any] | None:
    """The patient's most recent question still open for an answer."""
    return (
        conn.execute(
            select(checkins)
            .where(
                checkins.c.patient_id == patient_id, checkins.c.state == "open", checkins.c.closes_at > now
            )
            .order_by(checkins.c.opened_at.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )


def recently_closed(conn: Connection, patient_id: int) -> Mapping[Any, Any] | None:
    return (
        conn.execute(
            select(checkins)
            .where(checkins.c.patient_id == patient_id, checkins.c.state != "open")
            .order_by(checkins.c.opened_at.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )


def record_answer(
    conn: Connection, checkin: Mapping[Any, Any], code: str, concerning: bool, now: datetime
) -> bool:
    """Store the answer; False (nothing changed) when the check-in is no longer open."""
    changed = conn.execute(
        update(checkins)
        .where(checkins.c.id == checkin["id"], checkins.c.state == "open")
        .values(
            state="escalated" if concerning and checkin["kind"] == "checkin" else "answered",
            answer=code,
            answered_at=now,
            concerning=concerning,
        )
    ).rowcount
    if not changed:
        return False
    if checkin["kind"] == "clearance" and checkin["session_id"] is not None:
        conn.execute(
            update(sessions)
            .where(sessions.c.id == checkin["session_id"])
            .values(clearance="not_cleared" if concerning else "cleared", updated_at=now)
        )
    return True


@dataclass(frozen=True)
class Answered:
    """What an answer did: its kind, the reply template that tells the patient, and whether a
    person must look at it."""

    kind: str
    reply_template: str
    attention: bool


def apply_answer(
    app: Interlude,
    conn: Connection,
    patient: Mapping[Any, Any],
    question: Mapping[Any, Any],
    answer: Answer,
    now: datetime,
    *,
    inbound_id: int | None = None,
) -> Answered | None:
    """Record `answer` to the open `question` and act on it, in the caller's transaction: a
    clearance "no" opens a call task, a worrying check-in answer escalates. The one path of an
    answer, by text or by an email link. None when the question was answered (or closed) in the
    meantime: an answer counts once."""
    if not record_answer(conn, question, answer.code, answer.concerning, now):
        return None
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
            return Answered("clearance-no", "reply_clearance_not_ready", attention=True)
        return Answered("clearance-yes", "reply_clearance_thanks", attention=False)
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
        return Answered("concerning-answer", "reply_checkin_concerning", attention=True)
    return Answered("answer", "reply_checkin_thanks", attention=False)


def sweep(app: Interlude, now: datetime | None = None) -> dict[str, int]:
    """Remind once, then escalate (check-ins) or mark unreachable (clearance); flag sessions
    still not cleared `clearance_due_before` their start. Returns counts."""
    now = now or app.clock()
    counts = {"reminded": 0, "escalated": 0, "unreachable": 0, "clearance_tasks": 0}
    with app.engine.begin() as conn:
        for c in (
            conn.execute(
                select(checkins).where(
                    checkins.c.state == "open",
                    # A clearance question is reminded too, at its step's `reminder_after`.
                    checkins.c.kind.in_(("checkin", "clearance")),
                    checkins.c.reminded_at.is_(None),
                    checkins.c.remind_at <= now,
                    checkins.c.closes_at > now,
                )
            )
            .mappings()
            .all()
        ):
            _remind(conn, c, now)
            counts["reminded"] += 1
        for c in (
            conn.execute(select(checkins).where(checkins.c.state == "open", checkins.c.closes_at <= now))
            .mappings()
            .all()
        ):
            counts["escalated" if c["kind"] == "checkin" else "unreachable"] += _close(app, conn, c, now)
        counts["clearance_tasks"] = _clearance_due(app, conn, now)
    return counts


def _remind(conn: Connection, c: Mapping[Any, Any], now: datetime) -> None:
    conn.execute(update(checkins).where(checkins.c.id == c["id"]).values(reminded_at=now))
    channel = conn.execute(select(outbox.c.channel).where(outbox.c.id == c["outbox_id"])).scalar_one()
    enqueue(conn, reminder(c, channel, now))


def _close(app: Interlude, conn: Connection, c: Mapping[Any, Any], now: datetime) -> int:
    patient = conn.execute(select(patients).where(patients.c.id == c["patient_id"])).mappings().one()
    if c["kind"] == "checkin":
        conn.execute(update(checkins).where(checkins.c.id == c["id"]).values(state="escalated"))
        raise_escalation(
            app,
            conn,
            patient=patient,
            kind="no-answer",
            now=now,
            session_id=c["session_id"],
            checkin_id=c["id"],
        )
        return 1
    conn.execute(update(checkins).where(checkins.c.id == c["id"]).values(state="closed"))
    if c["kind"] == "clearance" and c["session_id"] is not None:
        changed = conn.execute(
            update(sessions)
            .where(sessions.c.id == c["session_id"], sessions.c.clearance == "pending")
            .values(clearance="unreachable", updated_at=now)
        ).rowcount
        return int(changed)
    return 0


def _clearance_due(app: Interlude, conn: Connection, now: datetime) -> int:
    due_before = app.config.escalation.clearance_due_before
    horizon = now + due_before
    office = app.config.clinic.office
    due = (
        conn.execute(
            select(sessions).where(
                sessions.c.status == SessionState.BOOKED,
                sessions.c.clearance != "cleared",
                sessions.c.start_at > now,
                sessions.c.start_at <= horizon,
            )
        )
        .mappings()
        .all()
    )
    opened = 0
    for s in due:
        # The task waits for the clinic's next office hour: nobody calls from an evening Inbox.
        if clearance_task_at(s["start_at"], due_before, office) > now:
            continue
        detail = f"preparation {s['clearance'].replace('_', ' ')}: call to confirm the ride home and fasting"
        if (
            open_task(
                conn,
                key=f"clearance:{s['id']}:{s['start_at'].isoformat()}",
                kind="clearance-missing",
                now=now,
                patient_id=s["patient_id"],
                session_id=s["id"],
                detail=detail,
                due_at=s["start_at"],
            )
            is not None
        ):
            opened += 1
    return opened
