"""Book many sessions at once: what an EHR import or a CSV upload calls.

Every item is checked exactly as book_session checks one, and its messages are planned by the
same planner with the same keys, so an import and the same bookings made one by one leave the
same rows. What differs is the cost: one transaction, a few reads and a few multi-row inserts
per batch instead of several statements per session.

Atomicity, decided here: validation is per item, storage is per batch. An item that is invalid
(a bad field, an unknown patient or schedule, a time overlapping a booked session of the same
patient or an earlier item of the import, unless the item says `force`) is refused on its own and
reported with its index and the field; the valid items around it are booked. Each batch of `batch_size` items is one
transaction: a database error rolls the whole batch back and is raised, with the batches before
it committed (`BulkOutcome.booked` of the exception's batch is not returned; the caller may
resubmit from `BulkError.first_index`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.exc import DBAPIError

from ..db.tables import audit_events, patients, sessions
from ..domain.planner import PatientFacts
from ..domain.quiet_hours import Window
from ..domain.schedule import Schedule
from ..domain.session_changes import Booked, booked, clash
from ..domain.session_state import SessionState
from ..runtime import Interlude
from .errors import InvalidInput, NotFound, ServiceError
from .outbox.course import CourseParts, arrange_before_insert, course_parts
from .outbox.enqueue import enqueue_bulk
from .outbox.planning import PlanOutcome, new_session_rows, patient_facts
from .sessions import Overlap, booked_sessions, complete_booking, read_booking, session_row
from .validation import DEFAULT_DURATION, Fields

BATCH_SIZE = 1000


@dataclass
class BulkOutcome:
    """booked: (item index, session id) in input order; errors: (item index, {field: problem})."""

    booked: list[tuple[int, int]] = field(default_factory=list)
    errors: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    messages: PlanOutcome = field(default_factory=PlanOutcome)

    def as_dict(self) -> dict[str, Any]:
        return {
            "booked": [{"index": i, "id": s} for i, s in self.booked],
            "errors": [{"index": i, "fields": e} for i, e in self.errors],
            "messages": self.messages.as_dict(),
        }


class BulkError(ServiceError):
    """A batch could not be stored (the database refused it); earlier batches are committed."""

    def __init__(self, first_index: int, done: BulkOutcome) -> None:
        super().__init__(f"batch starting at item {first_index} not stored; earlier batches were")
        self.first_index = first_index
        self.done = done


def book_sessions(
    app: Interlude, items: Sequence[Any], actor: str, *, batch_size: int = BATCH_SIZE
) -> BulkOutcome:
    """Book every valid item as book_session would, and plan its messages.

    Returns a BulkOutcome naming each booked item's session and each refused item's fields.
    Raises BulkError when the database refuses a batch (see the module's note on atomicity).
    """
    outcome = BulkOutcome()
    for first in range(0, len(items), batch_size):
        try:
            _book_batch(app, items[first : first + batch_size], first, actor, outcome)
        except DBAPIError as exc:
            raise BulkError(first, outcome) from exc
    return outcome


@dataclass
class _Valid:
    index: int
    item: dict[str, Any]
    patient: Mapping[Any, Any]


def _book_batch(app: Interlude, batch: Sequence[Any], first: int, actor: str, outcome: BulkOutcome) -> None:
    app.refresh_content()  # one look for saved schedule edits per batch, as book_session makes per call
    schedules, window, now = app.schedules, app.window, app.clock()
    read = [_read(first + i, data) for i, data in enumerate(batch)]
    with app.engine.begin() as conn:
        people = _patients(conn, {item["patient_id"] for _, item, f in read if not f.errors})
        valid: list[_Valid] = []
        for index, item, f in read:
            patient = people.get(item["patient_id"]) if not f.errors else None
            if not f.errors and patient is None:
                f.errors["patient_id"] = str(NotFound("patient", item["patient_id"]))
            if patient is not None:
                complete_booking(f, item, patient, schedules, now)
            if f.errors or patient is None:
                outcome.errors.append((index, dict(f.errors)))
            else:
                valid.append(_Valid(index, item, patient))
        valid = _refuse_overlaps(conn, valid, outcome)
        if not valid:
            return
        _number(conn, valid)
        rows = [session_row(v.item, now) for v in valid]
        ids = _insert_sessions(conn, rows)
        for row, session_id in zip(rows, ids, strict=True):
            row["id"] = session_id
        _plan(conn, valid, rows, schedules, window, now, actor, outcome, course_parts(app))
    outcome.booked.extend((v.index, i) for v, i in zip(valid, ids, strict=True))


def _read(index: int, data: Any) -> tuple[int, dict[str, Any], Any]:
    try:
        f, item = read_booking(data)
    except InvalidInput:  # not an object at all
        f, item = Fields({}), {"patient_id": None}
        f.errors["body"] = "expected a JSON object"
    return index, item, f


def _patients(conn: Connection, ids: set[int]) -> dict[int, Mapping[Any, Any]]:
    found: dict[int, Mapping[Any, Any]] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):  # bounded IN lists
        chunk = ordered[start : start + 500]
        for row in conn.execute(select(patients).where(patients.c.id.in_(chunk))).mappings():
            found[row["id"]] = row
    return found


def _refuse_overlaps(conn: Connection, valid: list[_Valid], outcome: BulkOutcome) -> list[_Valid]:
    """The items that clash with nothing: an item sharing time with a booked session of its
    patient, or with an earlier item of this import, is refused with the field `start`, as
    book_session refuses it, unless it says `force`. Returns the items kept, in order."""
    ids = sorted({v.item["patient_id"] for v in valid})
    taken: dict[int, list[Booked]] = {}
    names: dict[int, str] = {}  # what an error calls each taken slot, by the object's identity
    for start in range(0, len(ids), 500):  # bounded IN lists
        for row in booked_sessions(conn, ids[start : start + 500]):
            slot = booked(row)
            taken.setdefault(row["patient_id"], []).append(slot)
            names[id(slot)] = str(Overlap(slot))
    kept: list[_Valid] = []
    for v in valid:
        item = v.item
        mine = taken.setdefault(item["patient_id"], [])
        slot = Booked(0, item["start"], item["duration"] or DEFAULT_DURATION[item["modality"]])
        hit = None if item["force"] else clash(slot.start_at, slot.duration_minutes, mine)
        if hit is not None:
            outcome.errors.append((v.index, {"start": names[id(hit)]}))
            continue
        mine.append(slot)
        names[id(slot)] = f"the time overlaps item {v.index} of this import, for the same patient"
        kept.append(v)
    outcome.errors.sort(key=lambda e: e[0])
    return kept


def _number(conn: Connection, valid: list[_Valid]) -> None:
    """Number the items that name none as book_session would, one after the other: sessions
    booked or completed so far, plus those booked earlier in this batch, plus one."""
    need = sorted({v.item["patient_id"] for v in valid if v.item["number"] is None})
    counts: Counter[int] = Counter()
    for start in range(0, len(need), 500):
        chunk = need[start : start + 500]
        query = (
            select(sessions.c.patient_id, func.count())
            .where(
                sessions.c.patient_id.in_(chunk),
                sessions.c.status.in_([SessionState.BOOKED, SessionState.COMPLETED]),
            )
            .group_by(sessions.c.patient_id)
        )
        counts.update({int(pid): int(n) for pid, n in conn.execute(query)})
    for v in valid:
        pid = v.item["patient_id"]
        if v.item["number"] is None:
            v.item["number"] = counts[pid] + 1
        counts[pid] += 1


def _insert_sessions(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    stmt = insert(sessions).returning(sessions.c.id, sort_by_parameter_order=True)
    return [int(i) for i in conn.execute(stmt, rows).scalars()]


def _plan(
    conn: Connection,
    valid: list[_Valid],
    sessions_: list[dict[str, Any]],
    schedules: Mapping[str, Schedule],
    window: Window,
    now: datetime,
    actor: str,
    outcome: BulkOutcome,
    parts: CourseParts,
) -> None:
    rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    facts: dict[int, PatientFacts] = {}
    for v, session in zip(valid, sessions_, strict=True):
        pid = v.item["patient_id"]
        if pid not in facts:
            facts[pid] = patient_facts(v.patient)
        planned, plan = new_session_rows(
            schedules[v.item["schedule"]], session, v.patient, window, now, facts[pid]
        )
        rows.extend(planned)
        outcome.messages.created += plan.created
        outcome.messages.skipped += plan.skipped
        events.append(_audit(now, actor, session["id"], plan))
    # The course-wide rules once per patient of the batch, not per booking.
    after = arrange_before_insert(conn, parts, rows, sessions_, now)
    enqueue_bulk(conn, rows)
    after.finish(conn, now)
    conn.execute(insert(audit_events), events)


def _audit(now: datetime, actor: str, session_id: int, plan: PlanOutcome) -> dict[str, Any]:
    """The event book_session records for one booking."""
    return {
        "at": now,
        "actor": actor,
        "action": "session.booked",
        "entity": "session",
        "entity_id": session_id,
        "reason": None,
        "details": {"planned": plan.as_dict()},
    }
