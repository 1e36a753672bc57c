"""The Import page: upload a CSV, preview (nothing written), apply, the result; on both databases
with a signed-in admin (a staff account without admin gets 403)."""

from __future__ import annotations

import csv
import io
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from service.db.tables import audit_events, outbox, patients
from service.db.tables import sessions as sessions_table
from service.runtime import Interlude
from service.services.staff import add_staff
from service.web import create_app
from tests.helpers import ROOT, FakeClock

from .staff_helpers import ADMIN, STAFF, StaffClient, signed_in, staff_services

VISIT_TYPES = """
[imports.visit_types]
"KET-IV" = "iv"
"SPRAVATO" = "intranasal"
"""
EXAMPLE = ROOT / "examples" / "sessions.csv"
HEADER = (
    "Appointment ID,Patient ID,First Name,Last Name,Mobile,SMS Consent,Appointment Date,Start Time,Visit Type"
)
GOOD = "A-1,P-1,Ana,Rivera,(202) 555-0143,yes,2027-03-12,9:30 AM,KET-IV"
BAD_DATE = "A-2,P-2,Sam,Okafor,202-555-0178,no,2027-02-30,10:00,SPRAVATO"
OTHER_ADMIN = ("second.admin@clinic.example", "yet another long passphrase")
TABLES = (patients, sessions_table, outbox, audit_events)


def _csv(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


Make = Callable[..., tuple[Interlude, Flask]]


@pytest.fixture
def make(db_url: str, clock: FakeClock, tmp_path: Path) -> Iterator[Make]:
    made: list[Interlude] = []

    def _make(extra: str = "") -> tuple[Interlude, Flask]:
        services = staff_services(db_url, clock, extra=VISIT_TYPES + extra)
        made.append(services)
        web = create_app(services.config, services=services)
        web.config["INTERLUDE_IMPORT_DIR"] = str(tmp_path / "imports")
        return services, web

    yield _make
    for services in made:
        services.engine.dispose()


@pytest.fixture
def app(make: Make) -> tuple[Interlude, Flask]:
    return make()


@pytest.fixture
def admin(app: tuple[Interlude, Flask]) -> StaffClient:
    return signed_in(app[1], ADMIN)


def _counts(services: Interlude) -> dict[str, int]:
    with services.engine.connect() as conn:
        return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one()) for t in TABLES}


def _upload(client: StaffClient, data: bytes, name: str = "sessions.csv", **form: Any) -> Any:
    # Encoded in memory: the test client would spool a large body to a file it never closes.
    upload = FileStorage(io.BytesIO(data), filename=name, content_type="text/csv")
    fields = {"sessions_file": upload, "csrf_token": client.token(), **form}
    boundary, body = encode_multipart(fields)
    return client.client.post(
        "/staff/import", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def _token(response: Any) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)
    found = re.fullmatch(r"/staff/import/([0-9a-f]{32})", response.headers["Location"])
    assert found, response.headers["Location"]
    return found.group(1)


def _text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def _count_cell(html: str, label: str) -> int:
    found = re.search(
        rf'<td data-label="Change">{re.escape(label)}</td><td data-label="Count">(\d+)</td>', html
    )
    assert found, f"no count for {label!r}"
    return int(found.group(1))


def _refused(client: StaffClient, response: Any) -> str:
    """The upload page a refused upload goes back to (Post/Redirect/Get), with its message."""
    assert response.status_code == 303 and response.headers["Location"] == "/staff/import"
    page = _text(client.get("/staff/import"))
    assert 'id="error-summary"' in page
    return page


def test_preview_writes_nothing_then_apply_books(app: tuple[Interlude, Flask], admin: StaffClient) -> None:
    services, _ = app
    before = _counts(services)
    token = _token(_upload(admin, EXAMPLE.read_bytes()))
    assert _counts(services) == before  # the preview wrote nothing
    page = _text(admin.get(f"/staff/import/{token}"))
    assert "Import preview: nothing saved yet" in page
    assert (_count_cell(page, "New patients"), _count_cell(page, "New sessions")) == (2, 3)
    assert _count_cell(page, "Unchanged") == 1  # A-1004: cancelled, and never booked here
    assert _count_cell(page, "Rows refused") == 0
    assert _counts(services) == before

    applied = admin.post(f"/staff/import/{token}/apply")
    assert applied.status_code == 303 and applied.headers["Location"] == f"/staff/import/{token}/result"
    result = _text(admin.get(applied.headers["Location"]))
    assert "Import done" in result and _count_cell(result, "New sessions") == 3
    with services.engine.connect() as conn:
        refs = set(conn.execute(select(sessions_table.c.external_ref)).scalars())
        audited = conn.execute(select(func.count()).select_from(audit_events)).scalar_one()
    assert refs == {"A-1001", "A-1002", "A-1003"}
    assert audited > before["audit_events"]
    # The uploaded bytes are gone once applied; only the counts stay (for an hour).
    folder = Path(app[1].config["INTERLUDE_IMPORT_DIR"]) / token
    assert not (folder / "sessions.csv").exists() and (folder / "result.json").exists()


def test_a_file_over_the_app_wide_limit_is_taken_up_to_the_import_limit(
    app: tuple[Interlude, Flask], admin: StaffClient
) -> None:
    # The app refuses any other request over 1 MB; an upload may be up to max_upload_mb (20).
    rows = [
        f"A-{i},P-{i},Ana,Rivera,(202) 555-0143,yes,2027-03-12,9:30 AM,NO-SUCH-TYPE,{'x' * 200}"
        for i in range(6000)
    ]
    data = _csv(*rows)
    assert len(data) > 1024 * 1024
    page = _text(admin.get(f"/staff/import/{_token(_upload(admin, data))}"))
    assert _count_cell(page, "Rows refused") == 6000


