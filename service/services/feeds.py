"""Bookings from the clinic's own systems (CSV, HL7 v2, FHIR) onto the booking service.

One mapping for every source: a source reads its format into an ExternalBooking and calls
apply_booking (one at a time) or apply_bookings (many, with the bulk path for new sessions).
The patient is found by its external_ref (created or updated), the session by its external id
(sessions.external_ref): created, rescheduled, cancelled, marked no-show or completed through
sessions.py, so the messages follow exactly as after a staff change. The same booking twice
changes nothing. Each applied booking leaves an audit event "<verb> from <source> <source_id>
v<version>"; a change to a session whose last change was made by someone else (staff) still
applies (the source wins) and says so in that event.

Consent: a new patient gets the enrolment opt-in text only when the source says they agreed to
texts (`consented_sms is True`); otherwise they are enrolled with SMS off and a staff task lists
them. An existing patient's consent is never changed by a feed.

Atomicity, decided here: each booking is checked first (its start, visit type and status need
no database), so a bad booking writes nothing; the patient is then created or updated and the
session changed, each in its own transaction of the booking service. A refusal that only the
database can tell (a time overlapping another booked session of the patient) leaves a new
patient enrolled and the session not booked; the booking's result says so, and applying it
again once fixed finds that patient.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from ..db.tables import audit_events, patients, sessions
from ..domain.feed_items import (
    BOOKED,
    CANCELLED,
    FULFILLED,
    NOSHOW,
    STATUSES,
    ExternalBooking,
    ExternalPatient,
)
from ..domain.session_state import SessionState
from ..runtime import Interlude
from . import audit
from . import sessions as booking
from . import validation as v
from .bulk import book_sessions
from .errors import Conflict, InvalidInput, NotFound
from .patients import create_patient, default_clinic_id, update_patient
from .tasks import open_task

CREATED, RESCHEDULED, UNCHANGED, REFUSED = "created", "rescheduled", "unchanged", "refused"
# The action a status leads to, for a session still booked here.
_STATUS_ACTION = {CANCELLED: "cancelled", NOSHOW: "no-show", FULFILLED: "completed"}
_SESSION_STATE = {
    CANCELLED: SessionState.CANCELLED,
    NOSHOW: SessionState.NO_SHOW,
    FULFILLED: SessionState.COMPLETED,
}

# The staff task listing patients imported with SMS off (no consent from the source).
NO_SMS_CONSENT_TASK = "import-no-sms-consent"
NO_SMS_CONSENT_DETAIL = (
    "imported without a record that the patient agreed to text messages: SMS is off; "
    "ask them and record their consent on the patient page"
)

# The audit action naming the source of each change a feed made.
FEED_ACTION = "session.from_feed"

_PATIENT_FIELDS = ("first_name", "last_name", "phone", "email", "language", "timezone")


@dataclass
class FeedResult:
    """What one booking did (or would do, in a dry run): action, the ids, errors by field."""

    action: str
    errors: dict[str, str] = field(default_factory=dict)
    patient_id: int | None = None
    session_id: int | None = None
    patient_action: str = UNCHANGED  # created | updated | unchanged
    overrode_staff: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "errors": self.errors,
            "patient_id": self.patient_id,
            "session_id": self.session_id,
            "patient": self.patient_action,
        }


def visit_modality(config: Any, visit_type: str) -> str | None:
    """The modality of a visit type: the clinic's mapping ([imports] visit_types, any case), or
    the modality's own name."""
    wanted = visit_type.strip().casefold()
    for code, modality in config.imports.visit_types.items():
        if code.strip().casefold() == wanted:
            return str(modality)
    return wanted if wanted in v.MODALITIES else None


def check(app: Interlude, b: ExternalBooking, now: datetime) -> dict[str, str]:
    """The problems of a booking that need no database, by field (empty: none)."""
    errors: dict[str, str] = {}
    if not b.external_id or len(b.external_id) > 100:
        errors["external_id"] = "required, at most 100 characters"
    if not b.patient.external_ref or len(b.patient.external_ref) > 100:
        errors["patient.external_ref"] = "required, at most 100 characters"
    if b.status not in STATUSES:
        errors["status"] = f"unknown status {b.status!r}: use booked, cancelled, noshow or fulfilled"
    if visit_modality(app.config, b.visit_type) is None:
        known = sorted({*app.config.imports.visit_types, *v.MODALITIES})
        errors["visit_type"] = (
            f"{v.shown(b.visit_type)} is not a visit type we know: add it to [imports] visit_types "
            f"in the config, or use one of {', '.join(known)}"
        )
    if b.start.tzinfo is None:
        errors["start"] = "the start has no time zone"
    elif b.status == BOOKED and b.start - now > v.MAX_AHEAD:
        errors["start"] = "more than two years ahead"
    return errors


