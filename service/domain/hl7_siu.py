"""Read an HL7 v2 scheduling message (SIU^S12, S13, S14, S15, S26) into plain values.

Pure: text in, values or an error out; the booking itself is service.services.hl7_feed's.

Where each value comes from (HL7 v2.5 field numbers):

- MSH-7 when the message was made (its order per appointment), MSH-9 the trigger event, MSH-10
  the control id (what a repeat is known by), MSH-3/MSH-4 the sender.
- SCH-2 the filler's appointment id (else SCH-1, the placer's): the session's external id.
  SCH-11 (TQ) component 4 the start and component 3 the duration ("M60" or "60"), or SCH-9 and
  SCH-10 (units, minutes or hours) for the duration; TQ1-7 the start when neither SCH-11 nor
  AIS-4 gives one (v2.6 and later). SCH-8 the appointment type, else SCH-7 the
  reason, when no AIS names the service.
- AIS-3 the service (the clinic's visit type code, mapped to a modality by `[imports]
  visit_types`), AIS-4 its start (wins over SCH-11), AIS-7 and AIS-8 its duration.
- PID-3 the patient's id (first repetition), PID-5 family^given, PID-13 phone (a repetition of
  equipment type CP, mobile, first; else PH) and e-mail (component 4, or use code NET), PID-15
  the language (ISO 639-1 "es" or 639-2 "spa"). Consent to texts from the field `[imports]
  hl7_consent_field` names (e.g. "ZPD-1"): Y/N, empty when the source does not say.

Times: an HL7 timestamp with an offset ("202703120900-0500") is exact; one without is wall time
in the clinic's time zone ([clinic] timezone), and a wall time that does not exist or happens
twice there (a daylight saving change) is refused with the field's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import hl7
from hl7.containers import Message, Segment

# The trigger events taken, and what each does to the session.
TRIGGERS = {
    "S12": "booked",  # new appointment
    "S13": "booked",  # rescheduled
    "S14": "booked",  # modified
    "S15": "cancelled",
    "S26": "noshow",
}

# The control id is kept (feed_messages.message_id, 200 characters) with the sender's name.
MAX_CONTROL_ID = 100
_FIELD = re.compile(r"^([A-Z][A-Z0-9]{2})-(\d{1,3})(?:\.(\d{1,2}))?$")
_TS = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})?(\d{2})?(\d{2})?(?:\.\d{1,4})?(?:([+-])(\d{2})(\d{2}))?$")
_DURATION = re.compile(r"^([SMHD])?(\d{1,5})$")
_UNITS = {"s": 1 / 60, "min": 1, "m": 1, "mins": 1, "minutes": 1, "h": 60, "hr": 60, "hrs": 60, "hours": 60}
_ISO_639_2 = {
    "eng": "en",
    "spa": "es",
    "fre": "fr",
    "fra": "fr",
    "ger": "de",
    "deu": "de",
    "por": "pt",
    "ita": "it",
    "chi": "zh",
    "zho": "zh",
    "vie": "vi",
    "kor": "ko",
    "rus": "ru",
    "ara": "ar",
    "tgl": "tl",
    "pol": "pl",
}
_YES = {"y", "yes", "true", "1"}
_NO = {"n", "no", "false", "0"}


class NotProcessable(ValueError):
    """The message cannot be processed at all (not HL7, not SIU, an event not taken): AR."""


class BadField(ValueError):
    """The message is HL7 and SIU, but a field is missing or wrong: AE naming the field.

    `location` is the segment and field ("SCH-11"), `code` the HL7 error code (table 0357):
    101 required field missing, 102 data type error, 103 table value not found.
    """

    def __init__(self, location: str, reason: str, code: str = "102") -> None:
        super().__init__(f"{location}: {reason}")
        self.location = location
        self.reason = reason
        self.code = code


@dataclass(frozen=True)
class Header:
    control_id: str
    trigger: str  # "S12"...
    message_type: str  # "SIU"
    sender: str  # MSH-3^MSH-4, to keep control ids of two senders apart
    sent_at: datetime | None  # MSH-7, aware (required of a booking: read_siu)
    sent: str  # MSH-7 as written


@dataclass(frozen=True)
class SiuPatient:
    external_ref: str
    first_name: str | None
    last_name: str | None
    phone: str | None
    email: str | None
    language: str | None
    consented_sms: bool | None


@dataclass(frozen=True)
class SiuBooking:
    header: Header
    appointment_id: str
    status: str  # booked | cancelled | noshow
    start: datetime  # aware
    duration_minutes: int | None
    visit_type: str
    patient: SiuPatient
    # Where each value was read, so that an error about it can name the field ("visit_type": "AIS-3").
    where: dict[str, str] = field(default_factory=dict)


def quiet_library_logs() -> None:
    """python-hl7 logs the value of a field it cannot unescape: patient data, kept out of our logs."""
    import logging

    for module in (hl7.util, hl7.containers):
        logging.getLogger(module.__file__).disabled = True


def parse(text: str) -> Message:
    """The message as python-hl7 reads it; segments may end in CR (the standard), CRLF or LF."""
    lines = text.replace("\r\n", "\r").replace("\n", "\r").split("\r")
    body = "\r".join(line for line in lines if line.strip())
    if not body.startswith("MSH") or len(body) < 9:
        raise NotProcessable("not an HL7 v2 message: it must start with an MSH segment")
    try:
        return hl7.parse(body)
    except Exception as exc:  # the library raises several kinds on garbage
        raise NotProcessable(f"not an HL7 v2 message: {type(exc).__name__}") from exc


def _get(segment: Segment | None, number: int, repeat: int = 1, component: int = 1) -> str:
    """One value of a segment, "" when absent (python-hl7 unescapes it)."""
    if segment is None:
        return ""
    try:
        value = segment.extract_field(1, number, repeat, component, 1)
    except (IndexError, KeyError):
        return ""
    return str(value).strip()


def _segment(message: Message, name: str) -> Segment | None:
    try:
        return message.segment(name)
    except (KeyError, IndexError):
        return None


def _repeats(segment: Segment | None, number: int) -> int:
    if segment is None or number >= len(segment):
        return 0
    value = segment(number)
    return max(1, len(value)) if value else 0


def read_header(message: Message, clinic_zone: ZoneInfo) -> Header:
    """MSH: refused (NotProcessable) unless an SIU message of a taken event with a control id."""
    msh = _segment(message, "MSH")
    if msh is None:
        raise NotProcessable("not an HL7 v2 message: no MSH segment")
    message_type = _get(msh, 9, 1, 1).upper()
    trigger = _get(msh, 9, 1, 2).upper()
    control_id = _get(msh, 10)
    if not control_id:
        raise NotProcessable("MSH-10: the message control id is missing")
    if len(control_id) > MAX_CONTROL_ID:
        raise NotProcessable(f"MSH-10: the message control id is longer than {MAX_CONTROL_ID} characters")
    if message_type != "SIU":
        raise NotProcessable(f"MSH-9: message type {message_type or '(none)'} is not taken here (only SIU)")
    if trigger not in TRIGGERS:
        taken = ", ".join(TRIGGERS)
        raise NotProcessable(f"MSH-9: event {trigger or '(none)'} is not taken here (only {taken})")
    sent = _get(msh, 7)
    sent_at = timestamp(sent, clinic_zone, "MSH-7") if sent else None
    sender = f"{_get(msh, 3)}^{_get(msh, 4)}"
    return Header(control_id, trigger, message_type, sender[:90], sent_at, sent)


def timestamp(value: str, zone: ZoneInfo, location: str) -> datetime:
    """An HL7 TS/DTM to an aware time: exact with an offset, else wall time in `zone`."""
    match = _TS.match(value)
    if not match:
        raise BadField(location, f"{value!r} is not an HL7 date and time (YYYYMMDDHHMM[SS][+/-ZZZZ])")
    year, month, day, hour, minute, second, sign, oh, om = match.groups()
    try:
        wall = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError as exc:
        raise BadField(location, f"{value!r} is not a real date and time") from exc
    if sign:
        offset = timedelta(hours=int(oh), minutes=int(om))
        if offset >= timedelta(hours=24):
            raise BadField(location, f"{value!r} has an offset beyond 24 hours")
        return wall.replace(tzinfo=timezone(-offset if sign == "-" else offset)).astimezone(UTC)
    first = wall.replace(tzinfo=zone, fold=0)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
        raise BadField(
            location, f"{value} does not exist in {zone.key} (clocks move forward): give an offset"
        )
    if first.utcoffset() != wall.replace(tzinfo=zone, fold=1).utcoffset():
        raise BadField(location, f"{value} happens twice in {zone.key} (clocks move back): give an offset")
    return first.astimezone(UTC)


def _minutes(value: str, units: str, location: str) -> int | None:
    """A duration: "60" with units (minutes when none), or TQ's "M60" / "H1"."""
    if not value:
        return None
    match = _DURATION.match(value.upper())
    if not match:
        raise BadField(location, f"{value!r} is not a duration in minutes")
    prefix, number = match.groups()
    scale: float
    if prefix:
        scale = {"S": 1 / 60, "M": 1, "H": 60, "D": 1440}[prefix]
    else:
        unit = units.strip().lower()
        if unit and unit not in _UNITS:
            raise BadField(location, f"unknown duration units {units!r} (minutes or hours)")
        scale = _UNITS.get(unit, 1)
    minutes = round(int(number) * scale)
    if not 1 <= minutes <= 24 * 60:
        raise BadField(location, f"{value} is not a duration between 1 minute and 24 hours")
    return minutes


