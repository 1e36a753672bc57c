"""The dispatcher: claim due messages atomically, re-check them, render, send, record.

Claim before send: a row moves pending -> sending in one conditional UPDATE (on PostgreSQL the
rows are picked with FOR UPDATE SKIP LOCKED), so any number of workers send each message once.
A delivery attempt is written before the send; if a worker dies between the send and the
record, `recover_stale` asks the transport whether the attempt left instead of resending.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    select,
    update,
)

from ..bootstrap import Interlude
from ..db.tables import consent_events, outbox, patients, sessions
from ..domain import delivery
from ..domain.consent import ConsentEvent, allows, purpose_of
from ..domain.schedule import CATEGORY_PRIORITY
from ..transports.base import RecordingTransport, SendResult, Transport, TransportError
from .dispatch_decide import Decider, Decision
from .dispatch_record import DispatchStats, Outcome, Recorder, ids_in

__all__ = ["DispatchStats", "Dispatcher"]

log = logging.getLogger("interlude.dispatch")
PRIORITIES = sorted(set(CATEGORY_PRIORITY.values()))


class Dispatcher:
    """Sends what is due. One instance per worker process; safe to run in many processes."""

    def __init__(
        self, app: Interlude, worker_id: str | None = None, rng: random.Random | None = None
    ) -> None:
        self.app = app
        self.worker_id = worker_id or uuid.uuid4().hex[:12]
        self.rng = rng or random.Random()
        self.postgres = app.engine.dialect.name == "postgresql"
        self._pool: ThreadPoolExecutor | None = None
        self._pool_width = 0
        self.record = Recorder(app, self.rng, self.postgres)
        self._build_statements()

    def _build_statements(self) -> None:
        """Statements built once per dispatcher: building them per message was the hot path."""
        self._q_session_status = select(sessions.c.id, sessions.c.status).where(
            ids_in(self.postgres, sessions.c.id)
        )
        self._q_new_consent = select(consent_events).where(
            ids_in(self.postgres, consent_events.c.patient_id), consent_events.c.id > bindparam("seen")
        )
        self._q_patients = select(patients).where(ids_in(self.postgres, patients.c.id))
        self._q_sessions = select(sessions).where(ids_in(self.postgres, sessions.c.id))
        self._q_consent = select(consent_events).where(ids_in(self.postgres, consent_events.c.patient_id))
        now: Any = bindparam("now")
        self._q_take = (
            update(outbox)
            .where(ids_in(self.postgres, outbox.c.id), outbox.c.status == delivery.PENDING)
            .values(status=delivery.SENDING, claim_token=bindparam("token"), claimed_at=now, updated_at=now)
            .returning(*outbox.c)
        )

    # --- claim -------------------------------------------------------------------------------

    def claim(self, limit: int, now: datetime | None = None) -> list[Mapping[Any, Any]]:
        """Atomically take up to `limit` due messages, most urgent category first.

        Per priority, the rows are picked (FOR UPDATE SKIP LOCKED on PostgreSQL; under the
        write lock on SQLite) and moved to "sending" by one UPDATE ... RETURNING."""
        now = now or self.app.clock()
        token = uuid.uuid4().hex
        claimed: list[Mapping[Any, Any]] = []
        with self.app.engine.begin() as conn:
            for priority in PRIORITIES:
                remaining = limit - len(claimed)  # across priorities: never more than `limit`
                if remaining <= 0:
                    break
                pick = (
                    select(outbox.c.id)
                    .where(
                        outbox.c.status == delivery.PENDING,
                        outbox.c.priority == priority,
                        outbox.c.next_attempt_at <= now,
                    )
                    .order_by(outbox.c.next_attempt_at)
                    .limit(remaining)
                )
                if self.postgres:
                    pick = pick.with_for_update(skip_locked=True)
                # Picked first, then taken by id: PostgreSQL may run an IN (subquery) with
                # SKIP LOCKED more than once per UPDATE and take more rows than the limit.
                ids = [r[0] for r in conn.execute(pick)]
                if ids:
                    claimed.extend(
                        conn.execute(self._q_take, {"ids": ids, "token": token, "now": now}).mappings()
                    )
        return sorted(claimed, key=lambda r: r["id"])  # the order they were planned in, as before

    # --- load and decide ---------------------------------------------------------------------

    def _load(self, conn: Connection, rows: list[Mapping[Any, Any]]) -> tuple[dict, dict, dict]:
        patient_ids = {r["patient_id"] for r in rows}
        session_ids = {r["session_id"] for r in rows if r["session_id"] is not None}
        pats = {p["id"]: p for p in conn.execute(self._q_patients, {"ids": list(patient_ids)}).mappings()}
        sess: dict[Any, Mapping[Any, Any]] = {}
        if session_ids:
            sess = {s["id"]: s for s in conn.execute(self._q_sessions, {"ids": list(session_ids)}).mappings()}
        consent: dict[int, list[ConsentEvent]] = {pid: [] for pid in patient_ids}
        for e in conn.execute(self._q_consent, {"ids": list(patient_ids)}).mappings():
            consent[e["patient_id"]].append(ConsentEvent(e["id"], e["channel"], e["purpose"], e["action"]))
        return pats, sess, consent

    def _gate(self, conn: Connection, chunk: list[Decision], seen_consent: int) -> dict[int, Decision]:
        """The last look before a chunk of sends: a cancel or an opt-out that landed since the
        batch was loaded stops the message. Returns replacement decisions by outbox id."""
        session_ids = [d.row["session_id"] for d in chunk if d.row["session_id"] is not None]
        patient_ids = list({d.row["patient_id"] for d in chunk})
        status = dict(conn.execute(self._q_session_status, {"ids": session_ids}).all()) if session_ids else {}
        newer: dict[int, list[ConsentEvent]] = {}
        for e in conn.execute(self._q_new_consent, {"ids": patient_ids, "seen": seen_consent}).mappings():
            event = ConsentEvent(e["id"], e["channel"], e["purpose"], e["action"])
            newer.setdefault(e["patient_id"], []).append(event)
        stops: dict[int, Decision] = {}
        for d in chunk:
            row = d.row
            state = status.get(row["session_id"])
            if state in ("cancelled", "no_show"):
                reason = "session-cancelled" if state == "cancelled" else "session-no-show"
                stops[row["id"]] = Decision(row, "cancelled", reason)
            elif row["patient_id"] in newer and not allows(
                d.consent + newer[row["patient_id"]], row["channel"], purpose_of(row["category"])
            ):
                stops[row["id"]] = Decision(row, "skipped", "opted-out")
        return stops

    # --- process -----------------------------------------------------------------------------

    def process(self, rows: list[Mapping[Any, Any]], now: datetime | None = None) -> DispatchStats:
        """Re-check, render and send claimed rows; every row ends in a recorded state."""
        now = now or self.app.clock()
        stats = DispatchStats(claimed=len(rows))
        if not rows:
            return stats
        decider = Decider(self.app, now)
        with self.app.engine.begin() as conn:
            pats, sess, consent = self._load(conn, rows)
            seen = max((e.id for events in consent.values() for e in events), default=0)
            decisions = []
            for r in rows:
                events = consent[r["patient_id"]]
                d = decider.decide(r, pats[r["patient_id"]], sess.get(r["session_id"]), events)
                d.consent = events
                decisions.append(d)
            self.record.close_many(conn, [d for d in decisions if d.outcome != "send"], now, stats)
        results: list[Outcome] = []
        for channel, sends in self._by_channel([d for d in decisions if d.outcome == "send"]):
            transport = self.app.transports[channel]
            if isinstance(transport, RecordingTransport):
                for chunk in _chunks(sends, _size(transport, "chunk_size")):
                    self._send_recorded(transport, chunk, seen, now, stats)
            elif _size(transport, "concurrency") > 1:
                results.extend(self._send_concurrently(transport, sends, seen, now, stats))
            else:
                for chunk in _chunks(sends, _size(transport, "chunk_size")):
                    results.extend(self._send_chunk(chunk, seen, now, stats))
        if results:
            with self.app.engine.begin() as conn:
                self.record.record_many(conn, results, now, stats)
        return stats

    @staticmethod
    def _by_channel(sends: list[Decision]) -> Iterable[tuple[str, list[Decision]]]:
        by_channel: dict[str, list[Decision]] = {}
        for d in sends:
            by_channel.setdefault(d.row["channel"], []).append(d)
        return by_channel.items()

    def _send_recorded(
        self,
        transport: RecordingTransport,
        chunk: list[Decision],
        seen: int,
        now: datetime,
        stats: DispatchStats,
    ) -> None:
        """Gate, open the attempts, record the sends and mark them sent, in one transaction: the
        transport's records and the sent state commit together or not at all (a crash leaves
        the claim with no attempt, and recovery puts it back to pending)."""
        with self.app.engine.begin() as conn:
            chunk = self._gated(conn, chunk, seen, now, stats)
            if not chunk:
                return
            self.record.open_attempts(conn, chunk, now, status=transport.recorded_status)
            transport.send_within(conn, [d.message for d in chunk if d.message is not None])
            self.record.mark_sent(conn, chunk, now, stats)
        log.info("sent", extra={"channel": chunk[0].row["channel"], "sent": len(chunk)})

    def _send_chunk(
        self, chunk: list[Decision], seen: int, now: datetime, stats: DispatchStats
    ) -> list[Outcome]:
        """Gate a chunk and open its attempts (committed before any send), then send each."""
        with self.app.engine.begin() as conn:
            chunk = self._gated(conn, chunk, seen, now, stats)
            if chunk:
                self.record.open_attempts(conn, chunk, now)
        return [(d, self._send(d)) for d in chunk]

    def _send_concurrently(
        self, transport: Transport, sends: list[Decision], seen: int, now: datetime, stats: DispatchStats
    ) -> list[Outcome]:
        """Up to the transport's `concurrency` sends in flight (a provider that answers slowly).

        A few messages at a time are gated and their attempts committed, only once that many
        sends have finished: a gated message goes straight to a free sender, so the gate stays
        right before its send (its wait for a slot of the sender's pace is bounded by the
        transport: twilio_sms.IN_FLIGHT_SECONDS)."""
        width = _size(transport, "concurrency")
        pool = self._executor(width)
        free = threading.Semaphore(width)
        futures: list[tuple[Decision, Future[SendResult | TransportError]]] = []
        for chunk in _chunks(sends, max(1, width // 4)):
            for _ in chunk:
                free.acquire()
            with self.app.engine.begin() as conn:
                kept = self._gated(conn, chunk, seen, now, stats)
                if kept:
                    self.record.open_attempts(conn, kept, now)
            if len(kept) < len(chunk):
                free.release(len(chunk) - len(kept))
            futures.extend((d, pool.submit(self._send_then_release, d, free)) for d in kept)
        return [(d, future.result()) for d, future in futures]

    def _send_then_release(self, d: Decision, free: threading.Semaphore) -> SendResult | TransportError:
        try:
            return self._send(d)
        finally:
            free.release()

    def _executor(self, width: int) -> ThreadPoolExecutor:
        """The senders' threads, kept for the dispatcher's life (one pool: one channel sends
        concurrently, the Twilio SMS transport)."""
        if self._pool is None or self._pool_width != width:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            self._pool = ThreadPoolExecutor(max_workers=width, thread_name_prefix="interlude-send")
            self._pool_width = width
        return self._pool

    def _gated(
        self, conn: Connection, chunk: list[Decision], seen: int, now: datetime, stats: DispatchStats
    ) -> list[Decision]:
        stops = self._gate(conn, chunk, seen)
        if not stops:
            return chunk
        self.record.close_many(conn, list(stops.values()), now, stats)
        return [d for d in chunk if d.row["id"] not in stops]

    def _send(self, d: Decision) -> SendResult | TransportError:
        assert d.message is not None
        try:
            return self.app.transports[d.row["channel"]].send(d.message)
        except TransportError as exc:
            return exc
        except Exception as exc:  # a transport bug must not lose the row: treat as ambiguous
            log.exception("transport raised", extra={"outbox_id": d.row["id"]})
            return TransportError(f"{type(exc).__name__}", kind="ambiguous", code="transport-crash")

    # --- loop and recovery -------------------------------------------------------------------

    def run_once(self, max_batches: int = 50) -> DispatchStats:
        """Claim and process batches until nothing is due (or `max_batches` were done)."""
        total = DispatchStats()
        for _ in range(max_batches):
            rows = self.claim(self._claim_limit())
            if not rows:
                break
            total.add(self.process(rows))
        return total

    def _claim_limit(self) -> int:
        """The batch size, or less when a transport paces its sends (it declares `claim_limit`):
        a claim must leave within seconds, so that a safety message claimed next is not held
        behind a long paced batch, and no claim ages into stale-claim recovery mid-batch."""
        limits = [getattr(t, "claim_limit", None) for t in self.app.transports.values()]
        return min([self.app.config.worker.batch_size, *(int(n) for n in limits if n)])

    def recover_stale(self, now: datetime | None = None) -> int:
        """Put back claims abandoned by a dead worker (see services.recovery)."""
        from .recovery import recover_stale

        return recover_stale(self.app, now)


def _size(transport: object, attribute: str) -> int:
    """A transport's declared chunk size or concurrency (1 when it declares none)."""
    return max(1, int(getattr(transport, attribute, 1) or 1))


def _chunks(items: list[Decision], size: int) -> Iterable[list[Decision]]:
    """Sends grouped so that the gate runs right before them: a transport that sends slowly
    (a rate-limited provider) declares chunk_size 1, so each message is gated on its own."""
    for i in range(0, len(items), size):
        yield items[i : i + size]
