"""The sandbox phone: a patient's texts as a phone shows them, and replies typed as the patient."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

from playwright.sync_api import expect
from sqlalchemy import select

from service.db.tables import audit_events, escalations, inbound_messages
from service.services import consent
from service.services.outbox.dispatch import Dispatcher
from service.web import create_app

from .helpers import book, count, enrol, sandbox
from .staff_helpers import ADMIN, signed_in, staff_services

TWILIO = """
[sms]
transport = "twilio"
[twilio]
account_sid = "AC0123456789abcdef0123456789abcdef"
from_number = "+12025550100"
"""
BUBBLE = re.compile(
    r'<li class="bubble (in|out)"[^>]*><span class="visually-hidden">[^<]*</span>(.*?)<span class="meta">'
)


def bubbles(html: str) -> list[tuple[str, str]]:
    return [(d, unescape(body)) for d, body in BUBBLE.findall(html)]


def same_day_checkin(app, clock, patient_id):
    """Book a visit that ended this morning and send its same-day check-in (the open question)."""
    book(app, patient_id, "2027-03-02T11:00", duration_minutes=60)  # 11:00-12:00 PM EST; check-in 15:00
    Dispatcher(app).run_once()
    clock.advance(timedelta(hours=5, minutes=1))
    Dispatcher(app).run_once()
    assert any("Reply 1" in m["body"] for m in sandbox(app))


def test_the_sandbox_phone_is_gone_when_texts_go_to_twilio(db_url, clock):
    services = staff_services(db_url, clock, extra=TWILIO)
    try:
        patient = enrol(services)
        client = signed_in(create_app(services.config, services=services), ADMIN)
        assert "/staff/sandbox" not in client.get("/staff/today").get_data(as_text=True)
        assert client.get("/staff/sandbox").status_code == 404
        assert client.get(f"/staff/sandbox/{patient['id']}").status_code == 404
        assert client.post(f"/staff/sandbox/{patient['id']}/reply", {"body": "STOP"}).status_code == 404
        assert count(services, inbound_messages) == 0
    finally:
        services.engine.dispose()


def test_the_list_shows_patients_with_a_phone_masked_latest_texts_first(staff_services, nurse_client, clock):
    quiet = enrol(
        staff_services, first_name="Quinn", last_name="Adams", phone="+12025550177", external_ref="q"
    )
    busy = enrol(staff_services)
    enrol(staff_services, first_name="Erin", phone=None, email="erin@example.org", external_ref="e")
    book(staff_services, busy["id"], "2027-03-09T11:00")
    Dispatcher(staff_services).run_once()
    html = nurse_client.get("/staff/sandbox").get_data(as_text=True)
    assert 'href="/staff/sandbox"' in html  # in the nav while SMS goes to the sandbox
    assert html.index("Maria Lopez") < html.index("Quinn Adams")  # texted first, then by name
    assert f'href="/staff/sandbox/{busy["id"]}#latest"' in html and f"/staff/sandbox/{quiet['id']}#" in html
    assert "+1******0143" in html and "+12025550143" not in html
    assert "Tue, Mar 2, 10:00 AM EST" in html and "none yet" in html
    assert "Erin" not in html  # no phone, nothing to show


def test_the_conversation_interleaves_sent_texts_replies_and_automatic_answers(
    staff_services, admin_client, clock
):
    patient = enrol(staff_services)
    book(staff_services, patient["id"], "2027-03-02T11:00", duration_minutes=60)
    Dispatcher(staff_services).run_once()
    clock.advance(timedelta(minutes=1))
    sent = admin_client.post(f"/staff/sandbox/{patient['id']}/reply", {"body": "HELP"})
    assert sent.status_code == 302 and sent.headers["Location"].endswith(
        f"/staff/sandbox/{patient['id']}#latest"
    )
    clock.advance(timedelta(hours=5))
    Dispatcher(staff_services).run_once()
    html = admin_client.get(f"/staff/sandbox/{patient['id']}").get_data(as_text=True)
    got = bubbles(html)
    assert [d for d, _ in got] == ["in", "in", "out", "in", "in"]
    first = " ".join(body for _, body in got[:2])  # sent in one tick, in the dispatcher's order
    assert "booked" in first and "see you today" in first
    assert got[2][1] == "HELP" and "Msg & data rates" in got[3][1]
    assert "checking in" in got[4][1]
    assert "Tue, Mar 2, 10:01 AM EST" in html and "automatic reply" in html and "help answered" in html
    assert "Reply as Maria" in html and "Lopez" not in html and "+1******0143" in html
    # the booking, the morning-of and the check-in go by email too
    assert "Emails sent to this patient: 3" in html


def test_stop_from_the_sandbox_phone_opts_out_like_a_real_text(staff_services, admin_client):
    patient = enrol(staff_services)
    book(staff_services, patient["id"], "2027-03-12T09:00")
    assert admin_client.post(f"/staff/sandbox/{patient['id']}/reply", {"body": "STOP"}).status_code == 302
    ledger = consent.ledger(staff_services, patient["id"])
    assert ledger["state"]["sms"] == {"care": False, "education": False}
    assert ledger["state"]["email"] == {"care": True, "education": True}
    last = ledger["events"][-1]
    assert (last["action"], last["source"], last["raw_text"]) == ("opt_out", "keyword", "STOP")
    assert last["wording_version"].startswith("reply_opt_out@")
    html = admin_client.get(f"/staff/sandbox/{patient['id']}").get_data(as_text=True)
    assert bubbles(html)[-2:][0] == ("out", "STOP") and "Reply START" in bubbles(html)[-1][1]
    with staff_services.engine.connect() as conn:
        provider_id = conn.execute(select(inbound_messages.c.provider_id)).scalar_one()
        who = conn.execute(select(audit_events.c.actor).where(audit_events.c.action == "sandbox-reply")).all()
    assert provider_id.startswith("SB") and who == [(f"staff:{ADMIN[0]}",)]
    Dispatcher(staff_services).run_once()
    assert "sms" not in {m["channel"] for m in sandbox(staff_services)}  # the ledger holds every text back


def test_a_concerning_check_in_answer_raises_an_escalation(staff_services, nurse_client, clock):
    patient = enrol(staff_services)
    same_day_checkin(staff_services, clock, patient["id"])
    assert nurse_client.post(f"/staff/sandbox/{patient['id']}/reply", {"body": "3"}).status_code == 302
    with staff_services.engine.connect() as conn:
        [esc] = conn.execute(select(escalations)).mappings().all()
        kind = conn.execute(select(inbound_messages.c.kind)).scalar_one()
    assert (esc["kind"], esc["state"], esc["patient_id"], kind) == (
        "concerning-answer",
        "open",
        patient["id"],
        "concerning-answer",
    )
    got = bubbles(nurse_client.get(f"/staff/sandbox/{patient['id']}").get_data(as_text=True))
    assert "Reply 1" in got[-3][1] and got[-2] == ("out", "3")
    assert got[-1][0] == "in" and "988" in got[-1][1]


def test_an_empty_or_too_long_reply_is_refused_by_the_field(staff_services, admin_client):
    patient = enrol(staff_services)
    path = f"/staff/sandbox/{patient['id']}/reply"
    empty = admin_client.post(path, {"body": "  \r\n "})
    assert empty.status_code == 303  # Post/Redirect/Get: a reload never sends it again
    html = admin_client.get(empty.headers["Location"]).get_data(as_text=True)
    assert 'id="reply-body-error"' in html and "Type a text" in html and 'href="#reply-body"' in html
    long = admin_client.post(path, {"body": "x" * 1601})
    assert long.status_code == 303
    html = admin_client.get(long.headers["Location"]).get_data(as_text=True)
    assert "at most 1,600 characters" in html and "x" * 1601 in html
    assert count(staff_services, inbound_messages) == 0
    assert admin_client.post(path, {"body": "y" * 1600}).status_code == 302


def test_a_reply_without_the_csrf_token_is_refused(staff_services, admin_client):
    patient = enrol(staff_services)
    r = admin_client.post(f"/staff/sandbox/{patient['id']}/reply", {"body": "STOP"}, csrf=False)
    assert r.status_code == 400
    assert count(staff_services, inbound_messages) == 0
    assert consent.ledger(staff_services, patient["id"])["state"]["sms"]["care"] is True


def test_unknown_patients_and_patients_without_a_phone_are_not_found(staff_services, admin_client):
    no_phone = enrol(staff_services, phone=None, external_ref="e")
    for path in ("/staff/sandbox/999", "/staff/sandbox/abc", f"/staff/sandbox/{no_phone['id']}"):
        assert admin_client.get(path).status_code == 404, path
    assert admin_client.post(f"/staff/sandbox/{no_phone['id']}/reply", {"body": "hi"}).status_code == 404
    assert admin_client.post("/staff/sandbox/999/reply", {"body": "hi"}).status_code == 404
    assert count(staff_services, inbound_messages) == 0


def test_a_concerning_answer_typed_in_the_browser_gets_the_safety_reply(live, page, clock):
    patient = enrol(live.services)
    same_day_checkin(live.services, clock, patient["id"])
    page.goto("/staff/sign-in")
    page.fill("#email", ADMIN[0])
    page.fill("#password", ADMIN[1])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Sandbox phone").click()
    page.get_by_role("link", name="Maria Lopez").click()
    assert "checking in" in page.locator("li.bubble.in").last.inner_text()
    page.get_by_label("Reply as Maria").focus()
    page.keyboard.type("3 - still very dizzy")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    answer = page.locator("li.bubble").last
    expect(answer).to_contain_text("call or text 988")  # waits for the page after the redirect
    expect(answer).to_have_class("bubble in")
    expect(answer).to_have_id("latest")
    expect(page.locator("li.bubble.out").last).to_contain_text("3 - still very dizzy")
    assert count(live.services, escalations) == 1
