"""The questionnaire chart in headless Chromium: Today's concerning result leads to the patient's
chart with the keyboard alone, the chart draws its scores and session marks, the last answers
open from the keyboard, and axe-core finds nothing serious on the page with the chart on it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from service.web import create_app
from tests.helpers import book, enrol
from tests.reply_helpers import EXTRA
from tests.test_measures import form_for, measure_link
from tests.test_staff_accessibility import blocking_violations, described, need_axe

from .staff_helpers import ADMIN, LiveServer, live_app
from .staff_helpers import staff_services as build_staff

MAX_TABS = 120


@pytest.fixture
def live(sqlite_url: str, clock: Any) -> Iterator[Any]:
    """The staff pages on 127.0.0.1, with links signed for the public address the tests read."""
    services = build_staff(sqlite_url, clock, extra=EXTRA)
    server = LiveServer(live_app(services))
    with server.running():
        server.services = services  # type: ignore[attr-defined]
        yield server
    services.engine.dispose()


def answered_twice(app: Any, clock: Any) -> dict[str, Any]:
    patient = enrol(app, first_name="Ana", last_name="Ruiz")
    for day in (9, 12, 16, 19):
        book(app, patient["id"], f"2027-03-{day:02d}T11:00")
    client = create_app(app.config, services=app).test_client()
    client.post(measure_link(app, clock, patient, "measure_phq9_pre1"), data=form_for(9, 0, item1=3, item2=1))
    client.post(measure_link(app, clock, patient, "measure_phq9_pre4"), data=form_for(9, 2))
    return patient


def sign_in(page: Any) -> None:
    page.goto("/staff/sign-in")
    page.get_by_label("Email").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(lambda url: urlparse(url).path == "/staff/today")


def tab_to(page: Any, locator: Any) -> None:
    """Press Tab until `locator` has the focus (as someone without a mouse would)."""
    target = locator.element_handle()
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("(el) => document.activeElement === el", target):
            return
    raise AssertionError(f"not reached with {MAX_TABS} presses of Tab")


def test_the_patient_chart_renders_and_is_reached_and_read_with_the_keyboard(page, live, clock):
    patient = answered_twice(live.services, clock)
    sign_in(page)

    result = page.locator("#questionnaires").get_by_role("link", name="Ana Ruiz")
    tab_to(page, result)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: urlparse(url).path == f"/staff/patients/{patient['id']}")

    chart = page.get_by_role("img", name="PHQ-9 scores over time")
    expect(chart).to_be_visible()
    label = chart.get_attribute("aria-label")
    assert "4 (minimal)" in label and "18 (moderately severe)" in label and "S4 on" in label
    box = chart.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 100  # drawn, not collapsed
    drawn = chart.locator("text").all_text_contents()
    assert {"4", "18", "S1", "S4", "severe 20–27"} <= set(drawn)

    summary = page.locator("details.last-answers > summary")
    tab_to(page, summary)
    answer = page.get_by_text("Little interest or pleasure in doing things")
    expect(answer).to_be_hidden()
    page.keyboard.press("Enter")
    expect(answer).to_be_visible()


@pytest.mark.parametrize(
    "size", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}], ids=["desktop", "phone"]
)
def test_the_patient_page_with_a_chart_has_no_serious_accessibility_violation(chromium, live, clock, size):
    need_axe()
    patient = answered_twice(live.services, clock)
    context = chromium.new_context(base_url=live.url, bypass_csp=True, viewport=size)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        sign_in(page)
        page.goto(f"/staff/patients/{patient['id']}")
        page.locator("details.last-answers > summary").click()
        found = blocking_violations(page)
        assert not found, described({"patient": found})
        sideways = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert sideways <= 1, f"the page scrolls sideways by {sideways} px"
    finally:
        context.close()
