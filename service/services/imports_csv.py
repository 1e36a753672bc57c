"""Import sessions (and their patients) from a clinic's CSV export, through feeds.apply_bookings.

One file gives the sessions and their patients, or a second file gives the patients (joined by
Patient ID). Each row is all-or-nothing (feeds.py); a bad row is reported with its row number as
a spreadsheet shows it (the header is row 1), the column as the file names it, the cell and the
problem in plain words, and the good rows still apply. `dry_run` reports what would change and
writes nothing. `sync` cancels the clinic's booked sessions from an import whose start falls on
one of the file's dates (first to last, in the clinic's zone) and that the file no longer lists.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..domain import csv_rows as rows
from ..runtime import Interlude
from . import feeds
from . import validation as v

# Common language names -> the codes templates use.
LANGUAGES = {
    "english": "en",
    "spanish": "es",
    "espanol": "es",
    "español": "es",
    "french": "fr",
    "francais": "fr",
}

# A feed error's field -> the CSV field it came from.
_FIELD_COLUMN = {
    "external_id": "appointment_id",
    "external_ref": "appointment_id",
    "patient.external_ref": "patient_ref",
    "visit_type": "visit_type",
    "modality": "visit_type",
    "duration_minutes": "duration",
    "status": "status",
    "patient_id": "patient_ref",
}


class ImportRefused(ValueError):
    """The file cannot be read at all (not UTF-8, empty, a required column missing)."""


@dataclass
class ImportReport:
    rows: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    patients: Counter[str] = field(default_factory=Counter)
    errors: list[tuple[int, str, str, str]] = field(default_factory=list)  # row, column, value, problem
    sync_cancelled: list[int] = field(default_factory=list)
    dry_run: bool = False
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def bad_rows(self) -> int:
        return len({r for r, *_ in self.errors})

    def error_csv(self) -> str:
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows(rows.error_rows(self.errors))
        return out.getvalue()

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "dry_run": self.dry_run,
            "sessions": dict(self.actions),
            "patients": dict(self.patients),
            "sync_cancelled": len(self.sync_cancelled),
            "bad_rows": self.bad_rows,
        }


def decode(data: bytes, name: str) -> str:
    """The file's text; refused (not a 500) when it is not UTF-8 or is empty."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRefused(
            f"{name}: not UTF-8 text (byte {exc.start + 1} cannot be read): save it as CSV UTF-8 and try again"
        ) from exc
    if not text.strip():
        raise ImportRefused(f"{name}: the file is empty")
    return text


def _records(text: str, name: str) -> list[list[str]]:
    try:
        found = [r for r in csv.reader(io.StringIO(text, newline="")) if any(c.strip() for c in r)]
    except csv.Error as exc:
        raise ImportRefused(f"{name}: not a CSV file we can read ({exc})") from exc
    if not found:
        raise ImportRefused(f"{name}: the file is empty")
    return found


@dataclass
class Parsed:
    bookings: list[feeds.ExternalBooking]
    row_numbers: list[int]  # the row of each booking
    header: rows.Header
    errors: list[tuple[int, str, str, str]]
    rows: int


def parse(
    app: Interlude, text: str, name: str, *, patients_text: str | None = None, patients_name: str = ""
) -> Parsed:
    """Read the file into bookings; raises ImportRefused for a file that cannot be read."""
    consent_column = app.config.imports.consent_column
    people: dict[str, dict[str, str]] = {}
    if patients_text is not None:
        people = _patients_file(patients_text, patients_name, consent_column)
    records = _records(text, name)
    try:
        header = rows.read_header(records[0], consent_column)
        rows.require_columns(header, patients_elsewhere=patients_text is not None)
    except rows.FileProblem as exc:
        raise ImportRefused(f"{name}: {exc}") from exc
    parsed = Parsed([], [], header, [], len(records) - 1)
    seen: dict[str, int] = {}
    for number, record in enumerate(records[1:], start=2):
        cells = rows.cells(header, record)
        ref = cells.get("patient_ref", "")
        for key, value in people.get(ref, {}).items():
            if not cells.get(key):
                cells[key] = value
        booking, problems = _booking(app, cells, name, number)
        appointment = cells.get("appointment_id", "")
        if appointment and appointment in seen:
            problems["appointment_id"] = (
                f"the same Appointment ID as row {seen[appointment]}: keep one row per session"
            )
        if problems:
            for key, problem in problems.items():
                parsed.errors.append((number, header.name(key), cells.get(key, ""), problem))
            continue
        assert booking is not None
        seen[appointment] = number
        parsed.bookings.append(booking)
        parsed.row_numbers.append(number)
    return parsed


def _patients_file(text: str, name: str, consent_column: str) -> dict[str, dict[str, str]]:
    records = _records(text, name)
    try:
        header = rows.read_header(records[0], consent_column)
    except rows.FileProblem as exc:
        raise ImportRefused(f"{name}: {exc}") from exc
    if "patient_ref" not in header.positions:
        raise ImportRefused(f"{name}: missing column: Patient ID")
    out: dict[str, dict[str, str]] = {}
    for record in records[1:]:
        cells = rows.cells(header, record)
        out[cells["patient_ref"]] = {k: val for k, val in cells.items() if k in rows.PATIENT_FIELDS and val}
    return out


