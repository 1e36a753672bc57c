"""Read-side views for the API and CLI: patients, sessions, their messages, the sandbox."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from ...db import tables
from ...db.tables import delivery_attempts, outbox, sessions
from ...runtime import Interlude
from .. import audit
from ..patients import get_patient, public_patient
from ..sessions import get_session, public_session


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def message_view(row: Mapping[Any, Any], attempt: Mapping[Any, Any] | None = None) -> dict[str, Any]:
    view = {
        "id": row["id"],
        "session_id": row["session_id"],
        "step": row["step_id"],
        "template": row["template"],
        "channel": row["channel"],
        "category": row["category"],
        "due_at": _iso(row["due_at"]),
        "original_due_at": _iso(row["original_due_at"]),
        "send_by": _iso(row["send_by"]),
        "next_attempt_at": _iso(row["next_attempt_at"]),
        "status": row["status"],
        "reason": row["reason"],
        "attempts": row["attempts"],
        "sent_at": _iso(row["sent_at"]),
    }
    if attempt is not None:
        view["delivery"] = {"status": attempt["status"], "error_code": attempt["error_code"]}
    return view


def patient(app: Interlude, patient_id: int) -> dict[str, Any]:
    with app.reader.connect() as conn:
        view = public_patient(get_patient(conn, patient_id))
        rows = conn.execute(
            select(sessions).where(sessions.c.patient_id == patient_id).order_by(sessions.c.start_at)
        ).mappings()
        view["sessions"] = [public_session(r) for r in rows]
        return view


def session(app: Interlude, session_id: int) -> dict[str, Any]:
    with app.reader.connect() as conn:
        view = public_session(get_session(conn, session_id))
        view["audit"] = audit.trail(conn, "session", session_id)
        return view


def list_messages(
    app: Interlude,
    *,
    session_id: int | None = None,
    patient_id: int | None = None,
    status: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Outbox rows in due order, each with its latest delivery attempt."""
    query = select(outbox).order_by(outbox.c.due_at, outbox.c.id).limit(limit)
    if session_id is not None:
        query = query.where(outbox.c.session_id == session_id)
    if patient_id is not None:
        query = query.where(outbox.c.patient_id == patient_id)
    if status is not None:
        query = query.where(outbox.c.status == status)
    with app.reader.connect() as conn:
        rows = conn.execute(query).mappings().all()
        ids = [r["id"] for r in rows]
        latest: dict[int, Mapping[Any, Any]] = {}
        if ids:
            for a in conn.execute(
                select(delivery_attempts)
                .where(delivery_attempts.c.outbox_id.in_(ids))
                .order_by(delivery_attempts.c.id)
            ).mappings():
                latest[a["outbox_id"]] = a
    return [message_view(r, latest.get(r["id"])) for r in rows]


def session_messages(app: Interlude, session_id: int) -> list[dict[str, Any]]:
    with app.reader.connect() as conn:
        get_session(conn, session_id)
    return list_messages(app, session_id=session_id, limit=1000)


def sandbox_messages(app: Interlude, limit: int = 50) -> list[dict[str, Any]]:
    """The newest messages the sandbox transports recorded, newest first."""
    with app.reader.connect() as conn:
        rows = conn.execute(
            select(tables.sandbox_messages).order_by(tables.sandbox_messages.c.id.desc()).limit(limit)
        ).mappings()
        return [
            {
                "id": r["id"],
                "attempt_id": r["attempt_id"],
                "channel": r["channel"],
                "to": r["recipient"],
                "subject": r["subject"],
                "body": r["body"],
                "created_at": _iso(r["created_at"]),
            }
            for r in rows
        ]