def test_a_bad_row_is_listed_and_in_the_error_csv(app: tuple[Interlude, Flask], admin: StaffClient) -> None:
    services, _ = app
    token = _token(_upload(admin, _csv(GOOD, BAD_DATE)))
    page = _text(admin.get(f"/staff/import/{token}"))
    assert _count_cell(page, "Rows refused") == 1 and _count_cell(page, "New sessions") == 1
    assert '<td data-label="Row">3</td><td data-label="Column">Appointment Date</td>' in page
    download = admin.get(f"/staff/import/{token}/preview-errors.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    found = list(csv.reader(io.StringIO(_text(download))))
    assert found[0] == ["row", "column", "value", "problem"]
    assert any(r[0] == "3" and r[1] == "Appointment Date" and "2027-02-30" in r for r in found[1:])

    result_url = admin.post(f"/staff/import/{token}/apply").headers["Location"]
    result = _text(admin.get(result_url))
    assert _count_cell(result, "Rows refused") == 1 and _count_cell(result, "New sessions") == 1
    after = list(csv.reader(io.StringIO(_text(admin.get(f"/staff/import/{token}/result-errors.csv")))))
    assert any(r[0] == "3" and r[1] == "Appointment Date" for r in after[1:])
    with services.engine.connect() as conn:
        assert list(conn.execute(select(sessions_table.c.external_ref)).scalars()) == ["A-1"]


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        ("Appointment ID,Patient ID\nA-1,Ros\xe9\n".encode("latin-1"), "sessions.csv", "not UTF-8"),
        (b"PK\x03\x04 a spreadsheet", "sessions.xlsx", "is not a CSV file"),
        (b"Appointment ID,Patient ID\nA-1,P-1\n", "sessions.csv", "missing columns"),
        (b"", "sessions.csv", "is empty"),
    ],
)
def test_an_unreadable_file_is_refused_with_a_message_and_nothing_written(
    app: tuple[Interlude, Flask], admin: StaffClient, data: bytes, name: str, message: str
) -> None:
    services, web = app
    before = _counts(services)
    page = _refused(admin, _upload(admin, data, name, sync="1"))
    assert message in page
    assert 'id="sync" name="sync" type="checkbox" value="1" checked' in page  # the box stays ticked
    assert _counts(services) == before
    folder = Path(web.config["INTERLUDE_IMPORT_DIR"])
    assert not folder.exists() or not any(folder.iterdir())


def test_no_file_is_refused(app: tuple[Interlude, Flask], admin: StaffClient) -> None:
    response = admin.post("/staff/import", {}, content_type="multipart/form-data")
    assert "choose the CSV file to import" in _refused(admin, response)


def test_a_file_too_big_is_refused_before_it_is_read(make: Make, tmp_path: Path) -> None:
    services, web = make("[imports]\nmax_upload_mb = 1\n")
    admin = signed_in(web, ADMIN)
    before = _counts(services)
    response = _upload(admin, _csv(*[GOOD] * 30000))
    assert response.status_code == 413
    assert "larger than the Import page takes (1 MB together)" in _text(response)
    assert _counts(services) == before
    assert not (tmp_path / "imports").exists() or not any((tmp_path / "imports").iterdir())


def test_a_reload_of_the_result_or_a_second_apply_does_not_import_again(
    app: tuple[Interlude, Flask], admin: StaffClient
) -> None:
    services, _ = app
    token = _token(_upload(admin, EXAMPLE.read_bytes()))
    admin.post(f"/staff/import/{token}/apply")
    once = _counts(services)
    for _ in range(2):
        assert "Import done" in _text(admin.get(f"/staff/import/{token}/result"))
    again = admin.post(f"/staff/import/{token}/apply")  # the back button and Apply again
    assert again.status_code == 303 and again.headers["Location"] == f"/staff/import/{token}/result"
    preview = admin.get(f"/staff/import/{token}")  # the preview of an applied import is its result
    assert preview.headers["Location"] == f"/staff/import/{token}/result"
    assert _counts(services) == once


def test_staff_without_admin_get_403_and_another_account_cannot_use_the_upload(
    app: tuple[Interlude, Flask], admin: StaffClient
) -> None:
    services, web = app
    nurse = signed_in(web, STAFF)
    assert nurse.get("/staff/import").status_code == 403
    assert _upload(nurse, _csv(GOOD)).status_code == 403
    assert 'href="/staff/import"' not in _text(nurse.get("/staff/today"))
    assert 'href="/staff/import"' in _text(admin.get("/staff/today"))

    token = _token(_upload(admin, _csv(GOOD)))
    add_staff(services, *OTHER_ADMIN, admin=True, actor="test")
    other = signed_in(web, OTHER_ADMIN)
    before = _counts(services)
    assert other.get(f"/staff/import/{token}").status_code == 404
    assert other.post(f"/staff/import/{token}/apply").status_code == 404
    assert other.get(f"/staff/import/{token}/preview-errors.csv").status_code == 404
    assert nurse.post(f"/staff/import/{token}/apply").status_code == 403
    assert _counts(services) == before


def test_an_upload_older_than_an_hour_is_gone(app: tuple[Interlude, Flask], admin: StaffClient) -> None:
    token = _token(_upload(admin, _csv(GOOD)))
    folder = Path(app[1].config["INTERLUDE_IMPORT_DIR"]) / token
    old = time.time() - 3601
    os.utime(folder, (old, old))
    response = admin.get(f"/staff/import/{token}")
    assert response.status_code == 404 and "Upload the file again" in _text(response)
    assert not folder.exists()