def _phone_and_email(pid: Segment | None) -> tuple[str | None, str | None]:
    phone: str | None = None
    mobile: str | None = None
    email: str | None = None
    for repeat in range(1, _repeats(pid, 13) + 1):
        use, kind = _get(pid, 13, repeat, 2).upper(), _get(pid, 13, repeat, 3).upper()
        address = _get(pid, 13, repeat, 4)
        if address or use == "NET" or kind in ("INTERNET", "X.400"):
            email = email or address or _get(pid, 13, repeat, 1) or None
            continue
        number = _get(pid, 13, repeat, 12) or _get(pid, 13, repeat, 1)
        if not number:
            parts = [_get(pid, 13, repeat, c) for c in (5, 6, 7)]
            number = ("+" + "".join(parts)) if parts[0] and parts[2] else "".join(parts[1:])
        if not number:
            continue
        if kind == "CP" and mobile is None:
            mobile = number
        phone = phone or number
    return mobile or phone, email


def _language(pid: Segment | None) -> str | None:
    code = _get(pid, 15).lower()
    if not code:
        return None
    code = _ISO_639_2.get(code, code)
    if not re.fullmatch(r"[a-z]{2}", code):
        raise BadField("PID-15", f"language {code!r} is not an ISO 639 code such as en or spa")
    return code


