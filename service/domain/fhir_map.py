"""FHIR R4 Patient and Appointment resources read into the feed's ExternalPatient and
ExternalBooking (service/services/feeds.py), with no database.

Resources are parsed and validated with fhir.resources (its R4B models: R4B changed nothing in
Patient, Appointment or Bundle that is read here). Every problem is an Issue naming the FHIRPath
of the bad element ("Appointment.start", "Bundle.entry[1].resource.status"), the way an
OperationOutcome's issue.expression does.

What is read:
- Patient: the id (or, without one, an identifier: the MR-typed one first) is the external_ref;
  the official (else first) name; telecom sms/phone (mobile first) and email; the preferred (else
  first) communication language, reduced to its primary subtag ("es-MX" -> "es"); the standard
  timezone extension; consent to texts from the extension named in `[imports]
  consent_extension` (valueBoolean; absent: not known, so SMS stays off).
- Appointment: status booked/pending/proposed -> booked, cancelled, noshow, fulfilled (others are
  refused); start, and end or minutesDuration for the duration; the visit type from the codes of
  serviceType, then appointmentType (the first the clinic knows); the patient from the
  participant whose actor references a Patient.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from .feed_items import BOOKED, CANCELLED, FULFILLED, NOSHOW, ExternalBooking, ExternalPatient

SOURCE = "fhir"
RESOURCE_TYPES = ("Patient", "Appointment")

# Appointment.status -> the feed's status; the rest (arrived, checked-in, waitlist,
# entered-in-error) say nothing a reminder schedule can act on, and are refused.
STATUSES = {
    "booked": BOOKED,
    "pending": BOOKED,
    "proposed": BOOKED,
    "cancelled": CANCELLED,
    "noshow": NOSHOW,
    "fulfilled": FULFILLED,
}
# The standard extension giving a resource's IANA time zone.
TIMEZONE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/timezone"
# A FHIR id: 1-64 of A-Z a-z 0-9 - . (the spec's regex).
ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}$")


@dataclass(frozen=True)
class Issue:
    """One problem, as an OperationOutcome issue: where (FHIRPath), what, and its issue type."""

    expression: str
    message: str
    code: str = "invalid"  # OperationOutcome issue-type: invalid, structure, required, value...


class FhirInvalid(Exception):
    """The resource (or Bundle) cannot be taken; `issues` say where and why."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = list(issues)
        super().__init__("; ".join(f"{i.expression}: {i.message}" for i in self.issues))


def _models() -> dict[str, Any]:
    # Imported on first use: the models are many and large, and nothing needs them at import time.
    from fhir.resources.R4B.appointment import Appointment
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.patient import Patient

    return {"Patient": Patient, "Appointment": Appointment, "Bundle": Bundle}


def path(prefix: str, loc: Sequence[Any]) -> str:
    """The FHIRPath of a pydantic error location under `prefix`."""
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "resource_type":
            out += ".resourceType"
        else:
            out += f".{part}"
    return out


def parse(data: Any, expected: str, prefix: str | None = None) -> Any:
    """`data` (decoded JSON) validated as the R4 resource `expected`; FhirInvalid otherwise."""
    where = prefix or expected
    if not isinstance(data, dict):
        raise FhirInvalid([Issue(where, f"expected a {expected} resource (a JSON object)", "structure")])
    kind = data.get("resourceType")
    if kind != expected:
        got = f"{kind!r}"[:40] if kind is not None else "none"
        raise FhirInvalid([Issue(f"{where}.resourceType", f"expected {expected}, got {got}", "structure")])
    try:
        return _models()[expected].model_validate(data)
    except ValidationError as exc:
        raise FhirInvalid(
            [Issue(path(where, e["loc"]), _message(e), _issue_type(e)) for e in exc.errors()]
        ) from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # the library's own refusals
        raise FhirInvalid(
            [Issue(where, f"not a valid {expected}: {type(exc).__name__}", "structure")]
        ) from None


def _message(error: Any) -> str:
    # The message only: the input value may be patient data.
    return str(error.get("msg", "invalid"))[:300]


def _issue_type(error: Any) -> str:
    kind = str(error.get("type", ""))
    if "missing" in kind:
        return "required"
    if kind == "extra_forbidden":
        return "structure"
    return "value"


# --- Bundle ---------------------------------------------------------------------------------


