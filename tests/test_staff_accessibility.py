"""Every staff page checked by axe-core in headless Chromium, at a desktop's size and a phone's
(390 x 844 px): no violation of impact "serious" or "critical" (WCAG 2.2 AA: contrast, names,
labels, targets...), and on the phone no page scrolls sideways.

axe-core comes from the project's package.json (`npm ci`, run by `make install`). Without it
these tests are skipped and say why, unless INTERLUDE_REQUIRE_PEERS=1 (.ci/run), which fails them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest
from sqlalchemy import select

from service.db.tables import escalations
from service.services.replies.inbound import Inbound, handle_inbound

from .helpers import REQUIRE_PEERS, ROOT, book, enrol
from .staff_helpers import ADMIN

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
BLOCKING = ("serious", "critical")
CRISIS = "i cant do this anymore, i want to kill myself tonight"


def need_axe() -> None:
    if AXE.is_file():
        return
    why = f"axe-core is not installed at {AXE}: run `make install` (it runs `npm ci`)"
    if REQUIRE_PEERS:
        pytest.fail(why + "; INTERLUDE_REQUIRE_PEERS=1 requires it")
    pytest.skip(why)


@pytest.fixture
def axe_page(chromium: Any, live: Any) -> Iterator[Any]:
    """A browser tab whose pages accept axe-core's script tag: the staff pages' Content Security
    Policy allows only their own scripts, so this tab alone is told to look past it."""
    need_axe()
    context = chromium.new_context(base_url=live.url, bypass_csp=True)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def a_day_of_work(app: Any) -> dict[str, str]:
    """A patient with a session, a question and a crisis in the Inbox: every page has content."""
    patient = enrol(app)
    session = book(app, patient["id"], "2027-03-04T10:00")
    for body in ("Can I drive home after the session?", CRISIS):
        handle_inbound(app, Inbound(provider_id="SM" + uuid.uuid4().hex, sender=patient["phone"], body=body))
    with app.engine.connect() as conn:
        escalation_id = conn.execute(select(escalations.c.id)).scalar_one()
    pid, sid = patient["id"], session["id"]
    return {
        "today": "/staff/today",
        "escalation": f"/staff/escalations/{escalation_id}",
        "patients": "/staff/patients",
        "patient": f"/staff/patients/{pid}",
        "book": f"/staff/patients/{pid}/sessions/new",
        "reschedule": f"/staff/sessions/{sid}/reschedule",
        "cancel": f"/staff/sessions/{sid}/cancel",
        "inbox": "/staff/inbox",
        "schedules": "/staff/schedules",
        "step editor": "/staff/schedules/default/steps/prep_evening_before",
        "templates": "/staff/templates",
        "template editor": "/staff/templates/booking_confirmation/en/sms.txt",
        "accounts": "/staff/accounts",
        "import": "/staff/import",
        "reports": "/staff/reports",
        "change password": "/staff/account/password",
        "sandbox": "/staff/sandbox",
        "sandbox phone": f"/staff/sandbox/{pid}",
    }


def blocking_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations of impact serious or critical on the page as it stands."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v.get("impact") in BLOCKING]


def described(found: dict[str, list[dict[str, Any]]]) -> str:
    """Each page's violations: the rule, its impact and help, and the elements at fault."""
    lines = []
    for name, violations in found.items():
        for v in violations:
            lines.append(f"{name}: {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
            for node in v["nodes"][:5]:
                lines.append(f"    {' '.join(map(str, node['target']))}: {node.get('failureSummary', '')}")
    return "\n".join(lines)


def sideways(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def check(page: Any, name: str, found: dict[str, list[dict[str, Any]]], wide: dict[str, int]) -> None:
    violations = blocking_violations(page)
    if violations:
        found[name] = violations
    if page.viewport_size["width"] <= PHONE["width"] and sideways(page) > 1:
        wide[name] = sideways(page)


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_no_staff_page_has_a_serious_or_critical_accessibility_violation(axe_page, live, size):
    page = axe_page
    paths = a_day_of_work(live.services)
    page.set_viewport_size(size)
    found: dict[str, list[dict[str, Any]]] = {}
    wide: dict[str, int] = {}

    page.goto("/staff/sign-in")
    check(page, "sign-in", found, wide)
    page.get_by_label("Email").fill(ADMIN[0])
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    page.locator("#sign-in-error").wait_for()
    check(page, "sign-in refused", found, wide)
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: urlparse(url).path == "/staff/today")

    for name, path in paths.items():
        page.goto(path)
        check(page, name, found, wide)
    page.goto(paths["today"])
    page.locator("details.account > summary").click()
    check(page, "account menu open", found, wide)

    # Forms with errors: the summary first, each error beside its field.
    page.goto(paths["accounts"])
    page.get_by_label("Email").fill("desk@clinic.example")
    page.get_by_label("Password (at least").fill("short")
    page.get_by_role("button", name="Add account").click()
    page.locator("#error-summary").wait_for()
    check(page, "accounts, refused", found, wide)
    page.goto(paths["escalation"])
    page.get_by_label("Outcome").fill("   ")
    page.get_by_role("button", name="Acknowledge").click()
    page.locator("#error-summary").wait_for()
    check(page, "escalation, refused", found, wide)

    assert not found, "serious or critical accessibility violations:\n" + described(found)
    assert not wide, f"pages that scroll sideways at {size['width']} px: {wide}"
