"""Bad input at the boundary: a field-named 400 (or a 404 for an id that cannot exist), never a
500, never a NULL stored where every later message of the patient would fail."""

from __future__ import annotations

import os
import stat

import pytest
from sqlalchemy import select

from service.db.engine import make_engine
from service.db.tables import patients
from service.web import create_app
from tests.helpers import API_TOKEN, patient_data

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture
def client(services):
    app = create_app(services=services)
    app.testing = True
    return app.test_client()


@pytest.fixture
def patient(client):
    r = client.post("/api/v1/patients", json=patient_data(), headers=AUTH)
    assert r.status_code == 201, r.json
    return r.json


@pytest.mark.parametrize(
    "field", ["channels", "indications", "first_name", "last_name", "timezone", "language", "schedule"]
)
def test_a_null_for_a_field_that_must_have_a_value_is_refused_by_name(client, services, patient, field):
    r = client.patch(f"/api/v1/patients/{patient['id']}", json={field: None}, headers=AUTH)
    assert r.status_code == 400 and r.json["fields"] == {field: "may not be null"}
    with services.engine.connect() as conn:
        row = conn.execute(select(patients).where(patients.c.id == patient["id"])).mappings().one()
    assert row[field] is not None


def test_a_null_clears_a_field_that_may_be_empty(client, patient):
    r = client.patch(
        f"/api/v1/patients/{patient['id']}", json={"email": None, "channels": ["sms"]}, headers=AUTH
    )
    assert r.status_code == 200 and r.json["email"] is None


@pytest.mark.parametrize(
    ("zone", "says"),
    [
        ("America", "is not a time zone"),
        ("localtime", "is not a time zone"),
        ("Factory", "is not a time zone"),
        ("EST5EDT", "is not a time zone"),
        ("../../etc/passwd", "is not a time zone"),
        ("US/Eastern", "use 'America/New_York'"),
    ],
)
def test_only_canonical_iana_zones_are_taken(client, zone, says):
    r = client.post("/api/v1/patients", json=patient_data(timezone=zone), headers=AUTH)
    assert r.status_code == 400 and says in r.json["fields"]["timezone"]


@pytest.mark.parametrize("start", ["9999-12-31T23:59", "0001-01-01T00:00", "1999-12-31T09:00+00:00"])
def test_a_date_far_outside_any_course_is_refused_by_name(client, patient, start):
    body = {"patient_id": patient["id"], "start": start, "modality": "iv"}
    r = client.post("/api/v1/sessions", json=body, headers=AUTH)
    assert r.status_code == 400 and "start" in r.json["fields"]


@pytest.mark.parametrize("ident", ["²", "١٢", "99999999999999999999", "-1", "1.0"])
def test_an_id_that_is_not_plain_ascii_digits_is_not_found(client, ident):
    r = client.get(f"/api/v1/patients/{ident}", headers=AUTH)
    assert r.status_code == 404 and r.is_json


def test_deeply_nested_json_is_refused_without_parsing_it(client):
    body = "[" * 5000 + "]" * 5000
    r = client.post("/api/v1/patients", data=body, content_type="application/json", headers=AUTH)
    assert r.status_code == 400 and "nested" in r.json["fields"]["body"]


def test_api_answers_are_never_cached(client, patient):
    r = client.get(f"/api/v1/patients/{patient['id']}", headers=AUTH)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    r = client.get("/api/v1/patients/424242", headers=AUTH)
    assert r.status_code == 404 and r.headers["Cache-Control"] == "no-store"


def test_the_database_file_and_its_folder_are_private_whatever_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        path = tmp_path / "instance" / "interlude.db"
        engine = make_engine(f"sqlite:///{path}")
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            files = [p for p in path.parent.iterdir() if p.name.startswith("interlude.db")]
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in files}
        engine.dispose()
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert {"interlude.db", "interlude.db-wal", "interlude.db-shm"} <= set(modes)
    assert set(modes.values()) == {0o600}, modes


def test_an_existing_world_readable_database_is_tightened(tmp_path):
    folder = tmp_path / "instance"
    folder.mkdir(mode=0o755)
    path = folder / "interlude.db"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    make_engine(f"sqlite:///{path}").dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_marking_an_unknown_inbox_message_handled_is_not_found(client):
    r = client.post("/api/v1/inbox/424242/handled", json={"by": "nurse"}, headers=AUTH)
    assert r.status_code == 404 and r.is_json