def consent_location(name: str) -> tuple[str, int, int]:
    """'ZPD-1' or 'PID-40.1' -> ("ZPD", 1, 1); a ValueError names the expected form."""
    match = _FIELD.match(name.strip().upper())
    if not match:
        raise ValueError(f"{name!r} is not a segment field such as ZPD-1 or PD1-12")
    return match.group(1), int(match.group(2)), int(match.group(3) or 1)


def _consent(message: Message, consent_field: str) -> bool | None:
    if not consent_field:
        return None
    name, number, component = consent_location(consent_field)
    value = _get(_segment(message, name), number, 1, component).lower()
    if not value:
        return None
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise BadField(f"{name}-{number}", f"consent {value!r} is not Y or N")


def read_siu(message: Message, clinic_zone: ZoneInfo, consent_field: str = "") -> SiuBooking:
    """The booking a taken SIU message describes; NotProcessable or BadField otherwise."""
    header = read_header(message, clinic_zone)
    status = TRIGGERS[header.trigger]
    sch, pid, ais = _segment(message, "SCH"), _segment(message, "PID"), _segment(message, "AIS")
    if sch is None:
        raise BadField("SCH", "the SCH segment is missing", "100")
    if pid is None:
        raise BadField("PID", "the PID segment is missing", "100")
    where: dict[str, str] = {}

    appointment_id, where["external_id"] = _get(sch, 2), "SCH-2"
    if not appointment_id:
        appointment_id, where["external_id"] = _get(sch, 1), "SCH-1"
    if not appointment_id:
        raise BadField("SCH-2", "appointment id missing (SCH-2 filler or SCH-1 placer)", "101")

    if header.sent_at is None:
        raise BadField("MSH-7", "message time missing (it orders the changes of an appointment)", "101")
    tq1 = _segment(message, "TQ1")
    if _get(ais, 4):
        start, where["start"] = timestamp(_get(ais, 4), clinic_zone, "AIS-4"), "AIS-4"
    elif _get(sch, 11, 1, 4):
        start, where["start"] = timestamp(_get(sch, 11, 1, 4), clinic_zone, "SCH-11"), "SCH-11"
    elif _get(tq1, 7):
        start, where["start"] = timestamp(_get(tq1, 7), clinic_zone, "TQ1-7"), "TQ1-7"
    else:
        raise BadField("SCH-11", "start time missing (SCH-11.4, AIS-4 or TQ1-7)", "101")

    duration: int | None = None
    if _get(ais, 7):
        duration, where["duration_minutes"] = _minutes(_get(ais, 7), _get(ais, 8), "AIS-7"), "AIS-7"
    elif _get(sch, 11, 1, 3):
        duration, where["duration_minutes"] = _minutes(_get(sch, 11, 1, 3), "", "SCH-11"), "SCH-11"
    elif _get(sch, 9):
        duration, where["duration_minutes"] = _minutes(_get(sch, 9), _get(sch, 10), "SCH-9"), "SCH-9"

    visit_type = ""
    for location, seg, number in (("AIS-3", ais, 3), ("SCH-8", sch, 8), ("SCH-7", sch, 7)):
        visit_type = _get(seg, number) or _get(seg, number, 1, 2)
        if visit_type:
            where["visit_type"] = location
            break
    if not visit_type:
        raise BadField("AIS-3", "visit type missing (AIS-3, SCH-8 or SCH-7)", "101")

    external_ref = _get(pid, 3)
    if not external_ref:
        raise BadField("PID-3", "patient id missing", "101")
    phone, email = _phone_and_email(pid)
    where.update(
        external_ref="PID-3",
        first_name="PID-5",
        last_name="PID-5",
        phone="PID-13",
        email="PID-13",
        language="PID-15",
    )
    if consent_field:
        where["consented_sms"] = consent_field.upper()
    patient = SiuPatient(
        external_ref=external_ref,
        first_name=_get(pid, 5, 1, 2) or None,
        last_name=_get(pid, 5, 1, 1) or None,
        phone=phone,
        email=email,
        language=_language(pid),
        consented_sms=_consent(message, consent_field),
    )
    return SiuBooking(header, appointment_id, status, start, duration, visit_type, patient, where)


