"""Staff Patients pages: search, the patient record, booking and changing sessions with a preview."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import escape, unescape

import pytest
from sqlalchemy import select

from service.db.tables import delivery_attempts, outbox
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
from .staff_helpers import staff_services as build_staff

PHONE = "+12025550143"


def text(response) -> str:
    return response.get_data(as_text=True)


def field_error(html: str, name: str) -> str:
    found = re.search(rf'<p class="field-error" id="{name}-error">([^<]*)</p>', html)
    assert found, f"no error shown next to {name}"
    return unescape(found.group(1))


def summary_links(html: str) -> dict[str, str]:
    """The error summary's links: the field id each goes to, and what it says."""
    box = html.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    return {key: unescape(words) for key, words in re.findall(r'<a href="#([^"]+)">([^<]*)</a>', box)}


def followed(client, response):
    """The page a 303 sends the browser to (Post/Redirect/Get)."""
    assert response.status_code == 303, response.status_code
    return client.get(response.headers["Location"])


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
    assert "Sam Rivera" in page and "(415) 555-0100" in page and "America/Los_Angeles" in page
    assert "Anxiety, PTSD" in page


def test_bad_patient_fields_all_at_once_with_examples_then_a_reload_sends_nothing(
    staff_services, admin_client
):
    response = admin_client.post(
        "/staff/patients/new",
        {
            "first_name": "Sam",
            "last_name": "",
            "phone": "555-12",
            "email": "no",
            "timezone": "other",
            "timezone_other": "New York",
            "preferred_channel": "email",
        },
    )
    assert response.headers["Location"].endswith("/staff/patients")
    page = text(followed(admin_client, response))
    links = summary_links(page)  # every error at once, each linking to its field's id
    assert set(links) == {"last_name", "phone", "email", "timezone", "preferred_channel"}
    assert links["phone"] == (
        "Mobile phone: '555-12' is not a phone number: give 10 digits, e.g. (201) 555-0123"
    )
    assert field_error(page, "timezone") == (
        "'New York' is not a time zone: choose one from the list, or type a name such as America/New_York"
    )
    assert field_error(page, "last_name") == "required: type the patient's last name, e.g. Lopez"
    assert field_error(page, "email") == "'no' is not an email address: give one such as ana@example.org"
    assert "give one, or choose text message" in field_error(page, "preferred_channel")
    for key in links:
        assert f'id="{key}"' in page
    assert 'autofocus aria-labelledby="error-summary-title"' in page
    assert 'value="Sam"' in page and 'value="New York"' in page  # what was typed stays
    assert count(staff_services, patients_table) == 0
    again = text(admin_client.get("/staff/patients"))  # a reload: the summary was shown once
    assert 'id="error-summary"' not in again and 'value="Sam"' not in again
    assert count(staff_services, patients_table) == 0


