"""Enrol and update patients."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..db.tables import clinics, consent_events, patients, sessions
from ..domain.channels import PREFERENCES
from ..runtime import Interlude
from . import audit
from . import validation as v
from .errors import Conflict, InvalidInput, NotFound
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
    f.done()
    if partial:
        return {k: val for k, val in out.items() if k in data}
    return out


def _check_contacts(record: Mapping[Any, Any]) -> None:
    errors = {}
    channels = record.get("channels") or []
    if "sms" in channels and not record.get("phone"):
        errors["phone"] = "required to receive SMS"
    if "email" in channels and not record.get("email"):
        errors["email"] = "required to receive email"
    if not record.get("phone") and not record.get("email"):
        errors["phone"] = "a phone number or an email address is required"
    preferred = record.get("preferred_channel")
    if preferred == "sms" and not record.get("phone"):
        errors["preferred_channel"] = "sms needs a phone number"
    if preferred == "email" and not record.get("email"):
        errors["preferred_channel"] = "email needs an email address"
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


def create_patient(app: Interlude, data: Any, actor: str) -> dict[str, Any]:
    """Enrol a patient and plan their enrolment messages. Raises InvalidInput or Conflict."""
    record = _read(app, data, partial=False)
    if record["channels"] is None:
        record["channels"] = [c for c in v.CHANNELS if record["phone" if c == "sms" else "email"]]
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
