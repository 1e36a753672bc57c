"""The safety net's replies end to end, through the signed webhook, on SQLite and PostgreSQL.

Each crisis category gets its own truthful answer (911 or 988 first, "alerted" only when a page
was queued), free text during an open check-in gets the options again once, a symptom is never
read as a revocation, AYUDA is HELP, a wrong number stops texts to it, and on-call phones are
screened like everyone else while their ACKs still acknowledge.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from service.db.tables import (
    audit_events,
    checkins,
    consent_events,
    escalations,
    inbound_messages,
    outbox,
    patients,
)
from service.domain.segments import segment_info, sms_budget
from service.services.outbox.dispatch import Dispatcher
from service.services.replies.inbound import Inbound, handle_inbound
from service.templates import MessageTemplates
from service.web import create_app
from tests.helpers import API_TOKEN, book, enrol, make_config, make_services, sandbox
from tests.reply_helpers import EXTRA, ON_CALL, PATIENT_PHONE, PUBLIC, Phone

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
NOBODY_ON_CALL = f"""
[web]
public_base_url = "{PUBLIC}"
"""
# For tests where who is on call changes nothing: run them once, with a clinician on call.
ON_CALL_ONLY = pytest.mark.parametrize("routing", ["on-call"], indirect=True)
ALERTED = {"en": "alerted our on-call clinician", "es": "Avisamos al clínico de guardia"}


@pytest.fixture(params=["on-call", "nobody-on-call"])
def routing(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def app(db_url, clock, routing):
    extra = EXTRA if routing == "on-call" else NOBODY_ON_CALL
    services = make_services(db_url, clock, config=make_config(db_url, extra=extra))
    yield services
    services.engine.dispose()


@pytest.fixture
def client(app):
    return create_app(services=app).test_client()


def said(response: Any) -> str:
    """The text of the TwiML answer ("" when there is none)."""
    assert response.status_code == 200 and response.mimetype == "text/xml"
    root = ET.fromstring(response.get_data(as_text=True))
    return " ".join(m.text or "" for m in root.iter("Message"))


def rows(app, table, *where) -> list[dict[str, Any]]:
    with app.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).where(*where).order_by(table.c.id)).mappings()]


def pages(app) -> list[dict[str, Any]]:
    return rows(app, outbox, outbox.c.audience == "staff")


def inbound(app) -> list[dict[str, Any]]:
    return rows(app, inbound_messages)


# --- one reply per crisis category --------------------------------------------------------------

CASES = [
    # (category, language, text, what the reply starts with after the clinic's name)
    (
        "suicide",
        "en",
        "I can't do this anymore, I want to kill myself",
        "you are not alone. Call or text 988",
    ),
    ("overdose", "en", "I took too many pills", "if you took too much of a medicine or drug, call 911 now"),
    ("harm-others", "en", "I want to hurt someone", "if anyone is in danger now, call 911"),
    ("medical-emergency", "en", "chest pain since I got home", "if this is happening now, call 911 now"),
    ("urgent-symptom", "en", "I can't stop throwing up", "if this is happening now, call 911 now"),
    ("suicide", "es", "me quiero morir", "no tiene que pasar por esto a solas. Llame o escriba al 988"),
    (
        "overdose",
        "es",
        "me tomé todas las pastillas",
        "si tomó demasiado de un medicamento o droga, llame al 911",
    ),
    ("medical-emergency", "es", "me duele el pecho", "si esto está pasando ahora, llame al 911 ya"),
]


@pytest.mark.parametrize(("category", "lang", "text", "first"), CASES)
def test_each_crisis_category_gets_its_own_truthful_reply_an_escalation_and_a_page_when_someone_is_on_call(
    app, client, clock, routing, category, lang, text, first
):
    patient = enrol(app, language=lang)
    book(app, patient["id"], "2027-03-03T09:00")
    clock.set(clock.now.replace(hour=4))  # 23:00 in New York
    reply = said(Phone(client).text(text))
    assert reply.startswith(f"Interlude Demo: {first}")
    assert "911" in reply and "988" in reply
    if category == "overdose":
        assert "1-800-222-1222" in reply
    [esc] = rows(app, escalations)
    assert (esc["kind"], esc["category"], esc["patient_id"]) == ("crisis", category, patient["id"])
    [msg] = inbound(app)
    assert (msg["kind"], msg["needs_attention"], msg["reply"]) == ("crisis", True, reply)
    if routing == "on-call":
        assert ALERTED[lang] in reply
        assert {(p["recipient"], p["channel"]) for p in pages(app)} == {
            (ON_CALL, "sms"),
            ("oncall@clinic.example", "email"),
        }
        Dispatcher(app).run_once()
        assert any(m["recipient"] == ON_CALL for m in sandbox(app))
    else:
        # No page could go: the reply claims no alert and sends the patient to the clinic's line.
        assert (
            ALERTED[lang] not in reply and "alerted" not in reply.lower() and "avisamos" not in reply.lower()
        )
        assert "(202) 555-0199" in reply
        assert pages(app) == []
        tasks = client.get("/api/v1/tasks", headers=AUTH).json
        assert [t["kind"] for t in tasks] == ["escalation-unrouted"]


def test_a_crisis_from_an_unknown_number_is_paged_as_one_and_told_the_truth(app, client, routing):
    """A patient writing from a new phone, or someone on their behalf: the on-call clinician is
    paged about "an unknown number", and day staff get a task to call it back."""
    reply = said(Phone(client, sender="+12025550999").text("I took too many pills"))
    assert "call 911 now" in reply and "1-800-222-1222" in reply
    [esc] = rows(app, escalations)
    assert (esc["patient_id"], esc["kind"], esc["category"]) == (None, "crisis", "overdose")
    kinds = sorted(t["kind"] for t in client.get("/api/v1/tasks", headers=AUTH).json)
    if routing == "nobody-on-call":
        assert "alerted" not in reply.lower() and pages(app) == []
        assert kinds == ["crisis-unknown-sender", "escalation-unrouted"]
        return
    assert ALERTED["en"] in reply and kinds == ["crisis-unknown-sender"]
    assert pages(app) and {p["patient_id"] for p in pages(app)} == {None}
    Dispatcher(app).run_once()
    paged = sandbox(app)
    assert paged and all("unknown number" in m["body"] for m in paged if m["channel"] == "sms")
    assert "pills" not in " ".join(m["body"] for m in paged)  # never the sender's words in a page
    assert {r["status"] for r in pages(app)} == {"sent"}


# --- replies never fall silent ---------------------------------------------------------------------


def _with_edits(app, edits: dict[str, str]) -> None:
    """Templates as if these files had been edited into something that cannot render."""
    app.templates = MessageTemplates(app.templates.folder, overlays=edits)


def test_a_category_reply_that_cannot_render_falls_back_to_the_general_crisis_reply(app, routing):
    enrol(app)
    _with_edits(app, {"reply_crisis_medical_emergency/en/sms.txt": "{{ clinic.no_such_thing }}"})
    result = handle_inbound(app, Inbound("SMfallback1", PATIENT_PHONE, "crushing chest pain"))
    assert result.kind == "crisis"
    assert result.reply and "call 911 now" in result.reply and "988" in result.reply
    assert ("alerted" in result.reply) is (routing == "on-call")


def test_when_no_crisis_template_renders_the_built_in_text_still_gives_911_and_988(app):
    enrol(app)
    broken = "{{ clinic.no_such_thing }}"
    _with_edits(app, {"reply_crisis_suicide/en/sms.txt": broken, "reply_crisis/en/sms.txt": broken})
    result = handle_inbound(app, Inbound("SMfallback2", PATIENT_PHONE, "I want to end my life"))
    assert result.kind == "crisis" and result.reply
    assert "911" in result.reply and "988" in result.reply and "alerted" not in result.reply


@pytest.mark.parametrize(
    "name",
    [
        "reply_crisis",
        "reply_crisis_suicide",
        "reply_crisis_overdose",
        "reply_crisis_harm_others",
        "reply_crisis_medical_emergency",
        "reply_crisis_urgent_symptom",
        "reply_inbox_ack",
        "reply_checkin_options",
        "reply_wrong_number",
    ],
)
def test_every_branch_of_the_safety_replies_fits_its_sms_budget(sqlite_services, name):
    app = sqlite_services
    clinic = {
        "name": app.config.clinic.name,
        "sms_name": app.config.clinic.sms_name,
        "phone": "(202) 555-0100",
        "after_hours_phone": "(202) 555-0199",
        "email": app.config.clinic.email,
        "address": "",
        "emergency": app.config.clinic.emergency,
        "crisis_line": app.config.clinic.crisis,
    }
    for lang in ("en", "es"):
        for extra in ({"paged": True}, {"paged": False}, {"paged": True, "scale": [0, 10]}):
            context = {"clinic": clinic, "patient": {}, "lang": lang, **extra}
            body = app.templates.render(name, "sms", lang, context).body
            info = segment_info(body)
            assert info.segments <= sms_budget(lang), (name, lang, extra, body)
            assert lang != "en" or info.encoding == "GSM-7", (name, body)
            assert "911" in body or name == "reply_wrong_number"


# --- check-ins: the options again, once; a symptom is never a revocation ------------------------------


def _same_day_checkin(app, clock, patient_id: int) -> None:
    book(app, patient_id, "2027-03-02T11:00", duration_minutes=60)  # 11:00-12:00 EST; check-in 15:00
    clock.advance(timedelta(hours=5, minutes=1))
    Dispatcher(app).run_once()
    assert any("Reply 1" in m["body"] for m in sandbox(app))


@ON_CALL_ONLY
def test_free_text_during_an_open_check_in_gets_the_options_once_and_the_check_in_stays_open(
    app, client, clock
):
    patient = enrol(app)
    _same_day_checkin(app, clock, patient["id"])
    phone = Phone(client)
    first = said(phone.text("the cat knocked my water over lol"))
    assert "reply 1 if you are home and feeling OK, 2 if" in first and "911" in first and "988" in first
    assert "on-call" not in first  # 15:01 on a Tuesday: office hours, nobody paged
    second = said(phone.text("anyway how long should I rest"))
    assert "reply 1" not in second and "office hours" in second  # the usual acknowledgement
    third = said(phone.text("also is tomorrow still on"))
    assert third == ""  # one acknowledgement per few hours, as for any Inbox message
    msgs = inbound(app)
    [checkin] = rows(app, checkins)
    assert [m["kind"] for m in msgs] == ["checkin-free-text"] * 3
    assert all(m["needs_attention"] and m["checkin_id"] == checkin["id"] for m in msgs)
    assert checkin["state"] == "open" and checkin["answer"] is None
    assert rows(app, escalations) == []
    assert said(phone.text("1")).startswith("Interlude Demo: thank you for letting us know")
    [checkin] = rows(app, checkins)
    assert (checkin["state"], checkin["answer"]) == ("answered", "1")


@ON_CALL_ONLY
def test_free_text_after_the_next_day_scale_question_repeats_the_scale(app, client, clock):
    patient = enrol(app, language="es")
    book(app, patient["id"], "2027-03-02T11:00")
    clock.set(clock.now.replace(day=3, hour=15, minute=1))  # 10:01 EST the next morning
    Dispatcher(app).run_once()
    assert any("0 (muy mal)" in m["body"] for m in sandbox(app))
    reply = said(Phone(client).text("regular, con sueño"))
    assert "escriba un número de 0 (muy mal) a 10 (muy bien)" in reply and "911" in reply
    assert [m["kind"] for m in inbound(app)] == ["checkin-free-text"]


def test_free_text_in_a_check_in_after_hours_pages_on_call_and_says_so_only_if_it_did(
    app, client, clock, routing
):
    patient = enrol(app)
    _same_day_checkin(app, clock, patient["id"])
    clock.set(clock.now.replace(hour=23, minute=30))  # 18:30 in New York
    reply = said(Phone(client).text("feeling kind of strange still"))
    assert "reply 1 if you are home" in reply
    if routing == "on-call":
        assert "We have let our on-call clinician know" in reply
        [esc] = rows(app, escalations)
        assert esc["kind"] == "after-hours-inbox"
        assert {p["recipient"] for p in pages(app)} == {ON_CALL, "oncall@clinic.example"}
    else:
        assert "on-call" not in reply and pages(app) == []


@ON_CALL_ONLY
def test_can_t_stop_throwing_up_in_an_open_check_in_is_an_urgent_symptom_never_an_opt_out(app, client, clock):
    patient = enrol(app)
    _same_day_checkin(app, clock, patient["id"])
    reply = said(Phone(client).text("I feel awful, can't stop throwing up"))
    assert reply.startswith("Interlude Demo: if this is happening now, call 911 now")
    assert "START" not in reply
    [esc] = rows(app, escalations)
    assert (esc["kind"], esc["category"]) == ("crisis", "urgent-symptom")
    assert [m["kind"] for m in inbound(app)] == ["crisis"]
    ledger = client.get(f"/api/v1/patients/{patient['id']}/consent", headers=AUTH).json
    assert ledger["state"]["sms"] == {"care": True, "education": True}
    assert "opt_out" not in [e["action"] for e in ledger["events"]]


@ON_CALL_ONLY
@pytest.mark.parametrize("text", ["please quit sending me messages", "no quiero recibir más textos"])
def test_a_clear_revocation_during_a_check_in_still_opts_out(app, client, clock, text):
    patient = enrol(app)
    _same_day_checkin(app, clock, patient["id"])
    assert "START" in said(Phone(client).text(text))
    ledger = client.get(f"/api/v1/patients/{patient['id']}/consent", headers=AUTH).json
    assert ledger["state"]["sms"]["care"] is False
    assert [m["kind"] for m in inbound(app)] == ["opt-out"]


# --- AYUDA, wrong number --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "needle"), [("en", "Msg & data rates may apply"), ("es", "Frecuencia variable")]
)
@ON_CALL_ONLY
def test_ayuda_answers_as_help_in_the_patient_s_language(app, client, lang, needle):
    enrol(app, language=lang)
    reply = said(Phone(client).text("AYUDA"))
    assert needle in reply and "STOP" in reply and "911" in reply
    assert [m["kind"] for m in inbound(app)] == ["help"]


@ON_CALL_ONLY
def test_ayuda_from_an_unknown_number_is_answered_in_spanish(app, client):
    reply = said(Phone(client, sender="+12025550999").text("ayuda"))
    assert "Frecuencia variable" in reply


@ON_CALL_ONLY
def test_wrong_number_stops_texts_to_it_opens_a_task_and_confirms_once(app, client, clock):
    patient = enrol(app)
    book(app, patient["id"], "2027-03-12T09:00")
    reply = said(Phone(client).text("this isn't Maria, wrong number"))
    assert (
        reply == "Interlude Demo: thank you. We will update our records and stop these texts to this number."
    )
    [row] = rows(app, patients)
    assert (row["sms_status"], row["sms_status_reason"]) == ("wrong-number", "recipient-says-wrong-number")
    [msg] = inbound(app)
    assert (msg["kind"], msg["needs_attention"]) == ("wrong-number", True)
    tasks = client.get("/api/v1/tasks", headers=AUTH).json
    assert [(t["kind"], t["patient_id"]) for t in tasks] == [("wrong-number", patient["id"])]
    assert "not the patient" in tasks[0]["detail"]
    assert [
        (e["action"], e["entity_id"])
        for e in rows(app, audit_events, audit_events.c.action == "wrong-number")
    ] == [("wrong-number", patient["id"])]
    # The person who answered is not the patient: no consent event in the patient's name.
    assert "opt_out" not in [e["action"] for e in rows(app, consent_events)]
    # Nothing more goes to that number; email still reaches the patient.
    Dispatcher(app).run_once()  # the booking confirmation is due
    sent = sandbox(app)
    assert sent and all(m["channel"] == "email" for m in sent)
    due = [r for r in rows(app, outbox, outbox.c.channel == "sms") if r["due_at"] <= clock.now]
    assert due and {(r["status"], r["reason"]) for r in due} == {("skipped", "sms-unusable")}, due
    # And that number no longer speaks for the patient: its next text is from an unknown sender.
    said(Phone(client).text("I want to die"))
    assert [e["patient_id"] for e in rows(app, escalations)] == [None]  # not in the patient's name
    assert "crisis-unknown-sender" in [t["kind"] for t in client.get("/api/v1/tasks", headers=AUTH).json]


# --- on-call phones -----------------------------------------------------------------------------------


@ON_CALL_ONLY
def test_an_on_call_clinician_s_own_crisis_text_is_screened_as_a_crisis(app, client):
    reply = said(Phone(client, sender=ON_CALL).text("I want to kill myself"))
    assert "988" in reply and "911" in reply and "ACK" not in reply
    [msg] = inbound(app)
    assert (msg["kind"], msg["needs_attention"]) == ("crisis", True)
    assert [t["kind"] for t in client.get("/api/v1/tasks", headers=AUTH).json] == ["crisis-unknown-sender"]


@ON_CALL_ONLY
def test_a_patient_whose_phone_is_an_on_call_number_is_screened_and_escalated(app, client):
    patient = enrol(app, phone=ON_CALL, external_ref="oc")
    reply = said(Phone(client, sender=ON_CALL).text("I want to kill myself"))
    assert reply.startswith("Interlude Demo: you are not alone. Call or text 988")
    [esc] = rows(app, escalations)
    assert (esc["patient_id"], esc["category"]) == (patient["id"], "suicide")


@ON_CALL_ONLY
def test_an_ack_from_the_on_call_phone_still_acknowledges(app, client):
    enrol(app)
    Phone(client).text("I took too many pills")
    [esc] = rows(app, escalations)
    reply = said(Phone(client, sender=ON_CALL).text(f"ACK {esc['code']} called pt"))
    assert "acknowledged" in reply
    [esc] = rows(app, escalations)
    assert (esc["state"], esc["acked_by"], esc["outcome"]) == ("acknowledged", "Dr Rivera (sms)", "called pt")


@ON_CALL_ONLY
def test_an_ack_whose_outcome_describes_the_crisis_acknowledges_and_raises_nothing_new(app, client):
    enrol(app)
    Phone(client).text("I took too many pills")
    [esc] = rows(app, escalations)
    reply = said(Phone(client, sender=ON_CALL).text(f"ACK {esc['code']} she took too many pills, 911 called"))
    assert "acknowledged" in reply
    [esc] = rows(app, escalations)
    assert esc["state"] == "acknowledged"
    staff = [m for m in inbound(app) if m["sender"] == ON_CALL]
    assert [(m["kind"], m["needs_attention"]) for m in staff] == [("staff-ack", True)]
