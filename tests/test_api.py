"""The JSON API: bearer auth, JSON errors with field names, nothing written on bad input."""

from __future__ import annotations

import pytest

from service.db.tables import outbox, patients
from service.web import create_app
from tests.helpers import API_TOKEN, count, patient_data

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture
def client(services):
    app = create_app(services=services)
    app.testing = True
    return app.test_client()


def new_patient(client, **overrides):
    r = client.post("/api/v1/patients", json=patient_data(**overrides), headers=AUTH)
    assert r.status_code == 201, r.json
    return r.json


def test_healthz_needs_no_token(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic abc", f"Token {API_TOKEN}", "Bearer "])
def test_api_refuses_a_missing_or_wrong_token(client, header):
    headers = {"Authorization": header} if header else {}
    r = client.get("/api/v1/patients/1", headers=headers)
    assert r.status_code == 401 and r.json["error"] == "unauthorized"


def test_the_api_is_closed_when_no_token_is_configured(services):
    from dataclasses import replace

    app = create_app(
        services=replace(
            services, config=services.config.replace(secrets=services.config.secrets.__class__())
        )
    )
    r = app.test_client().get("/api/v1/patients/1", headers=AUTH)
    assert r.status_code == 401 and "INTERLUDE_API_TOKEN" in r.json["message"]


def test_book_reschedule_cancel_through_the_api(client, services):
    p = new_patient(client)
    assert p["phone"] == "+12025550143"  # stored in E.164
    r = client.post(
        "/api/v1/sessions",
        json={"patient_id": p["id"], "start": "2027-03-12T09:00", "modality": "iv"},
        headers=AUTH,
    )
    assert r.status_code == 201
    sid = r.json["id"]
    assert r.json["messages"]["created"] > 0
    msgs = client.get(f"/api/v1/sessions/{sid}/messages", headers=AUTH).json
    assert {m["step"] for m in msgs} >= {"booking_confirmation", "prep_evening_before", "checkin_same_day"}
    r = client.patch(
        f"/api/v1/sessions/{sid}", json={"start": "2027-03-13T10:00", "reason": "moved"}, headers=AUTH
    )
    assert r.status_code == 200 and r.json["start"] == "2027-03-13T15:00:00+00:00"
    r = client.post(f"/api/v1/sessions/{sid}/cancel", json={"reason": "patient unwell"}, headers=AUTH)
    assert r.status_code == 200 and r.json["status"] == "cancelled"
    msgs = client.get(f"/api/v1/sessions/{sid}/messages", headers=AUTH).json
    assert not [m for m in msgs if m["status"] == "pending" and m["step"] != "_session_cancelled"]
    detail = client.get(f"/api/v1/sessions/{sid}", headers=AUTH).json
    assert [a["action"] for a in detail["audit"]] == [
        "session.booked",
        "session.rescheduled",
        "session.cancelled",
    ]
    assert detail["audit"][-1]["reason"] == "patient unwell"
    assert client.post(f"/api/v1/sessions/{sid}/complete", headers=AUTH).status_code == 409


def test_get_and_patch_patient(client):
    p = new_patient(client)
    r = client.patch(
        f"/api/v1/patients/{p['id']}", json={"language": "es", "timezone": "America/Chicago"}, headers=AUTH
    )
    assert r.status_code == 200 and r.json["language"] == "es" and r.json["timezone"] == "America/Chicago"
    got = client.get(f"/api/v1/patients/{p['id']}", headers=AUTH).json
    assert got["timezone"] == "America/Chicago" and got["sessions"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"phone": "not a phone"}, "phone"),
        ({"email": "maria@"}, "email"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"language": "english"}, "language"),
        ({"channels": ["fax"]}, "channels"),
        ({"channels": []}, "channels"),
        ({"indications": ["flu"]}, "indications"),
        ({"detailed_messages": "yes"}, "detailed_messages"),
        ({"first_name": ""}, "first_name"),
        ({"first_name": None}, "first_name"),
        ({"schedule": "nope"}, "schedule"),
        ({"shoe_size": 42}, "shoe_size"),
        ({"phone": None, "email": None}, "phone"),
        ({"phone": None, "channels": ["sms"]}, "phone"),
    ],
)
def test_bad_patient_input_names_the_field_and_writes_nothing(client, services, body, field):
    r = client.post("/api/v1/patients", json=patient_data(**body), headers=AUTH)
    assert r.status_code == 400, r.json
    assert r.json["error"] == "invalid-input" and field in r.json["fields"]
    assert count(services, patients) == 0


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/patients", "not json"),
        ("post", "/api/v1/patients", "[1, 2]"),
        ("post", "/api/v1/sessions", "{"),
        ("patch", "/api/v1/sessions/{sid}", '{"start": 5}'),
        ("patch", "/api/v1/sessions/{sid}", '{"start": "2027-02-30T09:00"}'),
        ("patch", "/api/v1/patients/{pid}", '{"phone": "000"}'),
        ("post", "/api/v1/sessions/{sid}/cancel", '{"reason": 7}'),
        ("post", "/api/v1/sessions/{sid}/complete", '{"colour": "red"}'),
    ],
)
def test_malformed_bodies_get_400_never_500(client, services, method, path, body):
    p = new_patient(client)
    sid = client.post(
        "/api/v1/sessions",
        json={"patient_id": p["id"], "start": "2027-03-12T09:00", "modality": "iv"},
        headers=AUTH,
    ).json["id"]
    before = count(services, outbox)
    r = getattr(client, method)(
        path.format(sid=sid, pid=p["id"]), data=body, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert r.status_code == 400, r.json
    assert r.json["error"] == "invalid-input"
    assert count(services, outbox) == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/patients/999"),
        ("get", "/api/v1/patients/abc"),
        ("get", "/api/v1/sessions/999"),
        ("patch", "/api/v1/sessions/999"),
        ("post", "/api/v1/sessions/999/cancel"),
        ("post", "/api/v1/sessions/999/complete"),
        ("get", "/api/v1/sessions/999/messages"),
        ("get", "/api/v1/sessions/99999999999999999999999"),
        ("get", "/api/v1/nothing-here"),
    ],
)
def test_unknown_things_are_404_in_json(client, method, path):
    body = {"start": "2027-03-12T09:00"} if method == "patch" else {}
    r = getattr(client, method)(path, json=body, headers=AUTH)
    assert r.status_code == 404 and r.is_json


def test_wrong_method_is_405_in_json(client):
    r = client.delete("/api/v1/patients/1", headers=AUTH)
    assert r.status_code == 405 and r.is_json


def test_sandbox_messages_can_be_read_back(client, services):
    from service.services.outbox.dispatch import Dispatcher

    p = new_patient(client)
    client.post(
        "/api/v1/sessions",
        json={"patient_id": p["id"], "start": "2027-03-12T09:00", "modality": "iv"},
        headers=AUTH,
    )
    Dispatcher(services).run_once()
    got = client.get("/api/v1/sandbox/messages", headers=AUTH).json
    assert {m["channel"] for m in got} == {"sms", "email"}
    assert client.get("/api/v1/sandbox/messages?limit=0", headers=AUTH).status_code == 400
