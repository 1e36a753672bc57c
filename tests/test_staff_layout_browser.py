"""The staff pages' layout and contrast: on a phone (390 x 844 px, headless Chromium) a compact
header, no sideways scrolling, the Staff table reflowed into cards with its buttons on screen and
the main action in the first screen; per WCAG 2.2 AA a focus ring of at least 3:1 and badge text
of at least 4.5:1, both computed from the colours in staff.css, and checkboxes and radios at
least 24 px square, measured in the browser."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

from service.services.replies.inbound import Inbound, handle_inbound

from .helpers import ROOT, enrol
from .staff_helpers import ADMIN

CSS = ROOT / "service" / "web" / "static" / "staff.css"
PHONE = {"width": 390, "height": 844}
PATIENT = "+12025550143"  # the number tests.helpers.enrol gives
# The backgrounds a focused control may sit on: the page, a card, a white field, the tinted cards.
LIGHT_BACKGROUNDS = ("#fff", "var(--bg)", "var(--card)", "#fffafa", "#f1f3f6", "#eef1f5")


# --- colours, read from the stylesheet -------------------------------------------------------------


def css_rules(path: Path | None = None) -> list[tuple[str, dict[str, str]]]:
    """(selector, declarations) for every rule, media queries flattened, comments dropped."""
    text = re.sub(r"/\*.*?\*/", "", (path or CSS).read_text(), flags=re.S)
    rules = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", text):
        declarations = {}
        for part in body.split(";"):
            name, colon, value = part.partition(":")
            if colon:
                declarations[name.strip()] = value.strip()
        rules.append((" ".join(selector.split()), declarations))
    return rules


def variables() -> dict[str, str]:
    return {
        k: v for selector, d in css_rules() if selector == ":root" for k, v in d.items() if k.startswith("--")
    }


def colour(value: str) -> str:
    """The hex colour a value names, through var(--x); the first colour of a shorthand."""
    names = variables()
    for _ in range(5):
        found = re.search(r"var\((--[\w-]+)\)", value)
        if not found:
            break
        value = value.replace(found.group(0), names[found.group(1)])
    if value.strip() == "#fff" or value.strip() == "white":
        return "#ffffff"
    hexes = re.findall(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b", value)
    assert hexes, f"no colour in {value!r}"
    h = hexes[0]
    return "#" + "".join(c * 2 for c in h[1:]) if len(h) == 4 else h.lower()


def luminance(hex_colour: str) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    """WCAG's contrast ratio of two colours, 1 to 21."""
    high, low = sorted((luminance(colour(a)), luminance(colour(b))), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_focus_ring_is_at_least_3_to_1_on_every_background():
    assert round(contrast("#000", "#fff"), 2) == 21.0  # the arithmetic is WCAG's
    assert round(contrast("#f0b429", "#fff"), 2) == 1.86  # e.g. a yellow ring on white
    rules = dict(css_rules())
    ring = rules[":focus-visible"]
    outline = ring["outline"]
    for background in LIGHT_BACKGROUNDS:
        assert contrast(outline, background) >= 3, (outline, background, contrast(outline, background))
    halo = ring["box-shadow"]
    # On the red banner the ring turns white (its dark halo still shows against any light edge).
    alarm = rules[".alarm :focus-visible"]
    alarm_background = rules[".alarm"]["background"]
    assert contrast(alarm["outline-color"], alarm_background) >= 3
    # The halo between control and ring keeps the ring visible against a dark control (a button).
    assert contrast(halo, outline) >= 3 and contrast(alarm["box-shadow"], alarm["outline-color"]) >= 3


def test_every_badge_and_every_coloured_text_is_at_least_4_5_to_1():
    ink = variables()["--ink"]
    checked = []
    for selector, d in css_rules():
        background = d.get("background") or d.get("background-color")
        if not background or background.startswith("none"):
            continue
        if ".badge" not in selector and "color" not in d:
            continue  # a background for text of the colour around it, checked where that is set
        text = d.get("color", ink)  # a badge without its own colour has the page's ink
        ratio = contrast(text, background)
        checked.append(selector)
        assert ratio >= 4.5, f"{selector}: {text} on {background} is {ratio:.2f}:1"
    assert any(".badge.ok" in s for s in checked) and any(".badge.warn" in s for s in checked)
    # Coloured text on the page's own backgrounds.
    for name in ("--ok", "--warn", "--danger", "--accent", "--muted"):
        for background in ("#fff", "var(--bg)"):
            assert contrast(f"var({name})", background) >= 4.5, (name, background)


# --- the browser -----------------------------------------------------------------------------------


def sign_in(page, path="/staff/today"):
    page.goto(path)
    page.get_by_label("Email").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: urlparse(url).path == path)


def sideways(page) -> int:
    """How many pixels the page scrolls sideways (0 when it fits)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def test_on_a_phone_the_header_is_compact_and_no_page_scrolls_sideways(page, live):
    patient = enrol(live.services)
    page.set_viewport_size(PHONE)
    sign_in(page)
    header = page.locator("header.top").bounding_box()
    assert header is not None and header["height"] < 120, header
    # Every page of the navigation is one tap away; the account menu opens without a script.
    nav = page.get_by_role("navigation", name="Main")
    for name in ("Today", "Patients", "Inbox", "Schedules", "Templates", "Sandbox phone", "Staff"):
        assert nav.get_by_role("link", name=re.compile(f"^{name}")).is_visible(), name
    page.locator("details.account > summary").click()
    assert page.get_by_role("button", name="Sign out").is_visible()
    menu = page.locator("details.account .menu").bounding_box()
    assert menu is not None and menu["x"] >= 0 and menu["x"] + menu["width"] <= PHONE["width"]
    paths = ["/staff/today", "/staff/patients", f"/staff/patients/{patient['id']}", "/staff/accounts"]
    paths += ["/staff/inbox", "/staff/schedules", "/staff/templates", "/staff/sandbox"]
    wide = {}
    for path in paths:
        page.goto(path)
        if sideways(page) > 1:
            wide[path] = sideways(page)
    assert wide == {}, f"pages that scroll sideways at 390 px: {wide}"


def test_on_a_phone_the_staff_table_becomes_cards_with_its_buttons_on_screen(page, live):
    page.set_viewport_size(PHONE)
    sign_in(page, "/staff/accounts")
    add = page.get_by_role("link", name="Add an account")
    box = add.bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"]  # the main action, first screen
    disable = page.get_by_role("button", name=re.compile("^Disable"))
    assert disable.count() == 1  # the nurse's row (no button on one's own)
    box = disable.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    # Each value sits under its column's name.
    role = page.locator("td[data-label='Role']").first
    assert role.evaluate("td => getComputedStyle(td, '::before').content") == '"Role"'
    assert sideways(page) <= 1


def test_checkboxes_and_radios_are_at_least_24_px(page, live):
    enrol(live.services)
    handle_inbound(live.services, Inbound(provider_id="SM" + "1" * 32, sender=PATIENT, body="Can I drive?"))
    sign_in(page, "/staff/accounts")
    box = page.get_by_label(re.compile("^Admin")).bounding_box()
    assert box is not None and box["width"] >= 24 and box["height"] >= 24, box
    page.goto("/staff/inbox")
    page.get_by_text("Answer by text").click()
    radios = page.get_by_role("radio")
    assert radios.count() >= 2
    for i in range(radios.count()):
        box = radios.nth(i).bounding_box()
        assert box is not None and box["width"] >= 24 and box["height"] >= 24, box