@dataclass
class Entry:
    """One entry of a transaction Bundle: its index, resource, the request's method and the id
    (from `request.url` "Type/<id>", or absent for a POST), and its paths."""

    index: int
    kind: str
    resource: Any
    method: str
    id: str | None
    full_url: str | None
    if_match: str | None

    @property
    def prefix(self) -> str:
        return f"Bundle.entry[{self.index}].resource"

    @property
    def request_path(self) -> str:
        return f"Bundle.entry[{self.index}].request"


def transaction_entries(data: Any, max_entries: int) -> list[Entry]:
    """The entries of a transaction Bundle of Patients and Appointments; FhirInvalid naming every
    bad element of every entry otherwise."""
    if not isinstance(data, dict):
        raise FhirInvalid([Issue("Bundle", "expected a Bundle resource (a JSON object)", "structure")])
    if data.get("resourceType") != "Bundle":
        raise FhirInvalid([Issue("Bundle.resourceType", "expected Bundle", "structure")])
    if data.get("type") != "transaction":
        raise FhirInvalid(
            [
                Issue(
                    "Bundle.type",
                    "only a transaction Bundle is taken here (type: transaction)",
                    "not-supported",
                )
            ]
        )
    raw_entries = data.get("entry") or []
    if not isinstance(raw_entries, list) or not all(isinstance(e, dict) for e in raw_entries):
        raise FhirInvalid([Issue("Bundle.entry", "expected a list of entries", "structure")])
    if len(raw_entries) > max_entries:
        raise FhirInvalid(
            [Issue("Bundle.entry", f"more than {max_entries} entries: send smaller Bundles", "too-costly")]
        )
    # The envelope (type, fullUrl, request) through the model, each resource on its own below so
    # that one of an unknown type is named rather than failing the whole parse.
    envelope = {**data, "entry": [{k: val for k, val in e.items() if k != "resource"} for e in raw_entries]}
    issues: list[Issue] = []
    try:
        _models()["Bundle"].model_validate(envelope)
    except ValidationError as exc:
        issues += [Issue(path("Bundle", e["loc"]), _message(e), _issue_type(e)) for e in exc.errors()]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        issues.append(Issue("Bundle", f"not a valid Bundle: {type(exc).__name__}", "structure"))
    entries: list[Entry] = []
    for index, raw in enumerate(raw_entries):
        try:
            entries.append(_entry(index, raw))
        except FhirInvalid as exc:
            issues += exc.issues
    if issues:
        raise FhirInvalid(issues)
    return entries


def _entry(index: int, raw: dict[str, Any]) -> Entry:
    prefix = f"Bundle.entry[{index}]"
    resource = raw.get("resource")
    if not isinstance(resource, dict):
        raise FhirInvalid([Issue(f"{prefix}.resource", "required: a Patient or an Appointment", "required")])
    kind = resource.get("resourceType")
    if kind not in RESOURCE_TYPES:
        raise FhirInvalid(
            [
                Issue(
                    f"{prefix}.resource.resourceType",
                    "only Patient and Appointment are taken here",
                    "not-supported",
                )
            ]
        )
    found = raw.get("request")
    request: dict[str, Any] = found if isinstance(found, dict) else {}
    method = str(request.get("method", "")).upper()
    url = str(request.get("url", ""))
    issues: list[Issue] = []
    rid: str | None = None
    if method == "PUT":
        rid = _id_in_url(url, str(kind), f"{prefix}.request.url", issues)
    elif method == "POST":
        if url.split("?", 1)[0] != kind:
            issues.append(Issue(f"{prefix}.request.url", f"a POST of a {kind} goes to {kind!r}"))
    else:
        issues.append(Issue(f"{prefix}.request.method", "only PUT and POST are taken here", "not-supported"))
    try:
        model = parse(resource, str(kind), f"{prefix}.resource")
    except FhirInvalid as exc:
        raise FhirInvalid(issues + exc.issues) from None
    if rid is not None and model.id is not None and model.id != rid:
        issues.append(Issue(f"{prefix}.resource.id", "must be the id in request.url"))
    if issues:
        raise FhirInvalid(issues)
    full_url = raw.get("fullUrl")
    if_match = request.get("ifMatch")
    return Entry(
        index,
        str(kind),
        model,
        method,
        rid,
        str(full_url) if full_url else None,
        str(if_match) if if_match else None,
    )


