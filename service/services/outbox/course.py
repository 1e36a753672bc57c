"""Apply the course-wide rules (domain/course.py) to a patient's outbox rows, in the caller's
transaction: after a booking, a reschedule, a cancel, a no-show, a completion, a bulk import, a
staff edit of a step, or a change of the patient's preferences, once the sessions are planned.

Only rows still as they were read change (pending and never tried, or skipped by the course
rules): a row claimed in between is left to its worker.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Update, bindparam, func, or_, select, update

from ...config import Config
from ...db.tables import outbox, patients, sessions
from ...domain import delivery
from ...domain.course import (
    COURSE_SPAN,
    SKIP_REASONS,
    TRIED,
    CourseChange,
    CourseItem,
    CourseRules,
    CourseSession,
    arrange,
)
from ...domain.planner import PlannedMessage
from ...domain.quiet_hours import Window
from ...domain.schedule import Schedule, Step
from ...domain.session_state import SessionState
from ...runtime import Interlude

# Rows tried this long ago still count (the 7-day education cap, the once-per-course rule).
HISTORY = COURSE_SPAN + timedelta(days=7)
_CHUNK = 500  # bounded IN lists


@dataclass(frozen=True)
class CourseParts:
    """What the pass needs besides the database: the schedules (for what each step says about the
    course), the send window and the clinic's rules."""

    schedules: Mapping[str, Schedule]
    window: Window
    rules: CourseRules


def course_rules(config: Config) -> CourseRules:
    m = config.messages
    return CourseRules(m.education_per_day, m.education_per_week, m.quiet_after_session)


def course_parts(app: Interlude | CourseParts, *also: Schedule) -> CourseParts:
    """The parts of `app`; `also` replaces schedules by name (a step edit not applied yet)."""
    if isinstance(app, CourseParts):
        parts = app
    else:
        parts = CourseParts(app.schedules, app.window, course_rules(app.config))
    if also:
        schedules = {**parts.schedules, **{s.name: s for s in also}}
        parts = CourseParts(schedules, parts.window, parts.rules)
    return parts


@dataclass
class ArrangeOutcome:
    patients: int = 0
    changed: int = 0
    in_flight: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {"patients": self.patients, "changed": self.changed, "in_flight": self.in_flight}


def arrange_patient(
    conn: Connection, app: Interlude | CourseParts, patient_id: int, now: datetime
) -> ArrangeOutcome:
    """Arrange one patient's course (see domain/course.py) inside the caller's transaction."""
    return arrange_patients(conn, app, [patient_id], now)


def arrange_patients(
    conn: Connection, app: Interlude | CourseParts, patient_ids: Iterable[int], now: datetime
) -> ArrangeOutcome:
    """Arrange the course of each patient, reading and writing in a few statements per 500."""
    parts = course_parts(app)
    ids = sorted(set(patient_ids))
    outcome = ArrangeOutcome()
    for first in range(0, len(ids), _CHUNK):
        chunk = ids[first : first + _CHUNK]
        zones = dict(
            conn.execute(select(patients.c.id, patients.c.timezone).where(patients.c.id.in_(chunk))).all()
        )
        by_patient_sessions = _sessions(conn, chunk)
        by_patient_rows = _rows(conn, chunk, now)
        changes: list[tuple[Mapping[Any, Any], CourseChange]] = []
        for pid in chunk:
            if pid not in zones:
                continue
            outcome.patients += 1
            rows = by_patient_rows.get(pid, [])
            if not rows:
                continue
            read = {r["id"]: r for r in rows}
            found = arrange(
                by_patient_sessions.get(pid, []),
                [_item(r, parts.schedules) for r in rows],
                tz=ZoneInfo(zones[pid]),
                window=parts.window,
                rules=parts.rules,
                now=now,
            )
            changes.extend((read[c.id], c) for c in found)
        _apply(conn, changes, now, outcome)
    return outcome


@dataclass
class AfterInsert:
    """What `arrange_before_insert` leaves for after the insert: the contexts of rows it
    arranged (by key), and the patients with rows or sessions stored before."""

    parts: CourseParts
    contexts: list[dict[str, Any]] = field(default_factory=list)
    stored: set[int] = field(default_factory=set)

    def finish(self, conn: Connection, now: datetime) -> ArrangeOutcome:
        if self.contexts:
            conn.execute(
                update(outbox)
                .where(outbox.c.dedupe_key == bindparam("_key"))
                .values(context=bindparam("_context", type_=outbox.c.context.type)),
                self.contexts,
            )
        return arrange_patients(conn, self.parts, self.stored, now)


