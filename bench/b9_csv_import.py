"""Benchmark 9: importing a clinic's CSV export of sessions (`interlude import`, the Import page).

A file of 10,000 sessions for 2,000 patients (5 sessions each, a week apart, between 8:00 and
16:00 on weekdays, in the columns an EHR export has: Appointment ID, Patient ID, names, mobile,
email, language, time zone, SMS consent, date, time, duration, visit type, status) is imported
into a fresh SQLite database through services.imports_csv.run_import, as the command line does:
every patient is enrolled and every session booked through the booking service, with its
messages planned. Timed: the preview (a dry run, as the Import page shows first), the first
import, the same file again (nothing changes: every row is read, checked and found unchanged),
and a 1,000-row file (200 patients) into another fresh database, for the ratio (10 would be
linear). The issue's target: 10,000 sessions in under 30 s.

    python bench/b9_csv_import.py           # alone
    python -m bench --only 9                # in the table with the others
"""

from __future__ import annotations

import csv
import io
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

if __name__ == "__main__" and __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

from service.bootstrap import build
from service.config import parse_config
from service.db.engine import make_engine
from service.db.migrate import upgrade
from service.runtime import Interlude
from service.services.clinic import ensure_clinic
from service.services.imports_csv import ImportReport, run_import

from . import _people
from .common import Context, Figure, Timer

TITLE = "CSV import: 10,000 sessions of 2,000 patients into SQLite"
B = "9 csv import"
SESSIONS_PER_PATIENT = 5
FIRST_DAY = date(2027, 3, 8)  # the Monday after the bench's "now" (_people.NOW)
VISIT_TYPES = {"KET-IV": "iv", "KET-IM": "im", "SPRAVATO": "intranasal"}
IMPORTS = "[imports.visit_types]\n" + "".join(f'"{k}" = "{m}"\n' for k, m in VISIT_TYPES.items())
HEADER = (
    "Appointment ID,Patient ID,First Name,Last Name,Mobile,Email,Language,Time Zone,SMS Consent,"
    "Appointment Date,Start Time,Duration,Visit Type,Status"
)
FIRST_NAMES = ("Ana", "Sam", "Lee", "Maria", "James", "Priya", "Noah", "Fatima", "Chen", "Olivia")
LAST_NAMES = ("Rivera", "Okafor", "Chen", "Garcia", "Smith", "Patel", "Kim", "Haddad", "Nguyen", "Brown")


def sessions_csv(patients: int) -> bytes:
    """`patients` x 5 rows, in a spreadsheet's formats (US dates, 12-hour clock), one per session."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER.split(","))
    appointment = 100000
    for p in range(patients):
        visit = tuple(VISIT_TYPES)[p % len(VISIT_TYPES)]
        first, last = FIRST_NAMES[p % 10], f"{LAST_NAMES[(p // 10) % 10]}{p}"
        weekday, slot = p % 5, p % 17  # 17 half-hour slots from 8:00 to 16:00
        for s in range(SESSIONS_PER_PATIENT):
            day = FIRST_DAY + timedelta(days=weekday, weeks=s)
            start = datetime.combine(day, datetime.min.time()) + timedelta(hours=8, minutes=30 * slot)
            appointment += 1
            writer.writerow(
                [
                    f"APT-{appointment}",
                    f"MRN-{p:06d}",
                    first,
                    last,
                    f"({_people.phone(p)[2:5]}) {_people.phone(p)[5:8]}-{_people.phone(p)[8:]}",
                    f"{first.lower()}.{p}@example.org" if p % 4 else "",
                    "Spanish" if p % 10 == 0 else "English",
                    _people.ZONES[p % 3],
                    "no" if p % 20 == 0 else "yes",
                    day.strftime("%m/%d/%Y"),
                    start.strftime("%I:%M %p").lstrip("0"),
                    "120" if visit == "KET-IV" else "",
                    visit,
                    "Booked",
                ]
            )
    return out.getvalue().encode()


def make_app(url: str) -> Interlude:
    engine = make_engine(url, 4)
    upgrade(engine)
    env = {
        "INTERLUDE_TWILIO_AUTH_TOKEN": _people.TWILIO_TOKEN,
        "INTERLUDE_API_TOKEN": "bench-api-token-0123456789abcdef",
    }
    config = parse_config(_people.config_text(url, IMPORTS), "bench-config", env)
    app = build(config, clock=lambda: _people.NOW, engine=engine)
    ensure_clinic(app)
    return app


def timed_import(app: Interlude, data: bytes, *, dry_run: bool = False) -> tuple[float, ImportReport]:
    with Timer() as t:
        report = run_import(app, data, "sessions.csv", "bench", dry_run=dry_run)
    if report.errors:
        raise RuntimeError(f"the bench file has {report.bad_rows} refused rows: {report.errors[:3]}")
    return t.seconds, report


def run(ctx: Context) -> list[Figure]:
    patients = ctx.size(2000, 200)
    small_patients = patients // 10
    rows = patients * SESSIONS_PER_PATIENT
    small_rows = small_patients * SESSIONS_PER_PATIENT
    big, small = sessions_csv(patients), sessions_csv(small_patients)

    url = ctx.sqlite_url("b9-import")
    app = make_app(url)
    try:
        preview, _ = timed_import(app, big, dry_run=True)
        first, report = timed_import(app, big)
        again, unchanged = timed_import(app, big)
    finally:
        app.engine.dispose()
        _people.remove_sqlite(url)
    if report.actions["created"] != rows or unchanged.actions["unchanged"] != rows:
        raise RuntimeError(f"unexpected import: {report.as_dict()} then {unchanged.as_dict()}")

    small_url = ctx.sqlite_url("b9-import-small")
    small_app = make_app(small_url)
    try:
        small_seconds, _ = timed_import(small_app, small)
    finally:
        small_app.engine.dispose()
        _people.remove_sqlite(small_url)

    ratio = first / small_seconds if small_seconds > 0 else float("nan")
    mb = len(big) / 1024 / 1024
    limit = 30.0 if not ctx.quick else 3.0
    return [
        Figure(B, f"preview of the {rows:,} rows (a dry run: writes nothing)", preview, "s"),
        Figure(
            B,
            f"first import, {rows:,} rows ({patients:,} new patients, {mb:.1f} MB)",
            first,
            "s",
            target=f"< {limit:.0f}",
            met=first < limit,
            note=f"{rows / first:,.0f} rows/s; every session booked and its messages planned",
        ),
        Figure(
            B, f"the same {rows:,} rows again (all unchanged)", again, "s", note=f"{rows / again:,.0f} rows/s"
        ),
        Figure(B, f"first import, {small_rows:,} rows ({small_patients:,} patients)", small_seconds, "s"),
        Figure(
            B,
            f"time ratio {rows:,} / {small_rows:,} rows",
            ratio,
            "x",
            note="10 is linear; more means each row costs more as the tables grow",
        ),
    ]


if __name__ == "__main__":
    from .__main__ import table

    print(table(run(Context(quick="--quick" in sys.argv))))
