"""Delivery tracking: provider status reports move attempts forward; staff see what failed and why."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select, update

from ...db.tables import delivery_attempts, outbox, patients
from ...domain import delivery
from ...domain.origin import fallback_key
from ...runtime import Interlude
from ...transports.base import TransportError
from .delivery_policy import meaning

log = logging.getLogger("interlude.delivery")
FAILED_REPORTS = frozenset({"failed", "undelivered"})
NEEDS_ATTENTION = (delivery.FAILED, delivery.UNKNOWN)


# --- status callbacks ---------------------------------------------------------------------------


def apply_status(
    app: Interlude,
    attempt_id: int,
    reported: str,
    *,
    error_code: str | None = None,
    provider_id: str | None = None,
    transport: str = "twilio",
) -> str:
    """Apply a provider's status report to one delivery attempt; returns what happened.

    Forward only (domain.delivery.advance): a late or repeated report changes nothing. Any
    report proves the provider took the message, so an outbox row still `sending` or `unknown`
    (a timeout after the request left) becomes `sent`. A report of `failed`/`undelivered` fails
    the message and runs the same failure policy as an error at send time, once.
    Returns "unknown-attempt", "other-message", "unchanged", the new state, or "failed".
    """
    now = app.clock()
    with app.engine.begin() as conn:
        attempt = _locked_attempt(conn, attempt_id)
        if attempt is None or attempt["transport"] != transport:
            return "unknown-attempt"
        if provider_id and attempt["provider_id"] and provider_id != attempt["provider_id"]:
            return "other-message"
        # Any report proves the provider took the message: an ambiguous attempt was accepted.
        known = "queued" if attempt["status"] == "ambiguous" else attempt["status"]
        state = delivery.advance(known, reported)
        if state == attempt["status"] and (attempt["provider_id"] or not provider_id):
            return "unchanged"
        conn.execute(
            update(delivery_attempts)
            .where(delivery_attempts.c.id == attempt_id)
            .values(
                status=state,
                provider_id=attempt["provider_id"] or provider_id,
                error_code=error_code if state in FAILED_REPORTS else attempt["error_code"],
                updated_at=now,
            )
        )
        row = conn.execute(select(outbox).where(outbox.c.id == attempt["outbox_id"])).mappings().one()
        if state in FAILED_REPORTS and state != attempt["status"]:
            _fail(app, conn, row, state, error_code, now)
            outcome = "failed"
        else:
            _settle_sent(conn, row, attempt, now)
            outcome = state
    log.info("delivery status", extra={"attempt_id": attempt_id, "status": outcome, "code": error_code})
    return outcome


def _locked_attempt(conn: Connection, attempt_id: int) -> Mapping[Any, Any] | None:
    query = select(delivery_attempts).where(delivery_attempts.c.id == attempt_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()  # two reports for one attempt at once: one after the other
    return conn.execute(query).mappings().first()


def _settle_sent(conn: Connection, row: Mapping[Any, Any], attempt: Mapping[Any, Any], now: datetime) -> None:
    """The provider has the message: a row not yet recorded, or of unknown outcome, was sent."""
    conn.execute(
        update(outbox)
        .where(outbox.c.id == row["id"], outbox.c.status.in_([delivery.SENDING, delivery.UNKNOWN]))
        .values(
            status=delivery.SENT,
            attempts=attempt["number"],
            sent_at=now,
            reason=None,
            claim_token=None,
            updated_at=now,
        )
    )


def _fail(
    app: Interlude, conn: Connection, row: Mapping[Any, Any], state: str, code: str | None, now: datetime
) -> None:
    reason = f"{state}:{code}" if code else state
    conn.execute(
        update(outbox)
        .where(
            outbox.c.id == row["id"],
            outbox.c.status.in_([delivery.SENDING, delivery.SENT, delivery.UNKNOWN]),
        )
        .values(status=delivery.FAILED, reason=reason, claim_token=None, updated_at=now)
    )
    error = TransportError(f"provider reported {state}", kind="permanent", code=code)
    for hook in app.hooks.on_failed:
        hook(conn, row, error, now)


# --- what failed, to whom, why ------------------------------------------------------------------


def mask_phone(value: str | None) -> str:
    """+12025550143 -> +1******0143: enough for staff to tell numbers apart, not to dial one."""
    if not value:
        return "-"
    if len(value) <= 6:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 6) + value[-4:]


def mask_email(value: str | None) -> str:
    """maria@example.org -> m***@example.org."""
    if not value:
        return "-"
    local, at, domain = value.rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask(channel: str, value: str | None) -> str:
    return mask_email(value) if channel == "email" else mask_phone(value)


def list_deliveries(app: Interlude, *, failed: bool = False, limit: int = 100) -> list[dict[str, Any]]:
    """Messages that were tried, newest first: with `failed`, only those that need a person
    (failed, reported undelivered, or of unknown outcome), each with masked recipient and why."""
    query = select(outbox).order_by(outbox.c.updated_at.desc(), outbox.c.id.desc()).limit(limit)
    if failed:
        reported = select(delivery_attempts.c.outbox_id).where(delivery_attempts.c.status.in_(FAILED_REPORTS))
        query = query.where(or_(outbox.c.status.in_(NEEDS_ATTENTION), outbox.c.id.in_(reported)))
    else:
        query = query.where(outbox.c.attempts > 0)
    with app.reader.connect() as conn:
        rows = list(conn.execute(query).mappings())
        ids = [r["id"] for r in rows]
        latest = _latest_attempts(conn, ids)
        people = _patients(conn, {r["patient_id"] for r in rows})
        fallbacks = _fallbacks(conn, ids)
    return [_view(r, latest.get(r["id"]), people.get(r["patient_id"]), fallbacks.get(r["id"])) for r in rows]


def _latest_attempts(conn: Connection, ids: list[int]) -> dict[int, Mapping[Any, Any]]:
    latest: dict[int, Mapping[Any, Any]] = {}
    if ids:
        query = (
            select(delivery_attempts)
            .where(delivery_attempts.c.outbox_id.in_(ids))
            .order_by(delivery_attempts.c.id)
        )
        for a in conn.execute(query).mappings():
            latest[a["outbox_id"]] = a
    return latest


def _patients(conn: Connection, ids: set[int]) -> dict[int, Mapping[Any, Any]]:
    if not ids:
        return {}
    query = select(patients.c.id, patients.c.phone, patients.c.email).where(patients.c.id.in_(ids))
    return {p["id"]: p for p in conn.execute(query).mappings()}


def _fallbacks(conn: Connection, ids: list[int]) -> dict[int, Mapping[Any, Any]]:
    if not ids:
        return {}
    keys = {fallback_key(i): i for i in ids}
    query = select(outbox.c.id, outbox.c.dedupe_key, outbox.c.channel, outbox.c.status).where(
        outbox.c.dedupe_key.in_(list(keys))
    )
    return {keys[r["dedupe_key"]]: r for r in conn.execute(query).mappings()}


def _view(
    row: Mapping[Any, Any],
    attempt: Mapping[Any, Any] | None,
    patient: Mapping[Any, Any] | None,
    fallback: Mapping[Any, Any] | None,
) -> dict[str, Any]:
    if row["audience"] == "staff":
        to = row["recipient"]
    elif patient is not None:
        to = patient["email"] if row["channel"] == "email" else patient["phone"]
    else:
        to = None
    code = attempt["error_code"] if attempt else None
    reason = row["reason"] or (attempt["status"] if attempt else None)
    return {
        "id": row["id"],
        "patient_id": row["patient_id"],
        "session_id": row["session_id"],
        "step": row["step_id"],
        "category": row["category"],
        "channel": row["channel"],
        "to": mask(row["channel"], to),
        "status": row["status"],
        "delivery": attempt["status"] if attempt else None,
        "reason": reason,
        "code": code,
        "why": meaning(code),
        "attempts": row["attempts"],
        "updated_at": row["updated_at"].isoformat(),
        "fallback": (
            {"id": fallback["id"], "channel": fallback["channel"], "status": fallback["status"]}
            if fallback
            else None
        ),
    }
