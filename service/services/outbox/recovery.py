"""Recover claims abandoned by a worker that died, without ever sending a message twice.

Only an expired lease is recovered: a live worker extends the lease of its rows while it works
(services.dispatch), so a slow batch is never taken for a dead one. Recovery first takes the row
over under a token of its own, by a conditional UPDATE that re-checks the expiry: a worker that
extended its lease meanwhile keeps it, and from then on the old worker's writes (which name its
own token) change nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, or_, select, update

from ...db.engine import reader
from ...db.tables import delivery_attempts, outbox
from ...domain import delivery
from ...runtime import Interlude

log = logging.getLogger("interlude.dispatch")


def recover_stale(app: Interlude, now: datetime | None = None) -> int:
    """Put back claims whose lease expired, without ever sending a message twice; returns how many.

    A claim with no open attempt was never sent: back to pending. An open attempt is asked
    of its transport: not sent -> pending again; sent -> recorded as sent; cannot tell ->
    "unknown", shown to staff rather than resent.
    """
    now = now or app.clock()
    with reader(app.engine).connect() as conn:
        stale = conn.execute(select(outbox.c.id, outbox.c.claim_token).where(_expired(app, now))).all()
    recovered = 0
    for outbox_id, token in stale:
        try:
            recovered += _recover(app, outbox_id, token, now)
        except Exception:  # one row must not keep the others from being recovered
            log.exception("recovery failed", extra={"outbox_id": outbox_id})
    return recovered


def _expired(app: Interlude, now: datetime) -> ColumnElement[bool]:
    """Claims whose lease ended (or, for a claim made before leases, that are older than one)."""
    legacy = now - timedelta(seconds=app.config.worker.stale_claim_seconds)
    return and_(
        outbox.c.status == delivery.SENDING,
        or_(
            outbox.c.lease_until < now,
            and_(outbox.c.lease_until.is_(None), outbox.c.claimed_at < legacy),
        ),
    )


def _recover(app: Interlude, outbox_id: int, token: str | None, now: datetime) -> int:
    mine = f"recovery-{uuid.uuid4().hex[:24]}"
    with app.engine.begin() as conn:
        row = (
            conn.execute(
                update(outbox)
                .where(outbox.c.id == outbox_id, outbox.c.claim_token.is_not_distinct_from(token))
                .where(_expired(app, now))
                .values(
                    claim_token=mine,
                    lease_until=now + timedelta(seconds=app.config.worker.stale_claim_seconds),
                    updated_at=now,
                )
                .returning(*outbox.c)
            )
            .mappings()
            .first()
        )
        if row is None:
            return 0  # its worker extended the lease meanwhile, or another recovery took it
        attempt = _open_attempt(conn, outbox_id)
        if attempt is None:
            _settle(conn, row, _back(now))
            return 1
    sent = _was_sent(app, row, attempt["id"])
    state = {True: "sent", False: "error", None: "ambiguous"}[sent]
    with app.engine.begin() as conn:
        conn.execute(
            update(delivery_attempts)
            .where(delivery_attempts.c.id == attempt["id"], delivery_attempts.c.status == "sending")
            .values(status=state, error_class="worker-died" if sent is not True else None, updated_at=now)
        )
        _settle(conn, row, _outcome(row, sent, now))
    log.info("recovered", extra={"outbox_id": outbox_id, "attempt_id": attempt["id"], "status": state})
    return 1


def _open_attempt(conn: Connection, outbox_id: int) -> Mapping[Any, Any] | None:
    query = select(delivery_attempts).where(
        delivery_attempts.c.outbox_id == outbox_id, delivery_attempts.c.status == "sending"
    )
    return conn.execute(query).mappings().first()


def _was_sent(app: Interlude, row: Mapping[Any, Any], attempt_id: int) -> bool | None:
    """The transport's answer, asked outside any transaction (it may be a network call)."""
    transport = app.transports.get(row["channel"])
    if transport is None or not hasattr(transport, "was_sent"):
        return None
    try:
        answer: bool | None = transport.was_sent(attempt_id)
    except Exception:  # a transport that cannot be asked cannot tell
        log.exception("was_sent failed", extra={"outbox_id": row["id"], "attempt_id": attempt_id})
        return None
    return answer


def _back(now: datetime) -> dict[str, Any]:
    return {"status": delivery.PENDING, "next_attempt_at": now, "updated_at": now}


def _outcome(row: Mapping[Any, Any], sent: bool | None, now: datetime) -> dict[str, Any]:
    attempts = row["attempts"] + 1
    if sent is True:
        return {"status": delivery.SENT, "sent_at": now, "attempts": attempts, "updated_at": now}
    if sent is False:
        return {**_back(now), "attempts": attempts, "reason": "recovered-unsent"}
    return {
        "status": delivery.UNKNOWN,
        "reason": "worker-died-during-send",
        "attempts": attempts,
        "updated_at": now,
    }


def _settle(conn: Connection, row: Mapping[Any, Any], values: dict[str, Any]) -> None:
    """Write the recovered state of a row recovery holds (under its own token), and release it."""
    conn.execute(
        update(outbox)
        .where(
            outbox.c.id == row["id"],
            outbox.c.status == delivery.SENDING,
            outbox.c.claim_token == row["claim_token"],
        )
        .values(claim_token=None, lease_until=None, **values)
    )