def arrange_before_insert(
    conn: Connection,
    app: Interlude | CourseParts,
    rows: list[dict[str, Any]],
    new_sessions: Sequence[Mapping[str, Any]],
    now: datetime,
) -> AfterInsert:
    """Arrange a bulk import's planned rows (enqueue.planned) before they are inserted, for the
    patients with nothing stored yet (no other session, no outbox row): their course is all in
    `rows` and `new_sessions`. The others are arranged from the database after the insert
    (`AfterInsert.finish`), as arrange_patient would."""
    parts = course_parts(app)
    after = AfterInsert(parts)
    ids = sorted({r["patient_id"] for r in rows} | {s["patient_id"] for s in new_sessions})
    batch: dict[int, list[Mapping[str, Any]]] = {}
    for s in new_sessions:
        batch.setdefault(s["patient_id"], []).append(s)
    for first in range(0, len(ids), _CHUNK):
        chunk = ids[first : first + _CHUNK]
        query = select(outbox.c.patient_id).where(outbox.c.patient_id.in_(chunk)).distinct()
        after.stored.update(int(p) for p in conn.execute(query).scalars())
        counted = select(sessions.c.patient_id, func.count()).where(sessions.c.patient_id.in_(chunk))
        for pid, n in conn.execute(counted.group_by(sessions.c.patient_id)):
            if int(n) > len(batch.get(int(pid), ())):
                after.stored.add(int(pid))
    by_patient: dict[int, list[int]] = {}
    for index, r in enumerate(rows):
        if r["patient_id"] not in after.stored:
            by_patient.setdefault(r["patient_id"], []).append(index)
    zones = _zones(conn, sorted(by_patient))
    for pid, indexes in by_patient.items():
        course = [_new_session(s) for s in batch.get(pid, [])]
        items = [
            _item({**rows[i], "id": i, "context": None, "went_at": None}, parts.schedules) for i in indexes
        ]
        found = arrange(
            course, items, tz=ZoneInfo(zones[pid]), window=parts.window, rules=parts.rules, now=now
        )
        for c in found:
            row = rows[c.id]
            row.update(
                due_at=c.due_at, next_attempt_at=c.due_at, send_by=c.send_by, status=c.status, reason=c.reason
            )
            if c.context is not None:
                after.contexts.append({"_key": row["dedupe_key"], "_context": c.context})
    return after


