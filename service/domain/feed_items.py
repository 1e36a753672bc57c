"""A booking as an outside system gives it (a CSV row, an HL7 SIU message, a FHIR Appointment),
before it is mapped onto the booking service (services/feeds.py). Pure values: every source's
parser produces these, and nothing here reads the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

BOOKED, CANCELLED, NOSHOW, FULFILLED = "booked", "cancelled", "noshow", "fulfilled"
STATUSES = (BOOKED, CANCELLED, NOSHOW, FULFILLED)


@dataclass(frozen=True)
class ExternalPatient:
    external_ref: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    email: str | None = None
    language: str | None = None
    timezone: str | None = None
    consented_sms: bool | None = None


@dataclass(frozen=True)
class ExternalBooking:
    source: str  # "csv", "hl7", "fhir"
    source_id: str  # where it came from: "Appointment/123", "sessions.csv row 7"
    external_id: str  # the session's id in the source (sessions.external_ref)
    patient: ExternalPatient
    start: datetime  # aware
    visit_type: str
    status: str = BOOKED  # booked | cancelled | noshow | fulfilled
    duration_minutes: int | None = None
    version: str | None = None
