"""Housekeeping: prune what is final and older than its [retention], in short batches.

What goes, once its retention (days since the row last changed; 0 keeps a table forever) is over:
- outbox rows in a final state (sent, failed, cancelled, skipped, unknown), with their delivery
  attempts, the sandbox records of those attempts and their closed check-ins;
- delivery attempts of such messages, on their own, when `attempts_days` is the shorter;
- sandbox records (the rendered text of messages that never left the machine);
- texts patients sent, once handled;
- idempotency keys of the JSON API, a day after their request (always: service.services.idempotency).

What never goes: a message still pending or sending; any message of a session still booked (a
booked session can be rescheduled or re-planned, and planning reads its sent rows to never send
a step twice); any message of a patient with an open check-in or escalation; a check-in that an
escalation points to, and its message; an unhandled inbox text or one an escalation points to;
the consent ledger, the audit trail, escalations, sessions, patients and staff tasks. The newest
row of each table stays too: SQLite numbers a new row max(id) + 1, so deleting the newest would
hand its id (named in status-callback URLs and dedupe keys) to the next row.

Each batch is found by a read without locks, then deleted in one short transaction that takes
the rows still eligible with FOR UPDATE SKIP LOCKED on PostgreSQL, so workers running the job at
once take different rows (SQLite serialises writers). The counts are what each DELETE reported,
so two runs never count a row twice. Logs carry counts only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Select,
    Table,
    and_,
    any_,
    delete,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY

from ...config import RetentionConfig
from ...db.tables import (
    checkins,
    delivery_attempts,
    escalations,
    idempotency_keys,
    inbound_messages,
    outbox,
    sandbox_messages,
    sessions,
)
from ...domain import delivery
from ...domain.origin import staff_reply_inbound
from ...domain.session_state import SessionState
from ...runtime import Interlude
from .. import idempotency

log = logging.getLogger("interlude.housekeeping")

TABLES = (
    "outbox",
    "delivery_attempts",
    "checkins",
    "sandbox_messages",
    "inbound_messages",
    "idempotency_keys",
)
PRUNABLE = (delivery.SENT, delivery.FAILED, delivery.CANCELLED, delivery.SKIPPED, delivery.UNKNOWN)


@dataclass(frozen=True)
class Step:
    """One DELETE of a batch (in a dry run, one COUNT). `counted` picks the rows an earlier pass
    already counted: a real run deleted them there, so a dry run must not count them twice."""

    key: str
    table: Table
    where: ColumnElement[bool]
    counted: ColumnElement[bool] | None = None


@dataclass(frozen=True)
class Cutoffs:
    """Rows last changed before these instants may go; None: that table is kept forever.
    `attempts` is set only when attempts go sooner than their messages."""

    outbox: datetime | None
    attempts: datetime | None
    sandbox: datetime | None
    inbound: datetime | None


@dataclass
class HousekeepingResult:
    """Rows pruned (or, in a dry run, that would be) per table, and batches per pass."""

    dry_run: bool
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    batches: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class _Pass:
    """One kind of row to prune: how to choose a batch, and what to delete with it."""

    name: str
    table: Table
    choose: Callable[[Connection], Select[Any]]
    steps: Callable[[Connection, list[int]], list[Step]]
    keep: Callable[[Connection, Sequence[Any]], set[int]] = lambda _conn, _rows: set()


def run(app: Interlude, *, dry_run: bool = False, now: datetime | None = None) -> HousekeepingResult:
    """Prune every table whose retention is over, batch by batch; returns the counts.

    With `dry_run`, counts what a run would prune now and changes nothing.
    """
    now = now or app.clock()
    cutoffs = cutoffs_for(app.config.retention, now)
    result = HousekeepingResult(dry_run=dry_run)
    # Sandbox records and attempts first (they go sooner), then messages, then inbox texts (a
    # staff answer stays while its text does: see _staff_replies_kept).
    passes = (
        (cutoffs.sandbox, _sandbox_pass),
        (cutoffs.attempts, _attempts_pass),
        (cutoffs.outbox, _outbox_pass),
        (cutoffs.inbound, _inbound_pass),
    )
    for cutoff, make in passes:
        if cutoff is not None:
            _run_pass(app, make(cutoffs), result, app.config.retention.batch_size)
    expired_keys = _idempotency_pass(idempotency.expired_before(now))
    _run_pass(app, expired_keys, result, app.config.retention.batch_size)
    if result.total:
        counts = " ".join(f"{k}={v}" for k, v in result.counts.items())
        verb = "would prune" if dry_run else "pruned"
        log.info("housekeeping %s %s", verb, counts, extra={"job": "housekeeping"})
    return result


def cutoffs_for(r: RetentionConfig, now: datetime) -> Cutoffs:
    """The instants before which each table's rows may go, for `now`."""

    def before(days: int) -> datetime | None:
        return now - timedelta(days=days) if days else None

    alone = r.attempts_days and (r.outbox_days == 0 or r.attempts_days < r.outbox_days)
    return Cutoffs(
        outbox=before(r.outbox_days),
        attempts=before(r.attempts_days) if alone else None,
        sandbox=before(r.sandbox_days),
        inbound=before(r.inbound_days),
    )


