"""Patient replies end to end, through the signed webhook, with a fake clock."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from service.db.tables import escalations, inbound_messages
from service.db.tables import sessions as treatment_sessions
from service.logs import KeyValueFormatter
from service.scheduler import sweep
from service.services.outbox.dispatch import Dispatcher
from service.web import create_app
from tests.helpers import (
    API_TOKEN,
    book,
    cli_runner,
    count,
    enrol,
    make_config,
    make_services,
    sandbox,
)
from tests.reply_helpers import BACKUP, EXTRA, ON_CALL, PATIENT_PHONE, Phone

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture
def app(db_url, clock):
    services = make_services(db_url, clock, config=make_config(db_url, extra=EXTRA))
    yield services
    services.engine.dispose()


@pytest.fixture
def client(app):
    flask_app = create_app(services=app)
    return flask_app.test_client()


def reply_text(response) -> str:
    assert response.status_code == 200 and response.mimetype == "text/xml"
    return response.get_data(as_text=True)


def test_forged_missing_or_tampered_signatures_get_403_and_store_nothing(app, client):
    enrol(app)
    phone = Phone(client)
    assert phone.text("hello", signature="").status_code == 403
    assert phone.text("hello", signature="bm90IGEgc2lnbmF0dXJl").status_code == 403
    assert phone.text("hello", tamper={"Body": "I changed"}).status_code == 403
    assert count(app, inbound_messages) == 0


def test_behind_an_https_proxy_the_public_url_is_what_counts(app, client):
    enrol(app)
    r = Phone(client).text("HELP")  # the test client speaks http://localhost; Twilio signed https://clinic...
    assert "Msg &amp; data rates may apply" in reply_text(r)


def test_crisis_language_is_answered_at_once_and_pages_the_on_call_clinician(app, client, clock, caplog):
    patient = enrol(app)
    book(app, patient["id"], "2027-03-03T09:00")
    clock.set(clock.now.replace(hour=4))  # 23:00 in New York: quiet hours do not hold a crisis back
    with caplog.at_level(logging.INFO):
        r = Phone(client).text("I can't do this anymore, I want to kill myself")
        body = reply_text(r)
        assert "988" in body and "911" in body and "(202) 555-0199" in body
        stats = Dispatcher(app).run_once()
    assert stats.sent >= 2  # the page by SMS and by email
    [esc] = client.get("/api/v1/escalations?state=open", headers=AUTH).json
    assert esc["kind"] == "crisis" and esc["level"] == 0
    pages = [m for m in sandbox(app) if m["recipient"] in (ON_CALL, "oncall@clinic.example")]
    assert {m["channel"] for m in pages} == {"sms", "email"}
    page = next(m for m in pages if m["channel"] == "sms")["body"]
    assert esc["code"] in page and "M.L." in page and "kill" not in page and "Maria" not in page
    text = "\n".join(KeyValueFormatter().format(rec) for rec in caplog.records)
    assert "kill" not in text and PATIENT_PHONE not in text and ON_CALL not in text


def test_nobody_acknowledging_pages_the_backup_and_an_ack_stops_the_pages(app, client, clock):
    enrol(app)
    Phone(client).text("chest pain since I got home")
    Dispatcher(app).run_once()
    clock.advance(timedelta(minutes=16))
    sweep(app)
    Dispatcher(app).run_once()
    assert any(m["recipient"] == BACKUP for m in sandbox(app))
    [esc] = client.get("/api/v1/escalations", headers=AUTH).json
    assert esc["level"] == 1
    r = client.post(
        f"/api/v1/escalations/{esc['id']}/ack",
        json={"by": "Dr Rivera", "outcome": "called, fine"},
        headers=AUTH,
    )
    assert r.status_code == 200 and r.json["state"] == "acknowledged" and r.json["acked_by"] == "Dr Rivera"
    clock.advance(timedelta(minutes=30))
    sweep(app)
    before = len(sandbox(app))
    Dispatcher(app).run_once()
    assert len(sandbox(app)) == before  # no more pages
    assert (
        client.post(f"/api/v1/escalations/{esc['id']}/ack", json={"by": "x"}, headers=AUTH).status_code == 409
    )


def test_the_on_call_clinician_can_acknowledge_by_text(app, client):
    enrol(app)
    Phone(client).text("I took too many pills")
    [esc] = client.get("/api/v1/escalations", headers=AUTH).json
    r = Phone(client, sender=ON_CALL).text(f"ACK {esc['code']} calling now")
    assert "acknowledged" in reply_text(r)
    [done] = client.get("/api/v1/escalations?state=acknowledged", headers=AUTH).json
    assert done["acked_by"] == "Dr Rivera (sms)" and done["outcome"] == "calling now"


@pytest.mark.parametrize(
    "word", ["STOP", "stop.", "Stop. Thank you", "UNSUBSCRIBE", "please stop texting me", "No más mensajes"]
)
def test_stop_opts_out_confirms_once_and_no_sms_follows(app, client, clock, word):
    patient = enrol(app)
    book(app, patient["id"], "2027-03-12T09:00")
    r = Phone(client).text(word)
    assert "START" in reply_text(r)
    ledger = client.get(f"/api/v1/patients/{patient['id']}/consent", headers=AUTH).json
    assert ledger["state"]["sms"] == {"care": False, "education": False}
    assert ledger["state"]["email"] == {"care": True, "education": True}
    assert ledger["events"][-1]["raw_text"] == word and ledger["events"][-1]["wording_version"].startswith(
        "reply_opt_out@"
    )
    Dispatcher(app).run_once()
    assert [m["channel"] for m in sandbox(app)] == ["email"]
    tasks = client.get("/api/v1/tasks", headers=AUTH).json
    assert [t["kind"] for t in tasks] == ["opted-out-mid-course"]


def test_i_want_it_all_to_stop_is_not_an_opt_out(app, client):
    patient = enrol(app)
    r = Phone(client).text("I want it all to stop")
    assert "START" not in reply_text(r)
    ledger = client.get(f"/api/v1/patients/{patient['id']}/consent", headers=AUTH).json
    assert ledger["state"]["sms"]["care"] is True
    [item] = client.get("/api/v1/inbox", headers=AUTH).json
    assert item["kind"] == "inbox" and item["body"] == "I want it all to stop"


def test_an_unclear_request_reaches_a_person(app, client):
    enrol(app)
    Phone(client).text("can you stop the reminders for this week")
    [item] = client.get("/api/v1/inbox", headers=AUTH).json
    assert item["kind"] == "unclear-revocation"


def test_start_and_yes_opt_back_in(app, client):
    patient = enrol(app)
    phone = Phone(client)
    phone.text("STOP")
    assert "HELP" in reply_text(phone.text("START"))
    assert client.get(f"/api/v1/patients/{patient['id']}/consent", headers=AUTH).json["state"]["sms"]["care"]
    phone.text("STOP")
    phone.text("yes")
    assert client.get(f"/api/v1/patients/{patient['id']}/consent", headers=AUTH).json["state"]["sms"]["care"]


def test_help_answers_with_the_ctia_elements(app, client):
    enrol(app)
    body = reply_text(Phone(client).text("help"))
    for needle in (
        "Interlude Demo",
        "(202) 555-0100",
        "Msg &amp; data rates may apply",
        "STOP",
        "frequency",
    ):
        assert needle in body


def test_advanced_opt_out_already_answered_so_we_only_record(app, client):
    patient = enrol(app)
    r = Phone(client).text("stop", opt_out_type="STOP")
    assert "<Message>" not in reply_text(r)
    ledger = client.get(f"/api/v1/patients/{patient['id']}/consent", headers=AUTH).json
    assert ledger["events"][-1]["source"] == "provider-keyword" and not ledger["state"]["sms"]["care"]


def test_a_repeated_webhook_is_handled_once(app, client):
    enrol(app)
    phone = Phone(client)
    first = reply_text(phone.text("I want to die", sid="SM" + "1" * 32))
    second = reply_text(phone.text("I want to die", sid="SM" + "1" * 32))
    assert "988" in first and "<Message>" not in second
    assert count(app, inbound_messages) == 1 and count(app, escalations) == 1


def _send_same_day_checkin(app, clock, patient_id):
    s = book(
        app, patient_id, "2027-03-02T11:00", duration_minutes=60
    )  # 11:00 EST; ends 12:00; check-in 15:00
    clock.advance(timedelta(hours=5, minutes=1))
    Dispatcher(app).run_once()
    assert any("Reply 1" in m["body"] for m in sandbox(app))
    return s


@pytest.mark.parametrize(
    ("answer", "kind", "escalated"),
    [
        ("1", "answer", False),
        ("1.", "answer", False),
        ("one", "answer", False),
        ("2 - still dizzy", "concerning-answer", True),
        ("3", "concerning-answer", True),
    ],
)
def test_check_in_answers(app, client, clock, answer, kind, escalated):
    patient = enrol(app)
    _send_same_day_checkin(app, clock, patient["id"])
    r = Phone(client).text(answer)
    assert reply_text(r)
    with app.engine.connect() as conn:
        got = conn.execute(select(inbound_messages.c.kind)).scalar_one()
    assert got == kind
    assert count(app, escalations) == (1 if escalated else 0)


def test_silence_after_a_check_in_reminds_once_then_escalates(app, client, clock):
    patient = enrol(app)
    _send_same_day_checkin(app, clock, patient["id"])
    clock.advance(timedelta(hours=2, minutes=1))
    assert sweep(app)["reminded"] == 1
    assert sweep(app)["reminded"] == 0
    Dispatcher(app).run_once()
    assert any("not heard back" in m["body"] for m in sandbox(app))
    clock.advance(timedelta(hours=2))
    assert sweep(app)["escalated"] == 1
    [esc] = client.get("/api/v1/escalations", headers=AUTH).json
    assert esc["kind"] == "no-answer"
    r = Phone(client).text("1")  # too late for the question: a person reads it
    # 20:02 in New York, hours after the session: the Inbox item pages on call (low urgency),
    # and the answer itself escalates nothing more.
    with app.engine.connect() as conn:
        kinds = conn.execute(select(escalations.c.kind).order_by(escalations.c.id)).scalars().all()
    assert kinds == ["no-answer", "after-hours-inbox"]
    [item] = client.get("/api/v1/inbox", headers=AUTH).json
    assert item["kind"] == "late-answer" and "on-call clinician know" in reply_text(r)


def test_clearance_yes_clears_the_session_and_silence_becomes_a_task(app, client, clock):
    patient = enrol(app)
    s = book(app, patient["id"], "2027-03-04T09:00")
    clock.set(clock.now.replace(day=3, hour=23, minute=1))  # 18:01 EST the evening before
    Dispatcher(app).run_once()
    r = Phone(client).text("YES")
    assert reply_text(r)
    with app.engine.connect() as conn:
        assert conn.execute(select(treatment_sessions.c.clearance)).scalar_one() == "cleared"
    other = enrol(app, phone="+12025550144", external_ref="b")
    book(app, other["id"], "2027-03-05T09:00")
    clock.set(clock.now.replace(day=4, hour=23, minute=1))
    Dispatcher(app).run_once()
    clock.advance(timedelta(hours=3))
    assert sweep(app)["clearance_tasks"] == 0  # 21:01: the task waits for the clinic to open
    clock.set(clock.now.replace(day=5, hour=13, minute=1))  # 08:01 EST, the session at 09:00
    counts = sweep(app)
    assert counts["clearance_tasks"] == 1
    tasks = client.get("/api/v1/tasks", headers=AUTH).json
    assert [t["kind"] for t in tasks] == ["clearance-missing"] and tasks[0]["session_id"] != s["id"]


def test_clearance_no_becomes_a_task_at_once(app, client, clock):
    patient = enrol(app)
    book(app, patient["id"], "2027-03-04T09:00")
    clock.set(clock.now.replace(day=3, hour=23, minute=1))
    Dispatcher(app).run_once()
    Phone(client).text("no")
    assert [t["kind"] for t in client.get("/api/v1/tasks", headers=AUTH).json] == ["not-cleared"]


def test_free_text_goes_to_the_inbox_with_one_acknowledgement_per_few_hours(app, client, clock):
    enrol(app)
    phone = Phone(client)
    assert "office hours" in reply_text(phone.text("Can I bring my husband?"))
    assert "<Message>" not in reply_text(phone.text("Also, is there parking?"))
    clock.advance(timedelta(hours=5))
    assert "office hours" in reply_text(phone.text("One more question"))
    assert len(client.get("/api/v1/inbox", headers=AUTH).json) == 3


def test_crisis_from_an_unknown_number_still_gets_help_and_a_task(app, client):
    r = Phone(client, sender="+12025550999").text("quiero morirme")
    assert "988" in reply_text(r)
    assert [t["kind"] for t in client.get("/api/v1/tasks", headers=AUTH).json] == ["crisis-unknown-sender"]


def test_inbox_escalation_and_task_endpoints_need_the_token(client):
    for path in ("/api/v1/inbox", "/api/v1/escalations", "/api/v1/tasks", "/api/v1/patients/1/consent"):
        assert client.get(path).status_code == 401


def test_cli_lists_and_acknowledges(app, client):
    enrol(app)
    Phone(client).text("I want to hurt myself")
    runner = cli_runner(create_app(services=app))
    out = runner.invoke(args=["escalations"]).output
    esc_id = out.split()[0].lstrip("#")
    assert "crisis language" in out
    assert "I want to hurt myself" in runner.invoke(args=["inbox"]).output
    r = runner.invoke(args=["escalations", "ack", esc_id, "--by", "Dr Rivera", "--outcome", "safe at home"])
    assert r.exit_code == 0 and '"acknowledged"' in r.output
    # an acknowledgement with its outcome closes the episode: the Inbox item too
    assert "I want to hurt myself" not in runner.invoke(args=["inbox"]).output
    assert runner.invoke(args=["escalations", "ack", "999", "--by", "x"]).exit_code == 2
