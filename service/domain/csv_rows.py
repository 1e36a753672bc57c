"""Reading a clinic's CSV export: which column is which, and each cell's plain meaning.

Pure: no database, no configuration file. A header is matched by its letters and digits only,
any case ("First Name", "first_name" and "FIRSTNAME" are one column). A row becomes a dict of
the canonical field names below with the cell's text, or an error naming the column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

# Canonical field -> the header spellings clinics' systems use (the first is the documented one).
COLUMNS: dict[str, tuple[str, ...]] = {
    "patient_ref": ("Patient ID", "MRN", "Patient Ref", "Patient Number", "Chart Number", "external_ref"),
    "first_name": ("First Name", "Given Name", "First", "Patient First Name"),
    "last_name": ("Last Name", "Family Name", "Surname", "Last", "Patient Last Name"),
    "phone": ("Mobile", "Phone", "Cell", "Mobile Phone", "Cell Phone", "Phone Number", "Telephone"),
    "email": ("Email", "E-mail", "Email Address"),
    "language": ("Language", "Preferred Language"),
    "timezone": ("Time Zone", "Timezone", "TZ"),
    "consent": ("SMS Consent", "Consent to Text", "Text Consent", "SMS Opt In", "Consent"),
    "appointment_id": ("Appointment ID", "Appt ID", "Visit ID", "Encounter ID", "Session ID", "external_id"),
    "date": ("Appointment Date", "Date", "Appt Date", "Visit Date"),
    "time": ("Start Time", "Time", "Appt Time", "Appointment Time"),
    "datetime": ("Date/Time", "Start", "Appointment Start", "Start Date Time", "DateTime"),
    "duration": ("Duration", "Duration (min)", "Duration Minutes", "Length", "Minutes"),
    "visit_type": ("Visit Type", "Appointment Type", "Appt Type", "Type", "Modality", "Service"),
    "status": ("Status", "Appointment Status", "Appt Status"),
}

# What a column is called in messages: the header as the file wrote it, else the documented one.
DOCUMENTED = {name: spellings[0] for name, spellings in COLUMNS.items()}

PATIENT_FIELDS = ("first_name", "last_name", "phone", "email", "language", "timezone", "consent")

STATUSES: dict[str, str] = {
    **dict.fromkeys(("", "booked", "scheduled", "confirmed", "pending", "arrived", "checkedin"), "booked"),
    **dict.fromkeys(("cancelled", "canceled", "cancel", "deleted"), "cancelled"),
    **dict.fromkeys(("noshow", "missed", "dna", "didnotattend"), "noshow"),
    **dict.fromkeys(("completed", "complete", "fulfilled", "done", "checkedout", "seen"), "fulfilled"),
}

_YES = {"true", "yes", "y", "1", "x", "optin", "optedin", "consented", "agreed"}
_NO = {"false", "no", "n", "0", "optout", "optedout", "declined", "refused"}

# A cell a spreadsheet would run as a formula when the error file is opened.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def key(header: str) -> str:
    """A header's letters and digits, lower case: how spellings are compared."""
    return re.sub(r"[^a-z0-9]", "", header.lower())


_BY_KEY = {key(s): name for name, spellings in COLUMNS.items() for s in (*spellings, name)}


class FileProblem(ValueError):
    """The file as a whole cannot be read (no header, a required column missing...)."""


@dataclass
class Header:
    """Which position holds which field, and the file's own name for each field."""

    positions: dict[str, int] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)

    def name(self, canonical: str) -> str:
        return self.names.get(canonical, DOCUMENTED.get(canonical, canonical))


def read_header(cells: Sequence[str], consent_column: str | None = None) -> Header:
    """Map a header row; an unknown column is ignored (listed), a column named twice refused."""
    extra = {key(consent_column): "consent"} if consent_column else {}
    header = Header()
    for i, raw in enumerate(cells):
        label = raw.strip().lstrip("\ufeff")
        name = extra.get(key(label)) or _BY_KEY.get(key(label))
        if name is None:
            if label:
                header.ignored.append(label)
            continue
        if name in header.positions:
            raise FileProblem(
                f"the columns {header.names[name]!r} and {label!r} both give {DOCUMENTED[name]}: keep one"
            )
        header.positions[name] = i
        header.names[name] = label
    return header


