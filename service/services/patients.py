"""Enrol and update patients."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..db.tables import clinics, consent_events, outbox, patients, sessions
from ..domain import delivery
from ..domain.channels import PREFERENCES
from ..domain.planner import plan_enrolment
from ..runtime import Interlude
from . import audit
from . import validation as v
from .consent_state import allows_now
from .errors import Conflict, InvalidInput, NotFound
from .outbox import enqueue
from .outbox.planning import (
    ReplanOutcome,
    patient_facts,
    plan_for_enrolment,
    plan_for_session,
    replan_anchors,
    replannable_sessions,
)

_FIELDS = {
    "first_name",
    "last_name",
    "phone",
    "email",
    "timezone",
    "language",
    "channels",
    "indications",
    "detailed_messages",
    "external_ref",
    "schedule",
    "preferred_channel",
}


def _read(app: Interlude, data: Any, *, partial: bool) -> dict[str, Any]:
    f = v.Fields(data)
    f.refuse_unknown(_FIELDS)
    req = not partial
    out = {
        "first_name": f.get("first_name", v.text(100), required=req, nullable=False),
        "last_name": f.get("last_name", v.text(100), required=req, nullable=False),
        # A number written without +country code is read as dialled in the clinic's country.
        "phone": f.get("phone", lambda value: v.phone(value, app.config.clinic.country)),
        "email": f.get("email", v.email),
        "timezone": f.get(
            "timezone", v.timezone, default=None if partial else app.config.clinic.timezone, nullable=False
        ),
        "language": f.get(
            "language",
            v.one_of(app.config.messages.languages),  # a language without templates would get the default's
            default=None if partial else app.config.messages.default_language,
            nullable=False,
        ),
        "channels": f.get("channels", v.choices(v.CHANNELS, allow_empty=False), nullable=False),
        "indications": f.get(
            "indications", v.choices(v.INDICATIONS), default=None if partial else [], nullable=False
        ),
        "detailed_messages": f.get(
            "detailed_messages", v.boolean, default=None if partial else False, nullable=False
        ),
        "external_ref": f.get("external_ref", v.text(100)),
        "schedule": f.get(
            "schedule", v.text(64), default=None if partial else app.config.schedules.default, nullable=False
        ),
        # How education messages go (sms, email or both); null: the default rule, domain/channels.py.
        "preferred_channel": f.get("preferred_channel", v.one_of(PREFERENCES)),
    }
    # The clinic's own zone, taken when none is given, is never held against the patient.
    zone = out["timezone"] if "timezone" in data else None
    v.refuse_other_countries(f, out["phone"], zone, app.config.clinic.accepted_countries)
    if out["schedule"] is not None and out["schedule"] not in app.schedules:
        f.errors["schedule"] = f"unknown schedule (known: {', '.join(sorted(app.schedules))})"
    if not partial:  # every problem at once: the contact rules too, on what could be read
        for key, message in _contact_errors(with_default_channels(out)).items():
            f.errors.setdefault(key, message)
    f.done()
    if partial:
        return {k: val for k, val in out.items() if k in data}
    return out


def with_default_channels(record: dict[str, Any]) -> dict[str, Any]:
    """`record` with its channels, when none were named: every contact it gives."""
    if record.get("channels") is None:
        record["channels"] = [c for c in v.CHANNELS if record["phone" if c == "sms" else "email"]]
    return record


def _contact_errors(record: Mapping[Any, Any]) -> dict[str, str]:
    errors = {}
    channels = record.get("channels") or []
    if "sms" in channels and not record.get("phone"):
        errors["phone"] = "required to receive SMS: give a mobile number"
    if "email" in channels and not record.get("email"):
        errors["email"] = "required to receive email: give an address such as ana@example.org"
    if not record.get("phone") and not record.get("email"):
        errors["phone"] = "a phone number or an email address is required: give at least one"
    preferred = record.get("preferred_channel")
    if preferred == "sms" and not record.get("phone"):
        errors["preferred_channel"] = "sms needs a phone number: give one, or choose email"
    if preferred == "email" and not record.get("email"):
        errors["preferred_channel"] = "email needs an email address: give one, or choose text message"
    return errors


def _check_contacts(record: Mapping[Any, Any]) -> None:
    errors = _contact_errors(record)
    if errors:
        raise InvalidInput(errors)


def default_clinic_id(conn: Connection) -> int:
    row = conn.execute(select(clinics.c.id).order_by(clinics.c.id).limit(1)).first()
    if row is None:
        raise Conflict("no clinic configured: run `interlude init`")
    return int(row[0])


def get_patient(conn: Connection, patient_id: int) -> Mapping[Any, Any]:
    row = conn.execute(select(patients).where(patients.c.id == patient_id)).mappings().first()
    if row is None:
        raise NotFound("patient", patient_id)
    return row


def create_patient(app: Interlude, data: Any, actor: str, *, sms_consent: bool = True) -> dict[str, Any]:
    """Enrol a patient and plan their enrolment messages. Raises InvalidInput or Conflict.

    `sms_consent=False` (an import whose source does not say the patient agreed to texts): the
    number is kept but SMS is off, so no opt-in text or other text is planned."""
    record = with_default_channels(_read(app, data, partial=False))
    if not sms_consent:
        record["channels"] = [c for c in record["channels"] if c != "sms"]
    _check_contacts(record)
    now = app.clock()
    with app.engine.begin() as conn:
        record.update(clinic_id=default_clinic_id(conn), enrolled_at=now, created_at=now, updated_at=now)
        try:
            patient_id = conn.execute(insert(patients).values(**record).returning(patients.c.id)).scalar_one()
        except IntegrityError as exc:
            raise InvalidInput({"external_ref": "already used by another patient"}) from exc
        for channel in record["channels"]:
            # The clinic enrols a patient who gave this number or address for their care.
            conn.execute(
                insert(consent_events).values(
                    patient_id=patient_id,
                    channel=channel,
                    purpose="all",
                    action="opt_in",
                    source=actor.split(":", 1)[0],
                    raw_text=None,
                    wording_version="enrolment",
                    created_at=now,
                )
            )
        patient = get_patient(conn, patient_id)
        outcome = plan_for_enrolment(conn, app.schedule(patient["schedule"]), patient, app.window, now)
        audit.record(
            conn,
            at=now,
            actor=actor,
            action="patient.enrolled",
            entity="patient",
            entity_id=patient_id,
            details={"planned": outcome.as_dict()},
        )
        return public_patient(patient)


def update_patient(app: Interlude, patient_id: int, data: Any, actor: str) -> dict[str, Any]:
    """Change a patient's details; pending messages re-check everything at send time.

    When the change moves the channels their education goes by (a new preferred channel, or a
    phone or address that the default rule or a fallback depends on), their booked sessions are
    re-planned in the same transaction: pending education rows move to the new channel, sent ones
    are never touched (domain.reconcile)."""
    changes = _read(app, data, partial=True)
    now = app.clock()
    with app.engine.begin() as conn:
        current = dict(get_patient(conn, patient_id))
        merged = {**current, **changes}
        _check_contacts(merged)
        if "phone" in changes and changes["phone"] != current["phone"]:
            # A corrected number gets a fresh start: the provider judged the old one, not this one.
            changes.update(sms_status="ok", sms_status_reason=None)
        try:
            conn.execute(
                update(patients).where(patients.c.id == patient_id).values(**changes, updated_at=now)
            )
        except IntegrityError as exc:
            raise InvalidInput({"external_ref": "already used by another patient"}) from exc
        updated = get_patient(conn, patient_id)
        details: dict[str, Any] = {"fields": sorted(changes)}
        if "preferred_channel" in changes:
            details["preferred_channel"] = changes["preferred_channel"]
        if patient_facts(updated).preferred != patient_facts(current).preferred:
            details["replanned"] = _replan_patient(app, conn, updated, now).as_dict()
        if "phone" in changes and changes["phone"] != current["phone"] and updated["phone"]:
            # A new number has not agreed to anything yet: it gets the opt-in text (CTIA).
            details["opt_in"] = plan_opt_in(app, conn, updated, now)
        audit.record(
            conn,
            at=now,
            actor=actor,
            action="patient.updated",
            entity="patient",
            entity_id=patient_id,
            details=details,
        )
        return public_patient(updated)


_REF_TAKEN = "already used by another patient"  # create_patient's answer to a reference in use


def upsert_patient_by_ref(
    app: Interlude, external_ref: Any, data: Any, actor: str
) -> tuple[dict[str, Any], bool]:
    """Enrol the patient with this external reference, or change the fields sent of the one
    who has it (nothing at all, not even an audit entry, when they hold those values already).
    Returns the patient and whether they were enrolled now. Raises InvalidInput.

    Two requests enrolling the same reference at once: the unique reference lets one enrol, the
    other finds the patient and updates them."""
    in_path = v.Fields({"external_ref": external_ref})
    ref = in_path.get("external_ref", v.text(100), required=True)
    in_path.done()
    f = v.Fields(data)
    if "external_ref" in data and f.get("external_ref", v.text(100), nullable=False) != ref:
        f.errors.setdefault("external_ref", f"must be the reference in the path, {v.shown(ref)}")
    f.done()
    record = {**data, "external_ref": ref}
    for _ in range(2):
        with app.engine.connect() as conn:
            mine = patients.c.clinic_id == default_clinic_id(conn)
            query = select(patients).where(mine, patients.c.external_ref == ref)
            found = conn.execute(query).mappings().first()
        if found is None:
            try:
                return create_patient(app, record, actor), True
            except InvalidInput as exc:
                if exc.errors != {"external_ref": _REF_TAKEN}:
                    raise
                continue  # enrolled meanwhile by another request: update them
        changes = _read(app, record, partial=True)
        if all(found[name] == value for name, value in changes.items()):
            return public_patient(found), False
        return update_patient(app, found["id"], record, actor), False
    raise InvalidInput({"external_ref": _REF_TAKEN})


# The step whose text confirms the opt-in to the recurring program (CTIA: program, frequency,
# rates, HELP, STOP): sent at enrolment and again to every new number.
OPT_IN_STEP = "enrolment_opt_in"
# What plan_opt_in did, for the audit trail and the page.
OPT_IN_PLANNED = "planned"
OPT_IN_PENDING = "already-pending"
OPT_IN_OPTED_OUT = "not-planned-opted-out"
OPT_IN_NO_SMS = "not-planned-no-sms"
OPT_IN_NO_STEP = "not-planned-no-step"


def plan_opt_in(app: Interlude, conn: Connection, patient: Mapping[Any, Any], now: datetime) -> str:
    """Plan the opt-in text again, as at an enrolment made now, inside the caller's transaction:
    after a change of number, or a text-message consent recorded by staff. Returns what it did.

    A number changed after an SMS opt-out does not lift it (the person said no, whatever the
    number): nothing is planned until the patient texts START or staff record a re-consent. One
    opt-in still waiting to go is enough: it goes to the number the patient has when it is sent.
    Each new run gets its own key (the enrolment's, then ":1", ":2"...), so the old rows stay
    as the record of what went to the old number.
    """
    if not patient["phone"] or "sms" not in patient["channels"]:
        return OPT_IN_NO_SMS
    if not allows_now(conn, patient["id"], "sms", "care"):
        return OPT_IN_OPTED_OUT
    schedule = app.schedule(patient["schedule"])
    facts = replace(patient_facts(patient), enrolled_at=now)
    planned = [
        pm
        for pm in plan_enrolment(schedule, facts, app.window, now)
        if pm.step.id == OPT_IN_STEP and pm.channel == "sms"
    ]
    if not planned:
        return OPT_IN_NO_STEP
    earlier = (
        conn.execute(
            select(outbox.c.status).where(
                outbox.c.patient_id == patient["id"],
                outbox.c.session_id.is_(None),
                outbox.c.step_id == OPT_IN_STEP,
                outbox.c.channel == "sms",
            )
        )
        .scalars()
        .all()
    )
    if delivery.PENDING in earlier:
        return OPT_IN_PENDING
    row = enqueue.planned(
        planned[0],
        patient_id=patient["id"],
        session_id=None,
        schedule=schedule.name,
        occurrence=len(earlier),
        now=now,
    )
    if earlier:
        row["dedupe_key"] = f"{row['dedupe_key']}:{len(earlier)}"
    enqueue.enqueue_many(conn, [row])
    return OPT_IN_PLANNED


def _replan_patient(
    app: Interlude, conn: Connection, patient: Mapping[Any, Any], now: datetime
) -> ReplanOutcome:
    """Re-plan the patient's booked sessions that are ahead or still have pending messages, each
    with the anchors it was planned with, inside the caller's transaction."""
    outcome = ReplanOutcome()
    query = replannable_sessions(now).where(sessions.c.patient_id == patient["id"])
    for session in conn.execute(query).mappings().all():
        schedule = app.schedule(session["schedule"])
        anchors = replan_anchors(session)
        outcome.add(plan_for_session(conn, schedule, session, patient, app.window, now, anchors=anchors))
    return outcome


def public_patient(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "external_ref": row["external_ref"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "phone": row["phone"],
        "email": row["email"],
        "timezone": row["timezone"],
        "language": row["language"],
        "channels": row["channels"],
        "indications": row["indications"],
        "detailed_messages": row["detailed_messages"],
        "schedule": row["schedule"],
        "preferred_channel": row["preferred_channel"],
        "enrolled_at": row["enrolled_at"].isoformat(),
    }