def test_time_zone_offers_the_clinics_zone_first_and_other_takes_any(db_url, clock):
    spain_too = build_staff(db_url, clock, '[clinic]\ncountries = ["US", "ES"]\n')
    admin_client = signed_in(create_app(spain_too.config, services=spain_too), ADMIN)
    form = text(admin_client.get("/staff/patients")).split('id="add"')[1]
    options = re.findall(
        r'<option value="([^"]+)"[^>]*>', form.split('id="timezone"')[1].split("</select>")[0]
    )
    assert options[0] == "America/New_York" and "America/Los_Angeles" in options
    assert options[-1] == "other" and len(options) < 20  # the usual zones, not hundreds
    assert '<option value="Europe/Madrid">' in form  # every zone still suggested for "Other"
    data = {"first_name": "Ana", "last_name": "Ruiz", "email": "ana@example.org"}
    saved = admin_client.post(
        "/staff/patients/new", {**data, "timezone": "other", "timezone_other": "Europe/Madrid"}
    )
    assert saved.status_code == 302
    with spain_too.engine.connect() as conn:
        zone = conn.execute(select(patients_table.c.timezone)).scalar_one()
    spain_too.engine.dispose()
    assert zone == "Europe/Madrid"


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
        # The booking confirmation's email (the questionnaire link of session 1 goes too).
        email = (
            conn.execute(
                select(delivery_attempts)
                .join(outbox, outbox.c.id == delivery_attempts.c.outbox_id)
                .where(delivery_attempts.c.channel == "email", outbox.c.step_id == "booking_confirmation")
            )
            .mappings()
            .one()
        )
    apply_status(staff_services, email["id"], "delivered", transport="fake-email")
    replies.handle_inbound(staff_services, Inbound("SMq1", PHONE, "Can I bring my sister?"))
    clock.advance(timedelta(minutes=5))
    replies.handle_inbound(staff_services, Inbound("SMq2", PHONE, "STOP"))
    page = text(admin_client.get(f"/staff/patients/{p['id']}"))
    assert "(202) 555-0143" in page and "maria@example.org" in page  # this page's task needs them in full
    assert "Eastern (New York)" in page and "America/New_York" in page and "Depression" in page
    # consent: the ledger and the state derived from it
    assert "by text (keyword)" in page and "“STOP”" in page and "opted out" in page
    assert (
        "Texts paused: (202) 555-0143 cannot take them</strong> (Twilio error 21614: not a mobile number)"
        in page
    )
    # timeline: delivered, failed with the provider's reason, planned with its due time, skipped with why
    timeline = page.split('id="messages"')[1]
    assert re.search(
        r"badge delivered\">delivered</span>\s*<strong>Booking confirmation</strong> · Email", timeline
    )
    assert re.search(
        r"badge failed\">failed</span>\s*<strong>Booking confirmation</strong> · Text message", timeline
    )
    assert "error 21614: not a mobile number" in timeline
    assert re.search(
        r"Wed, Mar 3, 6:00 PM EST</span><br>\s*<span class=\"badge pending\">planned</span>"
        r"\s*<strong>Preparation, evening before</strong> · Email",
        timeline,
    )
    assert "why: too late" not in timeline  # skipped: behind the filter
    everything = text(admin_client.get(f"/staff/patients/{p['id']}?messages=all")).split('id="messages"')[1]
    assert "Preparation, 3 days ahead" in everything and "why: too late" in everything
    # thread: what the patient sent, its kind, and the automatic answer
    thread = page.split('id="thread"')[1].split('id="messages"')[0]
    assert "Can I bring my sister?" in thread and "needs a person" in thread
    assert "STOP" in thread and "opt out" in thread and "Automatic answer" in thread


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
    preview = nurse_client.get(url, query_string=data)  # a GET: reloading it books nothing
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
        ("start", "2027-03-01T09:00", "must be in the future, e.g. 2027-03-03T10:00"),
        # clocks spring forward: a page has no place for an offset
        (
            "start",
            "2027-03-14T02:30",
            "does not exist in America/New_York (clocks move forward); choose another",
        ),
        ("start", "", "required: choose a date and time, e.g. March 13, 2027 at 9:00 AM"),
        ("modality", "ketamine", "'ketamine' is not a choice here: expected one of iv, im, intranasal, oral"),
        ("duration_minutes", "ninety", "'ninety' is not a whole number from 1 to 1440: e.g. 120"),
    ],
)
@pytest.mark.parametrize("action", ["preview", "save"])
def test_bad_booking_input_is_shown_next_to_the_field_and_writes_nothing(
    staff_services, admin_client, field, value, message, action
):
    p = enrol(staff_services)
    before = rows(staff_services)
    url = f"/staff/patients/{p['id']}/sessions/new"
    data = {"start": "2027-03-12T09:00", "modality": "iv", "action": action, field: value}
    if action == "preview":  # a GET that names what is wrong
        response = admin_client.get(url, query_string=data)
        assert response.status_code == 400
    else:  # a POST that fails goes back to the page (303), which shows the errors
        response = followed(admin_client, admin_client.post(url, data))
    assert message in field_error(text(response), field)
    assert field in summary_links(text(response))
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
    data = {"start": "2027-03-19T14:00", "action": "preview"}
    page = text(nurse_client.get(url, query_string=data))
    assert re.search(
        r"Preparation, evening before</strong> · Text message, Email<br>\s*"
        r"<span class=\"badge pending\">moves</span>",
        page,
    )
    assert "from Thu, Mar 11, 6:00 PM EST to <strong>Thu, Mar 18, 6:00 PM EDT</strong>" in page
    assert rows(staff_services, session_id=s["id"]) == before

    changes = patient_pages.preview_reschedule(staff_services, s["id"], {"start": "2027-03-19T14:00"})[
        "changes"
    ]
    response = nurse_client.post(url, {**data, "reason": "patient asked", "action": "save"})
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
    page = text(admin_client.get(url, query_string={"start": "2027-03-19T14:00", "action": "preview"}))
    sent = (
        r"What to expect at your first visit</strong> · Text message, Email<br>\s*"
        r"<span class=\"badge sent\">already sent</span> not sent again"
    )
    assert re.search(sent, page)
    again = (
        r"Preparation, 3 days ahead</strong> · Text message, Email<br>\s*"
        r"<span class=\"badge pending\">new</span> Tue, Mar 16, 10:00 AM EDT"
    )
    assert re.search(again, page)  # preparation is repeated for the new date
    assert admin_client.post(url, {"start": "2027-03-19T14:00", "action": "save"}).status_code == 302
    assert {r["status"] for r in rows(staff_services, step_id="edu_general_pre1")} == {"sent"}
    prep = [r for r in rows(staff_services, step_id="prep_ahead", channel="sms") if r["status"] == "pending"]
    assert [r["due_at"].isoformat() for r in prep] == ["2027-03-16T14:00:00+00:00"]