def _zones(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for first in range(0, len(ids), _CHUNK):
        query = select(patients.c.id, patients.c.timezone).where(
            patients.c.id.in_(ids[first : first + _CHUNK])
        )
        out.update((int(i), str(z)) for i, z in conn.execute(query))
    return out


def _new_session(s: Mapping[str, Any]) -> CourseSession:
    end = s["start_at"] + timedelta(minutes=s["duration_minutes"])
    return CourseSession(s["id"], s["start_at"], end, s["booked_at"], s["status"])


def arranged_plan(
    conn: Connection,
    app: Interlude | CourseParts,
    patient: Mapping[str, Any],
    session: Mapping[str, Any],
    planned: Sequence[PlannedMessage],
    now: datetime,
) -> list[PlannedMessage]:
    """`planned` (the messages of one session, booked or moved: `session` as it would be, its id
    None for a new one) as the course-wide rules would leave them beside the patient's stored
    rows: what a preview shows, so that it agrees with saving. Nothing is written."""
    parts = course_parts(app)
    sid = session.get("id")
    own = sid if sid is not None else -1
    course = [s for s in _sessions(conn, [patient["id"]]).get(patient["id"], []) if s.id != sid]
    course.append(
        CourseSession(
            own,
            session["start_at"],
            session["start_at"] + timedelta(minutes=session["duration_minutes"]),
            session.get("booked_at") or now,
        )
    )
    stored = [
        _item(r, parts.schedules)
        for r in _rows(conn, [patient["id"]], now).get(patient["id"], [])
        if sid is None or r["session_id"] != sid or r["status"] in TRIED
    ]
    new = [CourseItem.planned(-1 - k, own, pm) for k, pm in enumerate(planned)]
    tz = ZoneInfo(patient["timezone"])
    found = arrange(course, stored + new, tz=tz, window=parts.window, rules=parts.rules, now=now)
    changes = {-1 - c.id: c for c in found if c.id < 0}
    out = []
    for k, pm in enumerate(planned):
        c = changes.get(k)
        out.append(
            pm
            if c is None
            else replace(pm, due_at=c.due_at, send_by=c.send_by, status=c.status, reason=c.reason)
        )
    return out


def arrange_schedule(
    conn: Connection, app: Interlude | CourseParts, schedule: str, now: datetime
) -> ArrangeOutcome:
    """Arrange every patient with a booked session on `schedule` that starts in the future or still
    has pending messages (those a re-plan of the schedule looked at)."""
    has_pending = select(outbox.c.session_id).where(
        outbox.c.status == delivery.PENDING, outbox.c.session_id.is_not(None)
    )
    query = (
        select(sessions.c.patient_id)
        .where(
            sessions.c.schedule == schedule,
            sessions.c.status == SessionState.BOOKED,
            or_(sessions.c.start_at > now, sessions.c.id.in_(has_pending)),
        )
        .distinct()
    )
    return arrange_patients(conn, app, [int(p) for p in conn.execute(query).scalars()], now)


def _sessions(conn: Connection, ids: Sequence[int]) -> dict[int, list[CourseSession]]:
    query = select(
        sessions.c.id,
        sessions.c.patient_id,
        sessions.c.start_at,
        sessions.c.duration_minutes,
        sessions.c.booked_at,
        sessions.c.status,
    ).where(sessions.c.patient_id.in_(ids))
    out: dict[int, list[CourseSession]] = {}
    for r in conn.execute(query):
        end = r.start_at + timedelta(minutes=r.duration_minutes)
        out.setdefault(r.patient_id, []).append(CourseSession(r.id, r.start_at, end, r.booked_at, r.status))
    return out


_COLUMNS = (
    outbox.c.id,
    outbox.c.patient_id,
    outbox.c.session_id,
    outbox.c.schedule,
    outbox.c.step_id,
    outbox.c.channel,
    outbox.c.category,
    outbox.c.origin,
    outbox.c.status,
    outbox.c.reason,
    outbox.c.attempts,
    outbox.c.due_at,
    outbox.c.send_by,
    outbox.c.context,
    func.coalesce(outbox.c.sent_at, outbox.c.claimed_at).label("went_at"),
)


def _rows(conn: Connection, ids: Sequence[int], now: datetime) -> dict[int, list[Mapping[Any, Any]]]:
    """Pending rows, rows skipped by the course rules, and rows tried recently.

    Only the patient is asked of the database (its index): a condition on the state as well lets
    SQLite walk the state index over every pending row of the outbox instead. Safety messages
    take no part in the rules and are not read.
    """
    since = now - HISTORY
    out: dict[int, list[Mapping[Any, Any]]] = {}
    query = select(*_COLUMNS).where(outbox.c.patient_id.in_(ids), outbox.c.category != "safety")
    for r in conn.execute(query).mappings():
        status = r["status"]
        if (
            status == delivery.PENDING
            or (status == delivery.SKIPPED and r["reason"] in SKIP_REASONS)
            or (status in TRIED and r["due_at"] >= since)
        ):
            out.setdefault(r["patient_id"], []).append(r)
    return out


_STEPS: dict[int, tuple[Mapping[str, Schedule], dict[tuple[str, str], Step]]] = {}


def _steps(schedules: Mapping[str, Schedule]) -> dict[tuple[str, str], Step]:
    """Every step by (schedule, step id), kept per schedules object (an edit makes a new one)."""
    hit = _STEPS.get(id(schedules))
    if hit is not None and hit[0] is schedules:
        return hit[1]
    found = {(name, step.id): step for name, schedule in schedules.items() for step in schedule.steps}
    if len(_STEPS) >= 64:
        _STEPS.clear()
    _STEPS[id(schedules)] = (schedules, found)
    return found


def _item(row: Mapping[Any, Any], schedules: Mapping[str, Schedule]) -> CourseItem:
    step = _steps(schedules).get((row["schedule"], row["step_id"]))
    return CourseItem(
        id=row["id"],
        session_id=row["session_id"],
        step_id=row["step_id"],
        channel=row["channel"],
        category=row["category"],
        status=row["status"],
        due_at=row["due_at"],
        send_by=row["send_by"],
        reason=row["reason"],
        context=row["context"],
        origin=row["origin"],
        attempts=row["attempts"],
        once_per_course=step.once_per_course if step is not None else False,
        group_within=step.group_within if step is not None else None,
        quiet_hours=step.quiet_hours if step is not None else "defer",
        at=row["went_at"],
    )


@cache
def _update() -> Update:
    """One row, where it is still as read: the same state and reason, never tried."""
    return (
        update(outbox)
        .where(
            outbox.c.id == bindparam("_id"),
            outbox.c.status == bindparam("_status"),
            outbox.c.reason.is_not_distinct_from(bindparam("_old_reason", type_=outbox.c.reason.type)),
            outbox.c.attempts == 0,
        )
        .values(
            due_at=bindparam("_due_at"),
            next_attempt_at=bindparam("_due_at"),
            send_by=bindparam("_send_by"),
            status=bindparam("_new_status"),
            reason=bindparam("_reason"),
            context=bindparam("_context", type_=outbox.c.context.type),
            updated_at=bindparam("_now"),
        )
    )


def _apply(
    conn: Connection,
    changes: list[tuple[Mapping[Any, Any], CourseChange]],
    now: datetime,
    outcome: ArrangeOutcome,
) -> None:
    """Write each change where the row is still as read (the same state, never tried)."""
    if not changes:
        return
    params = [
        {
            "_id": c.id,
            "_status": row["status"],
            "_old_reason": row["reason"],
            "_due_at": c.due_at,
            "_send_by": c.send_by,
            "_new_status": c.status,
            "_reason": c.reason,
            "_context": c.context,
            "_now": now,
        }
        for row, c in changes
    ]
    written = conn.execute(_update(), params).rowcount
    written = len(params) if written is None or written < 0 else written
    outcome.changed += written
    outcome.in_flight += len(params) - written
    outcome.reasons.update(c.reason for _, c in changes if c.reason)
