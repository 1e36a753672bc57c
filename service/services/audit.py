"""The audit trail: who did what to which record, and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from ..db.tables import audit_events


def record(
    conn: Connection,
    *,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: int,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one audit event inside the caller's transaction (so it commits with the change)."""
    conn.execute(
        insert(audit_events),
        {
            "at": at,
            "actor": actor,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "reason": reason,
            "details": details,
        },
    )


def trail(conn: Connection, entity: str, entity_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(audit_events)
        .where(audit_events.c.entity == entity, audit_events.c.entity_id == entity_id)
        .order_by(audit_events.c.id)
    ).mappings()
    return [
        {
            "at": r["at"].isoformat(),
            "actor": r["actor"],
            "action": r["action"],
            "reason": r["reason"],
            "details": r["details"],
        }
        for r in rows
    ]
