"""Schedules and Templates pages: the timeline in plain words, admins editing a step (pending
messages move) or a template (with a preview and the checks), refusals next to the field,
history and rollback; nurses read only; on both databases, and a few flows in Chromium."""

from __future__ import annotations

import hashlib
import html as html_lib
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from service.db.tables import content_versions
from service.services.content import edits as content
from tests.helpers import book, by_step, enrol, rows

from .staff_helpers import ADMIN

EVENING = "/staff/schedules/default/steps/prep_evening_before"
CONFIRM = "/staff/templates/booking_confirmation/en/sms.txt"
SAFETY = "/staff/templates/checkin_same_day/en/sms.txt"
CONFIRM_TEXT = (
    "{{ clinic.name }}: you are booked for {{ session.when }}{{ session.zone }}. "
    "Questions: {{ clinic.phone }}. Reply STOP to opt out."
)
# The evening-before step as the form shows it (the shipped TOML, in the form's fields).
EVENING_FORM: dict[str, Any] = {
    "title": "Preparation, evening before",
    "offset": "-1d",
    "at": "18:00",
    "channels": ["sms", "email"],
    "template": "prep_evening_before",
    "quiet_hours": "",
    "if_late": "send",
    "deadline": "",
    "sessions": "",
    "from_session": "",
    "reason": "",
}


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def versions(app: Any) -> int:
    with app.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(content_versions)).scalar_one())


def field_error(page: str, name: str) -> str:
    found = re.search(rf'<p class="field-error" id="{name}-error">([^<]*)</p>', page)
    assert found, f"no error shown next to {name}"
    return html_lib.unescape(found.group(1))


def control(page: str, name: str) -> str:
    """The opening tag of the control with this id."""
    found = re.search(rf'<(?:input|textarea|select)[^>]*\bid="{name}"[^>]*>', page)
    assert found, f"no control {name}"
    return found.group(0)


def after_redirect(client: Any, response: Any) -> str:
    """A form that fails answers 303 (Post/Redirect/Get): the page it sends the browser back to."""
    assert response.status_code == 303, response.status_code
    return text(client.get(response.headers["Location"]))


def summary(page: str) -> str:
    """The error summary at the top of a form."""
    found = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    assert found, "no error summary"
    return html_lib.unescape(found.group(0))


def evening_rows(app: Any, session_id: int) -> list[Any]:
    live = by_step(app, session_id)
    return [
        r for ch in ("sms", "email") for r in live[("prep_evening_before", ch)] if r["status"] == "pending"
    ]


# --- the schedules page ------------------------------------------------------------------------


def test_the_timeline_lists_steps_in_sending_order_in_plain_words(nurse_client):
    page = text(nurse_client.get("/staff/schedules"))
    order = [
        "When a session is booked",
        "When a session is moved",
        "Around the start of each session",
        "3 days before the start, at 10:00",
        "2 days before the start, at 12:00",
        "1 day before the start, at 18:00",
        "3 hours before the start",
        "After the end of each session",
        "3 hours after the end",
        "1 day after the end, at 10:00",
        "2 days after the end, at 12:00",
        "3 days after the end, at 11:00",
    ]
    places = [page.find(words) for words in order]
    assert -1 not in places and places == sorted(places), list(zip(order, places, strict=True))
    evening = page[page.index('id="step-default-prep_evening_before"') :]
    evening = evening[: evening.index("</li>")]
    assert '<strong class="step-title">Preparation, evening before</strong>' in evening
    assert '<span class="badge category-prep">Preparation</span>' in evening
    assert "Text message and email" in evening
    assert '<a href="/staff/templates#t-prep_evening_before">' in evening
    assert "asks for a reply (clearance)" in evening and "every session" in evening
    assert "session 1; indications: depression" in page and "KAT only; session 1" in page
    assert "indications: anxiety or ptsd" in page
    assert '<span class="badge category-admin">Appointment</span>' in page and ">admin<" not in page
    assert f'href="{EVENING}">Details' in page and ">Edit<" not in page  # a nurse reads only


