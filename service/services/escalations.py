"""Escalations: a clinician must look, now. Paged by SMS and email with the least PHI.

The page carries the patient's initials, the session date, a reason label and a staff link;
never the patient's words. Nobody acknowledging within `[escalation] ack_minutes` pages the
backup, and again after that, until someone acknowledges and records the outcome.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, select, update

from ..bootstrap import Interlude
from ..config import ContactConfig
from ..db.tables import escalations, outbox, patients, sessions
from ..domain import delivery
from .errors import Conflict, InvalidInput, NotFound
from .tasks import open_task

REASONS = {
    "crisis": "crisis language in a patient message",
    "concerning-answer": "concerning answer to a safety check-in",
    "no-answer": "no answer to a safety check-in",
    "not-cleared": "not cleared for the next session",
}


def _code(conn: Connection) -> str:
    for _ in range(20):
        code = f"{secrets.randbelow(900000) + 100000}"
        if conn.execute(select(escalations.c.id).where(escalations.c.code == code)).first() is None:
            return code
    raise RuntimeError("could not find a free escalation code")  # pragma: no cover


def _initials(patient: Mapping[Any, Any]) -> str:
    return f"{patient['first_name'][:1]}.{patient['last_name'][:1]}.".upper()


def raise_escalation(
    app: Interlude,
    conn: Connection,
    *,
    patient: Mapping[Any, Any],
    kind: str,
    now: datetime,
    session_id: int | None = None,
    checkin_id: int | None = None,
    inbound_id: int | None = None,
) -> dict[str, Any]:
    """Open an escalation and page the on-call clinicians, inside the caller's transaction."""
    code = _code(conn)
    escalation_id = conn.execute(
        insert(escalations)
        .values(
            code=code,
            patient_id=patient["id"],
            session_id=session_id,
            checkin_id=checkin_id,
            inbound_id=inbound_id,
            kind=kind,
            state="open",
            level=0,
            created_at=now,
            notify_again_at=now + timedelta(minutes=app.config.escalation.ack_minutes),
        )
        .returning(escalations.c.id)
    ).scalar_one()
    row = conn.execute(select(escalations).where(escalations.c.id == escalation_id)).mappings().one()
    _page(app, conn, row, patient, now)
    return {"id": escalation_id, "code": code}


def _contacts(app: Interlude, level: int) -> tuple[ContactConfig, ...]:
    cfg = app.config.escalation
    if level == 0:
        return cfg.on_call
    if level == 1 and cfg.backup:
        return cfg.backup
    return cfg.on_call + cfg.backup


