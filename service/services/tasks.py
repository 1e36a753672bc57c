"""Staff tasks: things a person must do (call a patient who opted out mid-course, find a ride)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from ..db.tables import staff_tasks
from ..db.upsert import insert_if_absent
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
