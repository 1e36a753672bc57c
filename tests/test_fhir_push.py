"""FHIR R4 push (/fhir/r4): a transaction Bundle and PUTs of Patients and Appointments, applied to
the booking service; OperationOutcome with the bad element's path; versions, If-Match, auth."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from service.db.tables import audit_events, outbox, patients, sessions, staff_tasks
from service.runtime import Interlude
from service.web import create_app
from tests.helpers import API_TOKEN, ROOT, FakeClock, count, make_config, make_services

EXAMPLES = ROOT / "examples" / "fhir"
FHIR = "application/fhir+json"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
VISIT_TYPES = '[imports.visit_types]\n"KET-IV" = "iv"\n"SPRAVATO" = "intranasal"\n'


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


@pytest.fixture
def fhir_services(db_url: str, clock: FakeClock) -> Iterator[Interlude]:
    s = make_services(db_url, clock, config=make_config(db_url, extra=VISIT_TYPES))
    yield s
    s.engine.dispose()


@pytest.fixture
def client(fhir_services: Interlude) -> Any:
    app = create_app(services=fhir_services)
    app.testing = True
    return app.test_client()


def send(client: Any, method: str, url: str, body: Any, **headers: str) -> Any:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.open(url, method=method, data=data, headers={**AUTH, "Content-Type": FHIR, **headers})


def the_session(app: Interlude, external_id: str = "A-1001") -> Any:
    with app.engine.connect() as conn:
        return conn.execute(select(sessions).where(sessions.c.external_ref == external_id)).mappings().one()


def feed_reasons(app: Interlude) -> list[str]:
    with app.engine.connect() as conn:
        return [
            r
            for (r,) in conn.execute(
                select(audit_events.c.reason)
                .where(audit_events.c.action == "session.from_feed")
                .order_by(audit_events.c.id)
            )
        ]


def issue_paths(r: Any) -> list[str]:
    assert r.mimetype == FHIR and r.json["resourceType"] == "OperationOutcome", r.data
    return [e for issue in r.json["issue"] for e in issue.get("expression", [])]


def pending_steps(app: Interlude, session_id: int) -> set[str]:
    with app.engine.connect() as conn:
        rows = conn.execute(
            select(outbox.c.step_id).where(outbox.c.session_id == session_id, outbox.c.status == "pending")
        )
        return {r for (r,) in rows}


def test_a_transaction_bundle_books_and_the_same_bundle_again_changes_nothing(client, fhir_services):
    r = send(client, "POST", "/fhir/r4", example("transaction-bundle"))
    assert r.status_code == 200, r.json
    assert r.json["resourceType"] == "Bundle" and r.json["type"] == "transaction-response"
    patient_entry, appointment_entry = (e["response"] for e in r.json["entry"])
    assert (
        patient_entry["status"] == "201 Created" and patient_entry["location"] == "Patient/MRN-501/_history/3"
    )
    assert patient_entry["etag"] == 'W/"3"'
    assert appointment_entry == {
        "status": "201 Created",
        "location": "Appointment/A-1001/_history/1",
        "etag": 'W/"1"',
        "lastModified": appointment_entry["lastModified"],
    }
    s = the_session(fhir_services)
    assert s["modality"] == "iv" and s["duration_minutes"] == 120
    assert s["start_at"].isoformat().startswith("2027-03-12T14:30:00")
    assert {"booking_confirmation", "prep_evening_before"} <= pending_steps(fhir_services, s["id"])
    with fhir_services.engine.connect() as conn:
        p = conn.execute(select(patients).where(patients.c.external_ref == "MRN-501")).mappings().one()
    assert (p["first_name"], p["last_name"], p["phone"], p["email"], p["language"], p["timezone"]) == (
        "Ana",
        "Rivera",
        "+12025550143",
        "ana.rivera@example.org",
        "es",
        "America/New_York",
    )
    assert "sms" in p["channels"]  # the consent extension said yes
    assert feed_reasons(fhir_services) == ["booked from fhir Appointment/A-1001 v1"]

    before = (count(fhir_services, outbox), count(fhir_services, audit_events))
    again = send(client, "POST", "/fhir/r4", example("transaction-bundle"))
    assert again.status_code == 200
    assert [e["response"]["status"] for e in again.json["entry"]] == ["200 OK", "200 OK"]
    assert again.json["entry"][1]["response"]["etag"] == 'W/"1"'
    assert (count(fhir_services, outbox), count(fhir_services, audit_events)) == before


def test_put_appointment_reschedules_then_cancels(client, fhir_services):
    assert send(client, "POST", "/fhir/r4", example("transaction-bundle")).status_code == 200
    first = the_session(fhir_services)
    r = send(
        client,
        "PUT",
        "/fhir/r4/Appointment/A-1001",
        example("appointment-reschedule"),
        **{"If-Match": 'W/"1"'},
    )
    assert r.status_code == 200, r.json
    assert r.headers["ETag"] == 'W/"2"' and r.json["meta"]["versionId"] == "2" and r.json["id"] == "A-1001"
    assert r.headers["Location"].endswith("/fhir/r4/Appointment/A-1001/_history/2")
    moved = the_session(fhir_services)
    assert moved["id"] == first["id"] and moved["start_at"] - first["start_at"] == timedelta(
        hours=24, minutes=30
    )
    r = send(client, "PUT", "/fhir/r4/Appointment/A-1001", example("appointment-cancel"))
    assert r.status_code == 200 and r.headers["ETag"] == 'W/"3"'
    assert the_session(fhir_services)["status"] == "cancelled"
    assert pending_steps(fhir_services, first["id"]) <= {"_session_cancelled"}
    assert feed_reasons(fhir_services) == [
        "booked from fhir Appointment/A-1001 v1",
        "rescheduled from fhir Appointment/A-1001 v2",
        "cancelled from fhir Appointment/A-1001 v3",
    ]


def test_a_put_appointment_creates_201_without_a_version_numbers_its_own(client, fhir_services):
    patient = example("transaction-bundle")["entry"][0]["resource"]
    r = send(client, "PUT", "/fhir/r4/Patient/MRN-501", patient)
    assert r.status_code == 201 and r.headers["ETag"] == 'W/"3"'
    body = example("appointment-reschedule")
    del body["meta"]
    body["id"] = "A-2001"
    r = send(client, "PUT", "/fhir/r4/Appointment/A-2001", body)
    assert r.status_code == 201 and r.headers["ETag"] == 'W/"1"'
    body["start"], body["end"] = "2027-03-14T10:00:00-05:00", "2027-03-14T12:00:00-05:00"
    r = send(client, "PUT", "/fhir/r4/Appointment/A-2001", body)
    assert r.status_code == 200 and r.headers["ETag"] == 'W/"2"'
    assert the_session(fhir_services, "A-2001")["start_at"].isoformat().startswith("2027-03-14T15:00")


def test_noshow_after_the_start_marks_a_no_show(client, fhir_services, clock):
    assert send(client, "POST", "/fhir/r4", example("transaction-bundle")).status_code == 200
    clock.set(the_session(fhir_services)["start_at"] + timedelta(hours=1))
    body = example("transaction-bundle")["entry"][1]["resource"]
    body["status"] = "noshow"
    body["meta"] = {"versionId": "2"}
    body["participant"][0]["actor"]["reference"] = "Patient/MRN-501"
    r = send(client, "PUT", "/fhir/r4/Appointment/A-1001", body)
    assert r.status_code == 200, r.json
    assert the_session(fhir_services)["status"] == "no_show"
    assert feed_reasons(fhir_services)[-1] == "no-show from fhir Appointment/A-1001 v2"


def test_a_patient_without_consent_is_enrolled_with_sms_off_and_listed(client, fhir_services):
    patient = example("transaction-bundle")["entry"][0]["resource"]
    patient["extension"] = [e for e in patient["extension"] if "sms-consent" not in e["url"]]
    assert send(client, "PUT", "/fhir/r4/Patient/MRN-501", patient).status_code == 201
    with fhir_services.engine.connect() as conn:
        p = conn.execute(select(patients).where(patients.c.external_ref == "MRN-501")).mappings().one()
        tasks = conn.execute(select(staff_tasks.c.kind).where(staff_tasks.c.patient_id == p["id"])).all()
    assert "sms" not in p["channels"]
    assert [k for (k,) in tasks] == ["import-no-sms-consent"]


def bad(bundle: dict[str, Any], mutate: Any) -> dict[str, Any]:
    out = copy.deepcopy(bundle)
    mutate(out)
    return out


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda b: b["entry"][1]["resource"].update(start="next tuesday"), "Bundle.entry[1].resource.start"),
        (lambda b: b["entry"][1]["resource"].update(status="arrived"), "Bundle.entry[1].resource.status"),
        (
            lambda b: b["entry"][1]["resource"]["serviceType"][0]["coding"][0].update(code="MASSAGE"),
            "Bundle.entry[1].resource.serviceType[0].coding[0].code",
        ),
        (
            lambda b: b["entry"][1]["resource"].update(
                start="2026-01-05T09:00:00Z", end="2026-01-05T10:00:00Z"
            ),
            "Bundle.entry[1].resource.start",
        ),
        (
            lambda b: b["entry"][1]["resource"]["participant"][0]["actor"].update(
                reference="urn:uuid:nobody"
            ),
            "Bundle.entry[1].resource.participant[0].actor.reference",
        ),
        (
            lambda b: b["entry"][0]["resource"].update(birthDate="yesterday"),
            "Bundle.entry[0].resource.birthDate",
        ),
        (
            lambda b: b["entry"][1]["resource"].update(resourceType="Encounter"),
            "Bundle.entry[1].resource.resourceType",
        ),
        (lambda b: b.update(type="batch"), "Bundle.type"),
        (
            lambda b: b["entry"][1]["request"].update(url="Appointment/A-1001/x"),
            "Bundle.entry[1].request.url",
        ),
    ],
)
def test_a_bad_element_refuses_the_whole_bundle_naming_its_path(client, fhir_services, mutate, path):
    r = send(client, "POST", "/fhir/r4", bad(example("transaction-bundle"), mutate))
    assert r.status_code == 400
    assert path in issue_paths(r)
    assert count(fhir_services, patients) == 0 and count(fhir_services, sessions) == 0
    assert count(fhir_services, outbox) == 0


def test_a_refused_appointment_leaves_an_existing_session_as_it_was(client, fhir_services):
    assert send(client, "POST", "/fhir/r4", example("transaction-bundle")).status_code == 200
    before = the_session(fhir_services)
    body = example("appointment-reschedule")
    body["start"] = "2031-01-01T10:00:00Z"  # more than two years ahead
    body.pop("end")
    r = send(client, "PUT", "/fhir/r4/Appointment/A-1001", body)
    assert r.status_code == 400 and issue_paths(r) == ["Appointment.start"]
    assert the_session(fhir_services)["start_at"] == before["start_at"]


def test_wrong_content_type_is_415(client, fhir_services):
    r = send(
        client, "POST", "/fhir/r4", example("transaction-bundle"), **{"Content-Type": "application/json"}
    )
    assert r.status_code == 415 and issue_paths(r) == []
    assert r.json["issue"][0]["code"] == "not-supported"
    assert count(fhir_services, patients) == 0


def test_a_refusal_is_logged_with_the_route_never_the_patient_s_reference(client, caplog):
    caplog.set_level("INFO", logger="interlude")
    r = send(client, "PUT", "/fhir/r4/Patient/MRN-77123", "{not json")
    assert r.status_code == 400
    refused = [rec for rec in caplog.records if rec.getMessage() == "fhir push refused"]
    assert [rec.__dict__["path"] for rec in refused] == ["/fhir/r4/Patient/<rid>"]
    assert all("MRN-77123" not in rec.getMessage() + str(rec.__dict__) for rec in caplog.records)


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {API_TOKEN}"])
def test_a_missing_or_wrong_token_is_401_with_an_outcome(client, header):
    headers = {"Content-Type": FHIR}
    if header:
        headers["Authorization"] = header
    r = client.put("/fhir/r4/Patient/MRN-501", data=json.dumps({"resourceType": "Patient"}), headers=headers)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    assert r.json["resourceType"] == "OperationOutcome" and r.json["issue"][0]["code"] == "login"


def test_if_match_on_an_old_version_is_412_and_changes_nothing(client, fhir_services):
    assert send(client, "POST", "/fhir/r4", example("transaction-bundle")).status_code == 200
    before = the_session(fhir_services)
    r = send(
        client,
        "PUT",
        "/fhir/r4/Appointment/A-1001",
        example("appointment-reschedule"),
        **{"If-Match": 'W/"7"'},
    )
    assert r.status_code == 412 and r.json["issue"][0]["code"] == "conflict"
    assert the_session(fhir_services)["start_at"] == before["start_at"]
    patient = example("transaction-bundle")["entry"][0]["resource"]
    assert (
        send(client, "PUT", "/fhir/r4/Patient/MRN-501", patient, **{"If-Match": 'W/"2"'}).status_code == 412
    )
    assert (
        send(client, "PUT", "/fhir/r4/Patient/MRN-501", patient, **{"If-Match": 'W/"3"'}).status_code == 200
    )


@pytest.mark.parametrize(
    ("url", "body", "status", "path"),
    [
        ("/fhir/r4", b'{"resourceType": "Bundle", ', 400, None),
        ("/fhir/r4", b'{"resourceType": "Bundle", "id": "' + b"x" * 2_000_000 + b'"}', 413, None),
        ("/fhir/r4", b"[" * 50_000 + b"]" * 50_000, 400, None),
        ("/fhir/r4", json.dumps({"resourceType": "Patient"}), 400, "Bundle.resourceType"),
        (
            "/fhir/r4/Appointment/A-1001",
            json.dumps({"resourceType": "Patient", "id": "A-1001"}),
            400,
            "Appointment.resourceType",
        ),
        (
            "/fhir/r4/Appointment/A-1001",
            json.dumps({"resourceType": "Appointment", "id": "A-1001"}),
            400,
            "Appointment.participant",
        ),
        ("/fhir/r4/Patient/MRN-1", json.dumps({"resourceType": "Patient", "id": "MRN-2"}), 400, "Patient.id"),
        (
            "/fhir/r4/Patient/MRN-1",
            json.dumps({"resourceType": "Patient", "id": "MRN-1", "x": 1}),
            400,
            "Patient.x",
        ),
        ("/fhir/r4/Patient/" + "a" * 65, "{}", 400, "Patient.id"),
    ],
)
def test_bad_bodies_are_outcomes_never_500(client, fhir_services, url, body, status, path):
    method = "POST" if url == "/fhir/r4" else "PUT"
    r = send(client, method, url, body)
    assert r.status_code == status, r.data[:300]
    paths = issue_paths(r)
    if path:
        assert path in paths
    assert count(fhir_services, patients) == 0


def test_an_unknown_fhir_route_is_an_outcome(client):
    r = client.get("/fhir/r4/Observation/1", headers=AUTH)
    assert r.status_code in (404, 405) and r.json["resourceType"] == "OperationOutcome"


def test_a_real_fhir_client_puts_an_appointment(sqlite_url, clock):
    """fhirpy, a FHIR client in use, against the endpoint served over HTTP."""
    from fhirpy import SyncFHIRClient

    from .staff_helpers import LiveServer

    services = make_services(sqlite_url, clock, config=make_config(sqlite_url, extra=VISIT_TYPES))
    server = LiveServer(create_app(services=services))
    try:
        with server.running():
            fhir = SyncFHIRClient(
                f"{server.url}/fhir/r4",
                authorization=f"Bearer {API_TOKEN}",
                extra_headers={"Content-Type": FHIR},
            )
            patient = fhir.resource("Patient", **example("transaction-bundle")["entry"][0]["resource"])
            patient.save()
            appointment = fhir.resource("Appointment", **example("appointment-reschedule"))
            appointment.save()
            assert appointment["meta"]["versionId"] == "2"
            assert the_session(services)["modality"] == "iv"
            appointment["status"] = "cancelled"
            appointment["meta"] = {"versionId": "3"}
            appointment.save()
            assert the_session(services)["status"] == "cancelled"
            assert feed_reasons(services)[-1] == "cancelled from fhir Appointment/A-1001 v3"
    finally:
        services.engine.dispose()