def _id_in_url(url: str, kind: str, where: str, issues: list[Issue]) -> str | None:
    parts = url.split("?", 1)[0].strip("/").split("/")
    if len(parts) != 2 or parts[0] != kind or not ID.match(parts[1]):
        issues.append(Issue(where, f"a PUT of a {kind} goes to {kind}/<id> (1-64 of A-Z a-z 0-9 - .)"))
        return None
    return parts[1]


# --- Patient ----------------------------------------------------------------------------------


@dataclass
class MappedPatient:
    patient: ExternalPatient
    paths: dict[str, str] = field(default_factory=dict)  # the feed's field -> FHIRPath


def patient_ref(p: Any, rid: str | None, prefix: str) -> str:
    """The patient's external_ref: the id (in the URL, else the resource's), else an identifier."""
    if rid or p.id:
        return str(rid or p.id)
    identifiers = [i for i in (p.identifier or []) if i.value]
    for ident in identifiers:
        codes = {c.code for c in (ident.type.coding or [])} if ident.type is not None else set()
        if "MR" in codes:
            return str(ident.value)
    if identifiers:
        return str(identifiers[0].value)
    raise FhirInvalid(
        [Issue(f"{prefix}.identifier", "a Patient without an id needs an identifier (its MRN)", "required")]
    )


def map_patient(p: Any, external_ref: str, consent_extension: str, prefix: str = "Patient") -> MappedPatient:
    """The patient of a validated Patient resource; FhirInvalid naming the bad element."""
    issues: list[Issue] = []
    paths: dict[str, str] = {"external_ref": f"{prefix}.id"}
    first = last = phone = email = language = timezone = None
    consent: bool | None = None
    names = list(p.name or [])
    if names:
        index = next((i for i, n in enumerate(names) if n.use == "official"), 0)
        name = names[index]
        first = " ".join(g for g in (name.given or []) if g) or None
        last = name.family or None
        paths["first_name"] = f"{prefix}.name[{index}].given"
        paths["last_name"] = f"{prefix}.name[{index}].family"
    phones = [
        (i, t)
        for i, t in enumerate(p.telecom or [])
        if t.system in ("sms", "phone") and t.value and _current(t)
    ]
    phones.sort(key=lambda it: (it[1].use != "mobile", it[1].system != "sms", it[1].rank or 99))
    if phones:
        phone = phones[0][1].value
        paths["phone"] = f"{prefix}.telecom[{phones[0][0]}].value"
    emails = [
        (i, t) for i, t in enumerate(p.telecom or []) if t.system == "email" and t.value and _current(t)
    ]
    if emails:
        email = emails[0][1].value
        paths["email"] = f"{prefix}.telecom[{emails[0][0]}].value"
    comms = list(p.communication or [])
    if comms:
        index = next((i for i, c in enumerate(comms) if c.preferred), 0)
        where = f"{prefix}.communication[{index}].language"
        paths["language"] = where
        code = next((c.code for c in (comms[index].language.coding or []) if c.code), None)
        primary = (code or "").split("-", 1)[0]
        if code is None:
            issues.append(Issue(where, "give the language as a code (BCP 47, e.g. es or en-US)"))
        elif not _LANGUAGE.match(primary):
            issues.append(Issue(f"{where}.coding", "not a BCP 47 language code such as es or en-US"))
        else:
            language = primary.lower()
    for index, ext in enumerate(p.extension or []):
        where = f"{prefix}.extension[{index}]"
        if ext.url == consent_extension:
            if ext.valueBoolean is None:
                issues.append(
                    Issue(f"{where}.valueBoolean", "the SMS consent extension needs a valueBoolean")
                )
            else:
                consent = bool(ext.valueBoolean)
        elif ext.url == TIMEZONE_EXTENSION:
            timezone = ext.valueCode
            paths["timezone"] = f"{where}.valueCode"
    if issues:
        raise FhirInvalid(issues)
    return MappedPatient(
        ExternalPatient(
            external_ref=external_ref,
            first_name=first,
            last_name=last,
            phone=phone,
            email=email,
            language=language,
            timezone=timezone,
            consented_sms=consent,
        ),
        paths,
    )


def _current(point: Any) -> bool:
    """A contact point not ended (a period with an end is an old number or address)."""
    return point.period is None or point.period.end is None


# --- Appointment -------------------------------------------------------------------------------