def _ahead(b: ExternalBooking, action: str, now: datetime) -> str | None:
    """A new or moved session must start ahead (one already booked may have passed)."""
    if action in (CREATED, RESCHEDULED) and b.start <= now:
        return "the start is in the past: only sessions ahead are booked or moved"
    return None


def _patient_data(p: ExternalPatient) -> dict[str, Any]:
    data: dict[str, Any] = {"external_ref": p.external_ref}
    for name in _PATIENT_FIELDS:
        value = getattr(p, name)
        if value not in (None, ""):
            data[name] = value
    return data


def _patient_changes(app: Interlude, current: Mapping[Any, Any], p: ExternalPatient) -> dict[str, Any]:
    """The fields the source gives that differ from the stored patient (consent never)."""
    changes: dict[str, Any] = {}
    for name, value in _patient_data(p).items():
        if name == "external_ref":
            continue
        stored = current[name]
        compare = value
        if name == "phone":
            try:
                compare = v.phone(value, app.config.clinic.country)
            except ValueError:
                compare = value  # update_patient names the problem
        elif name == "email":
            compare, stored = value.lower(), (stored or "").lower()
        if compare != stored:
            changes[name] = value
    return changes


@dataclass
class _Found:
    patients: dict[str, Mapping[Any, Any]]
    sessions: dict[str, Mapping[Any, Any]]
    last_action: dict[int, str]  # each session's last audit action
    to_create: set[str] = field(default_factory=set)  # patients a dry run would create


def _find(conn: Connection, bookings: Sequence[ExternalBooking]) -> _Found:
    clinic = default_clinic_id(conn)
    refs = sorted({b.patient.external_ref for b in bookings})
    ids = sorted({b.external_id for b in bookings})
    found = _Found({}, {}, {})
    for start in range(0, len(refs), 500):  # bounded IN lists
        query = select(patients).where(
            patients.c.clinic_id == clinic, patients.c.external_ref.in_(refs[start : start + 500])
        )
        found.patients.update({r["external_ref"]: r for r in conn.execute(query).mappings()})
    for start in range(0, len(ids), 500):
        query = (
            select(sessions)
            .join(patients, patients.c.id == sessions.c.patient_id)
            .where(patients.c.clinic_id == clinic, sessions.c.external_ref.in_(ids[start : start + 500]))
            .order_by(sessions.c.id)
        )
        found.sessions.update({r["external_ref"]: r for r in conn.execute(query).mappings()})
    session_ids = sorted(r["id"] for r in found.sessions.values())
    for start in range(0, len(session_ids), 500):
        query = (
            select(audit_events.c.entity_id, audit_events.c.action)
            .where(
                audit_events.c.entity == "session",
                audit_events.c.entity_id.in_(session_ids[start : start + 500]),
            )
            .order_by(audit_events.c.id)
        )
        found.last_action.update({int(i): a for i, a in conn.execute(query)})
    return found


def decide(b: ExternalBooking, session: Mapping[Any, Any] | None) -> tuple[str, str | None]:
    """What the booking does to the session found for it: (action, refusal or None)."""
    if session is None:
        return (CREATED, None) if b.status == BOOKED else (UNCHANGED, None)
    state = session["status"]
    if b.status == BOOKED:
        if state != SessionState.BOOKED:
            return REFUSED, f"the session is {state} here and cannot be booked again: book a new one"
        duration = b.duration_minutes or session["duration_minutes"]
        if b.start != session["start_at"] or duration != session["duration_minutes"]:
            return RESCHEDULED, None
        return UNCHANGED, None
    if state == _SESSION_STATE[b.status]:
        return UNCHANGED, None
    if state != SessionState.BOOKED:
        return REFUSED, f"the session is already {state} here"
    return _STATUS_ACTION[b.status], None


def _reason(b: ExternalBooking, verb: str) -> str:
    version = f" v{b.version}" if b.version else ""
    return f"{verb} from {b.source} {b.source_id}{version}"[: booking.MAX_REASON]


def apply_booking(app: Interlude, b: ExternalBooking, actor: str) -> FeedResult:
    """Apply one booking (see the module's note); never raises for a bad booking."""
    return apply_bookings(app, [b], actor)[0]


