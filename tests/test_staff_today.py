"""The Today page and the escalation page: acknowledge with an outcome, sessions with clearance,
failed deliveries, tasks; on both databases, as a nurse (none of it is admin-only)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from sqlalchemy import select, update

from service.db.tables import escalations, outbox, staff_tasks
from service.db.tables import sessions as treatment_sessions
from service.services.outbox.dispatch import Dispatcher
from service.services.replies import escalations as escalation_service
from service.services.replies.inbound import Inbound, handle_inbound
from service.services.tasks import open_task
from service.web import create_app

from .helpers import book, enrol, sandbox
from .staff_helpers import ADMIN, STAFF, csrf_token, signed_in
from .staff_helpers import staff_services as build_staff

PUBLIC = "https://clinic.example.com"
ON_CALL = "+12025550181"
EXTRA = f"""
[web]
public_base_url = "{PUBLIC}"
[[escalation.on_call]]
name = "Dr Rivera"
phone = "{ON_CALL}"
"""
PATIENT_PHONE = "+12025550143"


@pytest.fixture
def app(db_url, clock):
    services = build_staff(db_url, clock, extra=EXTRA)
    yield services
    services.engine.dispose()


@pytest.fixture
def web(app):
    return create_app(app.config, services=app)


@pytest.fixture
def nurse(web):
    return signed_in(web, STAFF)


@pytest.fixture
def admin(web):
    return signed_in(web, ADMIN)


def text_in(app, body, sender=PATIENT_PHONE):
    return handle_inbound(app, Inbound(provider_id="SM" + uuid.uuid4().hex, sender=sender, body=body))


def escalate(app, clock, answer="2 - still dizzy"):
    """The real pipeline: a session today, its same-day check-in sent, a concerning answer."""
    patient = enrol(app)
    session = book(app, patient["id"], "2027-03-02T11:00", duration_minutes=60)  # ends 12:00; check-in 15:00
    clock.advance(timedelta(hours=5, minutes=1))
    Dispatcher(app).run_once()
    assert any("Reply 1" in m["body"] for m in sandbox(app))
    assert text_in(app, answer).kind == "concerning-answer"
    [esc] = escalation_service.list_escalations(app)
    return patient, session, esc


def escalation_row(app, esc_id):
    with app.engine.connect() as conn:
        return conn.execute(select(escalations).where(escalations.c.id == esc_id)).mappings().one()


def html(response):
    return response.get_data(as_text=True)


def card(page, esc_id):
    block = page[page.index(f'id="escalation-{esc_id}"') :]
    return block[: block.index("</article>")]


def test_today_shows_open_escalations_first_with_the_words_and_a_call_button(app, clock, nurse):
    _, _, esc = escalate(app, clock)
    Dispatcher(app).run_once()  # the page to Dr Rivera goes out
    clock.advance(timedelta(minutes=4))
    page = html(nurse.get("/staff/today"))
    assert page.index("Open escalations (1)") < page.index("Today: ") < page.index("Tasks (")
    block = card(page, esc["id"])
    assert "Concerning answer to a safety check-in" in block
    assert "Maria Lopez" in block and esc["code"] in block
    assert "Tue, Mar 2, 11:00 AM EST" in block  # the session, in the clinic's zone
    assert "Raised 4 min ago</strong> (3:01 PM EST)" in block
    assert '<blockquote class="said">2 - still dizzy</blockquote>' in block  # the patient's words
    assert f'href="tel:{PATIENT_PHONE}"' in block and "Call Maria Lopez" in block
    assert 'Dr Rivera by text at 3:01 PM EST <span class="badge sent">sent</span>' in block
    assert "Everyone on call again, Dr Rivera at 3:16 PM EST (in 11 min)" in block  # no backup configured
    assert f"reply <kbd>ACK {esc['code']}</kbd> from an on-call phone, or acknowledge here" in block
    assert '<label for="outcome-' in block and ">Acknowledge<" in block and " required" in block
    failed = page[page.index("Failed deliveries") :]
    assert "555-0143" not in failed  # elsewhere on Today numbers stay masked


def test_acknowledging_records_who_and_the_outcome_and_stops_the_pages(app, clock, nurse):
    _, _, esc = escalate(app, clock)
    response = nurse.post(
        f"/staff/escalations/{esc['id']}/ack",
        {"outcome": "  called patient, safe, plan for tomorrow ", "back": "today"},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/staff/today"
    row = escalation_row(app, esc["id"])
    assert row["state"] == "acknowledged" and row["acked_by"] == f"staff:{STAFF[0]}"
    assert row["outcome"] == "called patient, safe, plan for tomorrow"
    assert row["acked_at"] == clock.now and row["notify_again_at"] is None
    page = html(nurse.get("/staff/today"))
    assert (
        f"Escalation {esc['code']} acknowledged and the outcome recorded; the Inbox message closed with it."
        in page
    )
    assert "Open escalations (0)" in page and f'id="escalation-{esc["id"]}"' not in page
    clock.advance(timedelta(hours=1))
    escalation_service.sweep(app)
    Dispatcher(app).run_once()
    assert not [m for m in sandbox(app) if m["recipient"] == ON_CALL]  # the queued page was called off


def test_acknowledging_twice_is_harmless_and_says_who_was_first(app, clock, admin, nurse):
    _, _, esc = escalate(app, clock)
    admin.post(f"/staff/escalations/{esc['id']}/ack", {"outcome": "called, safe"})
    clock.advance(timedelta(minutes=3))
    again = nurse.post(f"/staff/escalations/{esc['id']}/ack", {"outcome": "I called too"})
    assert again.headers["Location"] == f"/staff/escalations/{esc['id']}"
    page = html(nurse.get(again.headers["Location"]))
    assert f"already acknowledged by {ADMIN[0]}. Your outcome note was not saved." in page
    assert "called, safe" in page and "I called too" not in page
    row = escalation_row(app, esc["id"])
    assert row["acked_by"] == f"staff:{ADMIN[0]}" and row["outcome"] == "called, safe"


def test_the_link_in_the_clinicians_text_opens_the_escalation_after_sign_in(app, clock, web):
    patient, _, esc = escalate(app, clock)
    Dispatcher(app).run_once()
    [paged] = [m for m in sandbox(app) if m["recipient"] == ON_CALL]
    link = re.search(rf"{PUBLIC}(/staff/escalations/\d+)", paged["body"]).group(1)
    client = web.test_client()
    bounce = client.get(link)
    assert bounce.status_code == 302 and urlparse(bounce.headers["Location"]).path == "/staff/sign-in"
    form = html(client.get(bounce.headers["Location"]))
    signed = client.post(
        "/staff/sign-in",
        data={"email": STAFF[0], "password": STAFF[1], "next": link, "csrf_token": csrf_token(form)},
    )
    assert signed.headers["Location"] == link
    page = html(client.get(link))
    assert f"Escalation {esc['code']}" in page and "Maria Lopez" in page
    assert f'href="/staff/patients/{patient["id"]}"' in page
    assert f'href="tel:{PATIENT_PHONE}"' in page and "Call (202) 555-0143" in page
    assert "Answer <strong>2</strong> (side effects that have not passed)" in page
    assert "2 - still dizzy" in page  # what the patient wrote, and what we answered
    assert "A clinician will contact you" in page
    assert 'action="/staff/escalations/' in page and '<span class="badge open">open</span>' in page


def test_an_escalation_acknowledged_by_text_takes_its_outcome_later(app, clock, nurse):
    _, _, esc = escalate(app, clock)
    assert text_in(app, f"ACK {esc['code']}", sender=ON_CALL).kind == "staff-ack"
    page = html(nurse.get(f"/staff/escalations/{esc['id']}"))
    assert "By <strong>Dr Rivera (sms)</strong>" in page and "<strong>Outcome needed.</strong>" in page
    assert ">Record the outcome<" in page
    nurse.post(f"/staff/escalations/{esc['id']}/ack", {"outcome": "Dr Rivera called: fine"})
    row = escalation_row(app, esc["id"])
    assert row["acked_by"] == "Dr Rivera (sms)" and row["outcome"] == "Dr Rivera called: fine"


def test_an_outcome_too_long_is_refused_next_to_the_field(app, clock, nurse):
    _, _, esc = escalate(app, clock)
    response = nurse.post(f"/staff/escalations/{esc['id']}/ack", {"outcome": "x" * 2001})
    assert response.status_code == 303  # Post/Redirect/Get: a reload never sends it again
    page = html(nurse.get(response.headers["Location"]))
    assert f'class="field-error" id="outcome-{esc["id"]}-error"' in page and "x" * 2001 in page
    assert 'id="error-summary"' in page and f'href="#outcome-{esc["id"]}"' in page
    assert 'id="error-summary"' not in html(nurse.get(response.headers["Location"]))  # shown once
    assert escalation_row(app, esc["id"])["state"] == "open"


def test_posts_without_the_csrf_token_change_nothing(app, clock, nurse):
    _, _, esc = escalate(app, clock)
    with app.engine.begin() as conn:
        task = open_task(conn, key="t1", kind="call-patient", now=clock.now, detail="call back")
    refused = nurse.post(f"/staff/escalations/{esc['id']}/ack", {"outcome": "x"}, csrf=False)
    assert refused.status_code == 400
    assert nurse.post(f"/staff/tasks/{task}/done", csrf=False).status_code == 400
    assert escalation_row(app, esc["id"])["state"] == "open"
    with app.engine.connect() as conn:
        assert conn.execute(select(staff_tasks.c.state)).scalar_one() == "open"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/staff/escalations/999999"),
        ("get", "/staff/escalations/abc"),
        ("get", "/staff/escalations/" + "9" * 30),
        ("post", "/staff/escalations/999999/ack"),
        ("post", "/staff/escalations/-1/ack"),
        ("post", "/staff/tasks/999999/done"),
        ("post", "/staff/tasks/x/done"),
    ],
)
def test_unknown_ids_are_404(nurse, method, path):
    response = nurse.get(path) if method == "get" else nurse.post(path, {"outcome": "x"})
    assert response.status_code == 404


def test_sessions_today_and_tomorrow_by_the_clinics_days_with_clearance(app, nurse):
    people = [
        enrol(app, first_name=name, phone=f"+1202555017{i}", external_ref=name)
        for i, name in enumerate(("Ana", "Ben", "Cruz", "Dee", "Eve"))
    ]
    ana = book(app, people[0]["id"], "2027-03-02T14:00")
    ben = book(app, people[1]["id"], "2027-03-02T23:30", modality="im")  # 4:30 AM UTC on the 3rd
    cruz = book(app, people[2]["id"], "2027-03-03T09:00")
    book(app, people[3]["id"], "2027-03-04T00:30")  # the day after tomorrow
    eve = book(app, people[4]["id"], "2027-03-03T10:00")
    with app.engine.begin() as conn:
        for s, state in ((ana, "cleared"), (ben, "not_cleared"), (cruz, "unreachable")):
            conn.execute(
                update(treatment_sessions).where(treatment_sessions.c.id == s["id"]).values(clearance=state)
            )
        conn.execute(
            update(treatment_sessions).where(treatment_sessions.c.id == eve["id"]).values(status="cancelled")
        )
    page = html(nurse.get("/staff/today"))
    today = page[page.index("Today: Tue, Mar 2") : page.index("Tomorrow: Wed, Mar 3")]
    tomorrow = page[page.index("Tomorrow: Wed, Mar 3") : page.index("Failed deliveries")]
    assert "Ana Lopez" in today and "Ben Lopez" in today and "Cruz" not in today
    assert "2:00 PM EST" in today and "11:30 PM EST" in today and ">IM ketamine<" in today
    assert '<span class="badge cleared">cleared</span>' in today
    assert '<span class="badge not_cleared">not cleared</span>' in today
    assert "Cruz Lopez" in tomorrow and '<span class="badge unreachable">unreachable</span>' in tomorrow
    assert "Dee" not in page and "Eve" not in page
    assert f'href="/staff/patients/{people[0]["id"]}"' in today


def test_failed_deliveries_show_why_with_a_masked_recipient(app, clock, nurse):
    patient = enrol(app)
    book(app, patient["id"], "2027-03-09T09:00")
    [first, second, *_] = [r["id"] for r in _rows(app)]
    with app.engine.begin() as conn:
        conn.execute(
            update(outbox)
            .where(outbox.c.id == first)
            .values(status="failed", reason="permanent:21211", attempts=1, updated_at=clock.now)
        )
        old = clock.now - timedelta(days=8)
        conn.execute(
            update(outbox).where(outbox.c.id == second).values(status="failed", reason="old", updated_at=old)
        )
    page = html(nurse.get("/staff/today"))
    failed = page[page.index("Failed deliveries") : page.index("Tasks (")]
    assert "Maria Lopez" in failed and "+1******0143" in failed and "permanent:21211" in failed
    assert '<span class="badge failed">failed</span>' in failed
    assert failed.count("<tr>") == 2  # the header and the recent failure; the old one has left
    assert "555-0143" not in page


def _rows(app):
    with app.engine.connect() as conn:
        return list(conn.execute(select(outbox).order_by(outbox.c.id)).mappings())


def test_a_task_is_done_with_one_button(app, clock, nurse):
    patient = enrol(app)
    with app.engine.begin() as conn:
        task = open_task(
            conn,
            key="opted-out:1",
            kind="opted-out-mid-course",
            now=clock.now,
            patient_id=patient["id"],
            detail="opted out of texts with a session booked: call to agree another way to reach them",
        )
    page = html(nurse.get("/staff/today"))
    assert "Tasks (1)" in page and "Opted out mid course" in page and "call to agree another way" in page
    assert f'action="/staff/tasks/{task}/done"' in page
    response = nurse.post(f"/staff/tasks/{task}/done")
    assert response.headers["Location"] == "/staff/today"
    with app.engine.connect() as conn:
        row = conn.execute(select(staff_tasks)).mappings().one()
    assert row["state"] == "done" and row["done_by"] == f"staff:{STAFF[0]}"
    page = html(nurse.get("/staff/today"))
    assert "Task done: opted out mid course." in page and "Tasks (0)" in page


def test_the_inbox_count_links_to_the_inbox(app, nurse):
    enrol(app)
    text_in(app, "Can I bring my husband?")
    text_in(app, "Is there parking?")
    page = html(nurse.get("/staff/today"))
    assert '<a href="/staff/inbox">2 messages in the Inbox need a person</a>' in page


# --- in the browser, on a phone -------------------------------------------------------------------


def _phone_sign_in(page, path):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(path)
    page.get_by_label("Email").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(lambda url: urlparse(url).path == path)


def test_browser_acknowledge_from_today_on_a_phone(page, live, clock):
    _, _, esc = escalate(live.services, clock)
    _phone_sign_in(page, "/staff/today")
    first = page.locator("main h2").first
    assert first.inner_text() == "Open escalations (1)"
    card = page.locator(f"#escalation-{esc['id']}")
    assert esc["code"] in card.inner_text() and "Maria Lopez" in card.inner_text()
    card.get_by_label("Outcome").fill("called patient, safe, plan for tomorrow")
    card.get_by_role("button", name="Acknowledge").click()
    page.wait_for_selector("text=Open escalations (0)")
    assert page.locator(f"#escalation-{esc['id']}").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    row = escalation_row(live.services, esc["id"])
    assert row["outcome"] == "called patient, safe, plan for tomorrow"


def test_browser_the_escalation_link_on_a_phone_with_the_keyboard(page, live, clock):
    _, _, esc = escalate(live.services, clock)
    _phone_sign_in(page, f"/staff/escalations/{esc['id']}")
    call = page.get_by_role("link", name="Call (202) 555-0143")
    assert call.get_attribute("href") == f"tel:{PATIENT_PHONE}"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.get_by_label("Outcome").focus()
    page.keyboard.type("no answer; left voicemail, will try at 17:00")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Acknowledged")
    assert "no answer; left voicemail" in page.locator("main").inner_text()
    assert escalation_row(live.services, esc["id"])["state"] == "acknowledged"
