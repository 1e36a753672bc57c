"""How the dispatcher records what it decided and what the transports answered: attempts opened
before their sends, final states, retries with persisted backoff, and the hooks that follow.

Every write to a claimed row names its claim token: a worker whose lease was taken over (it
expired and recovery reclaimed the row) changes nothing of a row that is no longer its own.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    and_,
    any_,
    bindparam,
    case,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from ...db.tables import delivery_attempts, outbox
from ...domain import delivery
from ...runtime import Interlude
from ...transports.base import SendResult, TransportError
from ..tasks import open_task
from .decide import Decision

log = logging.getLogger("interlude.dispatch")
Outcome = tuple[Decision, SendResult | TransportError]
# The reason of a message failed by our own code (a poison row, a bug), not by a provider.
INTERNAL_ERROR = "internal-error"
# Failures that no retry mends: a person must look at the message (a task is opened for each).
NEEDS_A_PERSON = (INTERNAL_ERROR, "template-error")


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
        ours = outbox.c.claim_token == bindparam("token")
        sending = and_(outbox.c.id == bindparam("oid"), outbox.c.status == delivery.SENDING, ours)
        now: Any = bindparam("now")
        why: Any = bindparam("why")
        self._q_close = (
            update(outbox)
            .where(sending)
            .values(status=bindparam("st"), reason=why, claim_token=None, lease_until=None, updated_at=now)
        )
        self._q_defer = (
            update(outbox)
            .where(sending)
            .values(
                status=delivery.PENDING,
                next_attempt_at=bindparam("at"),
                reason=why,
                claim_token=None,
                lease_until=None,
                updated_at=now,
            )
        )
        # One statement for a whole chunk: a claimed row's attempts cannot change while it is ours.
        self._q_sent = (
            update(outbox)
            .where(ids_in(postgres, outbox.c.id), outbox.c.status == delivery.SENDING, ours)
            .values(
                status=delivery.SENT,
                attempts=outbox.c.attempts + 1,
                sent_at=now,
                reason=None,
                claim_token=None,
                lease_until=None,
                updated_at=now,
            )
            .returning(outbox.c.id)
        )
        self._q_settled = select(outbox.c.id).where(
            ids_in(postgres, outbox.c.id), outbox.c.status == delivery.SENT, outbox.c.claim_token.is_(None)
        )
        # The lease: the rows of a chunk about to be sent (ownership re-checked, the answer is
        # the ids still ours), and every row of the claim still in flight.
        until: Any = bindparam("until")
        self._q_hold = (
            update(outbox)
            .where(ids_in(postgres, outbox.c.id), outbox.c.status == delivery.SENDING, ours)
            .values(lease_until=until)
            .returning(outbox.c.id)
        )
        self._q_extend = (
            update(outbox).where(outbox.c.status == delivery.SENDING, ours).values(lease_until=until)
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
            {
                "oid": d.row["id"],
                "token": d.row["claim_token"],
                "st": finals[d.outcome],
                "why": d.reason,
                "now": now,
            }
            for d in decisions
            if d.outcome in finals
        ]
        deferring = [
            {"oid": d.row["id"], "token": d.row["claim_token"], "at": d.retry_at, "why": d.reason, "now": now}
            for d in decisions
            if d.outcome == "deferred"
        ]
        for d in decisions:
            if d.outcome == "failed" and d.reason is not None and d.reason.startswith(NEEDS_A_PERSON):
                self.open_error_task(conn, d.row, d.reason, now)
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
        """The outbox rows of `sent` still ours become sent (one statement: a chunk is one claim's),
        then the on-sent hooks run for them."""
        if not sent:
            return
        params = {"ids": [d.row["id"] for d in sent], "token": sent[0].row["claim_token"], "now": now}
        marked = set(conn.execute(self._q_sent, params).scalars())
        rest = [d.row["id"] for d in sent if d.row["id"] not in marked]
        if rest:  # a status callback may have settled a row as sent first: it is still our send
            marked |= set(conn.execute(self._q_settled, {"ids": rest}).scalars())
        hooks = self.app.hooks.on_sent
        for d in sent:
            if d.row["id"] not in marked:
                log.warning("claim lost before its result", extra={"outbox_id": d.row["id"]})
                continue
            for hook in hooks:
                hook(conn, d.row, now)
        stats.sent += len(marked)

    # --- leases ------------------------------------------------------------------------------

    def hold(self, conn: Connection, ids: list[int], token: str, until: datetime) -> set[int]:
        """Re-check that the rows `ids` are still ours (claimed under `token`, still sending) and
        extend their lease to `until`; returns the ids that are."""
        return set(conn.execute(self._q_hold, {"ids": ids, "token": token, "until": until}).scalars())

    def release(self, conn: Connection, token: str, now: datetime) -> int:
        """Put the rows of claim `token` still sending, with no attempt open (never sent), back to
        pending; returns how many."""
        open_attempt = (
            select(delivery_attempts.c.id)
            .where(delivery_attempts.c.outbox_id == outbox.c.id, delivery_attempts.c.status == "sending")
            .exists()
        )
        done = conn.execute(
            update(outbox)
            .where(outbox.c.claim_token == token, outbox.c.status == delivery.SENDING, ~open_attempt)
            .values(status=delivery.PENDING, claim_token=None, lease_until=None, updated_at=now)
        )
        return int(done.rowcount)

    def extend(self, conn: Connection, token: str, until: datetime) -> None:
        """Extend to `until` the lease of every row of claim `token` still in flight."""
        conn.execute(self._q_extend, {"token": token, "until": until})

    # --- internal errors ---------------------------------------------------------------------

    def open_error_task(self, conn: Connection, row: Mapping[Any, Any], reason: str, now: datetime) -> None:
        """A staff task for a message our own code could not handle (one per message)."""
        open_task(
            conn,
            key=f"message-error:o{row['id']}",
            kind="message-error",
            now=now,
            detail=(
                f"{row['category']} message {row['step_id']} (#{row['id']}) by {row['channel']} could not "
                f"be prepared or recorded ({reason}): check the patient's details and contact them."
            ),
            patient_id=row["patient_id"],
            session_id=row["session_id"],
        )

    def record_internal_error(
        self,
        conn: Connection,
        d: Decision,
        result: SendResult | TransportError | None,
        reason: str,
        now: datetime,
    ) -> str | None:
        """Close a message whose preparing or recording raised, without the hooks, and open a task.

        The status says what the transport answered: a message that left stays sent and one that
        may have left is unknown (never resent); any other fails. Returns the outbox status
        written, or None when the row was no longer ours."""
        status, attempt = delivery.FAILED, "error"
        if isinstance(result, SendResult):
            status, attempt = delivery.SENT, result.status
        elif isinstance(result, TransportError) and result.kind == "ambiguous":
            status, attempt = delivery.UNKNOWN, "ambiguous"
        extra: dict[str, Any] = {"sent_at": now} if status == delivery.SENT else {}
        if result is not None and d.message is not None:
            extra["attempts"] = d.row["attempts"] + 1
            conn.execute(
                update(delivery_attempts)
                .where(
                    delivery_attempts.c.id == d.message.attempt_id, delivery_attempts.c.status == "sending"
                )
                .values(
                    status=attempt,
                    provider_id=result.provider_id if isinstance(result, SendResult) else None,
                    error_class=result.kind if isinstance(result, TransportError) else None,
                    updated_at=now,
                )
            )
        if not self.finish(conn, d.row, status, reason, now, **extra):
            return None
        self.open_error_task(conn, d.row, reason, now)
        return status

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
                .where(
                    outbox.c.id == d.row["id"],
                    outbox.c.status == delivery.SENDING,
                    outbox.c.claim_token == d.row["claim_token"],
                )
                .values(
                    status=delivery.PENDING,
                    attempts=attempts,
                    reason=reason,
                    claim_token=None,
                    lease_until=None,
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
            if self.finish(conn, d.row, delivery.FAILED, final, now, attempts=attempts):
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
    ) -> bool:
        """Give a row still ours its final `status`; returns whether it was still ours."""
        done = conn.execute(
            update(outbox)
            .where(
                outbox.c.id == row["id"],
                outbox.c.status == delivery.SENDING,
                outbox.c.claim_token == row["claim_token"],
            )
            .values(status=status, reason=reason, updated_at=now, claim_token=None, lease_until=None, **extra)
        )
        return bool(done.rowcount)
