"""The dispatcher: claim due messages atomically, re-check them, render, send, record.

Claim before send: a row moves pending -> sending in one conditional UPDATE (on PostgreSQL the
rows are picked with FOR UPDATE SKIP LOCKED), so any number of workers send each message once.
A claim is a lease: it carries the claim's token and an expiry (`lease_until`) that the worker
extends while it works, and each send first re-checks that its row is still held under that
token. A delivery attempt is written before the send and its result right after; if a worker
dies between the two, `recover_stale` (once the lease has expired) asks the transport whether
the attempt left instead of resending.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    select,
    update,
)

from ...db.engine import reader
from ...db.outage import unreachable
from ...db.tables import consent_events, outbox, patients, sessions
from ...domain import delivery
from ...domain.consent import ConsentEvent, allows, purpose_of
from ...domain.schedule import CATEGORY_PRIORITY
from ...domain.session_state import Look, MessageKind, message_stop
from ...runtime import Interlude
from ...transports.base import Pacing, RecordingTransport, SendResult, Transport, TransportError
from .decide import Decider, Decision
from .record import INTERNAL_ERROR, DispatchStats, Outcome, Recorder, ids_in

__all__ = ["DispatchStats", "Dispatcher"]

log = logging.getLogger("interlude.dispatch")
PRIORITIES = sorted(set(CATEGORY_PRIORITY.values()))
# A dispatcher looks for expired leases at least this often (and at least twice per lease), so
# a worker that died mid-batch is taken over soon after its lease ends.
RECOVER_EVERY_SECONDS = 60.0
# A claim holds about this many seconds of sending at a paced transport's rate (see claim_window).
CLAIM_SECONDS = 2


class Dispatcher:
    """Sends what is due. One instance per worker process; safe to run in many processes."""

    def __init__(
        self, app: Interlude, worker_id: str | None = None, rng: random.Random | None = None
    ) -> None:
        self.app = app
        self.worker_id = worker_id or uuid.uuid4().hex[:12]
        self.rng = rng or random.Random()
        self.postgres = app.engine.dialect.name == "postgresql"
        # The lease of a claim; config validation keeps it at least 3 transport timeouts long.
        self.lease_seconds = app.config.worker.stale_claim_seconds
        self._recovered_at: datetime | None = None
        # Set on SIGTERM/SIGINT: no new claim, no new send; what was claimed and not sent is released.
        self.stopping = threading.Event()
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
            .values(
                status=delivery.SENDING,
                claim_token=bindparam("token"),
                claimed_at=now,
                lease_until=bindparam("until"),
                updated_at=now,
            )
            .returning(*outbox.c)
        )

    # --- claim -------------------------------------------------------------------------------

    def claim(self, limit: int, now: datetime | None = None) -> list[Mapping[Any, Any]]:
        """Atomically take up to `limit` due messages, most urgent category first.

        Per priority, the rows are picked (FOR UPDATE SKIP LOCKED on PostgreSQL; under the
        write lock on SQLite) and moved to "sending" by one UPDATE ... RETURNING."""
        now = now or self.app.clock()
        # Unique per worker process and claim: a row is ours only while it carries this token.
        token = f"{self.worker_id[:15]}-{uuid.uuid4().hex[:24]}"
        until = now + timedelta(seconds=self.lease_seconds)
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
                        conn.execute(
                            self._q_take, {"ids": ids, "token": token, "now": now, "until": until}
                        ).mappings()
                    )
        return sorted(claimed, key=lambda r: r["id"])  # the order they were planned in, as before

    # --- load and decide ---------------------------------------------------------------------

    def _load(self, conn: Connection, rows: list[Mapping[Any, Any]]) -> tuple[dict, dict, dict]:
        # A page about an unknown sender has no patient (patient_id NULL).
        patient_ids = {r["patient_id"] for r in rows if r["patient_id"] is not None}
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
        patient_ids = list({d.row["patient_id"] for d in chunk if d.row["patient_id"] is not None})
        status = dict(conn.execute(self._q_session_status, {"ids": session_ids}).all()) if session_ids else {}
        newer: dict[int, list[ConsentEvent]] = {}
        for e in conn.execute(self._q_new_consent, {"ids": patient_ids, "seen": seen_consent}).mappings():
            event = ConsentEvent(e["id"], e["channel"], e["purpose"], e["action"])
            newer.setdefault(e["patient_id"], []).append(event)
        stops: dict[int, Decision] = {}
        for d in chunk:
            row = d.row
            state = status.get(row["session_id"])
            kind = MessageKind.of(row["audience"], row["category"], row["origin"])
            stop = None if state is None else message_stop(state, kind, Look.GATE)
            if stop is not None:
                stops[row["id"]] = Decision(row, stop.outcome, stop.reason)
            elif row["patient_id"] in newer and not allows(
                d.consent + newer[row["patient_id"]], row["channel"], purpose_of(row["category"])
            ):
                stops[row["id"]] = Decision(row, "skipped", "opted-out")
        return stops

    # --- process -----------------------------------------------------------------------------

    def process(self, rows: list[Mapping[Any, Any]], now: datetime | None = None) -> DispatchStats:
        """Re-check, render and send claimed rows; every row ends in a recorded state.

        Each chunk re-checks that its rows are still ours (extending their lease) right before
        its sends, and each result is recorded as soon as it is known. A message that our own
        code cannot handle (a poison row, a bug) fails alone, with a staff task."""
        now = now or self.app.clock()
        stats = DispatchStats(claimed=len(rows))
        if not rows:
            return stats
        lease = Lease(self, rows[0]["claim_token"], rows[0]["claimed_at"] or now)
        decisions, seen = self._decide_all(rows, now, stats)
        for channel, sends in self._by_channel([d for d in decisions if d.outcome == "send"]):
            transport = self.app.transports[channel]
            pacing = transport.pacing
            if isinstance(transport, RecordingTransport):
                for chunk in _chunks(sends, pacing.chunk_size):
                    self._isolated(chunk, stats, partial(self._send_recorded, transport, lease, seen))
            elif pacing.concurrency > 1:
                self._send_concurrently(transport, sends, lease, seen, stats)
            else:
                for chunk in _chunks(sends, pacing.chunk_size):
                    self._record(
                        [(d, self._send(d)) for d in self._prepare(chunk, lease, seen, stats)], stats
                    )
        if self.stopping.is_set():
            self._release(lease.token, stats)
        return stats

    def _release(self, token: str, stats: DispatchStats) -> None:
        """Put back to pending the rows of claim `token` that were never sent (on a stop: every
        result is recorded by now, so a row still sending under the token had no send)."""
        with self.app.engine.begin() as conn:
            released = self.record.release(conn, token, self.app.clock())
        if released:
            stats.reasons["released"] = stats.reasons.get("released", 0) + released
            log.info("released", extra={"released": released})

    def _decide_all(
        self, rows: list[Mapping[Any, Any]], now: datetime, stats: DispatchStats
    ) -> tuple[list[Decision], int]:
        """Decide (and render) every row; record the outcomes that are not sends. Returns the
        decisions and the last consent event seen (the gate looks for newer ones)."""
        decider = Decider(self.app, now)
        with reader(self.app.engine).connect() as conn:
            pats, sess, consent = self._load(conn, rows)
        seen = max((e.id for events in consent.values() for e in events), default=0)
        decisions = [self._decide(decider, r, pats, sess, consent) for r in rows]
        closing = [d for d in decisions if d.outcome != "send"]
        if closing:
            self._isolated(closing, stats, partial(self._close, now))
        return decisions, seen

    def _close(self, now: datetime, decisions: list[Decision], stats: DispatchStats) -> None:
        with self.app.engine.begin() as conn:
            self.record.close_many(conn, decisions, now, stats)

    def _decide(
        self, decider: Decider, row: Mapping[Any, Any], pats: dict, sess: dict, consent: dict
    ) -> Decision:
        """One row's decision; a row our code cannot handle (a NULL where a value belongs, a
        template that raises) fails alone instead of failing the batch."""
        try:
            events = consent.get(row["patient_id"], [])
            patient = pats[row["patient_id"]] if row["patient_id"] is not None else None
            d = decider.decide(row, patient, sess.get(row["session_id"]), events)
            d.consent = events
            return d
        except Exception as exc:
            _unless_the_database(exc)
            return Decision(row, "failed", _internal(row, exc, "decide"))

    @staticmethod
    def _by_channel(sends: list[Decision]) -> Iterable[tuple[str, list[Decision]]]:
        by_channel: dict[str, list[Decision]] = {}
        for d in sends:
            by_channel.setdefault(d.row["channel"], []).append(d)
        return by_channel.items()

    def _isolated(
        self,
        chunk: list[Decision],
        stats: DispatchStats,
        step: Callable[[list[Decision], DispatchStats], Any],
    ) -> Any:
        """Run `step` for a chunk in which nothing has left yet (its transaction rolls back whole);
        if it raises, run it message by message, and fail alone the message that still raises.
        Returns what `step` returned (a list: the concatenation, message by message)."""
        local = DispatchStats()
        try:
            result = step(chunk, local)
        except Exception as exc:
            _unless_the_database(exc)
            if len(chunk) == 1:
                self._fail_internally(chunk[0], None, _internal(chunk[0].row, exc, "prepare"), stats)
                return []
            return [found for d in chunk for found in self._isolated([d], stats, step) or []]
        stats.add(local)
        return result

    def _prepare(
        self, chunk: list[Decision], lease: Lease, seen: int, stats: DispatchStats
    ) -> list[Decision]:
        """Re-check ownership (extending the lease), gate, and open the attempts of a chunk, in one
        transaction committed before any send; returns the messages to send now."""

        def ready(part: list[Decision], local: DispatchStats) -> list[Decision]:
            now = self.app.clock()
            with self.app.engine.begin() as conn:
                kept = self._gated(conn, lease.hold(conn, part, local), seen, now, local)
                if kept:
                    self.record.open_attempts(conn, kept, now)
            return kept

        return list(self._isolated(chunk, stats, ready))

    def _send_recorded(
        self,
        transport: RecordingTransport,
        lease: Lease,
        seen: int,
        chunk: list[Decision],
        stats: DispatchStats,
    ) -> None:
        """Hold, gate, open the attempts, record the sends and mark them sent, in one transaction:
        the transport's records and the sent state commit together or not at all (a crash leaves
        the claim with no attempt, and recovery puts it back to pending)."""
        now = self.app.clock()
        with self.app.engine.begin() as conn:
            chunk = self._gated(conn, lease.hold(conn, chunk, stats), seen, now, stats)
            if not chunk:
                return
            self.record.open_attempts(conn, chunk, now, status=transport.recorded_status)
            transport.send_within(conn, [d.message for d in chunk if d.message is not None])
            self.record.mark_sent(conn, chunk, now, stats)
        log.info("sent", extra={"channel": chunk[0].row["channel"], "sent": len(chunk)})

    def _record(self, results: list[Outcome], stats: DispatchStats) -> None:
        """Record sends as soon as they are answered (one transaction for the few given). If that
        raises, each is recorded alone; one that still raises is closed without its hooks (a
        message that left stays sent) and a staff task says what to check."""
        if not results:
            return
        local = DispatchStats()
        try:
            self._record_retrying(results, local)
        except Exception as exc:
            _unless_the_database(exc)
            if len(results) > 1:
                for one in results:
                    self._record([one], stats)
                return
            d, result = results[0]
            self._fail_internally(d, result, _internal(d.row, exc, "record"), stats)
            return
        stats.add(local)

    def _record_retrying(self, results: list[Outcome], stats: DispatchStats) -> None:
        """Record, trying again when the connection was lost: these messages have left, and a
        dropped connection (a failover, a restart) usually answers again within seconds."""
        for pause in (*RECORD_RETRY_PAUSES, None):
            tried = DispatchStats()  # counted only once its transaction commits
            try:
                with self.app.engine.begin() as conn:
                    self.record.record_many(conn, results, self.app.clock(), tried)
            except Exception as exc:
                if pause is None or not unreachable(exc):
                    raise
                time.sleep(pause)
                continue
            stats.add(tried)
            return

    def _fail_internally(
        self, d: Decision, result: SendResult | TransportError | None, reason: str, stats: DispatchStats
    ) -> None:
        """Close one message that our own code could not handle, and open a task for it."""
        try:
            with self.app.engine.begin() as conn:
                status = self.record.record_internal_error(conn, d, result, reason, self.app.clock())
        except Exception:
            # Even closing it failed (the database may be away): its lease expires and recovery
            # settles it; nothing is resent that may have left.
            log.exception("closing a failed message failed", extra={"outbox_id": d.row["id"]})
            return
        if status is not None:
            stats.count(status, reason)  # sent, unknown or failed: also the names of the counts

    def _send_concurrently(
        self, transport: Transport, sends: list[Decision], lease: Lease, seen: int, stats: DispatchStats
    ) -> None:
        """Up to the transport's `concurrency` sends in flight (a provider that answers slowly).

        A few messages at a time are held, gated and their attempts committed, only once that many
        sends have finished: a gated message goes straight to a free sender, so the gate stays
        right before its send (its wait for a slot of the sender's pace is bounded by the
        transport: twilio_sms.IN_FLIGHT_SECONDS). Answers are recorded as they come; while the
        last ones are in flight, their lease is kept."""
        width = transport.pacing.concurrency
        pool = self._executor(width)
        free = threading.Semaphore(width)
        flying: dict[Future[SendResult | TransportError], Decision] = {}
        for chunk in _chunks(sends, max(1, width // 4)):
            for _ in chunk:
                while not free.acquire(timeout=lease.seconds / 6):
                    lease.keep()  # every sender is busy: keep the lease of what they send
            kept = self._prepare(chunk, lease, seen, stats)
            if len(kept) < len(chunk):
                free.release(len(chunk) - len(kept))
            flying.update({pool.submit(self._send_then_release, d, free): d for d in kept})
            self._record_done(flying, stats)
        while flying:
            wait(flying, timeout=lease.seconds / 3, return_when=FIRST_COMPLETED)
            lease.keep()
            self._record_done(flying, stats)

    def _record_done(
        self, flying: dict[Future[SendResult | TransportError], Decision], stats: DispatchStats
    ) -> None:
        done = [f for f in flying if f.done()]
        self._record([(flying.pop(f), f.result()) for f in done], stats)

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
        if not chunk:
            return chunk
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
        self._recover_if_due()
        for _ in range(max_batches):
            if self.stopping.is_set():
                break
            rows = self.claim(self._claim_limit())
            if not rows:
                break
            total.add(self.process(rows))
        return total

    def _claim_limit(self) -> int:
        pacings = [t.pacing for t in self.app.transports.values()]
        return claim_window(self.app.config.worker.batch_size, pacings)

    def recover_stale(self, now: datetime | None = None) -> int:
        """Put back claims whose lease expired: their worker died (see services.recovery)."""
        from .recovery import recover_stale

        return recover_stale(self.app, now)

    def _recover_if_due(self) -> None:
        """Recover expired leases before claiming, at least twice per lease: a worker that died
        mid-batch is taken over by the next tick of any other worker soon after its lease ends."""
        now = self.app.clock()
        every = timedelta(seconds=min(RECOVER_EVERY_SECONDS, self.lease_seconds / 2))
        if self._recovered_at is None or now - self._recovered_at >= every:
            self._recovered_at = now
            self.recover_stale(now)


class Lease:
    """The lease of one claim, held by the dispatcher that made it.

    `hold` runs right before each chunk's sends: it re-checks that the chunk's rows are still
    ours and extends their lease, and, every third of a lease, the lease of every row of the
    claim still in flight. A send never outlasts a third of a lease (the transports' timeouts),
    so a live worker's rows never expire."""

    def __init__(self, dispatcher: Dispatcher, token: str, extended_at: datetime) -> None:
        self.app = dispatcher.app
        self.record = dispatcher.record
        self.stopping = dispatcher.stopping
        self.token = token
        self.seconds = dispatcher.lease_seconds
        self._extended_at = extended_at

    def hold(self, conn: Connection, chunk: list[Decision], stats: DispatchStats) -> list[Decision]:
        """The messages of `chunk` still ours, their lease extended (in the caller's transaction)."""
        if not chunk or self.stopping.is_set():  # stopping: nothing more leaves
            return []
        now = self.app.clock()
        self._extend(conn, now)
        until = now + timedelta(seconds=self.seconds)
        ours = self.record.hold(conn, [d.row["id"] for d in chunk], self.token, until)
        for d in chunk:
            if d.row["id"] not in ours:  # its lease expired and recovery took it: not ours to send
                log.warning("claim lost before its send", extra={"outbox_id": d.row["id"]})
                stats.reasons["claim-lost"] = stats.reasons.get("claim-lost", 0) + 1
        return [d for d in chunk if d.row["id"] in ours]

    def keep(self) -> None:
        """Extend the lease of the claim's rows still in flight, if a third of it has passed."""
        now = self.app.clock()
        if self._due(now):
            with self.app.engine.begin() as conn:
                self._extend(conn, now)

    def _due(self, now: datetime) -> bool:
        return now - self._extended_at >= timedelta(seconds=self.seconds / 3)

    def _extend(self, conn: Connection, now: datetime) -> None:
        if self._due(now):
            self.record.extend(conn, self.token, now + timedelta(seconds=self.seconds))
            self._extended_at = now


def _internal(row: Mapping[Any, Any], exc: Exception, phase: str) -> str:
    """The reason code of a message our own code failed on. The log says where it raised (file and
    line), never the exception's text: that may quote patient data."""
    frames = traceback.extract_tb(exc.__traceback__)
    at = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else None
    log.error(
        "message failed internally",
        extra={"outbox_id": row.get("id"), "phase": phase, "error": type(exc).__name__, "at": at},
    )
    return f"{INTERNAL_ERROR}:{type(exc).__name__}"[:64]


def claim_window(batch_size: int, pacings: Iterable[Pacing]) -> int:
    """How many messages one claim takes: the batch size, or less when a transport has a rate
    (CLAIM_SECONDS of sending at the slowest rate). A claim must leave within seconds, so that a
    safety message claimed next is not held behind a long paced batch, and no claim ages into
    stale-claim recovery mid-batch."""
    paced = [max(1, int(p.max_per_second * CLAIM_SECONDS)) for p in pacings if p.max_per_second]
    return min([batch_size, *paced])


def _chunks(items: list[Decision], size: int) -> Iterable[list[Decision]]:
    """Sends grouped so that the gate runs right before them: a transport that sends slowly
    (a rate-limited provider) paces chunk_size 1, so each message is gated on its own."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


# Pauses between tries to record a sent message over a lost connection (then it is left to the
# lease and recovery, which never resend what may have left).
RECORD_RETRY_PAUSES = (0.2, 1.0, 3.0)


def _unless_the_database(exc: Exception) -> None:
    """Re-raise a lost database connection: that is no fault of the message at hand. The batch
    stops; the claim's lease expires and recovery takes its rows back."""
    if unreachable(exc):
        raise exc
