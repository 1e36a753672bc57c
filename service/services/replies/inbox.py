"""The staff Inbox: what patients sent that needs a person, and marking it handled.

Crisis and concerning messages, free text written during a safety check-in, and any message
behind an escalation are pinned at the top (each group oldest first) with their escalation's
state: they are the ones that cannot wait for someone to scroll.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, exists, or_, select, update

from ...db.tables import escalations, inbound_messages
from ...runtime import Interlude
from .. import audit
from ..errors import Conflict, NotFound
from ..tasks import close_tasks, episode_keys

log = logging.getLogger("interlude.inbox")

PINNED_KINDS = ("crisis", "concerning-answer", "checkin-free-text")
DURING_CHECKIN = "checkin-free-text"  # flagged "during a safety check-in" on the Inbox and Today

_BEHIND_ESCALATION = exists(select(escalations.c.id).where(escalations.c.inbound_id == inbound_messages.c.id))
_PINNED = or_(inbound_messages.c.kind.in_(PINNED_KINDS), _BEHIND_ESCALATION)


def inbox(app: Interlude, limit: int = 200) -> list[dict[str, Any]]:
    """Messages that need a person: the pinned ones first, then the rest, each oldest first.

    Each item carries `pinned`, `during_checkin` and `escalation` (the newest escalation raised
    for the message, or None), with times as ISO text (the API returns these as they are).
    """
    query = (
        select(inbound_messages, case((_PINNED, 0), else_=1).label("rank"))
        .where(inbound_messages.c.needs_attention.is_(True))
        .order_by("rank", inbound_messages.c.received_at, inbound_messages.c.id)
        .limit(limit)
    )
    with app.reader.connect() as conn:
        rows = list(conn.execute(query).mappings())
        behind = _escalations(conn, [r["id"] for r in rows])
    return [_item(r, behind.get(r["id"])) for r in rows]


def _escalations(conn: Connection, inbound_ids: list[int]) -> dict[int, Mapping[Any, Any]]:
    if not inbound_ids:
        return {}
    query = (
        select(escalations)
        .where(escalations.c.inbound_id.in_(inbound_ids))
        .order_by(escalations.c.created_at, escalations.c.id)
    )
    return {r["inbound_id"]: r for r in conn.execute(query).mappings()}  # the newest wins


def _item(r: Mapping[Any, Any], esc: Mapping[Any, Any] | None) -> dict[str, Any]:
    return {
        "id": r["id"],
        "patient_id": r["patient_id"],
        "kind": r["kind"],
        "body": r["body"],
        "received_at": r["received_at"].isoformat(),
        "reply": r["reply"],
        "checkin_id": r["checkin_id"],
        "pinned": r["rank"] == 0,
        "during_checkin": r["kind"] == DURING_CHECKIN,
        "escalation": escalation_state(esc) if esc is not None else None,
    }


def escalation_state(esc: Mapping[Any, Any]) -> dict[str, Any]:
    """What the Inbox says about a message's escalation: open (and how far the pages went), or
    acknowledged by whom, and whether the outcome is still to be written."""
    return {
        "id": esc["id"],
        "code": esc["code"],
        "kind": esc["kind"],
        "category": esc.get("category"),
        "state": esc["state"],
        "level": esc["level"],
        "acked_by": esc["acked_by"],
        "acked_at": esc["acked_at"].isoformat() if esc["acked_at"] else None,
        "outcome_needed": esc["state"] == "acknowledged" and not esc["outcome"],
        "notify_again_at": esc["notify_again_at"].isoformat() if esc["notify_again_at"] else None,
    }


def mark_handled(app: Interlude, inbound_id: int, by: str) -> None:
    """Take a message out of the Inbox (with the crisis task of an unknown sender, if any), audited.

    Raises NotFound, and Conflict while an escalation raised for the message waits for its
    acknowledgement or outcome: acknowledging it with the outcome closes the message too, so the
    two cannot drift apart.
    """
    now = app.clock()
    with app.engine.begin() as conn:
        row = conn.execute(
            select(inbound_messages.c.id, inbound_messages.c.needs_attention).where(
                inbound_messages.c.id == inbound_id
            )
        ).first()
        if row is None:
            raise NotFound("inbox item", inbound_id)
        pending = _pending_escalation(conn, inbound_id)
        if pending is not None:
            raise Conflict(
                f"escalation {pending} is not closed yet: acknowledge it with the outcome, "
                "which closes this message too"
            )
        close_item(conn, inbound_id, by=by, now=now)
        tasks = close_tasks(conn, episode_keys(None, inbound_id), by=by, now=now)
        audit.record(
            conn,
            at=now,
            actor=by,
            action="inbox-handled",
            entity="inbound",
            entity_id=inbound_id,
            details={"task_ids": tasks},
        )
    log.info("inbox handled", extra={"inbound_id": inbound_id})


def _pending_escalation(conn: Connection, inbound_id: int) -> str | None:
    """The code of an escalation for this message that is open or still lacks its outcome."""
    query = select(escalations.c.code).where(
        escalations.c.inbound_id == inbound_id,
        or_(
            escalations.c.state == "open",
            (escalations.c.state == "acknowledged") & escalations.c.outcome.is_(None),
        ),
    )
    return conn.execute(query.limit(1)).scalar()


def close_item(conn: Connection, inbound_id: int | None, *, by: str, now: datetime) -> bool:
    """Mark a message handled inside the caller's transaction; False when it was not waiting."""
    if inbound_id is None:
        return False
    done = conn.execute(
        update(inbound_messages)
        .where(inbound_messages.c.id == inbound_id, inbound_messages.c.needs_attention.is_(True))
        .values(needs_attention=False, handled_at=now, handled_by=by)
    )
    return done.rowcount == 1