def acknowledgement(
    message: Message | None, code: str, text: str = "", error: BadField | None = None, *, app: str
) -> str:
    """The ACK for `message` (MSA-1 AA, AE or AR, MSA-3 the reason, ERR for a field), as text.

    Built by python-hl7's create_ack; a message that could not be read is answered with an ACK
    of its own header (no control id to echo)."""
    try:
        ack = message.create_ack(code, application=app, facility="") if message is not None else None
    except Exception:  # an MSH too broken for create_ack (e.g. MSH-9 without its event)
        ack = None
    if ack is None:
        control = _get(_segment(message, "MSH"), 10) if message is not None else ""
        stand_in = hl7.parse("MSH|^~\\&|||||||ACK^ACK||P|2.5\r")
        stand_in.segment("MSH").assign_field(stand_in.escape(control[:MAX_CONTROL_ID]), 10)
        ack = stand_in.create_ack(code, application=app, facility="")
    msa = ack.segment("MSA")
    if text:
        msa.assign_field(_plain(ack, text)[:80], 3)
    if code != "AA" and text:
        err = ack.create_segment([ack.create_field(["ERR"])])
        if error is not None:
            segment_id, _, number = error.location.partition("-")
            err.assign_field(segment_id, 2, 1, 1)
            err.assign_field("1", 2, 1, 2)
            if number:
                err.assign_field(number.split(".")[0], 2, 1, 3)
        hl7_code, meaning = _error_code(code, error)
        err.assign_field(hl7_code, 3, 1, 1)
        err.assign_field(meaning, 3, 1, 2)
        err.assign_field("HL70357", 3, 1, 3)
        err.assign_field("E", 4)
        err.assign_field(_plain(ack, text), 8)
        ack.append(err)
    return str(ack)


def _error_code(code: str, error: BadField | None) -> tuple[str, str]:
    if error is not None:
        return error.code, _MEANING.get(error.code, "Application error")
    if code == "AR":
        return "200", "Unsupported message type"
    return "207", "Application internal error"


_MEANING = {
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
}


def _plain(message: Any, text: str) -> str:
    """Text made safe for a field: the message's own separators escaped."""
    return str(message.escape(text))
