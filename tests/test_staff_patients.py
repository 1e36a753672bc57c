"""Staff Patients pages: search, the patient record, booking and changing sessions with a preview."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from service.db.tables import delivery_attempts
from service.db.tables import patients as patients_table
from service.db.tables import sessions as sessions_table
from service.services.outbox.deliveries import apply_status
from service.services.outbox.dispatch import Dispatcher
from service.services.replies import inbound as replies
from service.services.replies.inbound import Inbound
from service.services.staff import add_staff
from service.services.views import patient_pages
from service.transports.base import TransportError
from service.web import create_app
from tests.helpers import (
    ScriptedTransport,
    book,
    by_step,
    count,
    enrol,
    make_config,
    make_services,
    opt_out,
    rows,
)

from .staff_helpers import ADMIN, SECRET, signed_in

PHONE = "+12025550143"


def text(response) -> str:
    return response.get_data(as_text=True)


def field_error(html: str, name: str) -> str:
    found = re.search(rf'<p class="field-error" id="{name}-error">([^<]*)</p>', html)
    assert found, f"no error shown next to {name}"
    return found.group(1)


def session_rows(app, patient_id: int):
    query = select(sessions_table).where(sessions_table.c.patient_id == patient_id)
    with app.engine.connect() as conn:
        return list(conn.execute(query).mappings())


# --- search and enrol --------------------------------------------------------------------------


def test_search_by_part_of_a_name_or_a_phone_typed_any_way(staff_services, admin_client):
    maria = enrol(staff_services)
    enrol(staff_services, first_name="John", last_name="Smith", phone="+12025550199", email=None)
    book(staff_services, maria["id"], "2027-03-12T09:00")
    for query in ("lop", "MARIA", "aria lo", "(202) 555-0143", "2025550143", "+1 202 555 0143", "0143"):
        page = text(admin_client.get("/staff/patients", query_string={"q": query}))
        assert f'href="/staff/patients/{maria["id"]}">Maria Lopez<' in page, query
        assert "John Smith" not in page, query
    page = text(admin_client.get("/staff/patients?q=0143"))
    assert "+1******0143" in page and PHONE not in page  # the list masks the number
    assert "Fri, Mar 12, 9:00 AM EST" in page  # next session, in the clinic's zone
    recent = text(admin_client.get("/staff/patients"))
    assert "Maria Lopez" in recent and "John Smith" in recent
    for query in ("nobody", "5550", "%", "_"):
        page = text(admin_client.get("/staff/patients", query_string={"q": query}))
        assert "Maria Lopez" not in page and "John Smith" not in page, query


def test_search_results_match_the_service_on_both_databases(staff_services):
    enrol(staff_services, first_name="Ana", last_name="O'Neil_x")
    assert [p["name"] for p in patient_pages.search(staff_services, "neil_")] == ["Ana O'Neil_x"]
    assert patient_pages.search(staff_services, "nei%") == []


def test_add_a_patient_then_land_on_their_page(staff_services, nurse_client):
    response = nurse_client.post(
        "/staff/patients/new",
        {
            "first_name": "Sam",
            "last_name": "Rivera",
            "phone": "(415) 555-0100",
            "timezone": "America/Los_Angeles",
            "language": "es",
            "channels": ["sms"],
            "indications": ["anxiety", "ptsd"],
        },
    )
    assert response.status_code == 302
    page = text(nurse_client.get(response.headers["Location"]))
    assert "Sam Rivera" in page and "+14155550100" in page and "America/Los_Angeles" in page
    assert "anxiety, ptsd" in page


def test_bad_patient_fields_are_shown_next_to_them_and_nothing_is_saved(staff_services, admin_client):
    response = admin_client.post(
        "/staff/patients/new",
        {"first_name": "Sam", "last_name": "", "phone": "12", "email": "no", "timezone": "Mars/Base"},
    )
    assert response.status_code == 400
    page = text(response)
    assert field_error(page, "last_name") == "required"
    assert "phone number" in field_error(page, "phone")
    assert "email" in field_error(page, "email")
    assert "Mars/Base" in field_error(page, "timezone")
    assert 'value="Sam"' in page  # what was typed stays
    assert count(staff_services, patients_table) == 0


# --- the patient page --------------------------------------------------------------------------


@pytest.fixture
def failing_sms(db_url, clock):
    """Services whose SMS transport refuses the first message as a landline (Twilio 21614)."""
    sms = ScriptedTransport("fake-sms", [TransportError("landline", kind="permanent", code="21614")])
    config = make_config(db_url, env={"INTERLUDE_SECRET_KEY": SECRET})
    app = make_services(
        db_url, clock, config=config, transports={"sms": sms, "email": ScriptedTransport("fake-email")}
    )
    add_staff(app, *ADMIN, admin=True, actor="test")
    yield app
    app.engine.dispose()


def test_patient_page_shows_contacts_consent_timeline_and_thread(failing_sms, clock):
    staff_services = failing_sms
    admin_client = signed_in(create_app(failing_sms.config, services=failing_sms), ADMIN)
    p = enrol(staff_services)
    book(staff_services, p["id"], "2027-03-04T09:00")  # Thursday: too late for the 3-days-ahead message
    Dispatcher(staff_services).run_once()
    with staff_services.engine.connect() as conn:
        email = (
            conn.execute(select(delivery_attempts).where(delivery_attempts.c.channel == "email"))
            .mappings()
            .one()
        )
    apply_status(staff_services, email["id"], "delivered", transport="fake-email")
    replies.handle_inbound(staff_services, Inbound("SMq1", PHONE, "Can I bring my sister?"))
    clock.advance(timedelta(minutes=5))
    replies.handle_inbound(staff_services, Inbound("SMq2", PHONE, "STOP"))
    page = text(admin_client.get(f"/staff/patients/{p['id']}"))
    assert PHONE in page and "maria@example.org" in page  # this page's task needs them in full
    assert "America/New_York" in page and "depression" in page
    # consent: the ledger and the state derived from it
    assert "from keyword" in page and "“STOP”" in page and "opted out" in page
    assert 'SMS unusable</span> <span class="muted">twilio 21614' in page
    # timeline: delivered, failed with the provider's reason, planned with its due time, skipped with why
    timeline = page.split('id="messages"')[1].split('id="thread"')[0]
    assert re.search(
        r"badge delivered\">delivered</span>\s*<strong>booking confirmation</strong> · email", timeline
    )
    assert re.search(r"badge failed\">failed</span>\s*<strong>booking confirmation</strong> · sms", timeline)
    assert "error 21614: not a mobile number" in timeline
    assert re.search(
        r"Wed, Mar 3, 6:00 PM EST</span><br>\s*<span class=\"badge pending\">planned</span>", timeline
    )
    assert "prep ahead" in timeline and "why: too late" in timeline
    # thread: what the patient sent, its kind, and the automatic answer
    thread = page.split('id="thread"')[1]
    assert "Can I bring my sister?" in thread and "needs a person" in thread
    assert "STOP" in thread and "opt out" in thread and "automatic reply" in thread


def test_unknown_patient_is_404(admin_client):
    assert admin_client.get("/staff/patients/999").status_code == 404
    assert admin_client.get("/staff/patients/999/sessions/new").status_code == 404
    assert admin_client.get("/staff/sessions/999/reschedule").status_code == 404


# --- booking -----------------------------------------------------------------------------------


def test_nurse_books_with_a_preview_that_writes_nothing_then_saves(staff_services, nurse_client):
    p = enrol(staff_services)
    url = f"/staff/patients/{p['id']}/sessions/new"
    form = text(nurse_client.get(url))
    assert "time zone, America/New_York" in form
    before = rows(staff_services)
    data = {"start": "2027-03-12T09:00", "modality": "iv", "action": "preview"}
    preview = nurse_client.post(url, data)
    assert preview.status_code == 200
    page = text(preview)
    assert "Thu, Mar 11, 6:00 PM EST" in page  # the evening before, on the patient's clock
    assert "quiet hours deferred" in page  # the 06:00 morning-of text waits for 08:00
    assert 'value="save">Book session</button>' in page
    assert rows(staff_services) == before and session_rows(staff_services, p["id"]) == []

    expected = patient_pages.preview_booking(
        staff_services, p["id"], {"start": "2027-03-12T09:00", "modality": "iv"}
    )
    saved = nurse_client.post(url, {**data, "action": "save"})
    assert saved.status_code == 302 and saved.headers["Location"].endswith(
        f"/staff/patients/{p['id']}#messages"
    )
    [session] = session_rows(staff_services, p["id"])
    stored = {
        (r["step_id"], r["channel"], r["due_at"], r["status"])
        for r in rows(staff_services, session_id=session["id"])
    }
    assert stored == {(m.step, m.channel, m.due_at, m.status) for m in expected["messages"]}
    assert by_step(staff_services, session["id"])[("prep_evening_before", "sms")][0]["status"] == "pending"
    after = text(nurse_client.get(saved.headers["Location"]))
    assert "Session 1 booked" in after and 'badge pending">planned' in after


def test_preview_follows_the_patients_zone_channels_and_indications(staff_services):
    west = enrol(staff_services, timezone="America/Los_Angeles", channels=["email"], indications=["anxiety"])
    east = enrol(staff_services, phone="+12025550144", email="b@example.org")
    data = {"start": "2027-03-12T09:00", "modality": "iv"}
    west_plan = patient_pages.preview_booking(staff_services, west["id"], data)
    east_plan = patient_pages.preview_booking(staff_services, east["id"], data)
    assert {m.channel for m in west_plan["messages"]} == {"email"}
    assert west_plan["start"].isoformat() == "2027-03-12T17:00:00+00:00"  # 9:00 AM PST
    evening = next(m for m in west_plan["messages"] if m.step == "prep_evening_before")
    assert evening.due_at.isoformat() == "2027-03-12T02:00:00+00:00"  # 6:00 PM PST the day before
    assert not any(m.step.startswith("edu_depression") for m in west_plan["messages"])
    assert any(m.step == "edu_depression_1" for m in east_plan["messages"])
    assert all(m.note is None for m in east_plan["messages"])
    opt_out(staff_services, east["id"], "sms")
    after_stop = patient_pages.preview_booking(staff_services, east["id"], data)["messages"]
    assert {m.note for m in after_stop if m.channel == "sms"} == {"the patient opted out of sms: not sent"}
    assert {m.note for m in after_stop if m.channel == "email"} == {None}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("start", "2027-03-01T09:00", "must be in the future"),
        ("start", "2027-03-14T02:30", "does not exist in America/New_York"),  # clocks spring forward
        ("start", "", "required"),
        ("modality", "ketamine", "expected one of iv, im, intranasal, oral, kat"),
        ("duration_minutes", "ninety", "whole number"),
    ],
)
@pytest.mark.parametrize("action", ["preview", "save"])
def test_bad_booking_input_is_400_next_to_the_field_and_writes_nothing(
    staff_services, admin_client, field, value, message, action
):
    p = enrol(staff_services)
    before = rows(staff_services)
    data = {"start": "2027-03-12T09:00", "modality": "iv", "action": action, field: value}
    response = admin_client.post(f"/staff/patients/{p['id']}/sessions/new", data)
    assert response.status_code == 400
    assert message in field_error(text(response), field)
    assert 'value="save"' not in text(response)  # no booking button without a good preview
    assert rows(staff_services) == before and session_rows(staff_services, p["id"]) == []


def test_a_form_without_the_csrf_token_is_refused(staff_services, admin_client):
    p = enrol(staff_services)
    data = {"start": "2027-03-12T09:00", "modality": "iv", "action": "save"}
    response = admin_client.post(f"/staff/patients/{p['id']}/sessions/new", data, csrf=False)
    assert response.status_code == 400 and "This form has expired" in text(response)
    assert session_rows(staff_services, p["id"]) == []
    s = book(staff_services, p["id"], "2027-03-12T09:00")
    assert admin_client.post(f"/staff/sessions/{s['id']}/cancel", {}, csrf=False).status_code == 400
    assert session_rows(staff_services, p["id"])[0]["status"] == "booked"


# --- changing a session ------------------------------------------------------------------------


def test_reschedule_previews_which_messages_move_then_moves_them(staff_services, nurse_client):
    p = enrol(staff_services)
    s = book(staff_services, p["id"], "2027-03-12T09:00")
    url = f"/staff/sessions/{s['id']}/reschedule"
    assert 'value="2027-03-12T09:00"' in text(nurse_client.get(url))
    before = rows(staff_services, session_id=s["id"])
    data = {"start": "2027-03-19T14:00", "reason": "patient asked", "action": "preview"}
    page = text(nurse_client.post(url, data))
    assert re.search(
        r"prep evening before</strong> · sms<br>\s*<span class=\"badge pending\">moves</span>", page
    )
    assert "from Thu, Mar 11, 6:00 PM EST to <strong>Thu, Mar 18, 6:00 PM EDT</strong>" in page
    assert rows(staff_services, session_id=s["id"]) == before

    changes = patient_pages.preview_reschedule(staff_services, s["id"], {"start": "2027-03-19T14:00"})[
        "changes"
    ]
    response = nurse_client.post(url, {**data, "action": "save"})
    assert response.status_code == 302
    after = {(r["step_id"], r["channel"]): r for r in rows(staff_services, session_id=s["id"])}
    for change in changes:
        row = after[(change.step, change.channel)]
        if change.action in ("moves", "new", "unchanged"):
            assert (row["status"], row["due_at"]) == ("pending", change.after), change
        elif change.action == "cancelled":
            assert row["status"] == "cancelled", change
    moved = after[("prep_evening_before", "sms")]
    assert moved["due_at"].isoformat() == "2027-03-18T22:00:00+00:00"
    assert any(c.action == "new" and c.step == "session_rescheduled" for c in changes)


def test_reschedule_preview_says_what_was_sent_is_not_sent_again(staff_services, staff_app, clock):
    p = enrol(staff_services, preferred_channel="both")  # education by text too
    s = book(staff_services, p["id"], "2027-03-05T09:00")
    clock.set(datetime(2027, 3, 3, 17, 5, tzinfo=UTC))  # Wednesday 12:05 PM EST
    admin_client = signed_in(staff_app, ADMIN)  # a day later: a sign-in lasts 12 hours
    Dispatcher(staff_services).run_once()
    assert {r["status"] for r in rows(staff_services, step_id="edu_general_pre1")} == {"sent"}
    url = f"/staff/sessions/{s['id']}/reschedule"
    page = text(admin_client.post(url, {"start": "2027-03-19T14:00", "action": "preview"}))
    sent = (
        r"edu general pre1</strong> · sms<br>\s*<span class=\"badge sent\">already sent</span> not sent again"
    )
    assert re.search(sent, page)
    again = (
        r"prep ahead</strong> · sms<br>\s*<span class=\"badge pending\">new</span> Tue, Mar 16, 10:00 AM EDT"
    )
    assert re.search(again, page)  # preparation is repeated for the new date
    assert admin_client.post(url, {"start": "2027-03-19T14:00", "action": "save"}).status_code == 302
    assert {r["status"] for r in rows(staff_services, step_id="edu_general_pre1")} == {"sent"}
    prep = [r for r in rows(staff_services, step_id="prep_ahead", channel="sms") if r["status"] == "pending"]
    assert [r["due_at"].isoformat() for r in prep] == ["2027-03-16T14:00:00+00:00"]


def test_reschedule_to_a_bad_time_is_400_and_moves_nothing(staff_services, admin_client):
    p = enrol(staff_services)
    s = book(staff_services, p["id"], "2027-03-12T09:00")
    before = rows(staff_services, session_id=s["id"])
    for action in ("preview", "save"):
        response = admin_client.post(
            f"/staff/sessions/{s['id']}/reschedule", {"start": "2027-03-14T02:15", "action": action}
        )
        assert response.status_code == 400
        assert "does not exist" in field_error(text(response), "start")
    assert rows(staff_services, session_id=s["id"]) == before


def test_cancel_lists_the_messages_then_cancels_them(staff_services, admin_client):
    p = enrol(staff_services)
    s = book(staff_services, p["id"], "2027-03-12T09:00")
    pending = rows(staff_services, session_id=s["id"], status="pending")
    confirm = text(admin_client.get(f"/staff/sessions/{s['id']}/cancel"))
    assert f"These {len(pending)} planned messages will be cancelled" in confirm
    assert "prep evening before · sms · was due Thu, Mar 11, 6:00 PM EST" in confirm
    response = admin_client.post(f"/staff/sessions/{s['id']}/cancel", {"reason": "unwell"})
    assert response.status_code == 302
    for row in rows(staff_services, session_id=s["id"]):
        if row["id"] in {r["id"] for r in pending}:
            assert (row["status"], row["reason"]) == ("cancelled", "session-cancelled")
    assert session_rows(staff_services, p["id"])[0]["status"] == "cancelled"
    page = text(admin_client.get(response.headers["Location"]))
    assert f"{len(pending)} pending messages cancelled" in page and "No upcoming session." in page


def test_complete_and_no_show_and_their_conflicts(staff_services, staff_app, admin_client, clock):
    p = enrol(staff_services)
    first = book(staff_services, p["id"], "2027-03-03T09:00")
    second = book(staff_services, p["id"], "2027-03-03T13:00")
    early = admin_client.post(f"/staff/sessions/{first['id']}/complete")
    assert early.status_code == 409 and "has not started yet" in text(early)
    clock.set(clock.now + timedelta(days=1, hours=5))  # Wednesday 15:00: both sessions have started
    admin_client = signed_in(staff_app, ADMIN)  # a sign-in lasts 12 hours
    assert admin_client.post(f"/staff/sessions/{first['id']}/complete").status_code == 302
    assert admin_client.post(f"/staff/sessions/{second['id']}/no-show").status_code == 302
    statuses = {r["id"]: r["status"] for r in session_rows(staff_services, p["id"])}
    assert statuses == {first["id"]: "completed", second["id"]: "no_show"}
    left = rows(staff_services, session_id=second["id"], status="pending")
    assert {r["origin"] for r in left} <= {"session-change"}  # only the patient's no-show notice
    # a completed session cannot be cancelled: a clear message, not an error page
    conflict = admin_client.post(f"/staff/sessions/{first['id']}/cancel", {"reason": "x"})
    assert conflict.status_code == 409 and "is completed; it cannot become cancelled" in text(conflict)
    assert "only a booked session can be cancelled" in text(
        admin_client.get(f"/staff/sessions/{first['id']}/cancel")
    )
    moved = admin_client.post(
        f"/staff/sessions/{first['id']}/reschedule", {"start": "2027-03-20T09:00", "action": "preview"}
    )
    assert moved.status_code == 409 and "only a booked session can be rescheduled" in text(moved)
    form = text(admin_client.get(f"/staff/sessions/{first['id']}/reschedule"))
    assert "only a booked session can be rescheduled" in form and 'name="start"' not in form


# --- in the browser ----------------------------------------------------------------------------


def test_browser_search_open_book_with_preview_and_see_the_plan(page, live):
    enrol(live.services)
    page.goto("/staff/sign-in")
    page.fill("#email", ADMIN[0])
    page.fill("#password", ADMIN[1])
    page.press("#password", "Enter")
    page.goto("/staff/patients")
    page.fill("#q", "lopez")
    page.press("#q", "Enter")
    page.get_by_role("link", name="Maria Lopez").click()
    page.get_by_role("link", name="Book a session").click()
    page.get_by_label("Start").fill("2027-03-12T09:00")
    page.get_by_label("Modality", exact=True).select_option("iv")
    page.get_by_role("button", name="Preview messages").click()
    preview = page.locator("#preview")
    assert "Thu, Mar 11, 6:00 PM EST" in preview.inner_text()
    assert rows(live.services) == [r for r in rows(live.services) if r["session_id"] is None]
    page.get_by_role("button", name="Book session").click()
    page.wait_for_url("**/staff/patients/*")
    assert "Session 1 booked" in page.locator(".flash").inner_text()
    timeline = page.locator("#messages").inner_text()
    assert "planned" in timeline and "prep evening before" in timeline
    assert rows(live.services, step_id="prep_evening_before")[0]["status"] == "pending"
