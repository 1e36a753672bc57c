"""How the dispatcher records what it decided and what the transports answered: attempts opened
before their sends, final states, retries with persisted backoff, and the hooks that follow."""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Connection, and_, any_, bindparam, case, insert, update
from sqlalchemy.dialects.postgresql import ARRAY

from ..bootstrap import Interlude
from ..db.tables import delivery_attempts, outbox
from ..domain import delivery
from ..transports.base import SendResult, TransportError
from .dispatch_decide import Decision

log = logging.getLogger("interlude.dispatch")
Outcome = tuple[Decision, SendResult | TransportError]


@dataclass
class DispatchStats:
    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    cancelled: int = 0
    deferred: int = 0
    retrying: int = 0
    failed: int = 0
    unknown: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def add(self, other: DispatchStats) -> None:
        for name in ("claimed", "sent", "skipped", "cancelled", "deferred", "retrying", "failed", "unknown"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for k, n in other.reasons.items():
            self.reasons[k] = self.reasons.get(k, 0) + n

    def count(self, outcome: str, reason: str | None = None) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        if reason:
            self.reasons[reason] = self.reasons.get(reason, 0) + 1


def ids_in(postgres: bool, column: Any) -> ColumnElement[bool]:
    """`column` among the ids bound as "ids": one array parameter on PostgreSQL (a thousand
    placeholders made each statement slow to build and parse), a list on SQLite."""
    if postgres:
        return column == any_(bindparam("ids", type_=ARRAY(BigInteger())))
    return column.in_(bindparam("ids", expanding=True))


class Recorder:
    """The dispatcher's writes, with statements built once (building them per message was the
    hot path). Every method runs in the caller's transaction."""

    def __init__(self, app: Interlude, rng: random.Random, postgres: bool) -> None:
        self.app = app
        self.rng = rng
        sending = and_(outbox.c.id == bindparam("oid"), outbox.c.status == delivery.SENDING)
        now: Any = bindparam("now")
        why: Any = bindparam("why")
        self._q_close = (
            update(outbox)
            .where(sending)
            .values(status=bindparam("st"), reason=why, claim_token=None, updated_at=now)
        )
        self._q_defer = (
            update(outbox)
            .where(sending)
            .values(
                status=delivery.PENDING,
                next_attempt_at=bindparam("at"),
                reason=why,
                claim_token=None,
                updated_at=now,
            )
        )
        # One statement for a whole chunk: a claimed row's attempts cannot change while it is ours.
        self._q_sent = (
            update(outbox)
            .where(ids_in(postgres, outbox.c.id), outbox.c.status == delivery.SENDING)
            .values(
                status=delivery.SENT,
                attempts=outbox.c.attempts + 1,
                sent_at=now,
                reason=None,
                claim_token=None,
                updated_at=now,
            )
        )
        # A status callback may have moved the attempt on before the send was recorded (Twilio
        # reports "delivered" within seconds): the send's own answer never moves it back.
        still_sending = delivery_attempts.c.status == "sending"
        self._q_attempt_done = (
            update(delivery_attempts)
            .where(delivery_attempts.c.id == bindparam("aid"))
            .values(
                status=case((still_sending, bindparam("st")), else_=delivery_attempts.c.status),
                provider_id=bindparam("pid"),
                updated_at=now,
            )
        )
        self._q_open = insert(delivery_attempts).returning(
            delivery_attempts.c.id, sort_by_parameter_order=True
        )

    def open_attempts(
        self, conn: Connection, chunk: list[Decision], now: datetime, status: str = "sending"
    ) -> None:
        """Write the attempt rows before the sends, so a crash mid-send is never a silent resend
        (a recording transport's attempts are written in their final state: they commit in one
        transaction with the records)."""
        params = [
            {
                "outbox_id": d.row["id"],
                "number": d.row["attempts"] + 1,
                "channel": d.row["channel"],
                "transport": self.app.transports[d.row["channel"]].name,
                "status": status,
                "created_at": now,
                "updated_at": now,
            }
            for d in chunk
        ]
        ids = conn.execute(self._q_open, params).scalars().all()
        for d, attempt_id in zip(chunk, ids, strict=True):
            assert d.message is not None
            d.message = replace(d.message, attempt_id=attempt_id)

    def close_many(
        self, conn: Connection, decisions: list[Decision], now: datetime, stats: DispatchStats | None
    ) -> None:
        """Record every outcome that is not a send, one statement per kind."""
        finals = {"skipped": delivery.SKIPPED, "cancelled": delivery.CANCELLED, "failed": delivery.FAILED}
        closing = [
            {"oid": d.row["id"], "st": finals[d.outcome], "why": d.reason, "now": now}
            for d in decisions
            if d.outcome in finals
        ]
        deferring = [
            {"oid": d.row["id"], "at": d.retry_at, "why": d.reason, "now": now}
            for d in decisions
            if d.outcome == "deferred"
        ]
        if closing:
            conn.execute(self._q_close, closing)
        if deferring:
            conn.execute(self._q_defer, deferring)
        if stats is not None:
            for d in decisions:
                stats.count(d.outcome, d.reason)

    def record_many(
        self, conn: Connection, results: list[Outcome], now: datetime, stats: DispatchStats
    ) -> None:
        sent = [(d, r) for d, r in results if isinstance(r, SendResult)]
        self.record_sent(conn, sent, now, stats)
        for d, _ in sent:
            assert d.message is not None
            ids = {"outbox_id": d.row["id"], "attempt_id": d.message.attempt_id, "channel": d.row["channel"]}
            log.info("sent", extra=ids)
        for d, result in results:
            if isinstance(result, TransportError):
                self.record_error(conn, d, result, now, stats)

    def record_sent(
        self,
        conn: Connection,
        sent: Sequence[tuple[Decision, SendResult]],
        now: datetime,
        stats: DispatchStats,
    ) -> None:
        if not sent:
            return
        done = [
            {"aid": d.message.attempt_id, "st": r.status, "pid": r.provider_id, "now": now}
            for d, r in sent
            if d.message is not None
        ]
        conn.execute(self._q_attempt_done, done)
        self.mark_sent(conn, [d for d, _ in sent], now, stats)

    def mark_sent(
        self, conn: Connection, sent: Sequence[Decision], now: datetime, stats: DispatchStats
    ) -> None:
        """The outbox rows of `sent` become sent (one statement), then the on-sent hooks run."""
        conn.execute(self._q_sent, {"ids": [d.row["id"] for d in sent], "now": now})
        hooks = self.app.hooks.on_sent
        for d in sent:
            for hook in hooks:
                hook(conn, d.row, now)
        stats.sent += len(sent)

    def record_error(
        self, conn: Connection, d: Decision, result: TransportError, now: datetime, stats: DispatchStats
    ) -> None:
        assert d.message is not None
        attempts = d.row["attempts"] + 1
        conn.execute(
            update(delivery_attempts)
            .where(delivery_attempts.c.id == d.message.attempt_id, delivery_attempts.c.status == "sending")
            .values(
                status="ambiguous" if result.kind == "ambiguous" else "error",
                error_code=result.code,
                error_class=result.kind,
                updated_at=now,
            )
        )
        reason = f"{result.kind}:{result.code}" if result.code else result.kind
        if result.kind == "retryable" and attempts < self.app.config.worker.max_attempts:
            w = self.app.config.worker
            delay = delivery.backoff_seconds(attempts, w.retry_base_seconds, w.retry_max_seconds, self.rng)
            conn.execute(
                update(outbox)
                .where(outbox.c.id == d.row["id"], outbox.c.status == delivery.SENDING)
                .values(
                    status=delivery.PENDING,
                    attempts=attempts,
                    reason=reason,
                    claim_token=None,
                    next_attempt_at=now + timedelta(seconds=delay),
                    updated_at=now,
                )
            )
            stats.count("retrying", reason)
        elif result.kind == "ambiguous":
            self.finish(conn, d.row, delivery.UNKNOWN, reason, now, attempts=attempts)
            stats.count("unknown", reason)
        else:
            final = reason if result.kind == "permanent" else f"gave-up:{reason}"
            self.finish(conn, d.row, delivery.FAILED, final, now, attempts=attempts)
            for hook in self.app.hooks.on_failed:
                hook(conn, d.row, result, now)
            stats.count("failed", final)
        log.warning("send failed", extra={"outbox_id": d.row["id"], "kind": result.kind, "code": result.code})

    def finish(
        self,
        conn: Connection,
        row: Mapping[Any, Any],
        status: str,
        reason: str | None,
        now: datetime,
        **extra: Any,
    ) -> None:
        conn.execute(
            update(outbox)
            .where(outbox.c.id == row["id"], outbox.c.status == delivery.SENDING)
            .values(status=status, reason=reason, updated_at=now, claim_token=None, **extra)
        )
