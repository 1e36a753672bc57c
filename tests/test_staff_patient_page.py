"""The patient page at a glance: what needs a person first (an open escalation, an opt-out, a
number that cannot take texts, open tasks), the conversation as one thread with who answered,
the messages that will not go marked so, skipped and cancelled behind a filter, plain names."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from sqlalchemy import update

from service.db.tables import patients as patients_table
from service.services.outbox.dispatch import Dispatcher
from service.services.replies.inbound import Inbound, handle_inbound
from service.web import create_app
from tests.helpers import book, enrol, rows

from .staff_helpers import ADMIN, STAFF, signed_in

PHONE = "+12025550143"


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def texts(app, body: str):
    return handle_inbound(app, Inbound("SM" + uuid.uuid4().hex, PHONE, body))


def part(page: str, section: str) -> str:
    """One section of the page, by its id."""
    start = page.index(f'id="{section}"')
    return page[start : page.index("</section>", start)]


def banners(page: str) -> str:
    """The banners, and that they come first: right after the heading, before the actions."""
    assert '<ul class="banners"' in page, "no banner"
    start = page.index('<ul class="banners"')
    assert page.index("</h1>") < start < page.index("Book a session")
    return " ".join(page[start : page.index("</ul>", start)].split())


def pending_texts(app, patient_id: int) -> int:
    return len([r for r in rows(app, patient_id=patient_id, channel="sms") if r["status"] == "pending"])


# --- what needs a person, first ----------------------------------------------------------------


def test_banners_name_an_open_escalation_an_opt_out_by_stop_and_the_open_tasks(staff_services, admin_client):
    calm = enrol(staff_services, first_name="Ana", phone="+12025550144", email="ana@example.org")
    assert '<ul class="banners"' not in text(admin_client.get(f"/staff/patients/{calm['id']}"))
    p = enrol(staff_services)
    book(staff_services, p["id"], "2027-03-09T09:00")
    texts(staff_services, "I want to kill myself")  # crisis words: an escalation (nobody on call: a task too)
    texts(staff_services, "STOP")  # mid-course: a task to call
    page = text(admin_client.get(f"/staff/patients/{p['id']}"))
    shown = banners(page)
    assert (
        "<strong>Open escalation:</strong> Crisis words in a patient&#39;s text: suicide or self-harm"
        in shown
    )
    assert re.search(
        r'A clinician must call Maria now. <a href="/staff/escalations/\d+">Open escalation', shown
    )
    assert "<strong>No texts:</strong>" in shown and "Maria texted “STOP”, Tue, Mar 2, 10:00 AM EST." in shown
    assert "Only Maria can turn texts back on, by texting START" in shown
    assert "<strong>2 open tasks:</strong>" in shown
    assert (
        "Opted out mid course: opted out of texts with a session booked: call to agree another way" in shown
    )
    assert re.search(
        r'<a href="/staff/today#task-\d+">Open in Today<span class="visually-hidden">: opted', shown
    )


def test_an_opt_out_staff_may_lift_links_to_record_consent(staff_services, admin_client):
    p = enrol(staff_services)
    response = admin_client.get(f"/staff/patients/{p['id']}")
    assert '<ul class="banners"' not in text(response)
    with staff_services.engine.begin() as conn:
        from service.services import consent

        consent.record(
            conn,
            patient_id=p["id"],
            channel="email",
            purpose="education",
            action="opt_out",
            source="email-link",
            now=staff_services.clock(),
        )
    shown = banners(text(admin_client.get(f"/staff/patients/{p['id']}")))
    assert "<strong>No education emails:</strong> Maria opted out by the link in an email" in shown
    assert (
        f'If they agree again, <a href="/staff/patients/{p["id"]}/consent">record their consent</a>' in shown
    )
    assert "texting START" not in shown


def test_a_number_that_cannot_take_texts_is_a_banner_with_its_reason_in_words(staff_services, admin_client):
    p = enrol(staff_services)
    book(staff_services, p["id"], "2027-03-09T09:00")
    with staff_services.engine.begin() as conn:
        conn.execute(
            update(patients_table)
            .where(patients_table.c.id == p["id"])
            .values(sms_status="unusable", sms_status_reason="twilio-21614")
        )
    page = text(admin_client.get(f"/staff/patients/{p['id']}"))
    shown = banners(page)
    assert "<strong>Texts paused: (202) 555-0143 cannot take them</strong>" in shown
    assert "(Twilio error 21614: not a mobile number)" in shown
    assert f'<a href="/staff/patients/{p["id"]}/edit">Edit details</a>' in shown
    messages = part(page, "messages")
    assert (
        messages.count("won’t send: the number cannot take texts")
        == pending_texts(staff_services, p["id"])
        > 0
    )


# --- the conversation --------------------------------------------------------------------------


def test_the_conversation_shows_texts_automatic_answers_and_a_colleagues_answer_newest_last(
    staff_services, admin_client, clock
):
    p = enrol(staff_services)
    book(staff_services, p["id"], "2027-03-09T09:00")
    asked = texts(staff_services, "Can I bring my sister?").inbound_id
    nurse = signed_in(create_app(staff_services.config, services=staff_services), STAFF)
    clock.advance(timedelta(minutes=2))
    answer = {"choice": "free", "text": "Yes, she may wait with you."}
    assert nurse.post(f"/staff/inbox/{asked}/reply", answer).status_code in (302, 303)
    Dispatcher(staff_services).run_once()  # the worker sends it within seconds
    clock.advance(timedelta(minutes=2))
    again = texts(staff_services, "And is there parking?").inbound_id
    assert nurse.post(f"/staff/inbox/{again}/reply", {"choice": "staff_reply_will_call"}).status_code in (
        302,
        303,
    )
    Dispatcher(staff_services).run_once()
    page = text(admin_client.get(f"/staff/patients/{p['id']}"))
    assert page.index('id="thread"') < page.index('id="sessions-title"') < page.index('id="messages"')
    thread = part(page, "thread")
    order = [
        "Can I bring my sister?",
        "thank you, we got your message",  # the automatic answer
        "Interlude Demo: Yes, she may wait with you.",  # the nurse's, as the patient read it
        "And is there parking?",
        "Someone from our team will call you soon.",  # a prepared answer, rendered
    ]
    assert all(words in thread for words in order), thread
    assert [thread.index(words) for words in order] == sorted(thread.index(words) for words in order)
    assert "Automatic answer" in thread
    assert thread.count(f"Answer from {STAFF[0]}") == 2 and "staff:" not in thread
    assert f"handled by {STAFF[0]}" in thread
    admin = signed_in(create_app(staff_services.config, services=staff_services), ADMIN)
    assert "staff:" not in part(text(admin.get(f"/staff/patients/{p['id']}")), "thread")


# --- the messages ------------------------------------------------------------------------------


def test_after_stop_planned_texts_say_they_will_not_go_and_texts_are_not_offered(
    staff_services, admin_client
):
    p = enrol(staff_services)
    book(staff_services, p["id"], "2027-03-09T09:00")
    before = part(text(admin_client.get(f"/staff/patients/{p['id']}")), "messages")
    assert "won’t send" not in before
    texts(staff_services, "STOP")
    page = text(admin_client.get(f"/staff/patients/{p['id']}"))
    messages = part(page, "messages")
    planned_texts = pending_texts(staff_services, p["id"])
    assert planned_texts > 0 and messages.count("won’t send: opted out") == planned_texts
    assert not re.search(r'badge pending">planned</span>\s*<strong>[^<]*</strong> · Text message', messages)
    assert re.search(r'badge pending">planned</span>\s*<strong>[^<]*</strong> · Email', messages)
    contact = part(page, "contact-title")
    assert 'Text message <span class="badge danger">not now: opted out</span>' in contact
    assert "Email" in contact and "sms" not in contact


def test_skipped_and_cancelled_messages_are_behind_a_filter(staff_services, admin_client):
    p = enrol(staff_services)
    book(staff_services, p["id"], "2027-03-03T09:00")  # tomorrow: too late for some preparation
    later = book(staff_services, p["id"], "2027-03-16T09:00")
    admin_client.post(f"/staff/sessions/{later['id']}/cancel", {"reason": "patient asked"})
    statuses = [r["status"] for r in rows(staff_services, patient_id=p["id"])]
    gone = statuses.count("skipped") + statuses.count("cancelled")
    assert statuses.count("skipped") and statuses.count("cancelled")
    url = f"/staff/patients/{p['id']}"
    messages = part(text(admin_client.get(url)), "messages")
    assert 'class="msg-skipped"' not in messages and 'class="msg-cancelled"' not in messages
    assert f"{gone} skipped or cancelled not shown." in messages
    assert f'<a href="{url}?messages=all#messages">Show all messages</a>' in messages
    assert messages.count("<li class=") == len(statuses) - gone
    everything = part(text(admin_client.get(f"{url}?messages=all")), "messages")
    assert everything.count("<li class=") == len(statuses)
    assert 'class="msg-skipped"' in everything and 'class="msg-cancelled"' in everything
    assert (
        "why: too late" in everything
        and f'<a href="{url}#messages">Show only planned and sent</a>' in everything
    )


def test_plain_names_and_no_codes_on_the_page(staff_services, admin_client, clock):
    p = enrol(staff_services, preferred_channel="both", indications=["depression", "ptsd"])
    book(staff_services, p["id"], "2027-03-02T11:00")  # today: the same-day check-in is planned
    book(staff_services, p["id"], "2027-03-16T09:00", modality="intranasal")
    texts(staff_services, "STOP")
    for url in (f"/staff/patients/{p['id']}", f"/staff/patients/{p['id']}?messages=all&thread=all"):
        page = text(admin_client.get(url))
        main = page[page.index("<main") : page.index("</main>")]
        for code in ("edu_general_pre1", "checkin_same_day", "edu general pre1", "checkin same day"):
            assert code not in main, (url, code)
        assert not re.search(r"· (sms|email)\b", main) and "IV ·" not in main and ">en<" not in main
        assert "<strong>Same-day check-in</strong>" in main
        assert "<strong>Education: What to expect at your first visit</strong>" in main or "all" not in url
        assert "IV ketamine" in main and "Intranasal esketamine" in main
        assert "English" in main and "Depression, PTSD" in main and "Text message" in main
        assert "(202) 555-0143" in main and PHONE not in main


# --- on a phone --------------------------------------------------------------------------------


def test_on_a_phone_the_banners_and_book_a_session_are_on_the_first_screen(page, live):
    app = live.services
    p = enrol(app)
    book(app, p["id"], "2027-03-09T09:00")
    texts(app, "I want to kill myself")  # an escalation, and a task (nobody on call)
    texts(app, "STOP")  # an opt-out, and a task to call
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/staff/patients/{p['id']}")
    page.get_by_label("Email").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: url.endswith(f"/staff/patients/{p['id']}"))
    book_link = page.get_by_role("link", name="Book a session")
    items = page.locator("ul.banners > li")
    assert items.count() == 3  # the escalation, the opt-out, the tasks
    for box in [book_link.bounding_box(), *(items.nth(i).bounding_box() for i in range(items.count()))]:
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 844, box
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    assert page.evaluate("window.scrollY") == 0
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
