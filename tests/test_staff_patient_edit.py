"""Editing a patient and recording a re-consent: the consent rules (a new number gets the opt-in
text again; a text-message opt-out sent by text is lifted only by the patient's START) in the
service and on the staff pages, on both databases, with the shipped schedule (it has the opt-in)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from service.db.tables import audit_events, consent_events, staff_tasks
from service.services import consent
from service.services.errors import InvalidInput
from service.services.outbox.dispatch import Dispatcher
from service.services.patients import update_patient
from service.services.staff import add_staff
from service.web import create_app
from tests.helpers import ROOT, book, enrol, make_config, make_services, rows, sandbox
from tests.reply_helpers import EXTRA, Phone

from .staff_helpers import ADMIN, SECRET, signed_in

NEW_PHONE = "+12025550177"


@pytest.fixture
def app(db_url, clock):
    config = make_config(
        db_url, schedules=ROOT / "schedules", extra=EXTRA, env={"INTERLUDE_SECRET_KEY": SECRET}
    )
    services = make_services(db_url, clock, config=config)
    add_staff(services, *ADMIN, admin=True, actor="test")
    yield services
    services.engine.dispose()


@pytest.fixture
def web(app):
    return create_app(app.config, services=app)


@pytest.fixture
def client(web):
    return signed_in(web, ADMIN)


def text(response) -> str:
    return response.get_data(as_text=True)


def opt_ins(app, patient_id):
    return rows(app, patient_id=patient_id, step_id="enrolment_opt_in")


def ledger(app, patient_id):
    with app.engine.connect() as conn:
        query = select(consent_events).where(consent_events.c.patient_id == patient_id)
        return list(conn.execute(query.order_by(consent_events.c.id)).mappings())


def audits(app, action):
    with app.engine.connect() as conn:
        return list(conn.execute(select(audit_events).where(audit_events.c.action == action)).mappings())


def sent_welcome(app):
    """Enrol Maria and send her the opt-in text, as at enrolment."""
    maria = enrol(app)
    Dispatcher(app).run_once()
    [row] = opt_ins(app, maria["id"])
    assert row["status"] == "sent"
    return maria


def edit_form(**changes):
    form = {
        "first_name": "Maria",
        "last_name": "Lopez",
        "phone": "(202) 555-0143",
        "email": "maria@example.org",
        "language": "en",
        "timezone": "America/New_York",
        "indications": ["depression"],
        "preferred_channel": "",
    }
    form.update(changes)
    return form


# --- the service -------------------------------------------------------------------------------


def test_a_new_number_gets_the_opt_in_text_again_and_the_audit_says_so(app):
    maria = sent_welcome(app)
    update_patient(app, maria["id"], {"phone": NEW_PHONE}, "staff:admin@clinic.example")
    first, again = opt_ins(app, maria["id"])
    assert first["status"] == "sent" and again["status"] == "pending"
    assert again["dedupe_key"] == f"{first['dedupe_key']}:1"
    Dispatcher(app).run_once()
    welcome = [m for m in sandbox(app) if m["recipient"] == NEW_PHONE]
    assert len(welcome) == 1 and "STOP" in welcome[0]["body"] and "HELP" in welcome[0]["body"]
    [updated] = audits(app, "patient.updated")
    assert updated["details"]["opt_in"] == "planned"


def test_the_same_number_written_another_way_plans_nothing(app):
    maria = sent_welcome(app)
    update_patient(app, maria["id"], {"phone": "202 555 0143"}, "test")
    assert len(opt_ins(app, maria["id"])) == 1


def test_a_new_number_after_stop_keeps_the_opt_out_and_plans_no_text(app):
    maria = sent_welcome(app)
    Phone(create_app(services=app).test_client()).text("STOP")
    update_patient(app, maria["id"], {"phone": NEW_PHONE}, "test")
    assert len(opt_ins(app, maria["id"])) == 1
    with app.engine.connect() as conn:
        assert not consent.allows_now(conn, maria["id"], "sms")
    [updated] = audits(app, "patient.updated")
    assert updated["details"]["opt_in"] == "not-planned-opted-out"
    state = consent.opt_outs(app, maria["id"])["opted_out"]
    assert state["sms"]["care"]["patient_only"] is True


def test_sms_re_consent_is_refused_after_stop_and_start_lifts_it(app, clock):
    maria = sent_welcome(app)
    phone = Phone(create_app(services=app).test_client())
    phone.text("STOP")
    before = ledger(app, maria["id"])
    with pytest.raises(InvalidInput) as refused:
        consent.record_reconsent(app, maria["id"], {"channel": "sms", "how": "phone-call"}, "staff:a@x.org")
    assert "START" in refused.value.errors["channel"]
    assert ledger(app, maria["id"]) == before  # nothing written
    clock.advance(timedelta(minutes=5))
    phone.text("START")
    with app.engine.connect() as conn:
        assert consent.allows_now(conn, maria["id"], "sms")
    done = consent.record_reconsent(
        app, maria["id"], {"channel": "sms", "how": "phone-call"}, "staff:a@x.org"
    )
    last = ledger(app, maria["id"])[-1]
    assert (last["channel"], last["action"], last["source"]) == ("sms", "opt_in", "staff")
    assert done["opt_in"] is None  # START was answered with its own confirmation: no second one
    assert [r["status"] for r in opt_ins(app, maria["id"])] == ["sent"]


def test_email_re_consent_after_unsubscribe_is_recorded_with_who_how_and_when(app, clock):
    maria = enrol(app)
    session = book(app, maria["id"], "2027-03-12T09:00")
    with app.engine.begin() as conn:
        consent.record(
            conn,
            patient_id=maria["id"],
            channel="email",
            action="opt_out",
            source="email-link",
            now=clock.now,
        )
        consent.record(
            conn, patient_id=maria["id"], channel="sms", action="opt_out", source="staff", now=clock.now
        )
    clock.advance(timedelta(hours=1))
    Dispatcher(app).run_once()  # the booking confirmation is skipped as opted out
    skipped = [r for r in rows(app, session_id=session["id"], channel="email") if r["reason"] == "opted-out"]
    assert skipped
    with app.engine.begin() as conn:
        conn.execute(
            staff_tasks.insert().values(
                dedupe_key="opted-out:x",
                kind="opted-out-mid-course",
                state="open",
                patient_id=maria["id"],
                created_at=clock.now,
            )
        )
    given = (clock.now - timedelta(minutes=30)).astimezone(app.clinic_tz).strftime("%Y-%m-%dT%H:%M")
    done = consent.record_reconsent(
        app,
        maria["id"],
        {
            "channel": "email",
            "how": "phone-call",
            "given_at": given,
            "note": "email only",
            "close_task": True,
        },
        "staff:nurse@clinic.example",
    )
    last = ledger(app, maria["id"])[-1]
    assert (last["channel"], last["purpose"], last["action"], last["source"]) == (
        "email",
        "all",
        "opt_in",
        "staff",
    )
    assert last["wording_version"] == "re-consent:phone-call"
    assert last["raw_text"] == "Phone call, recorded by nurse@clinic.example: email only"
    assert last["created_at"] == clock.now - timedelta(minutes=30)
    assert done["tasks_closed"] and done["opt_in"] is None
    with app.engine.connect() as conn:
        task = conn.execute(select(staff_tasks)).mappings().one()
    assert task["state"] == "done" and task["done_by"] == "staff:nurse@clinic.example"
    [audit] = audits(app, "consent.re_consent")
    assert audit["actor"] == "staff:nurse@clinic.example" and audit["details"]["how"] == "phone-call"
    # Messages skipped while opted out that are still worth sending are pending again; the
    # text-message opt-out (recorded by staff) still stands.
    again = [
        r
        for r in rows(app, session_id=session["id"], channel="email")
        if r["id"] in {s["id"] for s in skipped}
    ]
    assert done["revived"] == sum(r["status"] == "pending" for r in again) > 0
    assert set(consent.opt_outs(app, maria["id"])["opted_out"]) == {"sms"}


def test_an_sms_opt_out_staff_recorded_is_lifted_by_a_re_consent_and_gets_the_opt_in(app, clock):
    maria = sent_welcome(app)
    with app.engine.begin() as conn:
        consent.record(
            conn, patient_id=maria["id"], channel="sms", action="opt_out", source="staff", now=clock.now
        )
    clock.advance(timedelta(minutes=1))
    done = consent.record_reconsent(app, maria["id"], {"channel": "sms", "how": "in-person"}, "staff:a@x.org")
    assert done["opt_in"] == "planned"
    assert [r["status"] for r in opt_ins(app, maria["id"])] == ["sent", "pending"]


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"channel": "fax", "how": "phone-call"}, "channel", "e.g. Email"),
        ({"channel": "email", "how": "telepathy"}, "how", "phone call"),
        ({"channel": "email", "how": "written", "purposes": []}, "purposes", "e.g. Care"),
        ({"channel": "email", "how": "written", "given_at": "yesterday"}, "given_at", "e.g. 2027-"),
        ({"channel": "email", "how": "written", "given_at": "2027-03-03T10:00"}, "given_at", "future"),
    ],
)
def test_bad_re_consents_are_refused_in_plain_words_and_nothing_is_written(app, clock, data, field, words):
    maria = enrol(app)
    with app.engine.begin() as conn:
        consent.record(
            conn,
            patient_id=maria["id"],
            channel="email",
            action="opt_out",
            source="email-link",
            now=clock.now,
        )
    before = ledger(app, maria["id"])
    with pytest.raises(InvalidInput) as refused:
        consent.record_reconsent(app, maria["id"], data, "staff:a@x.org")
    assert words in refused.value.errors[field]
    assert ledger(app, maria["id"]) == before


def test_a_consent_given_before_the_opt_out_cannot_lift_it(app, clock):
    maria = enrol(app)
    with app.engine.begin() as conn:
        consent.record(
            conn,
            patient_id=maria["id"],
            channel="email",
            action="opt_out",
            source="email-link",
            now=clock.now,
        )
    earlier = (clock.now - timedelta(hours=2)).astimezone(app.clinic_tz).strftime("%Y-%m-%dT%H:%M")
    with pytest.raises(InvalidInput) as refused:
        consent.record_reconsent(
            app, maria["id"], {"channel": "email", "how": "written", "given_at": earlier}, "t"
        )
    assert "opted out at" in refused.value.errors["given_at"]


# --- the pages ---------------------------------------------------------------------------------


def test_editing_the_phone_on_the_page_plans_the_opt_in_to_the_new_number(app, client):
    maria = sent_welcome(app)
    page = text(client.get(f"/staff/patients/{maria['id']}/edit"))
    assert 'value="(202) 555-0143"' in page and ">English<" in page and ">Depression<" in page
    assert 'id="timezone"' in page and 'value="America/New_York" selected' in page
    response = client.post(
        f"/staff/patients/{maria['id']}/edit", data=edit_form(phone="(202) 555-0177", language="es")
    )
    assert response.status_code == 302 and response.location.endswith(f"/staff/patients/{maria['id']}")
    shown = text(client.get(response.location))
    assert "opt-in text is planned again" in shown
    assert [r["status"] for r in opt_ins(app, maria["id"])] == ["sent", "pending"]
    with app.engine.connect() as conn:
        from service.db.tables import patients

        row = conn.execute(select(patients).where(patients.c.id == maria["id"])).mappings().one()
    assert row["phone"] == NEW_PHONE and row["language"] == "es"


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"phone": "555"}, "phone", "e.g."),
        ({"timezone": "other", "timezone_other": "New York"}, "timezone", "America/New_York"),
        ({"first_name": ""}, "first_name", "e.g. Maria"),
    ],
)
def test_a_bad_edit_answers_303_then_the_summary_and_changes_nothing(app, client, changes, field, words):
    maria = sent_welcome(app)
    response = client.post(f"/staff/patients/{maria['id']}/edit", data=edit_form(**changes))
    assert response.status_code == 303 and response.location.endswith(f"/staff/patients/{maria['id']}/edit")
    page = text(client.get(response.location))
    assert 'id="error-summary"' in page and f'href="#{field}"' in page
    error = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', page)
    assert error and words in error.group(1)
    assert len(opt_ins(app, maria["id"])) == 1 and not audits(app, "patient.updated")
    again = text(client.get(response.location))  # shown once: a reload shows the patient as saved
    assert 'id="error-summary"' not in again


def test_the_consent_page_refuses_sms_after_stop_then_records_it_after_start(app, client, web, clock):
    maria = sent_welcome(app)
    phone = Phone(web.test_client())
    phone.text("STOP")
    url = f"/staff/patients/{maria['id']}/consent"
    page = text(client.get(url))
    assert "Only the patient can turn text messages back on, by texting START" in page
    response = client.post(
        url, data={"channel": "sms", "purposes": ["care", "education"], "how": "phone-call"}
    )
    assert response.status_code == 303 and response.location.endswith(url)
    refused = text(client.get(url))
    assert 'id="error-summary"' in refused and "carriers&#39; rules" in refused
    assert ledger(app, maria["id"])[-1]["action"] == "opt_out"
    clock.advance(timedelta(minutes=3))
    phone.text("START")
    assert "Nothing is turned off" in text(client.get(url))
    response = client.post(
        url, data={"channel": "sms", "purposes": ["care", "education"], "how": "phone-call"}
    )
    assert response.status_code == 302
    assert "agreed again to text messages" in text(client.get(response.location))
    last = ledger(app, maria["id"])[-1]
    assert (last["channel"], last["action"], last["source"]) == ("sms", "opt_in", "staff")


def test_the_consent_page_records_an_email_re_consent(app, client, clock):
    maria = enrol(app)
    with app.engine.begin() as conn:
        consent.record(
            conn,
            patient_id=maria["id"],
            channel="email",
            action="opt_out",
            source="email-link",
            now=clock.now,
        )
    clock.advance(timedelta(minutes=10))
    url = f"/staff/patients/{maria['id']}/consent"
    form = {"channel": "email", "purposes": ["care"], "how": "written", "given_at": "", "note": "signed form"}
    response = client.post(url, data=form)
    assert response.status_code == 302
    assert "Recorded: the patient agreed again to emails (care messages), written." in text(
        client.get(response.location)
    )
    last = ledger(app, maria["id"])[-1]
    assert (last["purpose"], last["source"], last["created_at"]) == ("care", "staff", clock.now)
    assert last["raw_text"] == f"Written, recorded by {ADMIN[0]}: signed form"


def test_a_future_time_on_the_consent_page_answers_303_and_writes_nothing(app, client, clock):
    maria = enrol(app)
    with app.engine.begin() as conn:
        consent.record(
            conn,
            patient_id=maria["id"],
            channel="email",
            action="opt_out",
            source="email-link",
            now=clock.now,
        )
    url = f"/staff/patients/{maria['id']}/consent"
    future = (clock.now + timedelta(days=1)).astimezone(app.clinic_tz).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        url, data={"channel": "email", "purposes": ["care"], "how": "written", "given_at": future}
    )
    assert response.status_code == 303
    page = text(client.get(url))
    assert 'href="#given_at"' in page and "can&#39;t be in the future" in page
    assert ledger(app, maria["id"])[-1]["action"] == "opt_out"
