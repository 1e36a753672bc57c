"""The consent ledger: record opt-in and opt-out events; derive the current state from them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from ..db.tables import consent_events
from ..domain.consent import CHANNELS, PURPOSES, ConsentEvent, allows
from ..runtime import Interlude
from .patients import get_patient

SOURCES = (
    "keyword",
    "plain-words",
    "provider-keyword",
    "email-link",
    "staff",
    "api",
    "cli",
    "provider",
    "enrolment",
)


def record(
    conn: Connection,
    *,
    patient_id: int,
    channel: str,
    action: str,
    source: str,
    now: datetime,
    purpose: str = "all",
    raw_text: str | None = None,
    wording_version: str | None = None,
) -> None:
    """Append one event. The dispatcher reads the ledger before every send."""
    conn.execute(
        insert(consent_events).values(
            patient_id=patient_id,
            channel=channel,
            purpose=purpose,
            action=action,
            source=source,
            raw_text=raw_text,
            wording_version=wording_version,
            created_at=now,
        )
    )


def events(conn: Connection, patient_id: int) -> list[ConsentEvent]:
    rows = conn.execute(
        select(consent_events).where(consent_events.c.patient_id == patient_id).order_by(consent_events.c.id)
    ).mappings()
    return [ConsentEvent(r["id"], r["channel"], r["purpose"], r["action"]) for r in rows]


def allows_now(conn: Connection, patient_id: int, channel: str, purpose: str = "care") -> bool:
    return allows(events(conn, patient_id), channel, purpose)


def ledger(app: Interlude, patient_id: int) -> dict[str, Any]:
    """The patient's consent state per channel and purpose, and every event behind it."""
    with app.reader.connect() as conn:
        get_patient(conn, patient_id)
        rows = list(
            conn.execute(
                select(consent_events)
                .where(consent_events.c.patient_id == patient_id)
                .order_by(consent_events.c.id)
            ).mappings()
        )
    evs = [ConsentEvent(r["id"], r["channel"], r["purpose"], r["action"]) for r in rows]
    return {
        "patient_id": patient_id,
        "state": {c: {p: allows(evs, c, p) for p in PURPOSES} for c in CHANNELS},
        "events": [
            {
                "at": r["created_at"].isoformat(),
                "channel": r["channel"],
                "purpose": r["purpose"],
                "action": r["action"],
                "source": r["source"],
                "raw_text": r["raw_text"],
                "wording_version": r["wording_version"],
            }
            for r in rows
        ],
    }
