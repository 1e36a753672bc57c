"""The safety net in headless Chromium, on a phone's width (390 px): a patient texts crisis words
at night from the sandbox phone; with nobody on call, every staff page shows the red banner; the
Today card shows the words and a call button; acknowledging is refused without an outcome, then
accepted, and the escalation, the Inbox message and the task close together.

The live server's config has no on-call clinician (tests/conftest.py `live`): the crisis nobody
could be paged for is the case where the banner matters most, and it is the one with a task.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

from playwright.sync_api import expect
from sqlalchemy import select

from service.db.tables import escalations, inbound_messages, staff_tasks

from .helpers import enrol
from .staff_helpers import ADMIN

CRISIS = "i cant do this anymore, i want to kill myself tonight"
SCREENSHOT = Path("/tmp/team/today_card.png")
NAV = ["Today", "Patients", "Inbox", "Schedules", "Templates", "Sandbox phone", "Staff"]


def one(app, table):
    with app.engine.connect() as conn:
        found = list(conn.execute(select(table)).mappings())
    assert len(found) == 1, found
    return found[0]


def no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_a_crisis_text_at_night_reaches_every_page_and_closes_with_one_acknowledgement(page, live, clock):
    app = live.services
    patient = enrol(app)
    clock.set(datetime(2027, 3, 3, 3, 40, tzinfo=UTC))  # 22:40 in the clinic (New York): night
    page.set_viewport_size({"width": 390, "height": 844})
    script_errors = []
    page.on("pageerror", lambda error: script_errors.append(error))

    page.goto("/staff/sandbox")
    page.get_by_label("Email").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(lambda url: urlparse(url).path == "/staff/sandbox")
    expect(page.locator(".alarm")).to_have_count(0)

    # The patient texts from the sandbox phone.
    page.get_by_role("link", name=re.compile("Maria")).first.click()
    page.get_by_label("Reply as Maria").fill(CRISIS)
    page.get_by_role("button", name="Send").click()
    expect(page.locator("li.bubble").last).to_contain_text("988")
    esc = one(app, escalations)
    message = one(app, inbound_messages)
    assert esc["state"] == "open" and esc["inbound_id"] == message["id"]

    # Every page: the red banner, and the count in the tab title.
    for name in NAV:
        page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile(f"^{name}")).click()
        alarm = page.get_by_role("alert").filter(has_text="open escalation")
        expect(alarm).to_contain_text("1 open escalation: a patient needs a clinician now.")
        expect(alarm).to_contain_text("1 crisis could not be paged to anyone")
        assert page.title().startswith("(1) "), (name, page.title())  # one crisis, counted once
        no_sideways_scroll(page)

    # The banner leads to the escalation; Today shows its card with the words and a call button.
    page.get_by_role("link", name="Open the escalation").click()
    page.wait_for_url(lambda url: urlparse(url).path == f"/staff/escalations/{esc['id']}")
    page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("^Today")).click()
    card = page.locator(f"#escalation-{esc['id']}")
    expect(card.locator("blockquote.said")).to_have_text(CRISIS)
    call = card.get_by_role("link", name=re.compile("Call Maria Lopez"))
    expect(call).to_have_attribute("href", f"tel:{patient['phone']}")
    expect(card).to_contain_text("Raised 0 min ago")
    expect(card).to_contain_text("Nobody: no on-call clinician is configured.")
    expect(card).to_contain_text(f"reply ACK {esc['code']} from an on-call phone, or acknowledge here")
    no_sideways_scroll(page)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    card.screenshot(path=str(SCREENSHOT))

    # Refused without an outcome: the browser stops an empty one, the server one of blanks.
    outcome = card.get_by_label(re.compile("^Outcome"))
    card.get_by_role("button", name=re.compile("^Acknowledge")).click()
    assert outcome.evaluate("box => box.validity.valueMissing")
    outcome.fill("   ")
    card.get_by_role("button", name=re.compile("^Acknowledge")).click()
    refused = page.locator(f"#escalation-{esc['id']}")
    expect(refused.locator(f"#outcome-{esc['id']}-error")).to_contain_text("Write the outcome")
    expect(page.locator("#error-summary")).to_be_focused()
    assert one(app, escalations)["state"] == "open"
    assert one(app, inbound_messages)["needs_attention"] is True
    assert one(app, staff_tasks)["state"] == "open"

    # Accepted: one action closes the escalation, its message and its task.
    refused.get_by_label(re.compile("^Outcome")).fill(
        "called Maria: safe, with her partner; 988 plan reviewed"
    )
    refused.get_by_role("button", name=re.compile("^Acknowledge")).click()
    page.wait_for_url(lambda url: urlparse(url).path == "/staff/today")
    expect(page.locator(".flash")).to_contain_text("the Inbox message and the task closed with it")
    expect(page.locator(".alarm")).to_have_count(0)
    expect(page.locator("#acknowledged")).to_contain_text("called Maria: safe")
    assert not page.title().startswith("(")
    done = one(app, escalations)
    assert done["state"] == "acknowledged" and done["outcome"].startswith("called Maria")
    assert one(app, inbound_messages)["needs_attention"] is False
    assert one(app, staff_tasks)["state"] == "done"
    expect(page.locator("#refresh-note")).to_have_text("(refreshes every 30 s)")  # refresh.js ran
    assert script_errors == []
