"""A patient's preferred channel: education goes by it only, preparation and safety by every
channel; set at enrolment or changed later (the booked sessions are re-planned, sent messages
never touched). The rule, the planner, the schedule key, the API, the migration. SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect, select, update

from service.db.engine import make_engine
from service.db.migrate import upgrade
from service.db.tables import audit_events, outbox, patients
from service.domain.channels import preferred_channels
from service.domain.planner import PatientFacts, SessionFacts, plan_session
from service.domain.quiet_hours import Window
from service.domain.schedule import Schedule
from service.schedules import ScheduleError, load_schedules, parse_schedule
from service.services.content import edits as content
from service.services.errors import InvalidInput
from service.web import create_app
from tests.databases import downgrade
from tests.helpers import API_TOKEN, book, cli_runner, count, enrol, patient_data, rows

ROOT = Path(__file__).resolve().parents[1]
NY = ZoneInfo("America/New_York")
WINDOW = Window(time(8, 0), time(20, 0))
BOTH = frozenset({"sms", "email"})
SMS = frozenset({"sms"})
EMAIL = frozenset({"email"})
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


# --- the rule ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preference", "usable", "expected"),
    [
        (None, BOTH, EMAIL),  # the default: email when there is an address
        (None, SMS, SMS),
        (None, EMAIL, EMAIL),
        ("sms", BOTH, SMS),
        ("email", BOTH, EMAIL),
        ("both", BOTH, BOTH),
        ("both", SMS, SMS),
        ("email", SMS, SMS),  # no usable email: the channel they have
        ("sms", EMAIL, EMAIL),
        ("sms", frozenset(), frozenset()),
    ],
)
def test_the_channels_education_goes_by(preference, usable, expected):
    assert preferred_channels(preference, usable) == expected


# --- the planner ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def default() -> Schedule:
    return load_schedules(ROOT / "schedules")["default"]


def _plan(schedule: Schedule, channels: frozenset[str], preferred: frozenset[str]) -> dict[str, set[str]]:
    now = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)
    start = datetime(2027, 3, 12, 14, 0, tzinfo=UTC)
    session = SessionFacts(start, datetime(2027, 3, 12, 16, 0, tzinfo=UTC) - start, "iv", 1, now)
    patient = PatientFacts(NY, channels, frozenset({"depression"}), now, preferred=preferred)
    out: dict[str, set[str]] = {}
    for pm in plan_session(schedule, session, patient, WINDOW, now):
        out.setdefault(pm.step.category, set()).add(pm.channel)
    return out


def test_education_goes_by_the_preferred_channel_and_the_rest_by_every_channel(default):
    by_email = _plan(default, BOTH, EMAIL)
    assert by_email["education"] == {"email"}
    assert by_email["prep"] == BOTH and by_email["safety"] == BOTH and by_email["admin"] == BOTH
    by_text = _plan(default, BOTH, SMS)
    assert by_text["education"] == {"sms"} and by_text["prep"] == BOTH and by_text["safety"] == BOTH
    assert _plan(default, BOTH, BOTH)["education"] == BOTH


def test_a_preferred_channel_the_patient_lacks_falls_back_to_the_first_they_have(default):
    assert _plan(default, SMS, EMAIL)["education"] == {"sms"}
    assert _plan(default, EMAIL, SMS)["education"] == {"email"}
    # Nothing preferred is usable: the step's first channel the patient has (sms, in step order).
    assert _plan(default, BOTH, frozenset())["education"] == {"sms"}


SCHEDULE = """
description = "channel_choice"

[[step]]
id = "learn_all"
anchor = "start"
offset = "-2d"
at = "10:00"
template = "integration_note"
category = "education"
channels = ["sms", "email"]
channel_choice = "all"

[[step]]
id = "prep_preferred"
anchor = "start"
offset = "-1d"
at = "10:00"
template = "integration_note"
category = "prep"
channels = ["sms", "email"]
channel_choice = "preferred"

