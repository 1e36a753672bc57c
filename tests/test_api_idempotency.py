"""The JSON API's Idempotency-Key on POSTs, the upsert of a patient by external reference, and
migration 0011 (idempotency keys and feed messages), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, inspect, select

from service.db.engine import make_engine
from service.db.migrate import upgrade
from service.db.tables import audit_events, idempotency_keys, patients, sessions
from service.services.outbox import housekeeping
from service.web import api, create_app
from tests.databases import downgrade
from tests.helpers import API_TOKEN, count, enrol, patient_data

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
KEY = "3f0c2a4e-6f7b-4d1a-9c55-0d2b8e7a1f10"


@pytest.fixture
def flask_app(services):
    app = create_app(services=services)
    app.testing = True
    return app


@pytest.fixture
def client(flask_app):
    return flask_app.test_client()


def post(client: Any, path: str, body: Any, key: str | None = KEY, **headers: str) -> Any:
    sent = {**AUTH, **headers}
    if key is not None:
        sent["Idempotency-Key"] = key
    return client.post(path, json=body, headers=sent)


def audited(app: Any, action: str) -> int:
    with app.engine.connect() as conn:
        query = select(func.count()).select_from(audit_events).where(audit_events.c.action == action)
        return int(conn.execute(query).scalar_one())


# --- a retried POST ----------------------------------------------------------------------------


def test_a_retried_enrolment_enrols_once_and_answers_the_same(client, services):
    first = post(client, "/api/v1/patients", patient_data())
    again = post(client, "/api/v1/patients", patient_data())
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Cache-Control"] == "no-store"
    assert count(services, patients) == 1
    assert audited(services, "patient.enrolled") == 1


def test_a_retried_booking_books_one_session(client, services):
    patient = enrol(services)
    booking = {"patient_id": patient["id"], "start": "2027-03-12T09:00", "modality": "iv"}
    first = post(client, "/api/v1/sessions", booking)
    again = post(client, "/api/v1/sessions", booking)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert count(services, sessions) == 1


def test_a_retried_cancel_answers_the_first_answer(client, services):
    patient = enrol(services)
    booking = {"patient_id": patient["id"], "start": "2027-03-12T09:00", "modality": "iv"}
    booked = post(client, "/api/v1/sessions", booking, key="book-1")
    sid = booked.json["id"]
    first = post(client, f"/api/v1/sessions/{sid}/cancel", {"reason": "unwell"}, key="cancel-1")
    again = post(client, f"/api/v1/sessions/{sid}/cancel", {"reason": "unwell"}, key="cancel-1")
    assert first.status_code == again.status_code == 200 and again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert audited(services, "session.cancelled") == 1


def test_each_post_without_a_key_runs(client, services):
    assert post(client, "/api/v1/patients", patient_data(), key=None).status_code == 201
    assert post(client, "/api/v1/patients", patient_data(), key=None).status_code == 201
    assert count(services, patients) == 2


def test_the_posts_of_the_replies_api_take_a_key_too(client, services):
    path = "/api/v1/inbox/999/handled"
    r = post(client, path, {"by": "nurse@example.org"}, key="a\x7f")
    assert r.status_code == 400 and "Idempotency-Key" in r.json["fields"]
    assert post(client, path, {"by": "nurse@example.org"}).status_code == 404
    assert count(services, idempotency_keys) == 0  # an error keeps nothing


# --- refused keys ------------------------------------------------------------------------------


def test_the_same_key_with_another_body_is_refused(client, services):
    assert post(client, "/api/v1/patients", patient_data()).status_code == 201
    r = post(client, "/api/v1/patients", patient_data(first_name="Ana"))
    assert r.status_code == 422
    assert r.json["error"] == "idempotency-key-reused"
    assert "Idempotency-Key already used for another request to /api/v1/patients" in r.json["message"]
    assert count(services, patients) == 1


def test_the_same_key_on_another_path_is_refused(client, services):
    first = post(client, "/api/v1/patients", patient_data())
    booking = {"patient_id": first.json["id"], "start": "2027-03-12T09:00", "modality": "iv"}
    r = post(client, "/api/v1/sessions", booking)
    assert r.status_code == 422
    assert r.json["message"] == "Idempotency-Key already used for POST /api/v1/patients: send a new key"
    assert count(services, sessions) == 0


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("", "empty"),
        ("k" * 201, "201 characters: at most 200"),
        ("clé-1", "only printable ASCII"),
        ("a\x7fb", "only printable ASCII"),
    ],
)
def test_a_bad_key_is_refused_naming_the_header(client, services, key, why):
    r = post(client, "/api/v1/patients", patient_data(), key=key)
    assert r.status_code == 400, r.json
    assert r.json["error"] == "invalid-input"
    assert why in r.json["fields"]["Idempotency-Key"]
    assert count(services, patients) == 0


def test_the_longest_key_is_taken(client, services):
    key = "".join(chr(32 + i % 95) for i in range(200))
    assert post(client, "/api/v1/patients", patient_data(), key=key).status_code == 201
    assert post(client, "/api/v1/patients", patient_data(), key=key).headers["Idempotent-Replayed"] == "true"
    assert count(services, patients) == 1


def test_a_stored_answer_goes_only_to_a_client_with_the_token(client, services):
    assert post(client, "/api/v1/patients", patient_data()).status_code == 201
    r = post(client, "/api/v1/patients", patient_data(), Authorization="Bearer wrong")
    assert r.status_code == 401 and r.json["error"] == "unauthorized"
    r = post(client, "/api/v1/patients", patient_data(), key="", Authorization="Bearer wrong")
    assert r.status_code == 401


def test_after_an_error_the_same_key_may_be_sent_again(client, services):
    r = post(client, "/api/v1/patients", patient_data(phone=None, email=None))
    assert r.status_code == 400
    first = post(client, "/api/v1/patients", patient_data())
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    assert post(client, "/api/v1/patients", patient_data()).json == first.json
    assert count(services, patients) == 1


# --- two at once -------------------------------------------------------------------------------


def test_a_retry_while_the_first_still_runs_is_answered_409_and_nothing_runs_twice(
    flask_app, services, monkeypatch
):
    started, go_on = threading.Event(), threading.Event()
    real = api.create_patient

    def slow(*args: Any, **kwargs: Any) -> Any:
        started.set()
        assert go_on.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "create_patient", slow)
    answers: dict[str, Any] = {}
    first = threading.Thread(
        target=lambda: answers.update(first=post(flask_app.test_client(), "/api/v1/patients", patient_data()))
    )
    first.start()
    try:
        assert started.wait(10)
        second = post(flask_app.test_client(), "/api/v1/patients", patient_data())
    finally:
        go_on.set()
        first.join(10)
    assert second.status_code == 409
    assert second.json["error"] == "idempotency-key-in-progress"
    assert second.headers["Retry-After"] == "1"
    assert answers["first"].status_code == 201
    third = post(flask_app.test_client(), "/api/v1/patients", patient_data())
    assert third.json == answers["first"].json and third.headers["Idempotent-Replayed"] == "true"
    assert count(services, patients) == 1


def test_requests_sent_at_once_with_one_key_run_once(pg_url, clock):
    from tests.helpers import make_services

    app_services = make_services(pg_url, clock)
    try:
        app = create_app(services=app_services)
        app.testing = True
        barrier = threading.Barrier(8)
        answers: list[Any] = []

        def send() -> None:
            client = app.test_client()
            barrier.wait(10)
            answers.append(post(client, "/api/v1/patients", patient_data()))

        threads = [threading.Thread(target=send) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(answers) == 8
        ran = [r for r in answers if r.status_code == 201 and "Idempotent-Replayed" not in r.headers]
        assert len(ran) == 1
        for r in answers:
            assert (r.status_code, r.json.get("error")) in {(201, None), (409, "idempotency-key-in-progress")}
            if r.status_code == 201:
                assert r.json == ran[0].json
        assert count(app_services, patients) == 1
        assert audited(app_services, "patient.enrolled") == 1
    finally:
        app_services.engine.dispose()


# --- expiry ------------------------------------------------------------------------------------


def test_housekeeping_prunes_keys_after_a_day_and_an_expired_key_runs_again(client, services, clock):
    assert post(client, "/api/v1/patients", patient_data()).status_code == 201
    clock.advance(timedelta(hours=23))
    assert housekeeping.run(services).counts["idempotency_keys"] == 0
    assert post(client, "/api/v1/patients", patient_data()).headers["Idempotent-Replayed"] == "true"
    clock.advance(timedelta(hours=2))
    assert housekeeping.run(services, dry_run=True).counts["idempotency_keys"] == 1
    assert housekeeping.run(services).counts["idempotency_keys"] == 1
    assert count(services, idempotency_keys) == 0
    again = post(client, "/api/v1/patients", patient_data())
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert count(services, patients) == 2


def test_an_expired_key_not_yet_pruned_is_free_again(client, services, clock):
    assert post(client, "/api/v1/patients", patient_data()).status_code == 201
    clock.advance(timedelta(hours=24, minutes=1))
    r = post(client, "/api/v1/patients", patient_data(first_name="Ana"))
    assert r.status_code == 201 and r.json["first_name"] == "Ana"
    assert count(services, idempotency_keys) == 1


# --- upsert by external reference --------------------------------------------------------------


def put(client: Any, ref: str, body: Any) -> Any:
    return client.put(f"/api/v1/patients/by-ref/{ref}", json=body, headers=AUTH)


def test_put_by_ref_enrols_then_updates_the_same_patient(client, services):
    created = put(client, "EHR-1001", patient_data())
    assert created.status_code == 201, created.json
    assert created.json["external_ref"] == "EHR-1001"
    updated = put(client, "EHR-1001", {"phone": "+1 202 555 0199", "first_name": "Mária"})
    assert updated.status_code == 200, updated.json
    assert updated.json["id"] == created.json["id"]
    assert updated.json["phone"] == "+12025550199" and updated.json["first_name"] == "Mária"
    assert updated.json["last_name"] == "Lopez"  # not sent: kept
    assert count(services, patients) == 1
    assert audited(services, "patient.enrolled") == 1 and audited(services, "patient.updated") == 1


def test_put_by_ref_with_nothing_new_changes_nothing(client, services):
    created = put(client, "EHR-1001", patient_data())
    same = put(client, "EHR-1001", patient_data())
    assert same.status_code == 200 and same.json == created.json
    assert audited(services, "patient.updated") == 0


def test_put_by_ref_updates_a_patient_enrolled_by_post(client, services):
    enrolled = post(client, "/api/v1/patients", patient_data(external_ref="EHR-7"), key=None)
    r = put(client, "EHR-7", {"language": "es", "external_ref": "EHR-7"})
    assert r.status_code == 200 and r.json["id"] == enrolled.json["id"] and r.json["language"] == "es"
    assert count(services, patients) == 1


def test_put_by_ref_refuses_another_ref_in_the_body(client, services):
    r = put(client, "EHR-1", patient_data(external_ref="EHR-2"))
    assert r.status_code == 400
    assert r.json["fields"] == {"external_ref": "must be the reference in the path, 'EHR-1'"}
    r = put(client, "EHR-1", patient_data(external_ref=None))
    assert r.status_code == 400 and r.json["fields"] == {"external_ref": "may not be null"}
    assert count(services, patients) == 0


def test_put_by_ref_refuses_a_bad_ref_or_body_by_name(client, services):
    r = put(client, "%20", patient_data())
    assert r.status_code == 400 and r.json["fields"] == {
        "external_ref": "expected non-empty text: type some words"
    }
    r = put(client, "R" * 101, patient_data())
    assert r.status_code == 400 and "at most 100" in r.json["fields"]["external_ref"]
    r = put(client, "EHR-1", {"first_name": "Ana"})
    assert r.status_code == 400 and r.json["fields"]["last_name"] == "required"
    r = put(client, "EHR-1", ["not", "an", "object"])
    assert r.status_code == 400 and r.json["fields"] == {"body": "expected a JSON object"}
    assert count(services, patients) == 0


def test_put_by_ref_sent_at_once_enrols_one_patient(pg_url, clock):
    from tests.helpers import make_services

    app_services = make_services(pg_url, clock)
    try:
        app = create_app(services=app_services)
        app.testing = True
        barrier = threading.Barrier(6)
        answers: list[Any] = []

        def send() -> None:
            client = app.test_client()
            barrier.wait(10)
            answers.append(put(client, "EHR-RACE", patient_data()))

        threads = [threading.Thread(target=send) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(r.status_code for r in answers) == [200] * 5 + [201]
        assert count(app_services, patients) == 1
    finally:
        app_services.engine.dispose()


# --- migration 0011 ----------------------------------------------------------------------------


def test_migration_0011_adds_the_idempotency_and_feed_tables_and_goes_back(db_url):
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        downgrade(engine, "0010")
        tables = set(inspect(engine).get_table_names())
        assert not {"idempotency_keys", "feed_messages"} & tables and "patients" in tables
        upgrade(engine)
        found = inspect(engine)
        unique = {
            table: {tuple(c["column_names"]) for c in found.get_unique_constraints(table)}
            for table in ("idempotency_keys", "feed_messages")
        }
        assert unique == {"idempotency_keys": {("key", "path")}, "feed_messages": {("source", "message_id")}}
        columns = {c["name"]: c for c in found.get_columns("idempotency_keys")}
        assert columns["status"]["nullable"] and columns["key"]["type"].length == 200
        assert {c["name"] for c in found.get_columns("feed_messages")} == {
            "id",
            "source",
            "message_id",
            "received_at",
            "result",
            "detail",
        }
    finally:
        engine.dispose()