def test_admins_see_edit_links_and_what_is_edited(staff_services, admin_client):
    admin_client.post(EVENING, {**EVENING_FORM, "at": "17:00", "action": "save"})
    page = text(admin_client.get("/staff/schedules"))
    assert f'href="{EVENING}">Edit<' in page
    assert "1 day before the start, at 17:00" in page
    assert f"edited (version 1 by {ADMIN[0]})" in page


# --- editing a step ----------------------------------------------------------------------------


def test_an_admin_edits_a_step_and_the_pending_messages_move(staff_services, admin_client):
    app = staff_services
    patient = enrol(app)
    session = book(app, patient["id"], "2027-03-12T09:00")
    before = {r["id"]: r["due_at"] for r in evening_rows(app, session["id"])}
    assert set(before.values()) == {datetime(2027, 3, 11, 23, 0, tzinfo=UTC)}  # 6:00 PM EST
    form = text(admin_client.get(EVENING))
    assert 'value="18:00"' in control(form, "at") and 'name="base_version" value="0"' in form

    preview = admin_client.post(EVENING, {**EVENING_FORM, "at": "17:00", "action": "preview"})
    assert preview.status_code == 200
    assert "2 pending messages would move" in text(preview)
    assert "Thu, Mar 11 5:00 PM" in text(preview) and 'value="17:00"' in control(text(preview), "at")
    assert versions(app) == 0 and {r["id"]: r["due_at"] for r in evening_rows(app, session["id"])} == before

    form = {**EVENING_FORM, "at": "17:00", "reason": "clinic closes at 5", "base_version": "0"}
    saved = admin_client.post(EVENING, {**form, "action": "save"})
    assert saved.status_code == 302 and saved.headers["Location"].endswith(EVENING + "#history")
    after = {r["id"]: r["due_at"] for r in evening_rows(app, session["id"])}
    assert set(after) == set(before) and set(after.values()) == {datetime(2027, 3, 11, 22, 0, tzinfo=UTC)}
    page = text(admin_client.get(EVENING))
    assert "Saved version 1; 2 pending messages moved, 0 created, 0 cancelled." in page
    history = page[page.index('id="history"') :]
    assert ADMIN[0] in history and "clinic closes at 5" in history and "at 17:00" in history
    assert "Tue, Mar 2, 10:00 AM EST" in history
    assert "Roll back to the shipped version" in history


def test_changing_conditions_in_the_form_saves_them_as_the_toml_writes_them(staff_services, admin_client):
    app = staff_services
    patient = enrol(app, preferred_channel="both")  # education by text too
    iv = book(app, patient["id"], "2027-03-12T09:00", modality="iv")
    form = {
        "offset": "+3d",
        "at": "11:00",
        "channels": ["sms", "email"],
        "template": "integration_note",
        "modalities": ["im", "kat"],
        "sessions": "1-3, 5",
        "indications": ["depression"],
        "action": "save",
    }
    response = admin_client.post("/staff/schedules/default/steps/integration_72h", form)
    assert response.status_code == 302
    step = app.schedule("default").step("integration_72h")
    assert step.conditions.modalities == ("im", "kat") and step.conditions.sessions == (1, 2, 3, 5)
    assert step.conditions.indications == ("depression",)
    assert {r["status"] for r in by_step(app, iv["id"])[("integration_72h", "sms")]} == {"cancelled"}
    page = text(admin_client.get("/staff/schedules"))
    assert "IM and KAT only; sessions 1-3, 5; indications: depression" in page
    again = text(admin_client.get("/staff/schedules/default/steps/integration_72h"))
    assert 'value="1-3, 5"' in control(again, "sessions") and "checked" in control(again, "modality-kat")


# Each: what the admin typed, the field the error sits next to, and part of the error.
BAD_STEP_EDITS: list[tuple[dict[str, Any], str, str]] = [
    ({"offset": "soon"}, "offset", "'soon'"),
    ({"at": "25:00"}, "at", "HH:MM"),
    ({"channels": []}, "channel-sms", "at least one channel"),
    ({"sessions": "1-x"}, "sessions", "'1-x' is not a session number"),
    ({"from_session": "first"}, "from_session", "expected a session number"),
    ({"sessions": "2", "first_session_only": "1"}, "first_session_only", "conflicts"),
    ({"template": "enrolment_opt_in"}, "template", "has no email"),
]