[[step]]
id = "learn_default"
anchor = "start"
offset = "-3d"
at = "10:00"
template = "integration_note"
category = "education"
channels = ["sms", "email"]
"""


def test_a_step_says_which_channels_it_uses():
    schedule = parse_schedule(SCHEDULE, "choice.toml", "choice")
    assert [s.channel_choice for s in schedule.steps] == ["all", "preferred", None]
    assert [s.to_preferred_only for s in schedule.steps] == [False, True, True]
    now = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)
    start = datetime(2027, 3, 12, 14, 0, tzinfo=UTC)
    session = SessionFacts(start, datetime(2027, 3, 12, 16, 0, tzinfo=UTC) - start, "iv", 1, now)
    patient = PatientFacts(NY, BOTH, frozenset(), now, preferred=EMAIL)
    got: dict[str, set[str]] = {}
    for pm in plan_session(schedule, session, patient, WINDOW, now):
        got.setdefault(pm.step.id, set()).add(pm.channel)
    assert got == {"learn_all": BOTH, "prep_preferred": {"email"}, "learn_default": {"email"}}


def test_an_unknown_channel_choice_is_refused_naming_the_step_and_key():
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(
            SCHEDULE.replace('channel_choice = "all"', 'channel_choice = "some"'), "choice.toml", "choice"
        )
    assert caught.value.step == "learn_all" and caught.value.key == "channel_choice"
    assert "expected one of all, preferred" in str(caught.value)


def test_an_admin_sets_a_steps_channel_choice_and_the_booked_sessions_follow(services):
    p = enrol(services)  # no preference: education by email
    s = book(services, p["id"], "2027-03-12T09:00")
    assert _channels(services, s["id"], "education") == {"email"}
    result = content.save_step(services, "default", "integration_72h", {"channel_choice": "all"}, "a")
    assert result["raw"]["channel_choice"] == "all" and result["replanned"]["created"] == 1
    texts = {
        r["step_id"]
        for r in rows(services, session_id=s["id"], channel="sms")
        if r["category"] == "education"
    }
    assert texts == {"integration_72h"}
    with pytest.raises(InvalidInput) as caught:
        content.save_step(services, "default", "integration_72h", {"channel_choice": "most"}, "a")
    assert "expected one of all, preferred" in caught.value.errors["channel_choice"]
    cleared = content.save_step(services, "default", "integration_72h", {"channel_choice": ""}, "a")
    assert "channel_choice" not in cleared["raw"] and cleared["replanned"]["cancelled"] == 1


def test_the_step_form_offers_the_channel_choice(staff_services, admin_client):
    url = "/staff/schedules/default/steps/integration_72h"
    page = admin_client.get(url).get_data(as_text=True)
    assert 'id="channel_choice"' in page and "Default (preferred)" in page
    form = {
        "offset": "+3d",
        "at": "11:00",
        "channels": ["sms", "email"],
        "template": "integration_note",
        "channel_choice": "all",
        "action": "save",
    }
    raw = content.get_step(staff_services, "default", "integration_72h")["raw"]
    form.update({k: raw[k] for k in ("offset", "at", "template") if k in raw})
    assert admin_client.post(url, form).status_code == 302
    assert staff_services.schedule("default").step("integration_72h").channel_choice == "all"


# --- enrolment and the API -----------------------------------------------------------------------


@pytest.fixture
def client(services):
    app = create_app(services=services)
    app.testing = True
    return app.test_client()


def _education(services, session_id: int) -> dict[tuple[str, str], str]:
    return {
        (r["step_id"], r["channel"]): r["status"]
        for r in rows(services, session_id=session_id)
        if r["category"] == "education"
    }


def _channels(services, session_id: int, category: str, status: str = "pending") -> set[str]:
    return {
        r["channel"]
        for r in rows(services, session_id=session_id)
        if r["category"] == category and r["status"] == status
    }


def test_without_a_preference_education_goes_by_email_and_prep_by_both(services):
    p = enrol(services)
    assert p["preferred_channel"] is None
    s = book(services, p["id"], "2027-03-12T09:00")
    assert _channels(services, s["id"], "education") == {"email"}
    assert _channels(services, s["id"], "prep") == {"sms", "email"}
    texted = enrol(services, email=None, phone="+12025550150")
    s2 = book(services, texted["id"], "2027-03-12T13:00")
    assert _channels(services, s2["id"], "education") == {"sms"}


def test_enrolment_through_the_api_keeps_the_preferred_channel(client, services):
    r = client.post("/api/v1/patients", json=patient_data(preferred_channel="sms"), headers=AUTH)
    assert r.status_code == 201, r.json
    assert r.json["preferred_channel"] == "sms"
    got = client.get(f"/api/v1/patients/{r.json['id']}", headers=AUTH).json
    assert got["preferred_channel"] == "sms"
    s = book(services, r.json["id"], "2027-03-12T09:00")
    assert _channels(services, s["id"], "education") == {"sms"}
    assert _channels(services, s["id"], "safety") == {"sms", "email"}


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"preferred_channel": "fax"}, "expected one of"),
        ({"preferred_channel": 3}, ""),
        ({"preferred_channel": ["sms"]}, ""),
        ({"preferred_channel": "sms", "phone": None, "channels": ["email"]}, "phone"),
        ({"preferred_channel": "email", "email": None, "channels": ["sms"]}, "email"),
    ],
)
def test_a_bad_preferred_channel_is_refused_by_name(client, services, body, problem):
    r = client.post("/api/v1/patients", json=patient_data(**body), headers=AUTH)
    assert r.status_code == 400, r.json
    assert r.json["error"] == "invalid-input"
    assert problem in r.json["fields"]["preferred_channel"]
    assert count(services, patients) == 0


def test_changing_the_preferred_channel_moves_pending_education_and_never_sent_rows(client, services):
    p = client.post("/api/v1/patients", json=patient_data(preferred_channel="sms"), headers=AUTH).json
    s = book(services, p["id"], "2027-03-12T09:00")
    before = _education(services, s["id"])
    assert before and {channel for _, channel in before} == {"sms"}
    prep_before = {
        (r["id"], r["due_at"], r["status"])
        for r in rows(services, session_id=s["id"])
        if r["category"] == "prep"
    }
    # One education text has gone already.
    sent_step = sorted(before)[0][0]
    with services.engine.begin() as conn:
        conn.execute(
            update(outbox)
            .where(outbox.c.session_id == s["id"], outbox.c.step_id == sent_step, outbox.c.channel == "sms")
            .values(status="sent")
        )

    r = client.patch(f"/api/v1/patients/{p['id']}", json={"preferred_channel": "email"}, headers=AUTH)
    assert r.status_code == 200, r.json
    assert r.json["preferred_channel"] == "email"

    after = _education(services, s["id"])
    assert after[(sent_step, "sms")] == "sent"  # never touched
    for step_id, _channel in before:
        if step_id == sent_step:
            continue
        assert after[(step_id, "sms")] == "cancelled"
        assert after[(step_id, "email")] == "pending"
    prep_after = {
        (r["id"], r["due_at"], r["status"])
        for r in rows(services, session_id=s["id"])
        if r["category"] == "prep"
    }
    assert prep_after == prep_before  # preparation goes by both channels, as before
    with services.engine.connect() as conn:
        event = (
            conn.execute(select(audit_events).where(audit_events.c.action == "patient.updated"))
            .mappings()
            .one()
        )
    details = event["details"]
    assert details["fields"] == ["preferred_channel"] and details["preferred_channel"] == "email"
    assert details["replanned"]["sessions"] == 1 and details["replanned"]["cancelled"] >= 1

    # Back to the default (null): email, as now; nothing moves.
    r = client.patch(f"/api/v1/patients/{p['id']}", json={"preferred_channel": None}, headers=AUTH)
    assert r.status_code == 200 and r.json["preferred_channel"] is None
    assert _education(services, s["id"]) == after


def test_a_change_to_an_unusable_preference_is_refused_by_name(client, services):
    p = client.post("/api/v1/patients", json=patient_data(email=None, channels=["sms"]), headers=AUTH).json
    r = client.patch(f"/api/v1/patients/{p['id']}", json={"preferred_channel": "email"}, headers=AUTH)
    assert r.status_code == 400 and "preferred_channel" in r.json["fields"]
    r = client.patch(f"/api/v1/patients/{p['id']}", json={"preferred_channel": "texts"}, headers=AUTH)
    assert r.status_code == 400 and "preferred_channel" in r.json["fields"]
    r = client.patch(f"/api/v1/patients/{p['id']}", json={"shoe_size": 42}, headers=AUTH)
    assert r.status_code == 400 and "shoe_size" in r.json["fields"]


def test_the_document_describes_the_preferred_channel(client):
    doc = client.get("/api/v1/openapi.json").json
    schemas = doc["components"]["schemas"]
    for name in ("PatientNew", "PatientChange"):
        assert schemas[name]["properties"]["preferred_channel"]["enum"] == ["sms", "email", "both", None]
    assert "preferred_channel" in schemas["Patient"]["required"]


def test_the_cli_enrols_with_a_preferred_channel(services):
    runner = cli_runner(create_app(services=services))
    base = ["patient", "add", "--first-name", "Sam", "--last-name", "Lee", "--phone", "202-555-0177"]
    r = runner.invoke(args=[*base, "--email", "sam@example.org", "--preferred-channel", "both"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["preferred_channel"] == "both"
    r = runner.invoke(args=[*base, "--preferred-channel", "email"])  # no address
    assert r.exit_code != 0 and "preferred_channel" in r.output


# --- the staff pages ------------------------------------------------------------------------------


def test_the_new_patient_form_asks_how_education_goes_and_the_page_says_it(staff_services, nurse_client):
    form = nurse_client.get("/staff/patients").get_data(as_text=True)
    assert "Education messages by" in form and '<option value="both"' in form
    response = nurse_client.post(
        "/staff/patients/new",
        {
            "first_name": "Sam",
            "last_name": "Rivera",
            "phone": "(415) 555-0100",
            "email": "sam@example.org",
            "timezone": "America/Los_Angeles",
            "preferred_channel": "sms",
        },
    )
    assert response.status_code == 302
    page = nurse_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<dt>Education messages by</dt><dd>Text message</dd>" in page
    with staff_services.engine.connect() as conn:
        assert conn.execute(select(patients.c.preferred_channel)).scalar_one() == "sms"

    default = enrol(staff_services, first_name="Ana", phone="+12025550150")
    page = nurse_client.get(f"/staff/patients/{default['id']}").get_data(as_text=True)
    assert "<dd>Email (the default: email when there is an address, else text message)</dd>" in page


def test_the_new_patient_form_shows_an_unusable_choice_next_to_its_field(staff_services, nurse_client):
    response = nurse_client.post(
        "/staff/patients/new",
        {"first_name": "Sam", "last_name": "Rivera", "phone": "(415) 555-0100", "preferred_channel": "email"},
    )
    assert response.status_code == 303  # back to the form, which names the field
    page = nurse_client.get(response.headers["Location"]).get_data(as_text=True)
    assert (
        'id="preferred_channel-error">email needs an email address: give one, or choose text message<' in page
    )
    assert '<option value="email" selected>' in page
    assert count(staff_services, patients) == 0


# --- the migration -------------------------------------------------------------------------------


def test_migration_0010_adds_a_nullable_preferred_channel_and_goes_back(db_url):
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        downgrade(engine, "0009")
        assert "preferred_channel" not in {c["name"] for c in inspect(engine).get_columns("patients")}
        upgrade(engine)
        columns = {c["name"]: c for c in inspect(engine).get_columns("patients")}
        assert columns["preferred_channel"]["nullable"] is True
        assert columns["preferred_channel"]["type"].length == 8
    finally:
        engine.dispose()