def _booking(
    app: Interlude, cells: dict[str, str], name: str, number: int
) -> tuple[feeds.ExternalBooking | None, dict[str, str]]:
    problems: dict[str, str] = {}
    for key in ("appointment_id", "patient_ref", "visit_type"):
        if not cells.get(key):
            problems[key] = "missing: every row needs one"
    for key, value in cells.items():
        if not v.storable(value):
            problems[key] = "holds a control character: remove it"
    zone = cells.get("timezone") or app.config.clinic.timezone
    tz: ZoneInfo | None = None
    try:
        tz = ZoneInfo(v.timezone(zone))
    except ValueError as exc:
        problems["timezone"] = str(exc)
    start: datetime | None = None
    time_key = "datetime" if "datetime" in cells else "date"
    try:
        local = rows.local_start(cells)
        if tz is not None:
            start = v.local_or_aware_time(local, tz)
    except ValueError as exc:
        if time_key == "date" and "time" in str(exc):
            time_key = "time"
        problems[time_key] = str(exc)
    status = consent = duration = None
    try:
        status = rows.status(cells.get("status", ""))
    except ValueError as exc:
        problems["status"] = str(exc)
    try:
        consent = rows.consent(cells.get("consent", ""))
    except ValueError as exc:
        problems["consent"] = str(exc)
    try:
        duration = rows.duration(cells.get("duration", ""))
    except ValueError as exc:
        problems["duration"] = str(exc)
    if problems or start is None or status is None:
        return None, problems
    language = cells.get("language") or None
    if language:
        language = LANGUAGES.get(language.casefold(), language.casefold())
    patient = feeds.ExternalPatient(
        external_ref=cells["patient_ref"],
        first_name=cells.get("first_name") or None,
        last_name=cells.get("last_name") or None,
        phone=cells.get("phone") or None,
        email=cells.get("email") or None,
        language=language,
        timezone=cells.get("timezone") or None,
        consented_sms=consent,
    )
    booking = feeds.ExternalBooking(
        source="csv",
        source_id=f"{name} row {number}",
        external_id=cells["appointment_id"],
        patient=patient,
        start=start,
        visit_type=cells["visit_type"],
        status=status,
        duration_minutes=duration,
    )
    return booking, {}


def _column(header: rows.Header, key: str) -> str:
    if key.startswith("patient."):
        key = key.removeprefix("patient.")
    elif key == "start":
        key = "datetime" if "datetime" in header.positions else "date"
    return _FIELD_COLUMN.get(key, key)


def run_import(
    app: Interlude,
    data: bytes,
    name: str,
    actor: str,
    *,
    patients_data: bytes | None = None,
    patients_name: str = "patients.csv",
    dry_run: bool = False,
    sync: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import the file; see the module's note. `progress(advance, total)` follows each row."""
    text = decode(data, name)
    patients_text = decode(patients_data, patients_name) if patients_data is not None else None
    parsed = parse(app, text, name, patients_text=patients_text, patients_name=patients_name)
    report = ImportReport(rows=parsed.rows, dry_run=dry_run, ignored_columns=parsed.header.ignored)
    report.errors.extend(parsed.errors)
    total = len(parsed.bookings)
    tick = (lambda n: progress(n, total)) if progress is not None else None
    results = feeds.apply_bookings(app, parsed.bookings, actor, dry_run=dry_run, progress=tick)
    for number, b, result in zip(parsed.row_numbers, parsed.bookings, results, strict=True):
        report.actions[result.action] += 1
        if result.patient_action != feeds.UNCHANGED:
            report.patients[result.patient_action] += 1
        for key, problem in result.errors.items():
            column = _column(parsed.header, key)
            report.errors.append((number, parsed.header.name(column), _cell(b, column), problem))
    report.errors.sort(key=lambda e: e[0])
    if sync and parsed.bookings:
        tz = ZoneInfo(app.config.clinic.timezone)
        days = [b.start.astimezone(tz).date() for b in parsed.bookings]
        first = datetime.combine(min(days), datetime.min.time(), tz)
        last = datetime.combine(max(days) + timedelta(days=1), datetime.min.time(), tz)
        kept = {b.external_id for b in parsed.bookings}
        report.sync_cancelled = feeds.sync_missing(
            app, kept, first, last, actor, source="csv", source_id=name, dry_run=dry_run
        )
    return report


def _cell(b: feeds.ExternalBooking, column: str) -> str:
    values = {
        "appointment_id": b.external_id,
        "patient_ref": b.patient.external_ref,
        "visit_type": b.visit_type,
        "date": b.start.isoformat(),
        "datetime": b.start.isoformat(),
        "duration": str(b.duration_minutes or ""),
        "status": b.status,
    }
    if column in values:
        return values[column]
    value = getattr(b.patient, column, "")
    return "" if value is None else str(value)