def test_a_bad_step_edit_is_refused_next_to_its_field(staff_services, admin_client):
    # One app for every case (nothing is written), to keep the suite fast on both databases.
    app = staff_services
    patient = enrol(app)
    book(app, patient["id"], "2027-03-12T09:00")
    before = rows(app)
    for change, field, problem in BAD_STEP_EDITS:
        for action in ("preview", "save"):
            response = admin_client.post(EVENING, {**EVENING_FORM, **change, "action": action})
            page = after_redirect(admin_client, response)
            assert problem in field_error(page, field), (change, action)
            assert f'<a href="#{field}">' in summary(page) and problem in summary(page), (change, action)
            assert versions(app) == 0 and rows(app) == before
        tag = control(page, field)
        assert 'aria-invalid="true"' in tag and f"{field}-error" in tag, change
        for key, value in change.items():  # what was typed is kept
            if key == "template":
                assert f'<option value="{value}" selected>' in page
            elif key not in ("channels", "first_session_only"):
                assert f'value="{value}"' in control(page, key), change


def test_a_step_form_with_three_bad_fields_shows_the_three_errors_at_once(staff_services, admin_client):
    bad = {"offset": "soon", "at": "25:00", "sessions": "1-x"}
    page = after_redirect(admin_client, admin_client.post(EVENING, {**EVENING_FORM, **bad, "action": "save"}))
    found = summary(page)
    assert "Fix these 3 things to continue" in found
    for field, problem in [("offset", "'soon'"), ("at", "HH:MM"), ("sessions", "'1-x'")]:
        assert f'<a href="#{field}">' in found and problem in found, field
        assert problem in field_error(page, field) and 'aria-invalid="true"' in control(page, field)
    assert versions(staff_services) == 0


def test_a_failed_step_form_redirects_and_shows_its_errors_once(staff_services, admin_client):
    response = admin_client.post(EVENING, {**EVENING_FORM, "at": "25:00", "action": "preview"})
    assert response.status_code == 303 and response.headers["Location"].endswith(EVENING)
    page = text(admin_client.get(response.headers["Location"]))
    assert "HH:MM" in field_error(page, "at") and 'value="25:00"' in control(page, "at")
    again = text(admin_client.get(EVENING))  # a reload shows the step again, not the error
    assert "error-summary" not in again and 'value="18:00"' in control(again, "at")


def test_a_step_title_is_saved_and_shown_as_the_steps_name(staff_services, admin_client):
    app = staff_services
    form = {**EVENING_FORM, "title": "Evening reminder", "reason": "shorter name", "action": "save"}
    assert admin_client.post(EVENING, form).status_code == 302
    assert content.get_step(app, "default", "prep_evening_before")["raw"]["title"] == "Evening reminder"
    assert app.schedule("default").step("prep_evening_before").display_title == "Evening reminder"
    page = text(admin_client.get(EVENING))
    assert "<h1>Evening reminder</h1>" in page and 'value="Evening reminder"' in control(page, "title")
    assert "title Evening reminder" in page[page.index('id="history"') :]
    schedules = text(admin_client.get("/staff/schedules"))
    assert '<strong class="step-title">Evening reminder</strong>' in schedules
    templates = text(admin_client.get("/staff/templates"))
    row = templates[templates.index('id="t-prep_evening_before"') :]
    assert f'<a href="{EVENING}">Evening reminder</a>' in row[: row.index("</tr>")]
    assert f'<a href="{EVENING}">Evening reminder</a>' in text(
        admin_client.get("/staff/templates/prep_evening_before/en/sms.txt")
    )
    long = after_redirect(admin_client, admin_client.post(EVENING, {**form, "title": "x" * 61}))
    assert "at most 60 characters" in field_error(long, "title")


def test_the_step_page_shows_the_text_it_sends(staff_services, nurse_client):
    expected = content.preview_step(staff_services, "default", "prep_evening_before")["messages"]
    sms, email = (m["sms"] or m["email"] for m in expected)
    page = text(nurse_client.get(EVENING))
    assert html_lib.escape(sms["text"]) in page and f"{sms['segments']} segments</strong> · GSM-7" in page
    assert html_lib.escape(email["subject"]) in page and "Interlude Demo" in sms["text"]


