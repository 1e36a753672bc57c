"""/api/v1 fuzzed from its own published OpenAPI document (Schemathesis, in process, SQLite and
PostgreSQL): no input makes it fail, every refusal is JSON naming what was wrong, every answer
matches the document. Then each input the fuzzer once broke the API with, kept as a regression."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks

from service.services.outbox.dispatch import Dispatcher
from service.web import create_app
from service.web.openapi import MAX_ID
from tests.helpers import API_TOKEN, book, enrol, patient_data

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


@dataclass
class Existing:
    """Rows the fuzzer's ids are pointed at, so that it gets past 404 into the real work."""

    patient: int
    started: int  # a session that has begun: complete and no-show are allowed
    booked: int  # a session still ahead: reschedule and cancel are allowed


@pytest.fixture
def existing(services, clock) -> Existing:
    patient = enrol(services)
    started = book(services, patient["id"], "2027-03-03T09:00")
    booked = book(services, patient["id"], "2027-03-20T09:00")
    Dispatcher(services).run_once()  # something for /deliveries and /sandbox/messages to list
    clock.advance(timedelta(days=1, hours=1))
    return Existing(patient["id"], started["id"], booked["id"])


@pytest.fixture
def flask_app(services):
    app = create_app(services=services)
    app.testing = True
    return app


def refusals_are_json_naming_the_problem(ctx: Any, response: Any, case: Any) -> None:
    """Every 4xx is a JSON object with an `error` code; a 400 names each bad field in `fields`."""
    if not 400 <= response.status_code < 500:
        return
    body = json.loads(response.content)
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], body
    if response.status_code == 400:
        assert body["error"] == "invalid-input", body
        assert isinstance(body.get("fields"), dict) and body["fields"], body


# A query parameter the API does not know is ignored, as HTTP APIs commonly do (a body field it
# does not know is refused by name): the fuzzer is not to count the first as a failure.
CONFIG = schemathesis.Config.from_dict({"generation": {"allow-extra-parameters": False}})
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
    refusals_are_json_naming_the_problem,
]


def aim(case: Any, existing: Existing) -> None:
    """Point two in three of the generated ids that are valid at rows that exist.

    An id outside the document's range stays as generated: the fuzzer sent it to be refused.
    """
    params = case.path_parameters or {}
    sid = params.get("sid")
    if _valid_id(sid, MAX_ID) and sid % 3:
        params["sid"] = existing.started if sid % 3 == 1 else existing.booked
    pid = params.get("pid")
    if _valid_id(pid, MAX_ID) and pid % 3:
        params["pid"] = existing.patient
    body = case.body if isinstance(case.body, dict) else {}
    given = body.get("patient_id")
    if _valid_id(given, 2**62) and given % 3:
        body["patient_id"] = existing.patient


