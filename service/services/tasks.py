"""Staff tasks: things a person must do (call a patient who opted out mid-course, find a ride)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select, update

from ..db.tables import outbox, sessions, staff_tasks
from ..db.upsert import insert_if_absent
from ..domain import delivery
from ..domain.origin import Origin
from ..domain.planner import NO_SAME_DAY_SLOT
from ..domain.session_state import SessionState
from ..runtime import Interlude
from .errors import NotFound

# Tasks that stand for a crisis nobody was paged for: with nobody on call ("escalation-unrouted")
# or from a number that is not a patient's ("crisis-unknown-sender"). Every staff page shows a red
# banner while one is open.
URGENT_KINDS = ("escalation-unrouted", "crisis-unknown-sender")


def open_task(
    conn: Connection,
    *,
    key: str,
    kind: str,
    now: datetime,
    detail: str | None = None,
    patient_id: int | None = None,
    session_id: int | None = None,
    due_at: datetime | None = None,
) -> int | None:
    """Open a task once per `key`; returns its id, or None if it existed already."""
    return insert_if_absent(
        conn,
        staff_tasks,
        {
            "dedupe_key": key,
            "kind": kind,
            "state": "open",
            "detail": detail,
            "patient_id": patient_id,
            "session_id": session_id,
            "created_at": now,
            "due_at": due_at,
        },
        "dedupe_key",
    )


# A same-day check-in that had no send time left on the session's day: a person calls instead.
CALL_AFTER_SESSION = "call-after-session"
CALL_AFTER_SESSION_DETAIL = (
    "no same-day check-in text went (no time left that day after the session): "
    "call the patient to check they got home and are well"
)
# Sessions that started this long ago at most are looked at (a worker down longer misses them).
CALL_LOOKBACK = timedelta(days=1)
# A same-day step skipped for these reasons did not go on the session's day: planned without a
# slot, or (held back by an outage) found past its same-day limit at send time.
_NOT_SENT_THAT_DAY = (NO_SAME_DAY_SLOT, "past-deadline", "no-send-window-before-deadline")


def open_call_after_session_tasks(app: Interlude, now: datetime | None = None) -> int:
    """Open a "call after session" task, once per session and occurrence, for each booked or
    completed session whose end has passed and whose same-day check-in did not go that day
    (see _NOT_SENT_THAT_DAY); due at the session's end. Returns how many were opened."""
    now = now or app.clock()
    query = (
        select(
            sessions.c.id,
            sessions.c.patient_id,
            sessions.c.start_at,
            sessions.c.duration_minutes,
            sessions.c.occurrence,
            outbox.c.schedule,
            outbox.c.step_id,
            outbox.c.reason,
        )
        .join(outbox, outbox.c.session_id == sessions.c.id)
        .where(
            sessions.c.status.in_((SessionState.BOOKED, SessionState.COMPLETED)),
            sessions.c.start_at <= now,
            sessions.c.start_at > now - CALL_LOOKBACK,
            outbox.c.origin == Origin.PLANNER,
            outbox.c.status == delivery.SKIPPED,
            outbox.c.reason.in_(_NOT_SENT_THAT_DAY),
        )
    )
    opened = 0
    with app.engine.begin() as conn:
        for s in conn.execute(query).mappings().all():
            end = s["start_at"] + timedelta(minutes=s["duration_minutes"])
            if end > now or not _missed(app, conn, s):
                continue
            task = open_task(
                conn,
                key=f"{CALL_AFTER_SESSION}:{s['id']}:{s['occurrence']}",
                kind=CALL_AFTER_SESSION,
                now=now,
                detail=CALL_AFTER_SESSION_DETAIL,
                patient_id=s["patient_id"],
                session_id=s["id"],
                due_at=end,
            )
            opened += task is not None
    return opened


def _missed(app: Interlude, conn: Connection, row: Mapping[Any, Any]) -> bool:
    """Whether the session's same-day check-in did not go: planned without a slot, or a step
    that must go on the session's day skipped at send time and sent by no other channel."""
    if row["reason"] == NO_SAME_DAY_SLOT:
        return True
    found = app.schedules.get(row["schedule"])
    if found is None or not any(s.id == row["step_id"] and s.same_day for s in found.steps):
        return False
    went = conn.execute(
        select(func.count())
        .select_from(outbox)
        .where(
            outbox.c.session_id == row["id"],
            outbox.c.step_id == row["step_id"],
            outbox.c.status.in_((delivery.SENT, delivery.SENDING, delivery.UNKNOWN)),
        )
    ).scalar_one()
    return not went


def episode_keys(escalation_id: int | None, inbound_id: int | None) -> list[str]:
    """The dedupe keys of the tasks that belong to one escalation or one inbound message: they
    close with it. The keys are the ones escalations.py and replies.py open them under."""
    keys = []
    if escalation_id is not None:
        keys.append(f"escalation-unrouted:{escalation_id}")
    if inbound_id is not None:
        keys.append(f"crisis-unknown:{inbound_id}")
    return keys


def close_tasks(conn: Connection, keys: list[str], *, by: str, now: datetime) -> list[int]:
    """Mark the open tasks with these keys done, inside the caller's transaction; returns their ids."""
    if not keys:
        return []
    done = conn.execute(
        update(staff_tasks)
        .where(staff_tasks.c.dedupe_key.in_(keys), staff_tasks.c.state == "open")
        .values(state="done", done_at=now, done_by=by)
        .returning(staff_tasks.c.id)
    )
    return sorted(done.scalars())


def list_tasks(app: Interlude, state: str = "open", limit: int = 200) -> list[dict[str, Any]]:
    with app.reader.connect() as conn:
        rows = conn.execute(
            select(staff_tasks)
            .where(staff_tasks.c.state == state)
            .order_by(staff_tasks.c.due_at.is_(None), staff_tasks.c.due_at, staff_tasks.c.id)
            .limit(limit)
        ).mappings()
        return [_view(r) for r in rows]


def complete_task(app: Interlude, task_id: int, by: str) -> dict[str, Any]:
    now = app.clock()
    with app.engine.begin() as conn:
        done = (
            conn.execute(
                update(staff_tasks)
                .where(staff_tasks.c.id == task_id, staff_tasks.c.state != "done")
                .values(state="done", done_at=now, done_by=by)
                .returning(*staff_tasks.c)
            )
            .mappings()
            .first()
        )
        if done is None:  # already done (the first person who did it stays recorded) or no such task
            row = conn.execute(select(staff_tasks).where(staff_tasks.c.id == task_id)).mappings().first()
            if row is None:
                raise NotFound("task", task_id)
            return _view(row)
        return _view(done)


def _view(r: Any) -> dict[str, Any]:
    return {
        "id": r["id"],
        "key": r["dedupe_key"],
        "kind": r["kind"],
        "state": r["state"],
        "detail": r["detail"],
        "patient_id": r["patient_id"],
        "session_id": r["session_id"],
        "created_at": r["created_at"].isoformat(),
        "due_at": r["due_at"].isoformat() if r["due_at"] else None,
        "done_by": r["done_by"],
    }