def test_reschedule_to_a_bad_time_is_refused_and_moves_nothing(staff_services, admin_client):
    p = enrol(staff_services)
    s = book(staff_services, p["id"], "2027-03-12T09:00")
    before = rows(staff_services, session_id=s["id"])
    url = f"/staff/sessions/{s['id']}/reschedule"
    preview = admin_client.get(url, query_string={"start": "2027-03-14T02:15", "action": "preview"})
    assert preview.status_code == 400
    saved = followed(admin_client, admin_client.post(url, {"start": "2027-03-14T02:15", "action": "save"}))
    for response in (preview, saved):
        assert "does not exist" in field_error(text(response), "start")
        assert "start" in summary_links(text(response))
    assert rows(staff_services, session_id=s["id"]) == before


def test_cancel_lists_the_messages_then_cancels_them(staff_services, admin_client):
    p = enrol(staff_services)
    s = book(staff_services, p["id"], "2027-03-12T09:00")
    pending = rows(staff_services, session_id=s["id"], status="pending")
    confirm = text(admin_client.get(f"/staff/sessions/{s['id']}/cancel"))
    assert f"These {len(pending)} planned messages will be cancelled" in confirm
    assert "Preparation, evening before · Text message, Email · was due Thu, Mar 11, 6:00 PM EST" in confirm
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
    moved = admin_client.get(
        f"/staff/sessions/{first['id']}/reschedule",
        query_string={"start": "2027-03-20T09:00", "action": "preview"},
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
    assert "planned" in timeline and "Preparation, evening before" in timeline
    assert rows(live.services, step_id="prep_evening_before")[0]["status"] == "pending"


# --- double booking, the preview's words, Post/Redirect/Get ---------------------------------------


def test_an_overlap_is_shown_in_the_preview_and_saving_needs_the_box(staff_services, admin_client):
    p = enrol(staff_services)
    book(staff_services, p["id"], "2027-03-12T09:00")  # IV: until 11:00
    url = f"/staff/patients/{p['id']}/sessions/new"
    data = {"start": "2027-03-12T10:00", "modality": "im"}
    page = text(admin_client.get(url, query_string={**data, "action": "preview"}))
    warning = page.split('id="overlap"')[1].split("</div>")[0]
    assert "overlaps another booked session" in warning
    assert "Fri, Mar 12, 9:00 AM EST to Fri, Mar 12, 11:00 AM EST (2 h 00 min)" in warning
    assert 'id="force" name="force" type="checkbox"' in page and 'value="save">Book session' in page
    refused = admin_client.post(url, {**data, "action": "save"})  # without the box
    assert refused.headers["Location"].startswith(url + "?")  # back to the preview, a GET
    back = text(followed(admin_client, refused))
    assert "this time overlaps another booked session" in summary_links(back)["force"]
    assert len(session_rows(staff_services, p["id"])) == 1
    reload = text(admin_client.get(refused.headers["Location"]))  # the summary was shown once
    assert 'id="error-summary"' not in reload and 'id="overlap"' in reload
    assert len(session_rows(staff_services, p["id"])) == 1
    anyway = admin_client.post(url, {**data, "force": "on", "action": "save"})
    assert anyway.status_code == 302 and len(session_rows(staff_services, p["id"])) == 2
    clear = text(
        admin_client.get(
            url, query_string={"start": "2027-03-12T11:30", "modality": "im", "action": "preview"}
        )
    )
    assert 'id="overlap"' not in clear and 'id="force"' not in clear  # back to back is no overlap


def test_a_reschedule_onto_another_session_is_warned_before_saving(staff_services, admin_client):
    p = enrol(staff_services)
    book(staff_services, p["id"], "2027-03-12T09:00")
    s = book(staff_services, p["id"], "2027-03-19T09:00")
    url = f"/staff/sessions/{s['id']}/reschedule"
    page = text(admin_client.get(url, query_string={"start": "2027-03-12T10:00", "action": "preview"}))
    assert "Fri, Mar 12, 9:00 AM EST to Fri, Mar 12, 11:00 AM EST" in page.split('id="overlap"')[1]
    refused = admin_client.post(url, {"start": "2027-03-12T10:00", "reason": "asked", "action": "save"})
    back = text(followed(admin_client, refused))
    assert "force" in summary_links(back) and 'value="asked"' in back  # the reason typed stays
    assert {r["start_at"].day for r in session_rows(staff_services, p["id"])} == {12, 19}
    moved = admin_client.post(url, {"start": "2027-03-12T10:00", "force": "on", "action": "save"})
    assert moved.status_code == 302
    assert {r["start_at"].day for r in session_rows(staff_services, p["id"])} == {12}


def test_the_booking_preview_shows_each_message_once_with_its_channels_and_text(staff_services, admin_client):
    p = enrol(staff_services)
    url = f"/staff/patients/{p['id']}/sessions/new"
    page = text(
        admin_client.get(
            url, query_string={"start": "2027-03-12T09:00", "modality": "iv", "action": "preview"}
        )
    )
    items = page.split('id="preview"')[1].split("<li ")[1:]
    evening = [i for i in items if "<strong>Preparation, evening before</strong>" in i]
    assert len(evening) == 1  # one item for the text message and the email of the step
    [item] = evening
    assert "· Text message, Email · Preparation" in item
    assert "<summary>Show the text</summary>" in item
    plan = patient_pages.preview_booking(
        staff_services, p["id"], {"start": "2027-03-12T09:00", "modality": "iv"}
    )
    sms = next(m for m in plan["messages"] if (m.step, m.channel) == ("prep_evening_before", "sms"))
    email = next(m for m in plan["messages"] if (m.step, m.channel) == ("prep_evening_before", "email"))
    assert "March 12 at 9:00 AM" in sms.text and email.subject
    assert escape(sms.text) in item and escape(email.subject) in item
    assert "edu_general" not in page and "prep_evening_before" not in page and "· sms" not in page
    assert len(plan["steps"]) < len(plan["messages"])


def test_a_cancel_that_fails_goes_back_to_the_form_once(staff_services, admin_client):
    p = enrol(staff_services)
    s = book(staff_services, p["id"], "2027-03-12T09:00")
    url = f"/staff/sessions/{s['id']}/cancel"
    response = admin_client.post(url, {"reason": "x" * 201})
    assert response.headers["Location"].endswith(url)
    page = text(followed(admin_client, response))
    assert "at most 200 characters" in summary_links(page)["reason"] and "x" * 201 in page
    assert 'id="error-summary"' not in text(admin_client.get(url))
    assert session_rows(staff_services, p["id"])[0]["status"] == "booked"


def test_browser_error_summary_takes_the_focus_and_its_links_move_it_to_the_field(page, live):
    page.goto("/staff/sign-in")
    page.fill("#email", ADMIN[0])
    page.fill("#password", ADMIN[1])
    page.press("#password", "Enter")
    page.goto("/staff/patients")
    page.fill("#first_name", "Sam")
    page.fill("#phone", "555-12")
    page.get_by_role("button", name="Add patient").click()
    page.wait_for_selector("#error-summary")
    assert page.url.endswith("/staff/patients")  # the failed POST answered with a redirect to a GET
    assert page.evaluate("document.activeElement.id") == "error-summary"
    summary = page.locator("#error-summary")
    assert "Fix these 2 things to continue" in summary.inner_text()
    summary.get_by_role("link", name="Mobile phone").click()
    assert page.evaluate("document.activeElement.id") == "phone"
    assert page.locator("#phone").input_value() == "555-12"
    page.reload()
    assert page.locator("#error-summary").count() == 0 and count(live.services, patients_table) == 0