def _page(
    app: Interlude, conn: Connection, esc: Mapping[Any, Any], patient: Mapping[Any, Any], now: datetime
) -> None:
    contacts = _contacts(app, esc["level"])
    if not contacts:
        open_task(
            conn,
            key=f"escalation-unrouted:{esc['id']}",
            kind="escalation-unrouted",
            now=now,
            patient_id=patient["id"],
            session_id=esc["session_id"],
            detail="no on-call clinician configured in [escalation]: call the patient",
        )
        return
    context = {"escalation": _context(app, conn, esc, patient)}
    rows = []
    for i, contact in enumerate(contacts):
        for channel, address in (("sms", contact.phone), ("email", contact.email)):
            if not address:
                continue
            rows.append(
                {
                    "dedupe_key": f"e{esc['id']}:l{esc['level']}:{i}:{channel}",
                    "patient_id": patient["id"],
                    "session_id": esc["session_id"],
                    "schedule": "_system",
                    "step_id": "_escalation",
                    "template": "escalation_clinician",
                    "channel": channel,
                    "category": "safety",
                    "priority": 0,
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
            )
    if rows:
        conn.execute(insert(outbox), rows)


def _context(
    app: Interlude, conn: Connection, esc: Mapping[Any, Any], patient: Mapping[Any, Any]
) -> dict[str, Any]:
    session_date = None
    if esc["session_id"] is not None:
        start = conn.execute(
            select(sessions.c.start_at).where(sessions.c.id == esc["session_id"])
        ).scalar_one()
        session_date = start.astimezone(ZoneInfo(app.config.clinic.timezone)).strftime("%b %d")
    base = app.config.web.public_base_url.rstrip("/")
    return {
        "code": esc["code"],
        "initials": _initials(patient),
        "reason": REASONS.get(esc["kind"], esc["kind"]),
        "session_date": session_date,
        "link": f"{base}/staff/escalations/{esc['id']}",
        "level": esc["level"],
    }


def sweep(app: Interlude, now: datetime | None = None) -> int:
    """Page the next level for every escalation nobody acknowledged in time; returns how many."""
    now = now or app.clock()
    paged = 0
    with app.engine.begin() as conn:
        due = (
            conn.execute(
                select(escalations).where(escalations.c.state == "open", escalations.c.notify_again_at <= now)
            )
            .mappings()
            .all()
        )
        for esc in due:
            level = esc["level"] + 1
            conn.execute(
                update(escalations)
                .where(escalations.c.id == esc["id"])
                .values(
                    level=level, notify_again_at=now + timedelta(minutes=app.config.escalation.ack_minutes)
                )
            )
            patient = (
                conn.execute(select(patients).where(patients.c.id == esc["patient_id"])).mappings().one()
            )
            _page(app, conn, {**esc, "level": level}, patient, now)
            paged += 1
    return paged


def acknowledge(app: Interlude, ident: int | str, by: str, outcome: str | None) -> dict[str, Any]:
    """Record who acknowledged, when, and the outcome; stop further pages. By id or by code."""
    if not by or not isinstance(by, str) or len(by) > 120:
        raise InvalidInput({"by": "who acknowledges is required (at most 120 characters)"})
    if outcome is not None and (not isinstance(outcome, str) or len(outcome) > 2000):
        raise InvalidInput({"outcome": "expected text of at most 2000 characters"})
    now = app.clock()
    column = escalations.c.code if isinstance(ident, str) else escalations.c.id
    with app.engine.begin() as conn:
        esc = conn.execute(select(escalations).where(column == ident)).mappings().first()
        if esc is None:
            raise NotFound("escalation", ident)
        if esc["state"] != "open":
            if esc["state"] == "acknowledged" and outcome and not esc["outcome"]:
                conn.execute(update(escalations).where(escalations.c.id == esc["id"]).values(outcome=outcome))
                return view(
                    conn.execute(select(escalations).where(escalations.c.id == esc["id"])).mappings().one()
                )
            raise Conflict(f"escalation {esc['id']} is {esc['state']} already (by {esc['acked_by']})")
        conn.execute(
            update(escalations)
            .where(escalations.c.id == esc["id"])
            .values(state="acknowledged", acked_at=now, acked_by=by, outcome=outcome, notify_again_at=None)
        )
        conn.execute(
            update(outbox)
            .where(outbox.c.dedupe_key.like(f"e{esc['id']}:%"), outbox.c.status == delivery.PENDING)
            .values(status=delivery.CANCELLED, reason="acknowledged", updated_at=now)
        )
        return view(conn.execute(select(escalations).where(escalations.c.id == esc["id"])).mappings().one())


def list_escalations(app: Interlude, state: str | None = "open", limit: int = 200) -> list[dict[str, Any]]:
    query = select(escalations).order_by(escalations.c.created_at).limit(limit)
    if state:
        query = query.where(escalations.c.state == state)
    with app.reader.connect() as conn:
        return [view(r) for r in conn.execute(query).mappings()]


def view(r: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "id": r["id"],
        "code": r["code"],
        "patient_id": r["patient_id"],
        "session_id": r["session_id"],
        "kind": r["kind"],
        "reason": REASONS.get(r["kind"], r["kind"]),
        "state": r["state"],
        "level": r["level"],
        "created_at": r["created_at"].isoformat(),
        "acked_at": r["acked_at"].isoformat() if r["acked_at"] else None,
        "acked_by": r["acked_by"],
        "outcome": r["outcome"],
    }
