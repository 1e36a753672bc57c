"""CSV import: sessions and patients from a clinic's export, through the booking service."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from service.db.tables import audit_events, outbox, patients, staff_tasks
from service.db.tables import sessions as sessions_table
from service.runtime import Interlude
from service.services.feeds import NO_SMS_CONSENT_TASK
from service.services.imports_csv import ImportRefused, run_import
from tests.helpers import ROOT, FakeClock, make_config, make_services

VISIT_TYPES = """
[imports.visit_types]
"KET-IV" = "iv"
"SPRAVATO" = "intranasal"
"""

HEADER = "Appointment ID,MRN,First Name,Last Name,Cell,E-mail,SMS Consent,Appointment Date,Start Time,Visit Type,Status"
ROWS = [
    "A-1,P-1,Ana,Rivera,(202) 555-0143,ana@example.org,yes,2027-03-12,9:30 AM,KET-IV,Booked",
    "A-2,P-1,Ana,Rivera,(202) 555-0143,ana@example.org,yes,2027-03-19,9:30 AM,KET-IV,Booked",
    "A-3,P-2,Sam,Okafor,202-555-0178,,no,03/15/2027,14:00,SPRAVATO,",
]


def _csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


@pytest.fixture
def app(db_url: str, clock: FakeClock) -> Iterator[Interlude]:
    s = make_services(
        db_url, clock, config=make_config(db_url, schedules=ROOT / "schedules", extra=VISIT_TYPES)
    )
    yield s
    s.engine.dispose()


def _run(app: Interlude, data: bytes, **kwargs: Any) -> Any:
    return run_import(app, data, "sessions.csv", "cli:test", **kwargs)


def _count(app: Interlude, table: Any, *where: Any) -> int:
    with app.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def _session(app: Interlude, ref: str) -> Any:
    with app.engine.connect() as conn:
        return (
            conn.execute(select(sessions_table).where(sessions_table.c.external_ref == ref)).mappings().one()
        )


def _patient(app: Interlude, ref: str) -> Any:
    with app.engine.connect() as conn:
        return conn.execute(select(patients).where(patients.c.external_ref == ref)).mappings().one()


def test_creates_patients_and_sessions_and_twice_changes_nothing(app: Interlude) -> None:
    report = _run(app, _csv(*ROWS))
    assert report.errors == []
    assert report.actions["created"] == 3
    assert report.patients["created"] == 2
    ana = _patient(app, "P-1")
    assert (ana["first_name"], ana["phone"], ana["email"]) == ("Ana", "+12025550143", "ana@example.org")
    first = _session(app, "A-1")
    assert first["patient_id"] == ana["id"] and first["modality"] == "iv"
    assert first["start_at"].isoformat() == "2027-03-12T14:30:00+00:00"  # 9:30 in New York (EST)
    assert _session(app, "A-3")["modality"] == "intranasal"
    with app.engine.connect() as conn:
        reasons = conn.execute(
            select(audit_events.c.reason).where(audit_events.c.action == "session.from_feed")
        )
        assert sorted(r for (r,) in reasons) == [
            "booked from csv sessions.csv row 2",
            "booked from csv sessions.csv row 3",
            "booked from csv sessions.csv row 4",
        ]
    counts = (
        _count(app, sessions_table),
        _count(app, outbox),
        _count(app, audit_events),
        _count(app, patients),
    )

    again = _run(app, _csv(*ROWS))
    assert again.actions == {"unchanged": 3} and not again.patients and again.errors == []
    assert (
        _count(app, sessions_table),
        _count(app, outbox),
        _count(app, audit_events),
        _count(app, patients),
    ) == counts


def test_a_changed_start_reschedules_and_status_cancels_no_show_completes(
    app: Interlude, clock: FakeClock
) -> None:
    _run(app, _csv(*ROWS))
    pending = _count(
        app, outbox, outbox.c.session_id == _session(app, "A-1")["id"], outbox.c.status == "pending"
    )
    assert pending > 0
    moved = ROWS[0].replace("2027-03-12,9:30 AM", "2027-03-13,10:00")
    no_show = ROWS[2].replace(",SPRAVATO,", ",SPRAVATO,No Show")
    changed = [moved, ROWS[1].replace("Booked", "Cancelled"), no_show]
    early = _run(app, _csv(*changed))
    assert early.errors == [
        (4, "Status", "noshow", f"session {_session(app, 'A-3')['id']} has not started yet")
    ]
    assert early.actions == {"rescheduled": 1, "cancelled": 1, "refused": 1}
    clock.set(_session(app, "A-3")["start_at"])
    report = _run(app, _csv(*changed))
    assert report.errors == []
    assert report.actions == {"unchanged": 2, "no-show": 1}
    a1 = _session(app, "A-1")
    assert a1["start_at"].isoformat() == "2027-03-13T15:00:00+00:00" and a1["occurrence"] == 1
    assert _session(app, "A-2")["status"] == "cancelled"
    a2_prep = (outbox.c.session_id == _session(app, "A-2")["id"], outbox.c.step_id.like("prep%"))
    assert (
        _count(app, outbox, *a2_prep) > 0 and _count(app, outbox, *a2_prep, outbox.c.status == "pending") == 0
    )
    assert _session(app, "A-3")["status"] == "no_show"
    # the same changed file again: nothing more
    assert _run(app, _csv(*changed)).actions == {"unchanged": 3}
    # completed, once the session has begun
    clock.set(a1["start_at"] + timedelta(hours=1))
    done = _run(app, _csv(moved.replace("Booked", "Completed")))
    assert done.actions == {"completed": 1}
    assert _session(app, "A-1")["status"] == "completed"


def test_sync_cancels_the_session_gone_from_the_file(app: Interlude) -> None:
    _run(app, _csv(*ROWS))
    # The file covers 12 to 19 March; A-3 (15 March) is gone from it.
    dry = _run(app, _csv(ROWS[0], ROWS[1]), sync=True, dry_run=True)
    gone = _session(app, "A-3")
    assert dry.sync_cancelled == [gone["id"]] and gone["status"] == "booked"
    report = _run(app, _csv(ROWS[0], ROWS[1]), sync=True)
    assert report.sync_cancelled == [gone["id"]]
    assert _session(app, "A-3")["status"] == "cancelled"
    assert _session(app, "A-1")["status"] == "booked" and _session(app, "A-2")["status"] == "booked"
    assert _run(app, _csv(ROWS[0], ROWS[1]), sync=True).sync_cancelled == []


def test_bad_rows_are_reported_and_the_good_rows_apply(app: Interlude) -> None:
    bad = [
        ROWS[0],
        "A-9,P-9,Eve,Moss,202-555-0111,,yes,2027-02-30,9:00,KET-IV,Booked",  # no such date
        "A-10,P-10,Bo,Lind,202-555-0112,,maybe,2027-03-20,9:00,KET-IV,Booked",  # consent
        "A-11,P-11,Cy,Park,202-555-0113,,yes,2027-03-20,9:00,YOGA,Booked",  # unknown visit type
        "A-12,P-12,Di,Ng,12,,yes,2027-03-20,9:00,KET-IV,Booked",  # bad phone
        "=cmd|' /C calc'!A0,P-13,Ed,Fox,202-555-0114,,yes,2027-03-20,25:00,KET-IV,Booked",
        ROWS[2],
    ]
    report = _run(app, _csv(*bad))
    assert report.actions["created"] == 2
    assert _session(app, "A-1")["status"] == "booked" and _session(app, "A-3")["status"] == "booked"
    found = {(row, column): problem for row, column, _, problem in report.errors}
    assert set(found) == {
        (3, "Appointment Date"),
        (4, "SMS Consent"),
        (5, "Visit Type"),
        (6, "Cell"),
        (7, "Start Time"),
    }
    assert (
        found[(3, "Appointment Date")] == "'2027-02-30' is not a date: write it as 2027-03-13 or 03/13/2027"
    )
    assert found[(4, "SMS Consent")] == "'maybe' is not yes or no: write yes or no"
    assert found[(5, "Visit Type")].startswith("'YOGA' is not a visit type we know")
    assert found[(7, "Start Time")] == "'25:00' is not a time of day: write it as 09:30 or 9:30 AM"
    assert _count(app, patients, patients.c.external_ref == "P-12") == 0  # all or nothing
    assert report.bad_rows == 5
    lines = list(csv.reader(io.StringIO(report.error_csv())))
    assert lines[0] == ["row", "column", "value", "problem"]
    assert all(not cell.startswith(("=", "+", "-", "@")) for line in lines for cell in line)


def test_consent_true_plans_the_opt_in_false_turns_sms_off_with_a_task(app: Interlude) -> None:
    _run(app, _csv(*ROWS))
    ana, sam = _patient(app, "P-1"), _patient(app, "P-2")
    assert "sms" in ana["channels"] and sam["channels"] == []
    assert sam["phone"] == "+12025550178"
    opt_in = (outbox.c.step_id == "enrolment_opt_in", outbox.c.channel == "sms")
    assert _count(app, outbox, outbox.c.patient_id == ana["id"], *opt_in) == 1
    assert _count(app, outbox, outbox.c.patient_id == sam["id"], outbox.c.channel == "sms") == 0
    with app.engine.connect() as conn:
        tasks = conn.execute(select(staff_tasks.c.patient_id, staff_tasks.c.kind)).all()
    assert [(t.patient_id, t.kind) for t in tasks] == [(sam["id"], NO_SMS_CONSENT_TASK)]


def test_a_file_that_cannot_be_read_is_refused_in_words(app: Interlude) -> None:
    with pytest.raises(ImportRefused, match="not UTF-8 text"):
        _run(app, "Appointment ID\nA-1,Jos\xe9\n".encode("latin-1"))
    with pytest.raises(ImportRefused, match="the file is empty"):
        _run(app, b"\n\n")
    with pytest.raises(ImportRefused, match="missing columns: Visit Type, Appointment Date and Start Time"):
        _run(app, _csv("A-1,P-1", header="Appointment ID,Patient ID,First Name,Last Name,Mobile"))
    assert _count(app, sessions_table) == 0


def test_patients_in_a_second_file(app: Interlude) -> None:
    people = b"Patient ID,First Name,Last Name,Mobile,SMS Consent\nP-1,Ana,Rivera,2025550143,yes\n"
    data = _csv("A-1,P-1,2027-03-12 09:30,IV", header="Appt ID,Patient ID,Date/Time,Type")
    report = _run(app, data, patients_data=people, patients_name="patients.csv")
    assert report.errors == [] and report.actions == {"created": 1}
    assert _patient(app, "P-1")["last_name"] == "Rivera"


def test_dry_run_writes_nothing(app: Interlude) -> None:
    report = _run(app, _csv(*ROWS), dry_run=True)
    assert report.actions == {"created": 3} and report.patients == {"created": 2}
    assert _count(app, sessions_table) == 0 and _count(app, patients) == 0


def test_cli_shows_progress_and_writes_the_error_file(app: Interlude, tmp_path: Path) -> None:
    from service.cli.imports import import_cmd
    from service.web import create_app

    flask_app = create_app(app.config, services=app)
    source = tmp_path / "sessions.csv"
    source.write_bytes(_csv(*ROWS, "A-9,P-9,Eve,Moss,202-555-0111,,yes,2027-02-30,9:00,KET-IV,Booked"))
    result = flask_app.test_cli_runner().invoke(import_cmd, [str(source)])
    assert result.exit_code == 1, result.output
    assert "importing" in result.output and "3/3" in result.output
    assert "sessions created: 3" in result.output
    errors = tmp_path / "sessions.errors.csv"
    assert list(csv.reader(io.StringIO(errors.read_text()))) == [
        ["row", "column", "value", "problem"],
        [
            "5",
            "Appointment Date",
            "2027-02-30",
            "'2027-02-30' is not a date: write it as 2027-03-13 or 03/13/2027",
        ],
    ]
    again = flask_app.test_cli_runner().invoke(
        import_cmd, [str(source), "--dry-run", "--errors", str(tmp_path / "e.csv")]
    )
    assert "sessions would be unchanged: 3" in again.output and "dry run: nothing was written" in again.output
    assert (tmp_path / "e.csv").exists()
