"""A clinic's day in the staff pages, end to end in headless Chromium, one continuous story.

Sign in; add a patient; book a session with its messages previewed, then see them planned; the
worker sends the same-day check-in; the patient answers it with a concerning reply on the sandbox
phone; the escalation is on Today and is acknowledged there; an admin moves a schedule step and the
pending messages of the next session move with it; a broken template is refused with its error.
The worker here is the real dispatcher, run by hand with the test's clock (no waiting for a tick).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

from playwright.sync_api import expect
from sqlalchemy import select

from service.db.tables import content_versions, escalations, patients
from service.services.outbox.dispatch import Dispatcher
from tests.helpers import rows, sandbox

from .staff_helpers import ADMIN


def at(path_pattern: str):
    return lambda url: re.fullmatch(path_pattern, urlparse(url).path) is not None


def _one(app, table):
    with app.engine.connect() as conn:
        found = list(conn.execute(select(table)).mappings())
    assert len(found) == 1, found
    return found[0]


def _template_versions(app) -> int:
    with app.engine.connect() as conn:
        return len(list(conn.execute(select(content_versions).where(content_versions.c.kind == "template"))))


def test_a_clinic_day_from_booking_to_acknowledged_escalation_and_a_schedule_change(page, live, clock):
    app = live.services

    # Sign in with the keyboard.
    page.goto("/")
    page.get_by_label("Email").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(at("/staff/today"))

    # Add a patient.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    page.get_by_label("First name").fill("Maria")
    page.get_by_label("Last name").fill("Lopez")
    page.get_by_label("Mobile phone (for text messages)").fill("(202) 555-0143")
    page.get_by_label("Time zone (where the patient lives)").select_option("America/New_York")
    page.get_by_label("Text message", exact=True).check()
    page.get_by_label("Depression", exact=True).check()
    page.get_by_role("button", name="Add patient").click()
    page.wait_for_url(at(r"/staff/patients/\d+"))
    patient = _one(app, patients)
    assert patient["phone"] == "+12025550143" and patient["timezone"] == "America/New_York"

    # Book this morning's session (11:00 AM EST; the clinic's clock says 10:00): preview, then save.
    page.get_by_role("link", name="Book a session").click()
    page.get_by_label("Start").fill("2027-03-02T11:00")
    page.get_by_label("Modality", exact=True).select_option("iv")
    page.get_by_role("button", name="Preview messages").click()
    preview = page.locator("#preview").inner_text()
    assert "EST" in preview and "check" in preview.lower()
    assert rows(app) == [r for r in rows(app) if r["session_id"] is None]  # a preview saves nothing
    page.get_by_role("button", name="Book session").click()
    page.wait_for_url(at(r"/staff/patients/\d+"))
    expect(page.locator(".flash")).to_contain_text("Session 1 booked")
    expect(page.locator("#messages")).to_contain_text("planned")
    planned = rows(app, patient_id=patient["id"])
    checkin = [r for r in planned if r["step_id"] == "checkin_same_day" and r["channel"] == "sms"]
    assert len(checkin) == 1 and checkin[0]["status"] == "pending"

    # The worker: what is due now goes out; three hours after the end (an IV visit is two hours
    # by default), the same-day check-in.
    Dispatcher(app).run_once()
    clock.advance(timedelta(hours=6, minutes=1))
    Dispatcher(app).run_once()
    assert any("Reply 1" in m["body"] for m in sandbox(app))
    page.reload()
    timeline = page.locator("#messages")
    expect(timeline).to_contain_text("delivered")  # the sandbox delivers at once
    expect(timeline).not_to_contain_text("why: too late")  # skipped ones wait behind the filter
    page.get_by_role("link", name="Show all messages").click()
    expect(page.locator("#messages")).to_contain_text("why: too late")  # fell before the booking

    # The patient answers on the sandbox phone with a concerning reply.
    page.get_by_role("link", name="Sandbox phone").click()
    page.get_by_role("link", name="Maria Lopez").click()
    expect(page.locator("li.bubble.in").last).to_contain_text("Reply 1")
    page.get_by_label("Reply as Maria").fill("3 - very dizzy and I feel hopeless")
    page.get_by_role("button", name=re.compile("Send")).click()
    expect(page.locator("li.bubble").last).to_contain_text("988")
    escalation = _one(app, escalations)
    assert escalation["state"] == "open"

    # Today: the open escalation comes first; acknowledge it with the outcome.
    page.get_by_role("link", name="Today").click()
    expect(page.locator("main h2").first).to_have_text("Open escalations (1)")
    card = page.locator(f"#escalation-{escalation['id']}")
    expect(card).to_contain_text("Maria Lopez")
    card.get_by_label("Outcome").fill("called Maria: safe at home with her sister")
    card.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("main h2").first).to_have_text("Open escalations (0)")
    done = _one(app, escalations)
    assert done["state"] == "acknowledged" and done["outcome"].startswith("called Maria")

    # Book the next session (in ten days) from the patient's page.
    page.goto(f"/staff/patients/{patient['id']}")
    page.get_by_role("link", name="Book a session").click()
    page.get_by_label("Start").fill("2027-03-12T09:00")
    page.get_by_label("Modality", exact=True).select_option("iv")
    page.get_by_role("button", name="Preview messages").click()
    page.get_by_role("button", name="Book session").click()
    expect(page.locator(".flash")).to_contain_text("Session 2 booked")
    evening = [r for r in rows(app, step_id="prep_evening_before") if r["status"] == "pending"]
    assert {r["due_at"].replace(tzinfo=UTC) for r in evening} == {datetime(2027, 3, 11, 23, tzinfo=UTC)}

    # An admin moves the evening-before reminder to 17:00; the pending message moves with it.
    page.get_by_role("link", name="Schedules").click()
    page.get_by_role("link", name="Edit step “Preparation, evening before”").click()
    page.get_by_label("At this local time").fill("17:00")
    page.get_by_label("Reason for the change").fill("pickups end earlier")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview")).to_contain_text("1 pending message would move")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_contain_text("1 pending message moved")
    moved = [r for r in rows(app, step_id="prep_evening_before") if r["status"] == "pending"]
    assert {r["due_at"].replace(tzinfo=UTC) for r in moved} == {datetime(2027, 3, 11, 22, tzinfo=UTC)}
    page.goto(f"/staff/patients/{patient['id']}")
    expect(page.locator("#messages")).to_contain_text("5:00 PM EST")

    # A broken template is refused with the error beside the field, and nothing is saved.
    page.get_by_role("link", name="Templates").click()
    page.locator('a[href="/staff/templates/booking_confirmation/en/sms.txt"]').click()
    box = page.get_by_label("Text", exact=True)
    box.press("Control+End")
    box.type(" {{ session.when")
    expect(page.locator("#text-checks")).to_contain_text("unexpected end of template")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#text-error")).to_contain_text("unexpected end of template")
    assert _template_versions(app) == 0
