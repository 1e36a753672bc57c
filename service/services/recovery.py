"""Recover claims abandoned by a worker that died, without ever sending a message twice."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, select, update

from ..bootstrap import Interlude
from ..db.tables import delivery_attempts, outbox
from ..domain import delivery


def recover_stale(app: Interlude, now: datetime | None = None) -> int:
    """Put back claims abandoned by a dead worker, without ever sending a message twice.

    A claim with no open attempt was never sent: back to pending. An open attempt is asked
    of its transport: not sent -> pending again; sent -> recorded as sent; cannot tell ->
    "unknown", shown to staff rather than resent.
    """
    now = now or app.clock()
    cutoff = now - timedelta(seconds=app.config.worker.stale_claim_seconds)
    recovered = 0
    with app.engine.begin() as conn:
        stale = (
            conn.execute(
                select(outbox).where(outbox.c.status == delivery.SENDING, outbox.c.claimed_at < cutoff)
            )
            .mappings()
            .all()
        )
        for row in stale:
            recovered += _recover(app, conn, row, now)
    return recovered


def _recover(app: Interlude, conn: Connection, row: Mapping[Any, Any], now: datetime) -> int:
    open_attempt = (
        conn.execute(
            select(delivery_attempts).where(
                and_(delivery_attempts.c.outbox_id == row["id"], delivery_attempts.c.status == "sending")
            )
        )
        .mappings()
        .first()
    )
    back = {"status": delivery.PENDING, "claim_token": None, "next_attempt_at": now, "updated_at": now}
    if open_attempt is None:
        conn.execute(
            update(outbox).where(outbox.c.id == row["id"], outbox.c.status == delivery.SENDING).values(**back)
        )
        return 1
    sent = app.transports[row["channel"]].was_sent(open_attempt["id"])
    state = {True: "sent", False: "error", None: "ambiguous"}[sent]
    conn.execute(
        update(delivery_attempts)
        .where(delivery_attempts.c.id == open_attempt["id"])
        .values(status=state, error_class="worker-died" if sent is not True else None, updated_at=now)
    )
    if sent is True:
        values = {
            "status": delivery.SENT,
            "sent_at": now,
            "attempts": row["attempts"] + 1,
            "claim_token": None,
            "updated_at": now,
        }
    elif sent is False:
        values = {**back, "attempts": row["attempts"] + 1, "reason": "recovered-unsent"}
    else:
        values = {
            "status": delivery.UNKNOWN,
            "reason": "worker-died-during-send",
            "attempts": row["attempts"] + 1,
            "claim_token": None,
            "updated_at": now,
        }
    conn.execute(
        update(outbox).where(outbox.c.id == row["id"], outbox.c.status == delivery.SENDING).values(**values)
    )
    return 1