def _run_pass(app: Interlude, p: _Pass, result: HousekeepingResult, batch_size: int) -> None:
    """Read a batch of candidates without locks, then, in one short writing transaction, take
    those still eligible (locked, skipping rows another worker holds) and delete them.

    Finding candidates can scan much of a table; doing it outside the writing transaction keeps
    SQLite's write lock (and PostgreSQL's row locks) to the delete itself."""
    id_col = p.table.c.id
    cursor = 0
    while True:
        with app.reader.connect() as conn:
            query = p.choose(conn).where(id_col > cursor).order_by(id_col).limit(batch_size)
            rows = conn.execute(query).all()
        if not rows:
            return
        cursor, found = rows[-1][0], len(rows)
        with (app.reader if result.dry_run else app.engine).begin() as conn:
            if not result.dry_run:  # still eligible now that we write?
                again = p.choose(conn).where(_among(conn, id_col, [r[0] for r in rows]))
                rows = conn.execute(again.with_for_update(skip_locked=True, of=p.table)).all()
            kept = p.keep(conn, rows)
            ids = [row[0] for row in rows if row[0] not in kept]
            for step in p.steps(conn, ids) if ids else []:
                result.counts[step.key] += _apply(conn, step, result.dry_run)
        result.batches[p.name] = result.batches.get(p.name, 0) + 1
        if found < batch_size:
            return


def _apply(conn: Connection, step: Step, dry_run: bool) -> int:
    if not dry_run:
        return int(conn.execute(delete(step.table).where(step.where)).rowcount)
    where = step.where if step.counted is None else and_(step.where, not_(step.counted))
    return int(conn.execute(select(func.count()).select_from(step.table).where(where)).scalar_one())


def _among(conn: Connection, column: Any, ids: list[int]) -> ColumnElement[bool]:
    """`column` is one of `ids`. On PostgreSQL one array parameter (`= ANY(...)`): a list of
    5,000 parameters cost more to parse and plan than the delete itself (120 ms a batch)."""
    if conn.dialect.name == "postgresql":
        return column == any_(literal(ids, ARRAY(BigInteger)))
    return column.in_(ids)


def _newest(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.max(table.c.id))).scalar() or 0)


# --- what stays ---------------------------------------------------------------------------------


def _unprotected(o: Table) -> ColumnElement[bool]:
    """The outbox row is not kept by its session, its patient or a check-in."""
    booked = exists().where(sessions.c.id == o.c.session_id, sessions.c.status == SessionState.BOOKED)
    open_checkin = exists().where(checkins.c.patient_id == o.c.patient_id, checkins.c.state == "open")
    open_escalation = exists().where(
        escalations.c.patient_id == o.c.patient_id, escalations.c.state == "open"
    )
    escalated_checkin = exists().where(
        checkins.c.outbox_id == o.c.id, exists().where(escalations.c.checkin_id == checkins.c.id)
    )
    return and_(
        o.c.status.in_(PRUNABLE),
        or_(o.c.session_id.is_(None), not_(booked)),
        not_(open_checkin),
        not_(open_escalation),
        not_(escalated_checkin),
    )


def _newest_outbox_rows(conn: Connection) -> set[int]:
    """The newest message, and the messages of the newest attempt and check-in (kept, so that
    SQLite never reuses an id of those tables)."""
    newest_attempt = select(func.max(delivery_attempts.c.id)).scalar_subquery()
    newest_checkin = select(func.max(checkins.c.id)).scalar_subquery()
    found = {
        _newest(conn, outbox),
        conn.execute(
            select(delivery_attempts.c.outbox_id).where(delivery_attempts.c.id == newest_attempt)
        ).scalar(),
        conn.execute(select(checkins.c.outbox_id).where(checkins.c.id == newest_checkin)).scalar(),
    }
    return {int(i) for i in found if i}


def _staff_replies_kept(conn: Connection, rows: Sequence[Any]) -> set[int]:
    """Staff answers to an inbox text that is still there: a new answer is numbered by counting
    the earlier ones ("staffreply:<inbound>:<n>"), so pruning some would repeat a number."""
    answers: dict[int, list[int]] = {}
    for row in rows:
        inbound_id = staff_reply_inbound(row.dedupe_key)
        if inbound_id is not None:
            answers.setdefault(inbound_id, []).append(row.id)
    if not answers:
        return set()
    present = conn.execute(
        select(inbound_messages.c.id).where(inbound_messages.c.id.in_(list(answers)))
    ).scalars()
    return {outbox_id for inbound_id in present for outbox_id in answers[inbound_id]}


# --- the passes ---------------------------------------------------------------------------------