def test_the_live_step_preview_renders_the_chosen_template(staff_services, admin_client):
    changed = {**EVENING_FORM, "template": "prep_ahead", "channels": ["sms"]}
    response = admin_client.post(EVENING + "/preview", changed)
    piece = text(response)
    assert (
        response.status_code == 200 and 'id="preview" class="step-preview preview-panel" data-slot' in piece
    )
    expected = content.preview_step_edit(
        staff_services, "default", "prep_evening_before", {"template": "prep_ahead", "channels": ["sms"]}
    )["messages"]
    assert [m["channel"] for m in expected] == ["sms"] and "Interlude Demo" in expected[0]["sms"]["text"]
    assert html_lib.escape(expected[0]["sms"]["text"]) in piece and 'id="preview-email"' not in piece
    shipped = content.preview_step(staff_services, "default", "prep_evening_before")["messages"][0]
    assert html_lib.escape(shipped["sms"]["text"]) not in piece
    assert "Would go Thu, Mar 11 6:00 PM" in piece and "segment" in piece
    bad = admin_client.post(EVENING + "/preview", {**changed, "at": "25:00", "offset": "soon"})
    problems = html_lib.unescape(text(bad))
    assert bad.status_code == 400 and "Local time: expected a local time as 'HH:MM'" in problems
    assert "Offset: expected a duration such as" in problems and "'soon'" in problems
    assert versions(staff_services) == 0


def test_every_table_cell_has_a_label_for_phone_screens(staff_services, admin_client):
    admin_client.post(EVENING, {**EVENING_FORM, "at": "17:00", "action": "save"})
    admin_client.post(CONFIRM, {"text": CONFIRM_TEXT, "action": "save"})
    for path in ("/staff/schedules", "/staff/templates", EVENING, CONFIRM):
        page = text(admin_client.get(path))
        assert "<td" in page or path == "/staff/schedules", path
        assert re.search(r"<td(?![^>]*data-label=)[^>]*>", page) is None, path


def test_saving_an_unchanged_step_says_so_and_writes_nothing(staff_services, admin_client):
    response = admin_client.post(EVENING, {**EVENING_FORM, "action": "save"})
    page = after_redirect(admin_client, response)
    assert "Nothing changed: edit a field first." in summary(page) and '<a href="#step-form">' in page
    assert versions(staff_services) == 0


def test_a_stale_form_is_refused_as_a_conflict(staff_services, admin_client):
    admin_client.post(EVENING, {**EVENING_FORM, "at": "17:00", "action": "save", "base_version": "0"})
    response = admin_client.post(
        EVENING, {**EVENING_FORM, "at": "16:00", "action": "save", "base_version": "0"}
    )
    page = after_redirect(admin_client, response)
    assert "Someone else saved a newer version; reload" in summary(page)
    assert versions(staff_services) == 1 and 'value="16:00"' in control(page, "at")


def test_a_step_rollback_restores_the_times(staff_services, admin_client):
    app = staff_services
    patient = enrol(app)
    session = book(app, patient["id"], "2027-03-12T09:00")
    admin_client.post(EVENING, {**EVENING_FORM, "at": "17:00", "action": "save"})
    admin_client.post(EVENING, {**EVENING_FORM, "at": "16:00", "action": "save"})
    back = admin_client.post(EVENING + "/rollback", {"version": "1"})
    assert back.status_code == 302
    assert {r["due_at"].hour for r in evening_rows(app, session["id"])} == {22}  # 5:00 PM EST
    shipped = admin_client.post(EVENING + "/rollback", {"version": "0"})
    assert {r["due_at"].hour for r in evening_rows(app, session["id"])} == {23}  # 6:00 PM EST
    page = text(admin_client.get(shipped.headers["Location"]))
    assert "Rolled back to the shipped version: saved as version 4; 2 pending messages moved" in page
    assert "Never edited" not in page and "back to version 1" in page
    bad = admin_client.post(EVENING + "/rollback", {"version": "x"})
    assert "Not rolled back: choose a version" in after_redirect(admin_client, bad)
    assert admin_client.post(EVENING + "/rollback", {"version": "9"}).status_code == 404
    assert versions(app) == 4


