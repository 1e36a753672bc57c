"""The step editor in Chromium: the preview shows the text a step sends and follows the form as
an admin changes it, with no submit; every field's error at once after a failed save."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect
from sqlalchemy import func, select

from service.db.tables import content_versions
from service.services.content import edits as content

from .staff_helpers import ADMIN

EVENING = "/staff/schedules/default/steps/prep_evening_before"


def sign_in(page: Any) -> None:
    page.goto("/staff/sign-in")
    page.get_by_label("Email").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_label("Password").press("Enter")
    page.wait_for_url("**/staff/today")


def versions(app: Any) -> int:
    with app.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(content_versions)).scalar_one())


def test_changing_the_template_updates_the_preview_text_without_a_submit(page, live):
    app = live.services
    shipped = content.preview_step(app, "default", "prep_evening_before")["messages"][0]["sms"]["text"]
    chosen = content.preview_step_edit(app, "default", "prep_evening_before", {"template": "prep_ahead"})
    expected = chosen["messages"][0]["sms"]["text"]
    assert expected != shipped
    sign_in(page)
    page.goto(EVENING)
    sms = page.locator("#preview-sms-text")
    expect(sms).to_have_text(shipped)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(f"{r.method} {r.url}"))

    page.get_by_label("Template").select_option("prep_ahead")
    expect(sms).to_have_text(expected)
    expect(page.locator("#preview")).to_contain_text("Preview: nothing is saved yet")
    assert page.url.endswith(EVENING) and versions(app) == 0
    assert all(r.endswith("/preview") for r in requests if r.startswith("POST")), requests

    page.get_by_label("Email", exact=True).uncheck()  # the channels too
    expect(page.locator("#preview-email")).to_have_count(0)
    expect(page.locator("#preview-sms")).to_contain_text("Would go")

    page.get_by_label("At this local time").fill("25:00")  # a bad field: no preview, says why
    expect(page.locator("#preview")).to_contain_text("Local time: expected a local time as 'HH:MM'")
    page.get_by_label("At this local time").fill("17:00")
    expect(page.locator("#preview")).to_contain_text("Would go Thu, Mar 11 5:00 PM")
    assert versions(app) == 0


def test_a_failed_save_lists_every_error_and_moves_the_focus_to_them(page, live):
    sign_in(page)
    page.goto(EVENING)
    page.locator("#offset").fill("soon")
    page.get_by_label("At this local time").fill("25:00")
    page.get_by_label("Session numbers").fill("1-x")
    page.get_by_role("button", name="Save").click()
    found = page.locator("#error-summary")
    expect(found).to_contain_text("Fix these 3 things to continue")
    expect(found).to_be_focused()
    found.get_by_role("link", name="Local time").click()
    expect(page.get_by_label("At this local time")).to_be_focused()
    expect(page.locator("#at-error")).to_contain_text("HH:MM")
    page.reload()  # Post/Redirect/Get: nothing is sent again, and the errors were shown once
    expect(page.locator("#error-summary")).to_have_count(0)
    assert versions(live.services) == 0
