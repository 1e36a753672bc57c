"""Editing a patient and recording a re-consent in headless Chromium, on the shipped schedule (it
has the opt-in text): a new number gets the opt-in again, shown on the patient's page; a
text-message re-consent is refused after STOP and the patient's START lifts the opt-out; a form
with errors comes back with its summary, which has the focus."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from service.services.outbox.dispatch import Dispatcher
from service.services.staff import add_staff
from service.web import create_app
from tests.helpers import ROOT, enrol, make_config, make_services, rows
from tests.reply_helpers import EXTRA, Phone

from .staff_helpers import ADMIN, SECRET, LiveServer, live_app


@pytest.fixture
def live(sqlite_url, clock) -> Iterator[Any]:
    """The staff pages on 127.0.0.1 with the shipped schedules and signed Twilio webhooks."""
    config = make_config(
        sqlite_url, schedules=ROOT / "schedules", extra=EXTRA, env={"INTERLUDE_SECRET_KEY": SECRET}
    )
    services = make_services(sqlite_url, clock, config=config)
    add_staff(services, *ADMIN, admin=True, actor="test")
    server = LiveServer(live_app(services))
    with server.running():
        server.services = services  # type: ignore[attr-defined]
        yield server
    services.engine.dispose()


def at(path_pattern: str):
    return lambda url: re.fullmatch(path_pattern, urlparse(url).path) is not None


def sign_in(page) -> None:
    page.goto("/staff/sign-in")
    page.get_by_label("Email").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(at("/staff/today"))


def welcomed(app) -> dict[str, Any]:
    maria = enrol(app)
    Dispatcher(app).run_once()
    assert [r["status"] for r in rows(app, step_id="enrolment_opt_in")] == ["sent"]
    return maria


def test_a_new_phone_number_gets_the_opt_in_text_again(page, live):
    app = live.services
    maria = welcomed(app)
    sign_in(page)
    page.goto(f"/staff/patients/{maria['id']}/edit")
    expect(page.get_by_label("Language")).to_have_value("en")
    page.get_by_label("Mobile phone", exact=False).fill("(202) 555-0177")
    page.get_by_label("Time zone", exact=True).select_option("America/Chicago")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(at(rf"/staff/patients/{maria['id']}"))
    expect(page.locator(".flash")).to_contain_text("the opt-in text is planned again, to the new number")
    welcome = page.locator("#messages li", has_text="Welcome and opt-in text")
    expect(welcome).to_have_count(2)  # the one that went to the old number, and the new one
    assert [r["status"] for r in rows(app, step_id="enrolment_opt_in")] == ["sent", "pending"]


def test_the_error_summary_takes_the_focus_and_nothing_is_saved(page, live):
    app = live.services
    maria = welcomed(app)
    sign_in(page)
    page.goto(f"/staff/patients/{maria['id']}/edit")
    page.get_by_label("Mobile phone", exact=False).fill("555")
    page.get_by_label("Time zone", exact=True).select_option("other")
    page.get_by_label("Other time zone", exact=False).fill("New York")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(at(rf"/staff/patients/{maria['id']}/edit"))
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_count(2)
    summary.get_by_role("link", name=re.compile("^Time zone")).click()
    expect(page.locator("#timezone")).to_be_focused()
    expect(page.get_by_label("Other time zone", exact=False)).to_have_value("New York")  # kept
    assert len(rows(app, step_id="enrolment_opt_in")) == 1


def test_a_text_re_consent_is_refused_after_stop_then_start_lifts_it(page, live, clock):
    app = live.services
    maria = welcomed(app)
    phone = Phone(create_app(services=app).test_client())
    phone.text("STOP")
    sign_in(page)
    page.goto(f"/staff/patients/{maria['id']}/consent")
    expect(page.locator("#opt-outs")).to_contain_text("Only the patient can turn text messages back on")
    page.get_by_label("Text message", exact=True).check()
    page.get_by_label("Phone call").check()
    page.get_by_role("button", name="Record consent").click()
    page.wait_for_url(at(rf"/staff/patients/{maria['id']}/consent"))
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#error-summary")).to_contain_text("Ask them to text START")

    clock.advance(timedelta(minutes=5))
    phone.text("START")
    page.goto(f"/staff/patients/{maria['id']}/consent")
    expect(page.locator("#opt-outs")).to_contain_text("Nothing is turned off")
    page.get_by_label("Text message", exact=True).check()
    page.get_by_label("Phone call").check()
    page.get_by_role("button", name="Record consent").click()
    page.wait_for_url(at(rf"/staff/patients/{maria['id']}"))
    expect(page.locator(".flash")).to_contain_text("agreed again to text messages")
    expect(page.locator("main")).to_contain_text(f"Phone call, recorded by {ADMIN[0]}")


def test_an_email_re_consent_is_recorded_and_shown_in_the_ledger(page, live, clock):
    app = live.services
    maria = welcomed(app)
    from service.services import consent

    with app.engine.begin() as conn:
        consent.record(
            conn,
            patient_id=maria["id"],
            channel="email",
            action="opt_out",
            source="email-link",
            now=clock.now,
        )
    clock.advance(timedelta(minutes=20))
    sign_in(page)
    page.goto(f"/staff/patients/{maria['id']}/consent")
    page.get_by_label("Email", exact=True).check()
    page.get_by_label("In person").check()
    page.get_by_label("Note", exact=False).fill("asked at the desk")
    page.get_by_role("button", name="Record consent").click()
    page.wait_for_url(at(rf"/staff/patients/{maria['id']}"))
    expect(page.locator(".flash")).to_contain_text("agreed again to emails")
    expect(page.locator("main")).to_contain_text(f"In person, recorded by {ADMIN[0]}: asked at the desk")