# --- templates ---------------------------------------------------------------------------------


def test_the_templates_page_lists_every_file_and_marks_edits(staff_services, admin_client):
    admin_client.post(CONFIRM, {"text": CONFIRM_TEXT, "action": "save"})
    page = text(admin_client.get("/staff/templates"))
    row = page[page.index('id="t-booking_confirmation"') :]
    row = row[: row.index("</tr>")]
    for lang in ("en", "es"):
        for file in ("sms.txt", "subject.txt", "body.txt", "body.html"):
            assert f'href="/staff/templates/booking_confirmation/{lang}/{file}"' in row
    assert row.count("edited (version 1 by") == 1
    assert 'href="/staff/schedules/default/steps/booking_confirmation"' in row
    assert 'id="t-reply_crisis"' in page and "no schedule step (replies, reminders, staff)" in page


def test_a_template_page_previews_the_sms_with_its_segments(staff_services, nurse_client):
    page = text(nurse_client.get(CONFIRM))
    assert "{{ clinic.sms_name }}: your appointment is booked" in page
    assert "readonly" in control(page, "text") and ">Save<" not in page
    assert "2 segments</strong> · GSM-7" in page and "Passes the checks of" in page
    assert "Interlude Demo: your appointment is booked for" in page
    assert 'value="America/New_York"' in control(page, "tz")


def test_the_live_preview_renders_an_admins_text_and_counts_segments(staff_services, admin_client):
    long = "{{ clinic.name }}: " + "word " * 60 + "“quoted”"
    response = admin_client.post(CONFIRM + "/preview", {"text": long, "modality": "im", "tz": "Europe/Paris"})
    piece = text(response)
    assert response.status_code == 200 and 'id="preview" class="preview-panel" data-slot' in piece
    assert "UCS-2" in piece and "segments</strong>" in piece and "Europe/Paris" in piece
    assert "U+201C forces UCS-2 encoding" in piece and 'data-for="text" data-invalid="true"' in piece
    bad = admin_client.post(CONFIRM + "/preview", {"text": "x", "tz": "Mars/Base", "number": "1"})
    assert bad.status_code == 400 and 'id="tz-error"' in text(bad) and "Mars/Base" in text(bad)
    assert versions(staff_services) == 0


def test_a_nurse_preview_renders_the_text_in_effect_not_the_text_sent(staff_services, nurse_client):
    # Jinja reaches Python objects: only those who may save a template get their own text rendered.
    response = nurse_client.post(CONFIRM + "/preview", {"text": "{{ 7 * 7 }} injected", "modality": "iv"})
    assert response.status_code == 200
    assert "injected" not in text(response) and "your appointment is booked" in text(response)


def test_an_email_html_preview_is_sandboxed_and_escaped(staff_services, admin_client):
    path = "/staff/templates/booking_confirmation/en/body.html"
    source = staff_services.templates.source("booking_confirmation/en/body.html")
    typed = source.replace("{% block content %}", "{% block content %}<script>alert(1)</script>", 1)
    page = text(admin_client.post(path, {"text": typed, "action": "preview"}))
    frame = re.search(r"<iframe[^>]*>", page)
    assert frame and 'sandbox=""' in frame.group(0) and 'srcdoc="' in frame.group(0)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in frame.group(0)
    assert "<script>alert" not in page


def test_a_broken_jinja_tag_is_refused_with_its_line_next_to_the_textarea(staff_services, admin_client):
    typed = "{{ clinic.name }}: hello.\nBring {{ session.time }.\n"
    response = admin_client.post(CONFIRM, {"text": typed, "reason": "try", "action": "save"})
    page = after_redirect(admin_client, response)
    assert '<a href="#text">Text: line 2: unexpected' in page and "error-summary" in page
    assert field_error(page, "text").startswith("line 2: unexpected '}'")
    tag = control(page, "text")
    assert 'aria-invalid="true"' in tag and "text-checks" in tag
    assert html_lib.escape(typed, quote=False).strip() in page  # the typed text is kept
    assert versions(staff_services) == 0


