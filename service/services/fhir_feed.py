"""FHIR R4 push: Patients and Appointments PUT one at a time, or sent in a transaction Bundle,
applied to the booking service through feeds (the one mapping every source shares).

Versions. Each resource's version here is the one recorded in the audit trail with the last
change it made: the sender's meta.versionId when it gives one (so the audit reads "booked from
fhir Appointment/123 v4"), else the previous version plus one (1 for the first). A resource sent
again unchanged writes nothing and keeps its version. Appointments use the feed's own audit
events of their session; Patients an event of their own (PATIENT_FEED_ACTION) recorded when the
push created or changed them. No table is needed: the trail is already kept and read per entity.

Transactions. A FHIR transaction is all or nothing. Every entry is first parsed, mapped and
checked, and then the whole Bundle is tried as a dry run of the feed (feeds.apply_bookings with
dry_run: status, start, visit type, past starts, a session's state here, a session belonging to
another patient): any refusal answers 400 and nothing is written. What only the writing itself
can refuse (a new patient's phone or email that the patient rules reject, a session overlapping
another of the patient's, a change made meanwhile by someone else) is found while applying:
the entries applied before it stay applied, the outcome says which, and sending the same Bundle
again once fixed is safe (the feed is idempotent).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from ..db.tables import audit_events, patients, sessions
from ..domain import fhir_map as fm
from ..domain.fhir_map import FhirInvalid, Issue
from ..runtime import Interlude
from . import audit, feeds
from .patients import default_clinic_id

ACTOR = "fhir"
# The audit action of a Patient created or changed by a FHIR push (its version is in details).
PATIENT_FEED_ACTION = "patient.from_feed"
# The most entries one transaction Bundle may hold.
MAX_ENTRIES = 500


class Refused(Exception):
    """The request is not applied (or, see the module's note, not wholly): an HTTP status and
    the issues for the OperationOutcome."""

    def __init__(self, status: int, issues: Sequence[Issue]) -> None:
        self.status = status
        self.issues = list(issues)
        super().__init__("; ".join(f"{i.expression}: {i.message}" for i in self.issues))


@dataclass
class Stored:
    """What one resource became here: its id, whether it was created, its version."""

    kind: str  # Patient | Appointment
    id: str
    created: bool
    version: str | None
    resource: dict[str, Any] = field(default_factory=dict)
    last_updated: datetime | None = None

    @property
    def etag(self) -> str | None:
        return f'W/"{self.version}"' if self.version else None

    @property
    def location(self) -> str:
        history = f"/_history/{self.version}" if self.version else ""
        return f"{self.kind}/{self.id}{history}"


# --- versions ---------------------------------------------------------------------------------


def _fhir_versions(conn: Connection, entity: str, entity_id: int, action: str, source_id: str) -> list[str]:
    rows = conn.execute(
        select(audit_events.c.details)
        .where(
            audit_events.c.entity == entity,
            audit_events.c.entity_id == entity_id,
            audit_events.c.action == action,
        )
        .order_by(audit_events.c.id)
    )
    out = []
    for (details,) in rows:
        if (
            isinstance(details, dict)
            and details.get("source") == fm.SOURCE
            and details.get("source_id") == source_id
        ):
            out.append(str(details.get("version") or ""))
    return out


@dataclass
class _Current:
    row: Any  # the patient or session found here, or None
    version: str | None  # the last version recorded from FHIR
    changes: int  # how many changes FHIR made to it


def _appointment(conn: Connection, external_id: str) -> _Current:
    session = (
        conn.execute(
            select(sessions)
            .join(patients, patients.c.id == sessions.c.patient_id)
            .where(patients.c.clinic_id == default_clinic_id(conn), sessions.c.external_ref == external_id)
            .order_by(sessions.c.id)
        )
        .mappings()
        .first()
    )
    if session is None:
        return _Current(None, None, 0)
    versions = _fhir_versions(conn, "session", session["id"], feeds.FEED_ACTION, f"Appointment/{external_id}")
    return _Current(session, versions[-1] if versions else None, len(versions))


def _patient(conn: Connection, external_ref: str) -> _Current:
    row = (
        conn.execute(
            select(patients).where(
                patients.c.clinic_id == default_clinic_id(conn), patients.c.external_ref == external_ref
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return _Current(None, None, 0)
    versions = _fhir_versions(conn, "patient", row["id"], PATIENT_FEED_ACTION, f"Patient/{external_ref}")
    return _Current(row, versions[-1] if versions else None, len(versions))


def _next_version(given: str | None, current: _Current) -> str:
    if given:
        return given
    if current.version and current.version.isdigit():
        return str(int(current.version) + 1)
    return str(current.changes + 1)


def _sent_version(resource: Any) -> str | None:
    meta = resource.meta
    return str(meta.versionId) if meta is not None and meta.versionId else None


def check_if_match(if_match: str | None, current: _Current, where: str) -> Issue | None:
    """The issue when an If-Match (W/"<n>", "<n>" or *) does not name the current version."""
    if if_match is None or not if_match.strip():
        return None
    wanted = if_match.strip()
    if wanted == "*":
        return (
            None
            if current.row is not None
            else Issue(where, "If-Match: * but nothing is stored here yet", "conflict")
        )
    wanted = wanted.removeprefix("W/").strip('"')
    if current.version is not None and wanted == current.version:
        return None
    have = f"W/{current.version!r}".replace("'", '"') if current.version else "none from FHIR"
    return Issue(
        where, f"version conflict: If-Match {wanted!r} but the current version is {have}", "conflict"
    )


# --- single resources -------------------------------------------------------------------------


def put_patient(app: Interlude, rid: str, body: Any, if_match: str | None, actor: str = ACTOR) -> Stored:
    """PUT Patient/<rid>: create (created=True) or update the patient whose external_ref is rid."""
    resource = _parse(body, "Patient", rid)
    try:
        mapped = fm.map_patient(resource, rid, app.config.imports.consent_extension)
    except FhirInvalid as exc:
        raise Refused(400, exc.issues) from None
    with app.engine.connect() as conn:
        current = _patient(conn, rid)
    conflict = check_if_match(if_match, current, "Patient")
    if conflict is not None:
        raise Refused(412, [conflict])
    version = _next_version(_sent_version(resource), current)
    stored = _apply_patient(app, mapped, version, current, actor, "Patient")
    stored.resource = _echo(body, stored)
    return stored


def _apply_patient(
    app: Interlude, mapped: fm.MappedPatient, version: str, current: _Current, actor: str, prefix: str
) -> Stored:
    ref = mapped.patient.external_ref
    result = feeds.apply_patient(app, mapped.patient, actor)
    if result.action == feeds.REFUSED:
        paths = {f"patient.{k}": val for k, val in mapped.paths.items()}
        raise Refused(400, fm.feed_issues(result.errors, paths, prefix))
    now = app.clock()
    if result.patient_action == feeds.UNCHANGED:
        return Stored("Patient", ref, False, current.version, last_updated=now)
    assert result.patient_id is not None
    with app.engine.begin() as conn:
        audit.record(
            conn,
            at=now,
            actor=actor,
            action=PATIENT_FEED_ACTION,
            entity="patient",
            entity_id=result.patient_id,
            reason=f"{result.patient_action} from {fm.SOURCE} Patient/{ref} v{version}"[:500],
            details={"source": fm.SOURCE, "source_id": f"Patient/{ref}", "version": version},
        )
    return Stored("Patient", ref, result.patient_action == feeds.CREATED, version, last_updated=now)


def put_appointment(app: Interlude, rid: str, body: Any, if_match: str | None, actor: str = ACTOR) -> Stored:
    """PUT Appointment/<rid>: book, move, cancel, mark no-show or complete the session whose
    external id is rid. Its patient (Patient/<id>) must be known here already."""
    resource = _parse(body, "Appointment", rid)
    try:
        ref, ref_path = fm.patient_reference(resource)
    except FhirInvalid as exc:
        raise Refused(400, exc.issues) from None
    if not ref.startswith("Patient/"):
        raise Refused(
            400, [Issue(ref_path, "reference the patient as Patient/<id> (urn:uuid only inside a Bundle)")]
        )
    patient_id = ref.split("/", 1)[1]
    with app.engine.connect() as conn:
        known = _patient(conn, patient_id).row is not None
        current = _appointment(conn, rid)
    if not known:
        raise Refused(
            400,
            [
                Issue(
                    ref_path,
                    "no such patient here: PUT the Patient first, or send both in a transaction Bundle",
                )
            ],
        )
    conflict = check_if_match(if_match, current, "Appointment")
    if conflict is not None:
        raise Refused(412, [conflict])
    mapped = _map_booking(
        app, resource, rid, fm.MappedPatient(feeds.ExternalPatient(patient_id)), current, "Appointment"
    )
    result = feeds.apply_booking(app, mapped.booking, actor)
    stored = _stored_booking(app, mapped, result, current, "Appointment")
    stored.resource = _echo(body, stored)
    return stored


def _map_booking(
    app: Interlude, resource: Any, rid: str, patient: fm.MappedPatient, current: _Current, prefix: str
) -> fm.MappedBooking:
    try:
        return fm.map_appointment(
            resource,
            rid,
            patient,
            known_visit_type=lambda code: feeds.visit_modality(app.config, code) is not None,
            version=_next_version(_sent_version(resource), current),
            prefix=prefix,
        )
    except FhirInvalid as exc:
        raise Refused(400, exc.issues) from None


def _stored_booking(
    app: Interlude, mapped: fm.MappedBooking, result: feeds.FeedResult, current: _Current, prefix: str
) -> Stored:
    b = mapped.booking
    if result.action == feeds.REFUSED:
        raise Refused(400, fm.feed_issues(result.errors, mapped.paths, prefix))
    now = app.clock()
    if result.action == feeds.UNCHANGED:
        return Stored("Appointment", b.external_id, False, current.version, last_updated=now)
    return Stored("Appointment", b.external_id, result.action == feeds.CREATED, b.version, last_updated=now)


def _parse(body: Any, kind: str, rid: str) -> Any:
    try:
        resource = fm.parse(body, kind)
    except FhirInvalid as exc:
        raise Refused(400, exc.issues) from None
    if resource.id != rid:
        raise Refused(400, [Issue(f"{kind}.id", "required, and must be the id in the URL", "value")])
    return resource


def _echo(body: Any, stored: Stored) -> dict[str, Any]:
    """The resource as sent, with the id and meta of the version stored here."""
    out = copy.deepcopy(body) if isinstance(body, dict) else {}
    meta = dict(out.get("meta") or {})
    if stored.version:
        meta["versionId"] = stored.version
    if stored.last_updated is not None:
        meta["lastUpdated"] = stored.last_updated.isoformat()
    out["id"] = stored.id
    out["meta"] = meta
    return out


# --- transaction Bundles ----------------------------------------------------------------------


@dataclass
class _Planned:
    entry: fm.Entry
    current: _Current
    patient: fm.MappedPatient | None = None  # a Patient entry
    version: str | None = None
    booking: fm.MappedBooking | None = None  # an Appointment entry


def transaction(app: Interlude, body: Any, actor: str = ACTOR) -> list[Stored]:
    """A transaction Bundle: every entry applied, or (see the module's note) none. Returns what
    each entry became, in the Bundle's order."""
    try:
        entries = fm.transaction_entries(body, MAX_ENTRIES)
    except FhirInvalid as exc:
        raise Refused(400, exc.issues) from None
    plans, issues, conflicts = _plan(app, entries)
    if conflicts and not issues:
        raise Refused(412, conflicts)
    if issues or conflicts:
        raise Refused(400, issues + conflicts)
    bookings = [p for p in plans if p.booking is not None]
    trial = feeds.apply_bookings(app, [p.booking.booking for p in bookings if p.booking], actor, dry_run=True)
    for plan, result in zip(bookings, trial, strict=True):
        assert plan.booking is not None
        if result.action == feeds.REFUSED:
            issues += fm.feed_issues(result.errors, plan.booking.paths, plan.entry.prefix)
    if issues:
        raise Refused(400, issues)
    return _apply(app, plans, actor)


def _plan(app: Interlude, entries: list[fm.Entry]) -> tuple[list[_Planned], list[Issue], list[Issue]]:
    issues: list[Issue] = []
    conflicts: list[Issue] = []
    plans: list[_Planned] = []
    by_reference: dict[str, fm.MappedPatient] = {}
    seen: dict[tuple[str, str], int] = {}
    with app.engine.connect() as conn:
        for e in entries:
            if e.kind != "Patient":
                continue
            try:
                ref = fm.patient_ref(e.resource, e.id, e.prefix)
                mapped = fm.map_patient(e.resource, ref, app.config.imports.consent_extension, e.prefix)
            except FhirInvalid as exc:
                issues += exc.issues
                continue
            if _duplicate(seen, ("Patient", ref), e, issues):
                continue
            current = _patient(conn, ref)
            conflict = check_if_match(e.if_match, current, f"Bundle.entry[{e.index}].request.ifMatch")
            if conflict is not None:
                conflicts.append(conflict)
            plans.append(_Planned(e, current, mapped, _next_version(_sent_version(e.resource), current)))
            by_reference[f"Patient/{ref}"] = mapped
            if e.full_url:
                by_reference[e.full_url] = mapped
        for e in entries:
            if e.kind != "Appointment":
                continue
            try:
                plan = _plan_appointment(app, conn, e, by_reference, conflicts)
            except FhirInvalid as exc:
                issues += exc.issues
                continue
            if plan is not None and not _duplicate(seen, ("Appointment", plan.entry.id or ""), e, issues):
                plans.append(plan)
    plans.sort(key=lambda p: p.entry.index)
    return plans, issues, conflicts


def _duplicate(
    seen: dict[tuple[str, str], int], key: tuple[str, str], e: fm.Entry, issues: list[Issue]
) -> bool:
    if key in seen:
        issues.append(
            Issue(
                f"Bundle.entry[{e.index}]", f"{key[0]}/{key[1]} is already in entry {seen[key]}: send it once"
            )
        )
        return True
    seen[key] = e.index
    return False


def _plan_appointment(
    app: Interlude,
    conn: Connection,
    e: fm.Entry,
    by_reference: dict[str, fm.MappedPatient],
    conflicts: list[Issue],
) -> _Planned | None:
    rid = e.id or _identifier(e.resource)
    if rid is None:
        raise FhirInvalid(
            [
                Issue(
                    f"{e.request_path}.url",
                    "PUT Appointment/<id> (its id in your system), or give Appointment.identifier",
                )
            ]
        )
    e.id = rid
    ref, ref_path = fm.patient_reference(e.resource, e.prefix)
    patient = by_reference.get(ref)
    if patient is None:
        if not ref.startswith("Patient/") or _patient(conn, ref.split("/", 1)[1]).row is None:
            raise FhirInvalid([Issue(ref_path, "no such patient in this Bundle or here")])
        patient = fm.MappedPatient(feeds.ExternalPatient(ref.split("/", 1)[1]))
    current = _appointment(conn, rid)
    conflict = check_if_match(e.if_match, current, f"{e.request_path}.ifMatch")
    if conflict is not None:
        conflicts.append(conflict)
    try:
        booking = _map_booking(app, e.resource, rid, patient, current, e.prefix)
    except Refused as exc:
        raise FhirInvalid(exc.issues) from None
    e_plan = _Planned(e, current, booking=booking)
    return e_plan


def _identifier(resource: Any) -> str | None:
    for ident in resource.identifier or []:
        if ident.value and fm.ID.match(ident.value):
            return str(ident.value)
    return None


def _apply(app: Interlude, plans: list[_Planned], actor: str) -> list[Stored]:
    done: dict[int, Stored] = {}
    issues: list[Issue] = []
    for plan in plans:  # patients first, as a FHIR server processes a transaction's writes
        if plan.patient is None:
            continue
        try:
            assert plan.version is not None
            done[plan.entry.index] = _apply_patient(
                app, plan.patient, plan.version, plan.current, actor, plan.entry.prefix
            )
        except Refused as exc:
            issues += exc.issues
    bookings = [p for p in plans if p.booking is not None]
    if not issues:
        results = feeds.apply_bookings(app, [p.booking.booking for p in bookings if p.booking], actor)
        for plan, result in zip(bookings, results, strict=True):
            assert plan.booking is not None
            try:
                done[plan.entry.index] = _stored_booking(
                    app, plan.booking, result, plan.current, plan.entry.prefix
                )
            except Refused as exc:
                issues += exc.issues
    if issues:
        applied = sorted(i for i, s in done.items() if s.created or s.version != _version_before(plans, i))
        note = (
            f"entries {', '.join(map(str, applied))} were applied before this was found; "
            "send the Bundle again once fixed (nothing is applied twice)"
            if applied
            else "nothing was applied"
        )
        raise Refused(400, [*issues, Issue("Bundle", note, "incomplete")])
    return [done[p.entry.index] for p in plans]


def _version_before(plans: list[_Planned], index: int) -> str | None:
    """The version an entry's resource had before the Bundle."""
    return next(p.current.version for p in plans if p.entry.index == index)