def apply_bookings(
    app: Interlude,
    bookings: Sequence[ExternalBooking],
    actor: str,
    *,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> list[FeedResult]:
    """Apply bookings in order, one result each. New sessions are booked through the bulk path
    (bulk.book_sessions) once their patients exist; `dry_run` says what would change and writes
    nothing. `progress(n)` is called as each booking is done (n: how many more)."""
    now = app.clock()
    tick = progress or (lambda n: None)
    with app.engine.connect() as conn:
        found = _find(conn, bookings)
    results: list[FeedResult] = []
    new_items: list[tuple[int, ExternalBooking, dict[str, Any]]] = []
    for index, b in enumerate(bookings):
        result = _apply_one(app, b, actor, now, found, dry_run)
        results.append(result)
        if result.action == CREATED and not dry_run:
            assert result.patient_id is not None
            new_items.append((index, b, _booking_item(app, b, result.patient_id)))
        else:
            tick(1)
    if new_items:
        _book_new(app, new_items, results, actor, tick)
    return results


def _booking_item(app: Interlude, b: ExternalBooking, patient_id: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        "patient_id": patient_id,
        "start": b.start.isoformat(),
        "modality": visit_modality(app.config, b.visit_type),
        "external_ref": b.external_id,
    }
    if b.duration_minutes is not None:
        item["duration_minutes"] = b.duration_minutes
    return item


def _apply_one(
    app: Interlude, b: ExternalBooking, actor: str, now: datetime, found: _Found, dry_run: bool
) -> FeedResult:
    errors = check(app, b, now)
    if errors:
        return FeedResult(REFUSED, errors)
    session = found.sessions.get(b.external_id)
    action, refusal = decide(b, session)
    patient = found.patients.get(b.patient.external_ref)
    if session is not None and patient is not None and session["patient_id"] != patient["id"]:
        return FeedResult(REFUSED, {"external_id": "this session belongs to another patient here"})
    if refusal is not None:
        return FeedResult(REFUSED, {"status" if b.status != BOOKED else "start": refusal})
    past = _ahead(b, action, now)
    if past is not None:
        return FeedResult(REFUSED, {"start": past})
    if session is None and action == UNCHANGED:  # a cancelled booking we never had: nothing to do
        return FeedResult(UNCHANGED)
    result = FeedResult(action)
    try:
        result.patient_id, result.patient_action = _upsert_patient(
            app, b, actor, patient, now, dry_run, found
        )
    except InvalidInput as exc:
        return FeedResult(REFUSED, {f"patient.{k}": m for k, m in exc.errors.items()})
    if session is None or action == UNCHANGED or dry_run:
        result.session_id = session["id"] if session is not None else None
        return result
    result.session_id = session["id"]
    # Changed here since the source last spoke (staff, the API): the source wins, and says so.
    result.overrode_staff = found.last_action.get(session["id"]) != FEED_ACTION
    try:
        _change_session(app, b, action, session, actor)
    except (InvalidInput, Conflict, NotFound) as exc:
        where = "start" if action == RESCHEDULED else "status"
        return FeedResult(
            REFUSED, _errors(exc, where), result.patient_id, session["id"], result.patient_action
        )
    _record(app, b, result, actor)
    return result


def _errors(exc: Exception, default: str) -> dict[str, str]:
    return dict(exc.errors) if isinstance(exc, InvalidInput) else {default: str(exc)}


def _upsert_patient(
    app: Interlude,
    b: ExternalBooking,
    actor: str,
    patient: Mapping[Any, Any] | None,
    now: datetime,
    dry_run: bool,
    found: _Found,
) -> tuple[int | None, str]:
    if patient is None:
        if dry_run:
            first = b.patient.external_ref not in found.to_create
            found.to_create.add(b.patient.external_ref)
            return None, CREATED if first else UNCHANGED
        consented = b.patient.consented_sms is True
        made = create_patient(app, _patient_data(b.patient), actor, sms_consent=consented)
        if not consented and made["phone"]:
            with app.engine.begin() as conn:
                open_task(
                    conn,
                    key=f"{NO_SMS_CONSENT_TASK}:{made['id']}",
                    kind=NO_SMS_CONSENT_TASK,
                    now=now,
                    detail=NO_SMS_CONSENT_DETAIL,
                    patient_id=made["id"],
                )
        with app.engine.connect() as conn:  # later bookings of this file find them
            row = conn.execute(select(patients).where(patients.c.id == made["id"])).mappings().one()
        found.patients[b.patient.external_ref] = row
        return int(made["id"]), CREATED
    changes = _patient_changes(app, patient, b.patient)
    if not changes:
        return int(patient["id"]), UNCHANGED
    if not dry_run:
        update_patient(app, patient["id"], changes, actor)
        with app.engine.connect() as conn:
            row = conn.execute(select(patients).where(patients.c.id == patient["id"])).mappings().one()
        found.patients[b.patient.external_ref] = row
    return int(patient["id"]), "updated"


def _change_session(
    app: Interlude, b: ExternalBooking, action: str, session: Mapping[Any, Any], actor: str
) -> None:
    sid = session["id"]
    if action == RESCHEDULED:
        data: dict[str, Any] = {"start": b.start.isoformat(), "reason": _reason(b, "rescheduled")}
        if b.duration_minutes is not None:
            data["duration_minutes"] = b.duration_minutes
        booking.reschedule_session(app, sid, data, actor)
    elif action == "cancelled":
        booking.cancel_session(app, sid, {"reason": _reason(b, "cancelled")}, actor)
    elif action == "no-show":
        booking.no_show_session(app, sid, {"reason": _reason(b, "no-show")}, actor)
    elif action == "completed":
        booking.complete_session(app, sid, {"reason": _reason(b, "completed")}, actor)


def _record(app: Interlude, b: ExternalBooking, result: FeedResult, actor: str) -> None:
    """The source of the change, in the audit trail."""
    with app.engine.begin() as conn:
        _audit(conn, app.clock(), b, result, actor)


def _audit(conn: Connection, now: datetime, b: ExternalBooking, result: FeedResult, actor: str) -> None:
    verb = "booked" if result.action == CREATED else result.action
    assert result.session_id is not None
    audit.record(
        conn,
        at=now,
        actor=actor,
        action=FEED_ACTION,
        entity="session",
        entity_id=result.session_id,
        reason=_reason(b, verb),
        details={
            "source": b.source,
            "source_id": b.source_id,
            "version": b.version,
            "action": result.action,
            "overrode_staff_change": result.overrode_staff,
        },
    )


def _book_new(
    app: Interlude,
    items: list[tuple[int, ExternalBooking, dict[str, Any]]],
    results: list[FeedResult],
    actor: str,
    tick: Callable[[int], None],
) -> None:
    """Book the new sessions in batches; each booked one gets its audit event of the source."""
    step = 500
    for first in range(0, len(items), step):
        chunk = items[first : first + step]
        outcome = book_sessions(app, [item for _, _, item in chunk], actor)
        for i, errors in outcome.errors:
            index = chunk[i][0]
            results[index] = FeedResult(
                REFUSED, errors, results[index].patient_id, None, results[index].patient_action
            )
        now = app.clock()
        with app.engine.begin() as conn:
            for i, session_id in outcome.booked:
                index, b, _ = chunk[i]
                results[index].session_id = session_id
                _audit(conn, now, b, results[index], actor)
        tick(len(chunk))


def sync_missing(
    app: Interlude,
    kept: set[str],
    start: datetime,
    end: datetime,
    actor: str,
    *,
    source: str,
    source_id: str,
    dry_run: bool = False,
) -> list[int]:
    """Cancel the clinic's booked sessions from a feed (an external id) starting in [start, end)
    and still ahead whose external id is not in `kept`: gone from the source. Returns their ids."""
    now = app.clock()
    with app.engine.connect() as conn:
        clinic = default_clinic_id(conn)
        query = (
            select(sessions.c.id, sessions.c.external_ref)
            .join(patients, patients.c.id == sessions.c.patient_id)
            .where(
                patients.c.clinic_id == clinic,
                sessions.c.status == SessionState.BOOKED,
                sessions.c.external_ref.is_not(None),
                sessions.c.start_at >= max(start, now),
                sessions.c.start_at < end,
            )
            .order_by(sessions.c.start_at, sessions.c.id)
        )
        gone = [(int(i), ref) for i, ref in conn.execute(query) if ref not in kept]
    if dry_run:
        return [i for i, _ in gone]
    reason = f"cancelled: no longer in {source} {source_id}"[: booking.MAX_REASON]
    done = []
    for session_id, _ in gone:
        try:
            booking.cancel_session(app, session_id, {"reason": reason}, actor)
        except Conflict:
            continue  # changed meanwhile
        done.append(session_id)
    return done


def apply_patient(app: Interlude, p: ExternalPatient, actor: str) -> FeedResult:
    """Create or update a patient sent without a booking (a FHIR Patient on its own), by the same
    rules as a booking's patient (consent included). Never raises for a bad patient; the result's
    patient_action says created, updated or unchanged."""
    if not p.external_ref or len(p.external_ref) > 100:
        return FeedResult(REFUSED, {"patient.external_ref": "required, at most 100 characters"})
    now = app.clock()
    with app.engine.connect() as conn:
        clinic = default_clinic_id(conn)
        current = (
            conn.execute(
                select(patients).where(
                    patients.c.clinic_id == clinic, patients.c.external_ref == p.external_ref
                )
            )
            .mappings()
            .first()
        )
    # _upsert_patient reads only the booking's patient.
    holder = ExternalBooking(source="", source_id="", external_id="", patient=p, start=now, visit_type="")
    try:
        patient_id, done = _upsert_patient(app, holder, actor, current, now, False, _Found({}, {}, {}))
    except InvalidInput as exc:
        return FeedResult(REFUSED, {f"patient.{k}": m for k, m in exc.errors.items()})
    return FeedResult(UNCHANGED, patient_id=patient_id, patient_action=done)