def test_a_failed_template_preview_redirects_and_keeps_the_settings(staff_services, admin_client):
    typed = CONFIRM_TEXT + " Bye."
    response = admin_client.post(CONFIRM, {"text": typed, "tz": "Mars/Base", "action": "preview"})
    page = after_redirect(admin_client, response)
    assert '<a href="#tz">' in summary(page) and "Mars/Base" in summary(page)
    assert 'value="Mars/Base"' in control(page, "tz") and html_lib.escape(typed, quote=False) in page
    assert "error-summary" not in text(admin_client.get(CONFIRM))  # shown once


def test_a_text_too_long_for_the_session_cookie_is_answered_at_once(staff_services, admin_client):
    # Kept in the signed cookie across the redirect, a long text could be dropped with the cookie.
    noise = " ".join(hashlib.sha256(str(n).encode()).hexdigest() for n in range(120))
    short = admin_client.post(CONFIRM, {"text": "{{ clinic.name }}: hi {{ clinic.name", "action": "save"})
    assert short.status_code == 303  # kept in the cookie: Post/Redirect/Get
    typed = "{{ clinic.name }}: " + noise + " {{ clinic.name"
    response = admin_client.post(CONFIRM, {"text": typed, "action": "save"})
    assert response.status_code == 400 and noise in text(response)
    assert "unexpected end of template" in field_error(text(response), "text")
    assert versions(staff_services) == 0


def test_removing_988_from_a_safety_template_is_refused(staff_services, admin_client):
    shipped = staff_services.templates.source("checkin_same_day/en/sms.txt")
    typed = shipped.replace(" Crisis: call or text {{ clinic.crisis_line }}.", "")
    assert typed != shipped
    response = admin_client.post(SAFETY, {"text": typed, "action": "save"})
    assert "does not name 988" in field_error(after_redirect(admin_client, response), "text")
    assert versions(staff_services) == 0
    assert staff_services.templates.source("checkin_same_day/en/sms.txt") == shipped


def test_a_template_save_and_rollback_restore_the_text(staff_services, admin_client):
    app = staff_services
    shipped = app.templates.source("booking_confirmation/en/sms.txt")
    saved = admin_client.post(CONFIRM, {"text": CONFIRM_TEXT, "reason": "shorter", "action": "save"})
    assert saved.status_code == 302
    assert app.templates.source("booking_confirmation/en/sms.txt") == CONFIRM_TEXT
    page = text(admin_client.get(CONFIRM))
    assert "Saved version 1." in page and "shorter" in page and "you are booked for" in page
    back = admin_client.post(CONFIRM + "/rollback", {"version": "0"})
    assert back.status_code == 302 and not app.templates.is_edited("booking_confirmation/en/sms.txt")
    assert app.templates.source("booking_confirmation/en/sms.txt") == shipped
    assert "Rolled back to the shipped version: saved as version 2." in text(admin_client.get(CONFIRM))
    admin_client.post(CONFIRM + "/rollback", {"version": "1"})
    assert app.templates.source("booking_confirmation/en/sms.txt") == CONFIRM_TEXT


def test_a_stale_template_form_is_a_conflict(staff_services, admin_client):
    admin_client.post(CONFIRM, {"text": CONFIRM_TEXT, "action": "save", "base_version": "0"})
    response = admin_client.post(
        CONFIRM, {"text": CONFIRM_TEXT + " 2", "action": "save", "base_version": "0"}
    )
    page = after_redirect(admin_client, response)
    assert "Someone else saved a newer version" in summary(page)
    assert html_lib.escape(CONFIRM_TEXT + " 2", quote=False) in page  # what was typed is kept
    assert versions(staff_services) == 1


# --- permissions, CSRF, unknown names ----------------------------------------------------------


def test_a_nurse_gets_403_on_every_change_and_nothing_is_written(staff_services, nurse_client):
    app = staff_services
    patient = enrol(app)
    book(app, patient["id"], "2027-03-12T09:00")
    before = rows(app)
    posts = [
        (EVENING, {**EVENING_FORM, "at": "17:00", "action": "save"}),
        (EVENING, {**EVENING_FORM, "at": "17:00", "action": "preview"}),
        (EVENING + "/rollback", {"version": "0"}),
        (CONFIRM, {"text": CONFIRM_TEXT, "action": "save"}),
        (CONFIRM + "/rollback", {"version": "0"}),
    ]
    for path, form in posts:
        response = nurse_client.post(path, form)
        assert response.status_code == 403, path
        assert "Admins only" in text(response)
    assert versions(app) == 0 and rows(app) == before
    page = text(nurse_client.get(EVENING))
    assert 'id="step-form"' not in page and "Roll back" not in page and "In effect now" in page