def _sandbox_of(conn: Connection, of_attempts: ColumnElement[bool]) -> ColumnElement[bool]:
    return and_(of_attempts, sandbox_messages.c.id < _newest(conn, sandbox_messages))


def _outbox_pass(c: Cutoffs) -> _Pass:
    assert c.outbox is not None
    cutoff = c.outbox

    def choose(conn: Connection) -> Select[Any]:
        query = select(outbox.c.id, outbox.c.dedupe_key).where(
            outbox.c.updated_at < cutoff, _unprotected(outbox)
        )
        return query.where(outbox.c.id.not_in(_newest_outbox_rows(conn)))

    def steps(conn: Connection, ids: list[int]) -> list[Step]:
        attempts = select(delivery_attempts.c.id).where(_among(conn, delivery_attempts.c.outbox_id, ids))
        counted_attempts = _counted_attempts(c)
        counted_sandbox = [sandbox_messages.c.created_at < c.sandbox] if c.sandbox else []
        if counted_attempts is not None:
            counted_sandbox.append(sandbox_messages.c.attempt_id.in_(attempts.where(counted_attempts)))
        return [
            Step(
                "sandbox_messages",
                sandbox_messages,
                _sandbox_of(conn, sandbox_messages.c.attempt_id.in_(attempts)),
                or_(*counted_sandbox) if counted_sandbox else None,
            ),
            Step(
                "delivery_attempts",
                delivery_attempts,
                _among(conn, delivery_attempts.c.outbox_id, ids),
                counted_attempts,
            ),
            Step("checkins", checkins, _among(conn, checkins.c.outbox_id, ids)),
            Step("outbox", outbox, _among(conn, outbox.c.id, ids)),
        ]

    return _Pass("outbox", outbox, choose, steps, keep=_staff_replies_kept)


def _counted_attempts(c: Cutoffs) -> ColumnElement[bool] | None:
    """The attempts the attempts pass took already (it runs first, with the same protections)."""
    return delivery_attempts.c.updated_at < c.attempts if c.attempts else None


def _attempts_pass(c: Cutoffs) -> _Pass:
    assert c.attempts is not None
    cutoff = c.attempts

    def choose(conn: Connection) -> Select[Any]:
        return (
            select(delivery_attempts.c.id)
            .select_from(delivery_attempts.join(outbox, outbox.c.id == delivery_attempts.c.outbox_id))
            .where(
                delivery_attempts.c.updated_at < cutoff,
                delivery_attempts.c.id < _newest(conn, delivery_attempts),
                _unprotected(outbox),
            )
        )

    def steps(conn: Connection, ids: list[int]) -> list[Step]:
        counted = sandbox_messages.c.created_at < c.sandbox if c.sandbox else None
        return [
            Step(
                "sandbox_messages",
                sandbox_messages,
                _sandbox_of(conn, _among(conn, sandbox_messages.c.attempt_id, ids)),
                counted,
            ),
            Step("delivery_attempts", delivery_attempts, _among(conn, delivery_attempts.c.id, ids)),
        ]

    return _Pass("delivery_attempts", delivery_attempts, choose, steps)


def _sandbox_pass(c: Cutoffs) -> _Pass:
    assert c.sandbox is not None
    cutoff = c.sandbox

    def choose(conn: Connection) -> Select[Any]:
        return select(sandbox_messages.c.id).where(
            sandbox_messages.c.created_at < cutoff, sandbox_messages.c.id < _newest(conn, sandbox_messages)
        )

    def steps(conn: Connection, ids: list[int]) -> list[Step]:
        return [Step("sandbox_messages", sandbox_messages, _among(conn, sandbox_messages.c.id, ids))]

    return _Pass("sandbox_messages", sandbox_messages, choose, steps)


def _inbound_pass(c: Cutoffs) -> _Pass:
    assert c.inbound is not None
    cutoff, i = c.inbound, inbound_messages

    def choose(conn: Connection) -> Select[Any]:
        unhandled = and_(i.c.needs_attention.is_(True), i.c.handled_at.is_(None))
        return select(i.c.id).where(
            i.c.received_at < cutoff,
            i.c.id < _newest(conn, i),
            not_(unhandled),
            not_(exists().where(escalations.c.inbound_id == i.c.id)),
        )

    def steps(conn: Connection, ids: list[int]) -> list[Step]:
        return [Step("inbound_messages", i, _among(conn, i.c.id, ids))]

    return _Pass("inbound_messages", i, choose, steps)


def _idempotency_pass(cutoff: datetime) -> _Pass:
    """Expired idempotency keys: nothing refers to their ids, so the newest may go too."""
    k = idempotency_keys

    def choose(conn: Connection) -> Select[Any]:
        return select(k.c.id).where(k.c.created_at < cutoff)

    def steps(conn: Connection, ids: list[int]) -> list[Step]:
        return [Step("idempotency_keys", k, _among(conn, k.c.id, ids))]

    return _Pass("idempotency_keys", k, choose, steps)
