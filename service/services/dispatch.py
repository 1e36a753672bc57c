"""The dispatcher: claim due messages atomically, re-check them, render, send, record.

Claim before send: a row moves pending -> sending in one conditional UPDATE (on PostgreSQL the
rows are picked with FOR UPDATE SKIP LOCKED), so any number of workers send each message once.
A delivery attempt is written before the send; if a worker dies between the send and the
record, `recover_stale` asks the transport whether the attempt left instead of resending.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, bindparam, case, insert, select, update

from ..bootstrap import Interlude
from ..db.tables import consent_events, delivery_attempts, outbox, patients, sessions
from ..domain import delivery
from ..domain.consent import ConsentEvent, allows, purpose_of
from ..domain.quiet_hours import place
from ..domain.schedule import CATEGORY_PRIORITY
from ..templates import TemplateError
from ..transports.base import Outgoing, SendResult, TransportError
from .context import message_context

log = logging.getLogger("interlude.dispatch")
PRIORITIES = sorted(set(CATEGORY_PRIORITY.values()))
# Quiet-hours policy of the messages the system plans itself (not from a schedule step).
SYSTEM_POLICIES = {"_checkin_reminder": "defer"}


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


@dataclass
class _Decision:
    row: Mapping[Any, Any]
    outcome: str  # "send", "skipped", "cancelled", "deferred", "failed"
    reason: str | None = None
    message: Outgoing | None = None
    retry_at: datetime | None = None
    consent: list[ConsentEvent] = field(default_factory=list)


class Dispatcher:
    """Sends what is due. One instance per worker process; safe to run in many processes."""

    def __init__(
        self, app: Interlude, worker_id: str | None = None, rng: random.Random | None = None
    ) -> None:
        self.app = app
        self.worker_id = worker_id or uuid.uuid4().hex[:12]
        self.rng = rng or random.Random()
        self.postgres = app.engine.dialect.name == "postgresql"
        self._build_statements()

    def _build_statements(self) -> None:
        """Statements built once per dispatcher: building them per message was the hot path."""
        sending = and_(outbox.c.id == bindparam("oid"), outbox.c.status == delivery.SENDING)
        ids: Any = bindparam("ids", expanding=True)
        self._q_session_status = select(sessions.c.id, sessions.c.status).where(sessions.c.id.in_(ids))
        self._q_new_consent = select(consent_events).where(
            consent_events.c.patient_id.in_(ids), consent_events.c.id > bindparam("seen")
        )
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
        self._q_sent = (
            update(outbox)
            .where(sending)
            .values(
                status=delivery.SENT,
                attempts=bindparam("n"),
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

    # --- claim -------------------------------------------------------------------------------

    def claim(self, limit: int, now: datetime | None = None) -> list[Mapping[Any, Any]]:
        """Atomically take up to `limit` due messages, most urgent category first."""
        now = now or self.app.clock()
        token = uuid.uuid4().hex
        claimed: list[Mapping[Any, Any]] = []
        taken = 0  # across priorities: the claim never exceeds `limit`
        with self.app.engine.begin() as conn:
            for priority in PRIORITIES:
                remaining = limit - taken
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
                ids = [r[0] for r in conn.execute(pick)]
                if not ids:
                    continue
                taken += len(ids)
                conn.execute(
                    update(outbox)
                    .where(outbox.c.id.in_(ids), outbox.c.status == delivery.PENDING)
                    .values(status=delivery.SENDING, claim_token=token, claimed_at=now, updated_at=now)
                )
            rows = conn.execute(select(outbox).where(outbox.c.claim_token == token)).mappings().all()
            claimed = list(rows)
        return claimed

    # --- decide ------------------------------------------------------------------------------

    def _load(self, conn: Connection, rows: list[Mapping[Any, Any]]) -> tuple[dict, dict, dict]:
        patient_ids = {r["patient_id"] for r in rows}
        session_ids = {r["session_id"] for r in rows if r["session_id"] is not None}
        pats = {
            p["id"]: p
            for p in conn.execute(select(patients).where(patients.c.id.in_(patient_ids))).mappings()
        }
        sess = (
            {
                s["id"]: s
                for s in conn.execute(select(sessions).where(sessions.c.id.in_(session_ids))).mappings()
            }
            if session_ids
            else {}
        )
        consent: dict[int, list[ConsentEvent]] = {pid: [] for pid in patient_ids}
        for e in conn.execute(
            select(consent_events).where(consent_events.c.patient_id.in_(patient_ids))
        ).mappings():
            consent[e["patient_id"]].append(ConsentEvent(e["id"], e["channel"], e["purpose"], e["action"]))
        return pats, sess, consent

    def _decide(
        self,
        row: Mapping[Any, Any],
        patient: Mapping[Any, Any],
        session: Mapping[Any, Any] | None,
        consent: Iterable[ConsentEvent],
        now: datetime,
    ) -> _Decision:
        if row["audience"] == "staff":
            return self._decide_staff(row, patient, session)
        if session is not None:
            status = session["status"]
            if status == "cancelled":
                return _Decision(row, "cancelled", "session-cancelled")
            if status == "no_show":
                return _Decision(row, "cancelled", "session-no-show")
            if status == "completed" and row["category"] == "prep":
                return _Decision(row, "cancelled", "session-completed")
            if row["category"] == "prep" and session["start_at"] <= now:
                return _Decision(row, "skipped", "session-started")
        if row["send_by"] is not None and now >= row["send_by"]:
            return _Decision(row, "skipped", "past-deadline")
        placement = self._placement(row, patient, now)
        if placement is not None:
            return placement
        if not allows(consent, row["channel"], purpose_of(row["category"])):
            return _Decision(row, "skipped", "opted-out")
        address = patient["phone"] if row["channel"] == "sms" else patient["email"]
        if not address or row["channel"] not in patient["channels"]:
            return _Decision(row, "skipped", f"no-{row['channel']}-contact")
        if row["channel"] == "sms" and patient["sms_status"] != "ok":
            return _Decision(row, "skipped", "sms-unusable")
        return self._rendered(row, patient, session, address, patient["language"])

    def _decide_staff(
        self, row: Mapping[Any, Any], patient: Mapping[Any, Any], session: Mapping[Any, Any] | None
    ) -> _Decision:
        """A message to a clinician: no quiet hours, no patient consent, its own address."""
        if not row["recipient"]:
            return _Decision(row, "failed", "no-recipient")
        return self._rendered(
            row, patient, session, row["recipient"], self.app.config.messages.default_language
        )

    def _rendered(
        self,
        row: Mapping[Any, Any],
        patient: Mapping[Any, Any],
        session: Mapping[Any, Any] | None,
        address: str,
        language: str,
    ) -> _Decision:
        try:
            message = self._render(row, patient, session, address, language)
        except TemplateError as exc:
            log.error(
                "template failed",
                extra={"outbox_id": row["id"], "template": row["template"], "error": str(exc)},
            )
            return _Decision(row, "failed", "template-error")
        return _Decision(row, "send", message=message)

    def _placement(
        self, row: Mapping[Any, Any], patient: Mapping[Any, Any], now: datetime
    ) -> _Decision | None:
        """Quiet hours are checked again at send time: a backlog is never sent at night."""
        policy = self._step_policy(row)
        tz = ZoneInfo(patient["timezone"])
        spot = place(
            now,
            now=now,
            send_by=row["send_by"],
            policy=policy,
            window=self.app.window,
            tz=tz,
            may_override=row["category"] == "prep",
        )
        if spot.at is None:
            return _Decision(row, "skipped", spot.reason)
        if spot.at > now + timedelta(seconds=1):
            return _Decision(row, "deferred", spot.reason, retry_at=spot.at)
        return None

    def _step_policy(self, row: Mapping[Any, Any]) -> str:
        if row["step_id"] in SYSTEM_POLICIES:
            return SYSTEM_POLICIES[row["step_id"]]
        schedule = self.app.schedules.get(row["schedule"])
        if schedule is not None:
            for step in schedule.steps:
                if step.id == row["step_id"]:
                    return step.quiet_hours
        return "defer"

    def _render(
        self,
        row: Mapping[Any, Any],
        patient: Mapping[Any, Any],
        session: Mapping[Any, Any] | None,
        address: str,
        language: str,
    ) -> Outgoing:
        cfg = self.app.config
        context = message_context(cfg.clinic, self.app.clinic_tz, patient, session, language)
        context.update(row["context"] or {})
        rendered = self.app.templates.render(
            row["template"],
            row["channel"],
            language,
            context,
            detailed=bool(patient["detailed_messages"]) and row["audience"] == "patient",
        )
        return Outgoing(
            attempt_id=0,
            channel=row["channel"],
            to=address,
            body=rendered.body,
            subject=rendered.subject,
            html=rendered.html,
            category=row["category"],
            patient_id=row["patient_id"],
            outbox_id=row["id"],
        )

    # --- record ------------------------------------------------------------------------------

    def _finish(
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

    def _gate(self, conn: Connection, chunk: list[_Decision], seen_consent: int) -> dict[int, _Decision]:
        """The last look before a chunk of sends: a cancel or an opt-out that landed since the
        batch was loaded stops the message. Returns replacement decisions by outbox id."""
        session_ids = [d.row["session_id"] for d in chunk if d.row["session_id"] is not None]
        patient_ids = list({d.row["patient_id"] for d in chunk})
        status = dict(conn.execute(self._q_session_status, {"ids": session_ids}).all()) if session_ids else {}
        newer: dict[int, list[ConsentEvent]] = {}
        for e in conn.execute(self._q_new_consent, {"ids": patient_ids, "seen": seen_consent}).mappings():
            event = ConsentEvent(e["id"], e["channel"], e["purpose"], e["action"])
            newer.setdefault(e["patient_id"], []).append(event)
        stops: dict[int, _Decision] = {}
        for d in chunk:
            row = d.row
            state = status.get(row["session_id"])
            if state in ("cancelled", "no_show"):
                reason = "session-cancelled" if state == "cancelled" else "session-no-show"
                stops[row["id"]] = _Decision(row, "cancelled", reason)
            elif row["patient_id"] in newer and not allows(
                d.consent + newer[row["patient_id"]], row["channel"], purpose_of(row["category"])
            ):
                stops[row["id"]] = _Decision(row, "skipped", "opted-out")
        return stops

    def _open_attempts(self, conn: Connection, chunk: list[_Decision], now: datetime) -> None:
        """Write the attempt rows before the sends, so a crash mid-send is never a silent resend."""
        params = [
            {
                "outbox_id": d.row["id"],
                "number": d.row["attempts"] + 1,
                "channel": d.row["channel"],
                "transport": self.app.transports[d.row["channel"]].name,
                "status": "sending",
                "created_at": now,
                "updated_at": now,
            }
            for d in chunk
        ]
        query = insert(delivery_attempts).returning(delivery_attempts.c.id, sort_by_parameter_order=True)
        ids = conn.execute(query, params).scalars().all()
        for d, attempt_id in zip(chunk, ids, strict=True):
            assert d.message is not None
            d.message = replace(d.message, attempt_id=attempt_id)

    def _close_many(
        self, conn: Connection, decisions: list[_Decision], now: datetime, stats: DispatchStats
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
        for d in decisions:
            stats.count(d.outcome, d.reason)

    def process(self, rows: list[Mapping[Any, Any]], now: datetime | None = None) -> DispatchStats:
        """Re-check, render and send claimed rows; every row ends in a recorded state."""
        now = now or self.app.clock()
        stats = DispatchStats(claimed=len(rows))
        if not rows:
            return stats
        with self.app.engine.begin() as conn:
            pats, sess, consent = self._load(conn, rows)
            seen_consent = max((e.id for events in consent.values() for e in events), default=0)
            decisions = []
            for r in rows:
                events = consent[r["patient_id"]]
                d = self._decide(r, pats[r["patient_id"]], sess.get(r["session_id"]), events, now)
                d.consent = events
                decisions.append(d)
            self._close_many(conn, [d for d in decisions if d.outcome != "send"], now, stats)
        results: list[tuple[_Decision, SendResult | TransportError]] = []
        for chunk in self._chunks([d for d in decisions if d.outcome == "send"]):
            with self.app.engine.begin() as conn:
                stops = self._gate(conn, chunk, seen_consent)
                self._close_many(conn, list(stops.values()), now, stats)
                chunk = [d for d in chunk if d.row["id"] not in stops]
                if chunk:
                    self._open_attempts(conn, chunk, now)
            results.extend((d, self._send(d)) for d in chunk)
        with self.app.engine.begin() as conn:
            self._record_many(conn, results, now, stats)
        return stats

    def _chunks(self, sends: list[_Decision]) -> Iterable[list[_Decision]]:
        """Sends grouped so that the gate runs right before them: a transport that sends slowly
        (a rate-limited provider) declares chunk_size 1, so each message is gated on its own."""
        by_channel: dict[str, list[_Decision]] = {}
        for d in sends:
            by_channel.setdefault(d.row["channel"], []).append(d)
        for channel, items in by_channel.items():
            size = max(1, int(getattr(self.app.transports[channel], "chunk_size", 1)))
            for i in range(0, len(items), size):
                yield items[i : i + size]

    def _send(self, d: _Decision) -> SendResult | TransportError:
        assert d.message is not None
        try:
            return self.app.transports[d.row["channel"]].send(d.message)
        except TransportError as exc:
            return exc
        except Exception as exc:  # a transport bug must not lose the row: treat as ambiguous
            log.exception("transport raised", extra={"outbox_id": d.row["id"]})
            return TransportError(f"{type(exc).__name__}", kind="ambiguous", code="transport-crash")

    def _record_many(
        self,
        conn: Connection,
        results: list[tuple[_Decision, SendResult | TransportError]],
        now: datetime,
        stats: DispatchStats,
    ) -> None:
        sent = [(d.row, d.message, r) for d, r in results if isinstance(r, SendResult) and d.message]
        if sent:
            conn.execute(
                self._q_attempt_done,
                [{"aid": m.attempt_id, "st": r.status, "pid": r.provider_id, "now": now} for _, m, r in sent],
            )
            conn.execute(
                self._q_sent, [{"oid": row["id"], "n": row["attempts"] + 1, "now": now} for row, _, _ in sent]
            )
            for row, message, _ in sent:
                for hook in self.app.hooks.on_sent:
                    hook(conn, row, now)
                stats.count("sent")
                ids = {"outbox_id": row["id"], "attempt_id": message.attempt_id, "channel": row["channel"]}
                log.info("sent", extra=ids)
        for d, result in results:
            if isinstance(result, TransportError):
                self._record_error(conn, d, result, now, stats)

    def _record_error(
        self, conn: Connection, d: _Decision, result: TransportError, now: datetime, stats: DispatchStats
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
            self._finish(conn, d.row, delivery.UNKNOWN, reason, now, attempts=attempts)
            stats.count("unknown", reason)
        else:
            final = reason if result.kind == "permanent" else f"gave-up:{reason}"
            self._finish(conn, d.row, delivery.FAILED, final, now, attempts=attempts)
            for hook in self.app.hooks.on_failed:
                hook(conn, d.row, result, now)
            stats.count("failed", final)
        log.warning("send failed", extra={"outbox_id": d.row["id"], "kind": result.kind, "code": result.code})

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