def test_posts_without_the_csrf_token_are_refused(staff_services, admin_client):
    for path, form in [
        (EVENING, {**EVENING_FORM, "at": "17:00", "action": "save"}),
        (EVENING + "/rollback", {"version": "0"}),
        (CONFIRM, {"text": CONFIRM_TEXT, "action": "save"}),
        (CONFIRM + "/preview", {"text": CONFIRM_TEXT}),
    ]:
        response = admin_client.post(path, form, csrf=False)
        assert response.status_code == 400 and "This form has expired" in text(response), path
    assert versions(staff_services) == 0


@pytest.mark.parametrize(
    "path",
    [
        "/staff/schedules/nope/steps/prep_ahead",
        "/staff/schedules/default/steps/nope",
        "/staff/templates/nope/en/sms.txt",
        "/staff/templates/booking_confirmation/fr/sms.txt",
        "/staff/templates/booking_confirmation/en/notes.md",
    ],
)
def test_unknown_names_are_404(staff_services, admin_client, path):
    assert admin_client.get(path).status_code == 404
    assert admin_client.post(path, {"action": "save", "text": "x"}).status_code == 404


# --- in the browser ----------------------------------------------------------------------------


def sign_in(page: Any) -> None:
    page.goto("/staff/sign-in")
    page.fill("#email", ADMIN[0])
    page.fill("#password", ADMIN[1])
    page.press("#password", "Enter")
    page.wait_for_url("**/staff/today")


def test_browser_edit_a_step_and_watch_pending_messages_move(page, live):
    app = live.services
    patient = enrol(app)
    session = book(app, patient["id"], "2027-03-12T09:00")
    sign_in(page)
    page.goto("/staff/schedules")
    page.get_by_role("link", name="Edit step “Preparation, evening before”").click()
    page.get_by_label("At this local time").fill("17:00")
    page.get_by_label("Reason for the change").fill("earlier pickup")
    page.get_by_role("button", name="Preview").click()
    assert "2 pending messages would move" in page.locator("#preview").inner_text()
    assert {r["due_at"].hour for r in evening_rows(app, session["id"])} == {23}
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**#history")
    flash = page.locator(".flash").inner_text()
    assert "Saved version 1; 2 pending messages moved, 0 created, 0 cancelled" in flash
    assert {r["due_at"] for r in evening_rows(app, session["id"])} == {datetime(2027, 3, 11, 22, tzinfo=UTC)}
    assert "earlier pickup" in page.locator("#history").inner_text()


def test_browser_a_broken_template_shows_its_error_and_is_not_saved(page, live):
    sign_in(page)
    page.goto(CONFIRM)
    box = page.get_by_label("Text", exact=True)
    box.fill("{{ clinic.name }}: see you soon. Reply STOP to opt out.")
    box.press("End")
    box.type(" {{ clinic.name")
    checks = page.locator("#text-checks")
    checks.get_by_text("line 1:").wait_for()  # the live preview, next to the field
    assert box.get_attribute("aria-invalid") == "true"
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    assert "line 1: unexpected end of template" in page.locator("#text-error").inner_text()
    assert versions(live.services) == 0  # nothing saved


def test_browser_the_live_preview_counts_segments_as_you_type(page, live):
    sign_in(page)
    page.goto(CONFIRM)
    segments = page.locator("#segments")
    expect(segments).to_have_text(re.compile(r"^2 segments · GSM-7"))
    box = page.get_by_label("Text", exact=True)
    box.press("Control+End")
    box.type(" More words." * 12)
    expect(page.locator("#segments")).to_contain_text("3 segments · GSM-7")
    assert versions(live.services) == 0
    page.get_by_label("Patient's time zone").fill("Europe/Madrid")
    expect(page.locator("#preview")).to_contain_text("time zone Europe/Madrid")