def require_columns(header: Header, *, patients_elsewhere: bool) -> None:
    """Raise FileProblem naming every required column the sessions file lacks."""
    missing = [
        DOCUMENTED[n] for n in ("appointment_id", "patient_ref", "visit_type") if n not in header.positions
    ]
    if "datetime" not in header.positions and not {"date", "time"} <= set(header.positions):
        missing.append("Appointment Date and Start Time (or Date/Time)")
    if not patients_elsewhere:
        missing += [DOCUMENTED[n] for n in ("first_name", "last_name") if n not in header.positions]
        if "phone" not in header.positions and "email" not in header.positions:
            missing.append("Mobile or Email")
    if missing:
        raise FileProblem(f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")


def cells(header: Header, row: Sequence[str]) -> dict[str, str]:
    """The row's known fields, stripped; a short row's missing cells are empty."""
    return {name: (row[i].strip() if i < len(row) else "") for name, i in header.positions.items()}


def status(value: str) -> str:
    """booked, cancelled, noshow or fulfilled; raises ValueError naming the words accepted."""
    found = STATUSES.get(key(value))
    if found is None:
        raise ValueError(
            f"{shown(value)} is not a status we know: use booked, cancelled, no-show or completed"
        )
    return found


def consent(value: str) -> bool | None:
    """True (agreed to texts), False (did not) or None (not said)."""
    k = key(value)
    if not k:
        return None
    if k in _YES:
        return True
    if k in _NO:
        return False
    raise ValueError(f"{shown(value)} is not yes or no: write yes or no")


_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%Y/%m/%d", "%d-%b-%Y", "%b %d %Y", "%B %d %Y")
_TIME_FORMATS = ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M%p", "%I %p", "%I:%M:%S %p", "%H%M")
DATE_HINT = "write it as 2027-03-13 or 03/13/2027"
TIME_HINT = "write it as 09:30 or 9:30 AM"


def parse_date(value: str) -> date:
    text = " ".join(value.replace(",", " ").split())
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{shown(value)} is not a date: {DATE_HINT}" if value else f"missing: {DATE_HINT}")


def parse_time(value: str) -> tuple[int, int]:
    text = " ".join(value.upper().replace(".", "").split())
    for fmt in _TIME_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed.hour, parsed.minute
    raise ValueError(
        f"{shown(value)} is not a time of day: {TIME_HINT}" if value else f"missing: {TIME_HINT}"
    )


def local_start(row: Mapping[str, str]) -> str:
    """The start as ISO 8601 text: with an offset when the file gave one, else wall time
    ("2027-03-13T09:30"), for the caller to place in a time zone. Raises ValueError."""
    if row.get("datetime"):
        text = row["datetime"].strip()
        try:
            return datetime.fromisoformat(text.replace(" ", "T", 1) if " " in text[:11] else text).isoformat()
        except ValueError:
            pass
        parts = text.split(" ", 1)
        if len(parts) != 2:
            raise ValueError(f"{shown(text)} is not a date and time: write it as 2027-03-13 09:30")
        day = parse_date(parts[0])
        hour, minute = parse_time(parts[1])
        return f"{day.isoformat()}T{hour:02d}:{minute:02d}"
    if "datetime" in row and "date" not in row:
        raise ValueError("missing: write it as 2027-03-13 09:30")
    day = parse_date(row.get("date", ""))
    hour, minute = parse_time(row.get("time", ""))
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}"


def duration(value: str) -> int | None:
    if not value:
        return None
    text = value.lower().removesuffix("minutes").removesuffix("min").strip()
    if not text.isdigit() or not 0 < int(text) <= 24 * 60:
        raise ValueError(f"{shown(value)} is not a number of minutes from 1 to 1440: e.g. 120")
    return int(text)


def shown(value: str, limit: int = 40) -> str:
    """A cell quoted in a message, cut short."""
    text = value if len(value) <= limit else value[: limit - 1] + "…"
    return repr(text)


def neutralise(value: str) -> str:
    """A cell safe to open in a spreadsheet: one that would run as a formula gets a leading quote."""
    return "'" + value if value.startswith(_FORMULA) else value


def error_rows(errors: Iterable[tuple[int, str, str, str]]) -> list[list[str]]:
    """The error file's rows (row, column, value, problem), each cell neutralised, with its header."""
    out = [["row", "column", "value", "problem"]]
    out += [[str(r), neutralise(c), neutralise(v), neutralise(p)] for r, c, v, p in errors]
    return out
