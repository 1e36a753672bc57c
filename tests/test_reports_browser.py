"""The Reports page in headless Chromium, with the keyboard only: sign in, reach Reports from the
account menu, switch to the last 7 days, and read the charts."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

from playwright.sync_api import expect
from sqlalchemy import select

from service.db.tables import escalations
from service.services.outbox.dispatch import Dispatcher
from service.services.replies import escalations as escalation_service
from service.services.replies.inbound import Inbound, handle_inbound
from tests.helpers import book, enrol

from .staff_helpers import ADMIN


def tab_to(page: Any, name: str, limit: int = 80) -> None:
    """Press Tab until the focused element is the link named `name`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement; return e && e.tagName === 'A' ? e.textContent.trim() : '' }"
        )
        if focused == name:
            return
    raise AssertionError(f"no link named {name!r} reached with Tab")


def tab_to_summary(page: Any, limit: int = 80) -> None:
    """Press Tab until the account menu's summary has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.tagName === 'SUMMARY'"):
            return
    raise AssertionError("the account menu was not reached with Tab")


def test_reports_with_the_keyboard_only(page, live, clock):
    app = live.services
    patient = enrol(app)
    book(app, patient["id"], "2027-03-04T10:00")
    Dispatcher(app).run_once()  # the booking confirmation, by SMS and email, delivered
    handle_inbound(
        app,
        Inbound(provider_id="SM" + uuid.uuid4().hex, sender=patient["phone"], body="I want to kill myself"),
    )
    with app.engine.connect() as conn:
        escalation_id = conn.execute(select(escalations.c.id)).scalar_one()
    clock.advance(timedelta(minutes=7))
    escalation_service.acknowledge(app, escalation_id, "staff:admin@clinic.example", "called, safe at home")

    page.goto("/")
    page.keyboard.press("Tab")  # the skip link, then the fields
    page.get_by_label("Email").focus()
    page.keyboard.type(ADMIN[0])
    page.keyboard.press("Tab")
    page.keyboard.type(ADMIN[1])
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: urlparse(url).path == "/staff/today")

    # Reports is in the account menu (admins only), which opens with Enter like any disclosure.
    tab_to_summary(page)
    page.keyboard.press("Enter")
    tab_to(page, "Reports")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: urlparse(url).path == "/staff/reports")
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()

    tab_to(page, "Last 7 days")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/staff/reports\?days=7$"))
    expect(page.get_by_role("link", name="Last 7 days")).to_have_attribute("aria-current", "page")

    messages = page.locator("svg#messages-chart")
    expect(messages).to_be_visible()
    assert messages.bounding_box()["height"] > 100
    # The chart says what the table under it says.
    label = messages.get_attribute("aria-label") or ""
    delivered = re.search(r"Delivered: (\d+);", label)
    assert label.startswith("Messages by outcome, number of messages.") and delivered
    table = page.get_by_role("table", name="Messages by channel and outcome")
    expect(table.get_by_role("row", name=re.compile("^Delivered")).get_by_role("cell").last).to_have_text(
        delivered.group(1)
    )
    assert int(delivered.group(1)) > 0
    ack = page.get_by_role("img", name=re.compile("Time to acknowledge escalations"))
    expect(ack).to_be_visible()
    expect(ack).to_have_attribute("aria-label", re.compile(r"5 to 15 min: 1;"))
    row = page.get_by_role("row", name=re.compile("Unrouted"))
    expect(row.get_by_role("cell").nth(1)).to_have_text("1")
