"""What the consent ledger allows now: the one read every use case makes before it texts or
emails a patient. Below `consent` and `patients` (both use it), so neither imports the other
for it."""

from __future__ import annotations

from sqlalchemy import Connection, select

from ..db.tables import consent_events
from ..domain.consent import ConsentEvent, allows


def events(conn: Connection, patient_id: int) -> list[ConsentEvent]:
    rows = conn.execute(
        select(consent_events).where(consent_events.c.patient_id == patient_id).order_by(consent_events.c.id)
    ).mappings()
    return [ConsentEvent(r["id"], r["channel"], r["purpose"], r["action"]) for r in rows]


def allows_now(conn: Connection, patient_id: int, channel: str, purpose: str = "care") -> bool:
    return allows(events(conn, patient_id), channel, purpose)
