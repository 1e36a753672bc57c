"""The Inbox page: what needs a person, mark handled, answer by text through the dispatcher
(only with SMS consent, checked again at send time); on both databases, as a nurse."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from service.db.tables import audit_events, inbound_messages, outbox
from service.services.outbox.dispatch import Dispatcher
from service.services.replies.inbound import Inbound, handle_inbound

from .helpers import enrol, sandbox
from .staff_helpers import ADMIN, STAFF

PATIENT_PHONE = "+12025550143"
CLINIC = "Interlude Demo"  # [clinic] sms_name: every SMS starts with it


def text_in(app, body, sender=PATIENT_PHONE):
    result = handle_inbound(app, Inbound(provider_id="SM" + uuid.uuid4().hex, sender=sender, body=body))
    return result.inbound_id


def item(app, inbound_id):
    with app.engine.connect() as conn:
        query = select(inbound_messages).where(inbound_messages.c.id == inbound_id)
        return conn.execute(query).mappings().one()


def answers(app):
    with app.engine.connect() as conn:
        query = select(outbox).where(outbox.c.dedupe_key.like("staffreply:%")).order_by(outbox.c.id)
        return list(conn.execute(query).mappings())


def texts_to_patient(app):
    return [m["body"] for m in sandbox(app) if m["recipient"] == PATIENT_PHONE]


def html(response):
    return response.get_data(as_text=True)


def test_the_inbox_lists_what_needs_a_person_oldest_first(staff_services, nurse_client, clock):
    app = staff_services
    patient = enrol(app)
    first = text_in(app, "Can I bring my husband?")
    clock.advance(timedelta(minutes=5))
    second = text_in(app, "Is there parking?")
    text_in(app, "HELP")  # answered by the pipeline: nobody needs to read it
    page = html(nurse_client.get("/staff/inbox"))
    assert "Inbox <span" in page and "(2, oldest first)" in page
    assert page.index(f'id="item-{first}"') < page.index(f'id="item-{second}"')
    assert page.count(f'href="/staff/patients/{patient["id"]}">Maria Lopez</a>') == 2
    assert "Tue, Mar 2, 10:00 AM EST" in page and "Tue, Mar 2, 10:05 AM EST" in page
    assert "Can I bring my husband?" in page and "Our care team reads texts during office hours" in page
    assert "No automatic answer was sent." in page  # one acknowledgement per few hours
    assert f"{CLINIC}: thank you for your message. Please call us at (202) 555-0100" in page
    assert 'maxlength="320"' in page and "0 / 320 characters" in page
    assert "555-0143" not in page  # the patient's number is not needed here


def test_mark_handled_takes_it_out_of_the_inbox(staff_services, nurse_client, clock):
    app = staff_services
    enrol(app)
    inbound_id = text_in(app, "Can I bring my husband?")
    response = nurse_client.post(f"/staff/inbox/{inbound_id}/handled")
    assert response.headers["Location"] == "/staff/inbox"
    row = item(app, inbound_id)
    assert row["needs_attention"] is False and row["handled_by"] == f"staff:{STAFF[0]}"
    page = html(nurse_client.get("/staff/inbox"))
    assert "Marked handled." in page and "Nothing needs a person right now." in page


def test_a_free_text_answer_goes_out_through_the_dispatcher(staff_services, nurse_client, clock):
    app = staff_services
    patient = enrol(app)
    inbound_id = text_in(app, "Can I bring my husband?")
    typed = "Yes, of course \u2019he\u2019s\u2019 welcome.\r\nSee you Thursday!"
    response = nurse_client.post(f"/staff/inbox/{inbound_id}/reply", {"choice": "free", "text": typed})
    assert response.headers["Location"] == "/staff/inbox"
    assert "it goes out by text within seconds" in html(nurse_client.get("/staff/inbox"))
    [row] = answers(app)
    assert row["status"] == "pending" and row["template"] == "staff_reply" and row["channel"] == "sms"
    assert row["audience"] == "patient" and row["patient_id"] == patient["id"] and row["due_at"] == clock.now
    assert row["dedupe_key"] == f"staffreply:{inbound_id}:1"
    assert item(app, inbound_id)["handled_by"] == f"staff:{STAFF[0]}"
    with app.engine.connect() as conn:
        query = select(audit_events).where(audit_events.c.action == "inbox-answered")
        event = conn.execute(query).mappings().one()
    assert (event["action"], event["entity"], event["entity_id"]) == ("inbox-answered", "inbound", inbound_id)
    assert event["actor"] == f"staff:{STAFF[0]}" and event["details"]["outbox_id"] == row["id"]
    assert Dispatcher(app).run_once().sent == 1
    # Curly quotes became plain ones: the text stays GSM-7, one segment cheaper than UCS-2.
    assert texts_to_patient(app) == [f"{CLINIC}: Yes, of course 'he's' welcome.\nSee you Thursday!"]


def test_a_prepared_answer_is_sent_in_the_patients_language(staff_services, nurse_client):
    app = staff_services
    enrol(app, language="es")
    inbound_id = text_in(app, "Puedo llevar a mi esposo?")
    page = html(nurse_client.get("/staff/inbox"))
    assert f"{CLINIC}: gracias por su mensaje. Alguien de nuestro equipo le llamar" in page
    response = nurse_client.post(f"/staff/inbox/{inbound_id}/reply", {"choice": "staff_reply_will_call"})
    assert response.status_code == 302
    Dispatcher(app).run_once()
    [body] = texts_to_patient(app)
    assert body.startswith(f"{CLINIC}: gracias por su mensaje. Alguien de nuestro equipo le llamará pronto.")


def test_no_answer_after_stop_and_a_queued_one_is_not_sent(staff_services, nurse_client):
    app = staff_services
    enrol(app)
    queued = text_in(app, "Can I bring my husband?")
    later = text_in(app, "And is there parking?")
    assert nurse_client.post(f"/staff/inbox/{queued}/reply", {"text": "Yes, he may."}).status_code == 302
    assert len(answers(app)) == 1
    text_in(app, "STOP")  # before the dispatcher's next tick
    stats = Dispatcher(app).run_once()
    assert stats.skipped == 1 and stats.reasons.get("opted-out") == 1
    [row] = answers(app)
    assert row["status"] == "skipped" and row["reason"] == "opted-out"
    assert texts_to_patient(app) == []
    page = html(nurse_client.get("/staff/inbox"))
    assert "Cannot answer by text: the patient has opted out of texts: call them instead." in page
    assert f'id="text-{later}"' not in page and f'action="/staff/inbox/{later}/reply"' not in page
    refused = nurse_client.post(f"/staff/inbox/{later}/reply", {"text": "Yes, there is parking."})
    assert refused.status_code == 303
    refused_page = html(nurse_client.get(refused.headers["Location"]))
    assert "Not sent. Cannot answer by text: the patient has opted out" in refused_page
    assert len(answers(app)) == 1 and item(app, later)["needs_attention"] is True


@pytest.mark.parametrize(
    ("form", "field", "error"),
    [
        ({"choice": "free", "text": "   "}, "text", "write the answer, or choose a prepared one"),
        ({"choice": "free", "text": "x" * 321}, "text", "321 characters; at most 320"),
        ({"choice": "reply_crisis"}, "template", "choose one of the prepared answers"),
    ],
)
def test_a_bad_answer_is_refused_next_to_the_field(staff_services, nurse_client, form, field, error):
    app = staff_services
    enrol(app)
    inbound_id = text_in(app, "Can I bring my husband?")
    response = nurse_client.post(f"/staff/inbox/{inbound_id}/reply", form)
    assert response.status_code == 303  # Post/Redirect/Get: a reload never sends it again
    assert response.headers["Location"].endswith(f"/staff/inbox#item-{inbound_id}")
    page = html(nurse_client.get(response.headers["Location"]))
    assert error in page and 'id="error-summary"' in page
    if field == "text":
        assert f'<p class="field-error" id="text-{inbound_id}-error">' in page
        assert f'href="#text-{inbound_id}"' in page
        assert f">{form['text']}</textarea>" in page  # what was typed is kept
        assert '<details class="answer" open>' in page
    assert answers(app) == [] and item(app, inbound_id)["needs_attention"] is True


def test_answering_twice_sends_one_answer(staff_services, nurse_client, admin_client):
    app = staff_services
    enrol(app)
    inbound_id = text_in(app, "Can I bring my husband?")
    admin_client.post(f"/staff/inbox/{inbound_id}/reply", {"text": "Yes."})
    again = nurse_client.post(f"/staff/inbox/{inbound_id}/reply", {"text": "Yes, he may."})
    assert again.headers["Location"] == "/staff/inbox"
    assert "Not sent: this message was handled already by admin@clinic.example." in html(
        nurse_client.get("/staff/inbox")
    )
    assert len(answers(app)) == 1


def test_in_the_patients_quiet_hours_the_answer_waits_for_the_morning(staff_services, nurse_client, clock):
    app = staff_services
    enrol(app)
    clock.set(clock.now.replace(hour=2))  # 21:00 in New York
    inbound_id = text_in(app, "Can I bring my husband?")
    nurse_client.post(f"/staff/inbox/{inbound_id}/reply", {"text": "Yes."})
    [row] = answers(app)
    assert row["due_at"] == clock.now.replace(hour=13)  # 8:00 AM EST
    assert "it goes out at Tue, Mar 2, 8:00 AM EST" in html(nurse_client.get("/staff/inbox"))
    assert Dispatcher(app).run_once().sent == 0
    clock.set(row["due_at"])
    assert Dispatcher(app).run_once().sent == 1


def test_a_sender_who_is_not_a_patient_cannot_be_texted(staff_services, nurse_client):
    app = staff_services
    inbound_id = text_in(app, "who is this?", sender="+12025550999")
    page = html(nurse_client.get("/staff/inbox"))
    assert "Not a patient: +12025550999" in page
    assert "Cannot answer by text: not an enrolled patient" in page
    refused = nurse_client.post(f"/staff/inbox/{inbound_id}/reply", {"text": "Hi"})
    assert refused.status_code == 303
    assert "Not sent. Cannot answer by text" in html(nurse_client.get(refused.headers["Location"]))
    assert answers(app) == []
    nurse_client.post(f"/staff/inbox/{inbound_id}/handled")
    assert item(app, inbound_id)["needs_attention"] is False


def test_posts_without_the_csrf_token_change_nothing(staff_services, nurse_client):
    app = staff_services
    enrol(app)
    inbound_id = text_in(app, "Can I bring my husband?")
    assert nurse_client.post(f"/staff/inbox/{inbound_id}/handled", csrf=False).status_code == 400
    refused = nurse_client.post(f"/staff/inbox/{inbound_id}/reply", {"text": "Yes."}, csrf=False)
    assert refused.status_code == 400
    assert item(app, inbound_id)["needs_attention"] is True and answers(app) == []


@pytest.mark.parametrize(
    "path",
    [
        "/staff/inbox/999999/handled",
        "/staff/inbox/999999/reply",
        "/staff/inbox/abc/reply",
        "/staff/inbox/" + "9" * 30 + "/handled",
    ],
)
def test_unknown_ids_are_404(staff_services, nurse_client, path):
    assert nurse_client.post(path, {"text": "x"}).status_code == 404
    with staff_services.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(outbox)).scalar_one() == 0


def test_browser_answer_with_a_live_count(page, live):
    app = live.services
    enrol(app)
    inbound_id = text_in(app, "Can I bring my husband?")
    page.goto("/staff/inbox")
    page.get_by_label("Email").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: url.endswith("/staff/inbox"))
    card = page.locator(f"#item-{inbound_id}")
    card.get_by_text("Answer by text").click()
    box = card.get_by_label("Your answer")
    box.fill("Yes, he is welcome.")
    assert card.locator(f"#count-{inbound_id}").inner_text() == "19 / 320 characters"
    assert card.get_by_label("My own words (below)").is_checked()
    card.get_by_role("button", name="Send answer").click()
    page.wait_for_selector("text=Nothing needs a person right now.")
    Dispatcher(app).run_once()
    assert texts_to_patient(app) == [f"{CLINIC}: Yes, he is welcome."]
