"""The staff pages in a real browser (headless Chromium): signing in with the keyboard alone."""

from __future__ import annotations

from urllib.parse import urlparse

from playwright.sync_api import expect

from .staff_helpers import ADMIN, STAFF


def at(path):
    return lambda url: urlparse(url).path == path


def sign_in(page, account=ADMIN):
    page.goto("/staff/sign-in")
    page.get_by_label("Email").fill(account[0])
    page.get_by_label("Password").fill(account[1])
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_with_the_keyboard_lands_on_today_and_sign_out(page, live):
    page.goto("/")
    assert "/staff/sign-in" in page.url
    # The email field takes the focus on its own (autofocus); Chromium applies it just after the
    # load event, so typing waits for it rather than losing the first keys to the page.
    expect(page.get_by_label("Email")).to_be_focused()
    page.keyboard.type(ADMIN[0])
    page.keyboard.press("Tab")
    page.keyboard.type(ADMIN[1])
    page.keyboard.press("Enter")
    page.wait_for_url(at("/staff/today"))
    assert page.get_by_role("navigation", name="Main").is_visible()
    page.locator("details.account > summary").click()  # the account menu, a <details>
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(at("/staff/sign-in"))
    page.goto("/staff/today")
    assert "/staff/sign-in" in page.url


def test_a_wrong_password_is_explained_and_the_address_kept(page, live):
    page.goto("/staff/sign-in")
    page.get_by_label("Email").fill(STAFF[0])
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    assert "locked for 15 minutes" in alert.inner_text()
    assert page.get_by_label("Email").input_value() == STAFF[0]


def test_a_deep_link_from_the_escalation_text_survives_the_sign_in(page, live):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/staff/accounts")
    page.get_by_label("Email").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(at("/staff/accounts"))
    assert page.get_by_role("heading", name="Staff accounts").is_visible()
    # Nothing overflows sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