@dataclass
class MappedBooking:
    booking: ExternalBooking
    paths: dict[str, str] = field(default_factory=dict)  # the feed's field -> FHIRPath


def patient_reference(a: Any, prefix: str = "Appointment") -> tuple[str, str]:
    """The reference of the Appointment's patient ("Patient/<id>" or "urn:uuid:...") and its path."""
    for index, participant in enumerate(a.participant or []):
        actor = participant.actor
        ref = actor.reference if actor is not None else None
        if ref and (ref.startswith("Patient/") or ref.startswith("urn:uuid:")):
            return ref, f"{prefix}.participant[{index}].actor.reference"
    raise FhirInvalid(
        [
            Issue(
                f"{prefix}.participant",
                "no participant's actor references a Patient (Patient/<id>)",
                "required",
            )
        ]
    )


def map_appointment(
    a: Any,
    external_id: str,
    patient: MappedPatient,
    *,
    known_visit_type: Callable[[str], bool],
    version: str | None,
    prefix: str = "Appointment",
    patient_prefix: str = "Patient",
) -> MappedBooking:
    """The booking of a validated Appointment for `patient`; FhirInvalid naming the bad element."""
    issues: list[Issue] = []
    paths = {
        "external_id": f"{prefix}.id",
        "status": f"{prefix}.status",
        "start": f"{prefix}.start",
        "duration_minutes": f"{prefix}.end",
    }
    paths.update(
        {f"patient.{k}": val.replace("Patient", patient_prefix, 1) for k, val in patient.paths.items()}
    )
    status = STATUSES.get(str(a.status))
    if status is None:
        issues.append(
            Issue(
                f"{prefix}.status",
                f"status {str(a.status)[:30]!r} is not taken here: use booked, pending, proposed, "
                "cancelled, noshow or fulfilled",
                "not-supported",
            )
        )
    start: datetime | None = a.start
    if start is None:
        issues.append(Issue(f"{prefix}.start", "required: when the session starts", "required"))
    duration: int | None = None
    if a.minutesDuration is not None:
        duration = int(a.minutesDuration)
        paths["duration_minutes"] = f"{prefix}.minutesDuration"
    elif start is not None and a.end is not None:
        seconds = (a.end - start).total_seconds()
        if seconds <= 0:
            issues.append(Issue(f"{prefix}.end", "must be after the start"))
        elif seconds % 60:
            issues.append(Issue(f"{prefix}.end", "the session must last whole minutes"))
        else:
            duration = int(seconds // 60)
    codes = list(_visit_codes(a, prefix))
    chosen = next(((c, p) for c, p in codes if known_visit_type(c)), codes[0] if codes else None)
    if chosen is None:
        issues.append(
            Issue(
                f"{prefix}.serviceType",
                "the visit type is required: a serviceType or appointmentType code",
                "required",
            )
        )
    else:
        paths["visit_type"] = chosen[1]
    if issues:
        raise FhirInvalid(issues)
    assert start is not None and chosen is not None and status is not None
    return MappedBooking(
        ExternalBooking(
            source=SOURCE,
            source_id=f"Appointment/{external_id}",
            external_id=external_id,
            patient=patient.patient,
            start=start,
            visit_type=chosen[0],
            status=status,
            duration_minutes=duration,
            version=version,
        ),
        paths,
    )


def _visit_codes(a: Any, prefix: str) -> Iterator[tuple[str, str]]:
    """The visit type codes of an Appointment, serviceType first, each with its path."""
    for i, concept in enumerate(a.serviceType or []):
        for j, coding in enumerate(concept.coding or []):
            if coding.code:
                yield coding.code, f"{prefix}.serviceType[{i}].coding[{j}].code"
        if concept.text:
            yield concept.text, f"{prefix}.serviceType[{i}].text"
    kind = a.appointmentType
    if kind is not None:
        for j, coding in enumerate(kind.coding or []):
            if coding.code:
                yield coding.code, f"{prefix}.appointmentType.coding[{j}].code"
        if kind.text:
            yield kind.text, f"{prefix}.appointmentType.text"


def feed_issues(errors: dict[str, str], paths: dict[str, str], fallback: str) -> list[Issue]:
    """The feed's errors by field (feeds.FeedResult.errors) as issues at their FHIR paths."""
    return [Issue(paths.get(name, fallback), message, "processing") for name, message in errors.items()]
