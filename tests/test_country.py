"""The clinic's country: its emergency and crisis lines in every safety message, patients from
countries it does not take refused by name (API, staff form, CLI), and the clinic's numbers in
international form for a patient whose phone is in another country."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from service.checks import _crisis_numbers
from service.config import ConfigError, parse_config
from service.db.tables import patients
from service.services.replies.inbound import Inbound, handle_inbound
from service.template_context import display_phone, message_context
from service.templates import MessageTemplates
from service.web import create_app
from tests.helpers import API_TOKEN, cli_runner, count, enrol, make_config, make_services, patient_data

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
AU_PHONE = "+61 491 570 156"  # a number the Australian regulator keeps for fiction
ACCEPTS_AU = '[clinic]\ncountries = ["AU"]\n'
GB_CLINIC = """
[clinic]
country = "GB"
timezone = "Europe/London"
phone = "+442079460000"
after_hours_phone = "+442079460999"
emergency_number = "999"
crisis_line = "111"
"""


def services_with(db_url: str, clock: Any, extra: str) -> Any:
    return make_services(db_url, clock, config=make_config(db_url, extra=extra))


@pytest.fixture
def client(services):
    app = create_app(services=services)
    app.testing = True
    return app.test_client()


# --- configuration ---------------------------------------------------------------------------


def test_a_us_clinic_by_default_names_911_and_988():
    clinic = parse_config("", "c.toml", {}).clinic
    assert (clinic.country, clinic.countries) == ("US", ())
    assert (clinic.emergency, clinic.crisis, clinic.crisis_text) == ("911", "988", "988")


def test_canada_has_the_same_lines_by_default():
    clinic = parse_config('[clinic]\ncountry = "CA"\ntimezone = "America/Toronto"', "c.toml", {}).clinic
    assert (clinic.emergency, clinic.crisis) == ("911", "988")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[clinic]\ncountry = "XX"', "c.toml: clinic.country: unknown country 'XX'"),
        ('[clinic]\ncountry = "gb"', "did you mean 'GB'?"),
        ('[clinic]\ncountry = "USA"', "clinic.country: unknown country 'USA'"),
        ('[clinic]\ncountries = ["AU", "Mars"]', "clinic.countries[1]: unknown country 'Mars'"),
        ('[clinic]\ncountries = "AU"', "clinic.countries: expected a list of strings"),
        ('[clinic]\ncountry = "GB"', "clinic.emergency_number: required for clinic.country 'GB'"),
        ('[clinic]\ncountry = "GB"\nemergency_number = "999"', "clinic.crisis_line: required for"),
        ('[clinic]\nemergency_number = "call 911"', "clinic.emergency_number: expected a number"),
        ('[clinic]\ncrisis_line_text = "text HOME"', "clinic.crisis_line_text: expected a number"),
    ],
)
def test_a_bad_country_or_missing_lines_refuse_to_start_naming_the_key(text, needle):
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "c.toml", {})
    assert needle in str(caught.value)


def test_a_clinic_abroad_with_its_own_lines_starts():
    clinic = parse_config(GB_CLINIC + 'crisis_line_text = "85258"\n', "c.toml", {}).clinic
    assert (clinic.emergency, clinic.crisis, clinic.crisis_text) == ("999", "111", "85258")
    assert clinic.accepted_countries == ("GB",)


# --- who the clinic takes ----------------------------------------------------------------------


def test_an_australian_phone_is_refused_by_a_us_clinic_naming_the_field(client, services):
    r = client.post("/api/v1/patients", json=patient_data(phone=AU_PHONE), headers=AUTH)
    assert r.status_code == 400 and r.json["error"] == "invalid-input"
    assert r.json["fields"] == {
        "phone": "a number in AU; this clinic accepts US numbers (set [clinic] countries to accept others)"
    }
    assert count(services, patients) == 0


def test_a_sydney_time_zone_is_refused_by_a_us_clinic_naming_the_field(client, services):
    r = client.post("/api/v1/patients", json=patient_data(timezone="Australia/Sydney"), headers=AUTH)
    assert r.status_code == 400
    assert set(r.json["fields"]) == {"timezone"}
    assert r.json["fields"]["timezone"].startswith("a time zone in AU; this clinic accepts patients in US")
    assert count(services, patients) == 0


def test_both_fields_are_named_at_once_and_a_change_to_a_foreign_number_is_refused(client, services):
    r = client.post(
        "/api/v1/patients", json=patient_data(phone=AU_PHONE, timezone="Australia/Sydney"), headers=AUTH
    )
    assert r.status_code == 400 and set(r.json["fields"]) == {"phone", "timezone"}
    p = client.post("/api/v1/patients", json=patient_data(), headers=AUTH).json
    r = client.patch(f"/api/v1/patients/{p['id']}", json={"phone": AU_PHONE}, headers=AUTH)
    assert r.status_code == 400 and "a number in AU" in r.json["fields"]["phone"]


@pytest.mark.parametrize("zone", ["UTC", "America/Chicago", "Pacific/Honolulu"])
def test_a_zone_of_the_clinics_country_or_of_no_single_country_is_accepted(client, zone):
    r = client.post("/api/v1/patients", json=patient_data(timezone=zone), headers=AUTH)
    assert r.status_code == 201, r.json


def test_a_listed_country_is_accepted(db_url, clock):
    app = services_with(db_url, clock, ACCEPTS_AU)
    try:
        client = create_app(services=app).test_client()
        r = client.post(
            "/api/v1/patients", json=patient_data(phone=AU_PHONE, timezone="Australia/Sydney"), headers=AUTH
        )
        assert r.status_code == 201, r.json
        assert r.json["phone"] == "+61491570156" and r.json["timezone"] == "Australia/Sydney"
        r = client.post("/api/v1/patients", json=patient_data(phone="+44 20 7946 0000"), headers=AUTH)
        assert r.status_code == 400
        assert r.json["fields"]["phone"].startswith("a number in GB; this clinic accepts US and AU numbers")
    finally:
        app.engine.dispose()


def test_a_number_without_country_code_is_read_in_the_clinics_country(db_url, clock):
    app = services_with(db_url, clock, GB_CLINIC)
    try:
        p = enrol(app, phone="020 7946 0123", timezone="Europe/London")
        assert p["phone"] == "+442079460123"
    finally:
        app.engine.dispose()


def test_the_staff_form_refuses_a_foreign_number_next_to_the_field(staff_services, admin_client):
    response = admin_client.post(
        "/staff/patients/new",
        {"first_name": "Sam", "last_name": "Lee", "phone": AU_PHONE, "timezone": "America/Chicago"},
    )
    assert response.status_code == 303  # back to the form, which names the field
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "a number in AU" in page
    assert count(staff_services, patients) == 0


def test_the_cli_refuses_a_foreign_time_zone_in_one_line(sqlite_url, clock):
    runner = cli_runner(create_app(services=make_services(sqlite_url, clock)))
    args = ["patient", "add", "--first-name", "A", "--last-name", "B", "--phone", "2025550177"]
    r = runner.invoke(args=[*args, "--tz", "Australia/Sydney"])
    assert r.exit_code == 2 and r.output.startswith("error: ") and "timezone" in r.output
    assert "a time zone in AU" in r.output


# --- what the patient is told ------------------------------------------------------------------


def test_a_crisis_reply_of_a_clinic_in_gb_names_its_own_lines(db_url, clock):
    app = services_with(db_url, clock, GB_CLINIC)
    try:
        enrol(app, phone="+44 7400 123456", timezone="Europe/London")
        for sid, text in (("SMgb1", "I want to end my life"), ("SMgb2", "I took too many pills")):
            result = handle_inbound(app, Inbound(sid, "+447400123456", text))
            assert result.kind == "crisis" and result.reply
            assert "999" in result.reply and "911" not in result.reply and "988" not in result.reply
        suicide = handle_inbound(app, Inbound("SMgb3", "+447400123456", "I want to kill myself")).reply
        assert suicide and "111" in suicide and "020 7946 0999" in suicide  # national form at home
    finally:
        app.engine.dispose()


def test_every_safety_template_names_the_configured_lines_and_not_the_us_ones(sqlite_url, clock):
    app = services_with(sqlite_url, clock, GB_CLINIC)
    try:
        patient = {"first_name": "Alex", "timezone": "Europe/London", "detailed_messages": False}
        start = datetime(2027, 3, 12, 14, 0, tzinfo=UTC)
        session = {"start_at": start, "duration_minutes": 60, "modality": "iv", "number": 1}
        london = ZoneInfo("Europe/London")
        for name in ("checkin_same_day", "checkin_next_day", "reply_crisis", "staff_reply_call_us"):
            for lang in ("en", "es"):
                context = message_context(app.config.clinic, london, patient, session, lang)
                body = app.templates.render(name, "sms", lang, context).body
                assert "999" in body and "911" not in body and "988" not in body, (name, lang, body)
    finally:
        app.engine.dispose()


def test_the_check_wants_the_configured_lines_in_a_safety_template(services):
    config, templates = services.config, services.templates
    assert _crisis_numbers(config, templates, "checkin_same_day", "s") == []
    gb = parse_config(GB_CLINIC, "c.toml", {})
    assert _crisis_numbers(gb, templates, "checkin_same_day", "s") == []  # variables, not numbers
    source = templates.source("checkin_same_day/en/sms.txt")
    path = "checkin_same_day/en/sms.txt"
    for dropped, missing in (("{{ clinic.emergency }}", "911"), ("{{ clinic.crisis_line }}", "988")):
        edited = MessageTemplates(templates.folder, overlays={path: source.replace(dropped, "")})
        problems = _crisis_numbers(config, edited, "checkin_same_day", "s")
        assert [p.message for p in problems] == [f"safety message (step 's') does not name {missing}"]
        # Written out, the configured number passes; another country's does not.
        literal = MessageTemplates(templates.folder, overlays={path: source.replace(dropped, missing)})
        assert _crisis_numbers(config, literal, "checkin_same_day", "s") == []
        assert _crisis_numbers(gb, literal, "checkin_same_day", "s") != []


# --- numbers for a patient abroad --------------------------------------------------------------


def test_display_phone_is_national_at_home_and_international_abroad():
    assert display_phone("+12025550100") == "(202) 555-0100"
    assert display_phone("+12025550100", "US") == "(202) 555-0100"
    assert display_phone("+12025550100", "AU") == "+1 202-555-0100"
    assert display_phone("+61491570156", "AU") == "0491 570 156"


def test_a_patient_abroad_gets_the_clinics_numbers_in_international_form(db_url, clock):
    app = services_with(db_url, clock, ACCEPTS_AU)
    try:
        enrol(app, phone=AU_PHONE, timezone="Australia/Sydney")
        reply = handle_inbound(app, Inbound("SMau1", "+61491570156", "HELP")).reply
        assert reply and "+1 202-555-0100" in reply and "(202) 555-0100" not in reply
        crisis = handle_inbound(app, Inbound("SMau2", "+61491570156", "I want to kill myself")).reply
        assert crisis and "+1 202-555-0199" in crisis
        # The lines stay the clinic's country's (see config.example.toml, [clinic] countries).
        assert "911" in crisis and "988" in crisis
        # At home, and for an email-only patient in the clinic's country, the national form.
        home = handle_inbound(app, Inbound("SMau3", "+12025550143", "HELP")).reply
        assert home is not None
        clinic = app.config.clinic
        by_zone = {"first_name": "A", "timezone": "Australia/Sydney", "detailed_messages": False}
        context = message_context(clinic, ZoneInfo(clinic.timezone), by_zone, None, "en")
        assert context["clinic"]["phone"] == "+1 202-555-0100"
        at_home = {**by_zone, "timezone": "America/Chicago", "phone": "+12025550143"}
        context = message_context(clinic, ZoneInfo(clinic.timezone), at_home, None, "en")
        assert context["clinic"]["phone"] == "(202) 555-0100"
        assert (context["clinic"]["emergency"], context["clinic"]["crisis_line"]) == ("911", "988")
    finally:
        app.engine.dispose()