def _valid_id(value: Any, top: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= top


def fuzz(operation: Any, mode: GenerationMode, existing: Existing) -> None:
    """Up to 30 derandomised requests to one operation; raises on the first failed check."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=30,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        aim(case, existing)
        case.call_and_validate(headers=AUTH, checks=CHECKS)

    run()


# Schemathesis's own pytest integration (`from_fixture`) does not run on pytest 9, so each
# operation is driven here through its Hypothesis strategy; every failure is collected and named.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_no_input_breaks_the_api_and_every_refusal_names_what_was_wrong(flask_app, existing, mode):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", flask_app, config=CONFIG)
    failures = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        try:
            fuzz(operation, mode, existing)
        except Exception as exc:  # every operation is tried; all failures are reported together
            failures[operation.label] = f"{type(exc).__name__}: {exc}"
    assert not failures, "\n\n".join(f"{label}\n{why}" for label, why in failures.items())


# --- the document itself -----------------------------------------------------------------------


@pytest.fixture
def client(flask_app):
    return flask_app.test_client()


def test_the_document_is_served_without_a_token_and_lists_every_api_route(client, flask_app):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200 and r.is_json
    doc = r.json
    assert doc["openapi"].startswith("3.0")
    documented = {
        (method.upper(), "/api/v1" + re.sub(r"\{(\w+)\}", r"<\1>", path))
        for path, item in doc["paths"].items()
        for method in item
        if method != "parameters"
    }
    routed = {
        (method, rule.rule)
        for rule in flask_app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.endpoint != "api.openapi_document"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented == routed


def test_the_document_names_the_configured_languages_and_schedules(client, services):
    doc = client.get("/api/v1/openapi.json").json
    fields = doc["components"]["schemas"]["PatientNew"]["properties"]
    assert fields["language"]["enum"] == list(services.config.messages.languages)
    assert fields["schedule"]["enum"] == sorted(services.schedules)
    assert "America/New_York" in fields["timezone"]["enum"] and "US/Eastern" not in fields["timezone"]["enum"]


def test_the_data_routes_still_need_the_token(client):
    assert client.get("/api/v1/patients/1").status_code == 401
    assert client.get("/api/v1/deliveries").status_code == 401


# --- what the fuzzer found ---------------------------------------------------------------------


@pytest.fixture
def patient_id(client) -> int:
    r = client.post("/api/v1/patients", json=patient_data(), headers=AUTH)
    assert r.status_code == 201, r.json
    return int(r.json["id"])


@pytest.mark.parametrize("path", ["/api/v1/sandbox/messages?limit=²", "/api/v1/deliveries?limit=١٢"])
def test_a_limit_in_non_ascii_digits_is_refused_by_name(client, path):
    r = client.get(path, headers=AUTH)
    assert r.status_code == 400 and "limit" in r.json["fields"]


@pytest.mark.parametrize("field", ["first_name", "last_name", "external_ref"])
@pytest.mark.parametrize("value", ["Ma\x00ria", "Maria\ud800", "Ma\x1bria"])
def test_text_a_database_cannot_keep_is_refused_by_name(client, services, field, value):
    r = client.post("/api/v1/patients", json=patient_data(**{field: value}), headers=AUTH)
    assert r.status_code == 400 and field in r.json["fields"], r.json


@pytest.mark.parametrize("value", ["ma\x00ria@example.org", "ma\ud800ria@example.org"])
def test_an_email_a_database_cannot_keep_is_refused_by_name(client, value):
    r = client.post("/api/v1/patients", json=patient_data(email=value), headers=AUTH)
    assert r.status_code == 400 and "email" in r.json["fields"]


def test_a_language_without_templates_is_refused_by_name(client):
    r = client.post("/api/v1/patients", json=patient_data(language="fr"), headers=AUTH)
    assert r.status_code == 400 and "en, es" in r.json["fields"]["language"]


@pytest.mark.parametrize("reason", ["x" * 201, "moved\x00", "moved\ud800"])
def test_a_cancel_reason_the_session_row_cannot_keep_is_refused_by_name(client, services, patient_id, reason):
    sid = book(services, patient_id, "2027-03-12T09:00")["id"]
    r = client.post(f"/api/v1/sessions/{sid}/cancel", json={"reason": reason}, headers=AUTH)
    assert r.status_code == 400 and "reason" in r.json["fields"]
    assert client.get(f"/api/v1/sessions/{sid}", headers=AUTH).json["status"] == "booked"


def test_a_reason_of_the_longest_allowed_length_is_kept(client, services, patient_id):
    sid = book(services, patient_id, "2027-03-12T09:00")["id"]
    r = client.post(f"/api/v1/sessions/{sid}/cancel", json={"reason": "x" * 200}, headers=AUTH)
    assert r.status_code == 200 and r.json["status"] == "cancelled"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/patients/²/consent"),
        ("post", "/api/v1/inbox/²/handled"),
        ("post", "/api/v1/escalations/١٢/ack"),
    ],
)
def test_an_inbox_escalation_or_consent_id_in_non_ascii_digits_is_not_found(client, method, path):
    r = getattr(client, method)(path, json={"by": "api"}, headers=AUTH)
    assert r.status_code == 404 and r.is_json


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"by": "x" * 121}, "by"),
        ({"by": "nurse\x00"}, "by"),
        ({"by": 7}, "by"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_marking_handled_refuses_a_who_the_audit_trail_cannot_keep(client, body, field):
    r = client.post("/api/v1/inbox/1/handled", json=body, headers=AUTH)
    assert r.status_code == 400 and field in r.json["fields"]


@pytest.mark.parametrize("body", [{"by": "Dr\x00Rivera"}, {"by": "Dr Rivera", "outcome": "called\x00back"}])
def test_acknowledging_refuses_control_characters_by_name(client, body):
    r = client.post("/api/v1/escalations/1/ack", json=body, headers=AUTH)
    assert r.status_code == 400 and set(r.json["fields"]) <= {"by", "outcome"}


def test_deeply_nested_json_to_the_inbox_is_refused_without_parsing_it(client):
    body = "[" * 5000 + "]" * 5000
    r = client.post("/api/v1/inbox/1/handled", data=body, content_type="application/json", headers=AUTH)
    assert r.status_code == 400 and "nested" in r.json["fields"]["body"]
