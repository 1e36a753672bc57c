"""The safety net on the staff pages: the red banner on every page, the Today card of an
escalation, acknowledging with a required outcome that closes the escalation, its Inbox message
and its task together (audited), crisis and concerning messages pinned in the Inbox, and the open
counts in the navigation and the tab title. Through the real reply pipeline, on both databases."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from service.db.tables import audit_events, escalations, inbound_messages, outbox, staff_tasks
from service.services.outbox.dispatch import Dispatcher
from service.services.replies.inbound import Inbound, handle_inbound
from service.web import create_app

from .helpers import enrol
from .staff_helpers import ADMIN, STAFF, signed_in
from .staff_helpers import staff_services as build_staff

ON_CALL = "+12025550181"
ROUTED = f"""
[[escalation.on_call]]
name = "Dr Rivera"
phone = "{ON_CALL}"
"""
PATIENT_PHONE = "+12025550143"
CRISIS = "i cant do this anymore, i want to kill myself"
PAGES = [
    "/staff/today",
    "/staff/patients",
    "/staff/patients/{patient}",
    "/staff/inbox",
    "/staff/schedules",
    "/staff/templates",
    "/staff/sandbox",
    "/staff/accounts",
    "/staff/account/password",
    "/staff/escalations/{escalation}",
]


def services_for(db_url, clock, extra):
    return build_staff(db_url, clock, extra=extra)


@pytest.fixture
def routed(db_url, clock):
    app = services_for(db_url, clock, ROUTED)
    yield app
    app.engine.dispose()


@pytest.fixture
def unrouted(db_url, clock):
    """Nobody on call: an escalation becomes a task nobody was paged for."""
    app = services_for(db_url, clock, "")
    yield app
    app.engine.dispose()


def text_in(app, body, sender=PATIENT_PHONE):
    return handle_inbound(app, Inbound(provider_id="SM" + uuid.uuid4().hex, sender=sender, body=body))


def crisis(app):
    """A patient texts crisis words; returns (patient, inbound id, escalation row)."""
    patient = enrol(app)
    result = text_in(app, CRISIS)
    assert result.kind == "crisis"
    return patient, result.inbound_id, the_escalation(app)


def the_escalation(app):
    with app.engine.connect() as conn:
        return conn.execute(select(escalations)).mappings().one()


def inbound_row(app, inbound_id):
    with app.engine.connect() as conn:
        query = select(inbound_messages).where(inbound_messages.c.id == inbound_id)
        return conn.execute(query).mappings().one()


def tasks_of(app, kind):
    with app.engine.connect() as conn:
        return list(conn.execute(select(staff_tasks).where(staff_tasks.c.kind == kind)).mappings())


def audit_of(app, action):
    with app.engine.connect() as conn:
        query = select(audit_events).where(audit_events.c.action == action)
        return list(conn.execute(query).mappings())


def pending_pages(app):
    with app.engine.connect() as conn:
        query = select(outbox).where(outbox.c.audience == "staff", outbox.c.status == "pending")
        return list(conn.execute(query).mappings())


def html(response):
    assert response.status_code in (200, 400), response.status_code
    return response.get_data(as_text=True)


def banner(page):
    found = re.search(r'<div class="alarm" role="alert">(.*?)</div>', page, re.S)
    return found.group(1) if found else None


def title(page):
    return re.search(r"<title>(.*?)</title>", page, re.S).group(1).strip()


def web(app):
    return create_app(app.config, services=app)


# --- the banner --------------------------------------------------------------------------------


def test_every_staff_page_shows_the_red_banner_while_an_escalation_is_open(routed):
    patient, _, esc = crisis(routed)
    admin = signed_in(web(routed), ADMIN)
    for path in PAGES:
        page = html(admin.get(path.format(patient=patient["id"], escalation=esc["id"])))
        alarm = banner(page)
        assert alarm is not None, f"no banner on {path}"
        assert "1 open escalation:</strong> a patient needs a clinician now." in alarm, path
        assert f'<a href="/staff/escalations/{esc["id"]}">Open the escalation</a>' in alarm, path
    admin.post(f"/staff/escalations/{esc['id']}/ack", {"outcome": "called her: safe with her sister"})
    for path in PAGES:
        page = html(admin.get(path.format(patient=patient["id"], escalation=esc["id"])))
        assert banner(page) is None, f"banner left on {path}"


def test_an_escalation_nobody_could_be_paged_for_has_its_own_banner(unrouted):
    _, _, esc = crisis(unrouted)
    [task] = tasks_of(unrouted, "escalation-unrouted")
    assert task["state"] == "open"
    nurse = signed_in(web(unrouted), STAFF)
    for path in ("/staff/patients", "/staff/schedules", "/staff/inbox"):
        alarm = banner(html(nurse.get(path)))
        assert "1 crisis could not be paged to anyone:</strong> call the patient yourself." in alarm, path
        assert '<a href="/staff/today#escalations">See who to call</a>' in alarm, path
    page = html(nurse.get("/staff/today"))
    assert title(page).startswith("(1) ")  # one crisis, counted once though it is in both lines
    card = page[page.index(f'id="escalation-{esc["id"]}"') :]
    assert "Nobody: no on-call clinician is configured.</strong> Call the patient yourself." in card
    assert f'href="tel:{PATIENT_PHONE}"' in card


def test_a_crisis_from_a_number_that_is_not_a_patient_is_an_escalation_with_a_call_button(routed):
    result = text_in(routed, CRISIS, sender="+12025550999")
    esc = the_escalation(routed)
    assert esc["patient_id"] is None
    nurse = signed_in(web(routed), STAFF)
    assert "1 open escalation:" in banner(html(nurse.get("/staff/patients")))
    page = html(nurse.get("/staff/today"))
    assert "a number no patient has" in page and CRISIS in page
    assert 'href="tel:+12025550999"' in page  # call the sender back
    nurse.post(f"/staff/escalations/{esc['id']}/ack", {"outcome": "called back: her sister, now with her"})
    assert the_escalation(routed)["state"] == "acknowledged"
    assert [t["state"] for t in tasks_of(routed, "crisis-unknown-sender")] == ["done"]
    with routed.engine.connect() as conn:
        message = conn.execute(select(inbound_messages).where(inbound_messages.c.id == result.inbound_id))
        assert message.mappings().one()["needs_attention"] is False
    assert banner(html(nurse.get("/staff/patients"))) is None


def test_the_tab_title_and_the_navigation_show_the_open_counts(routed):
    enrol(routed)
    text_in(routed, "Can I bring my husband?")
    text_in(routed, CRISIS)
    text_in(routed, "I want to end my life")
    nurse = signed_in(web(routed), STAFF)
    page = html(nurse.get("/staff/today"))
    assert title(page) == "(2) Today · Interlude Demo Clinic"
    assert 'Today <span class="count urgent">2<span class="visually-hidden"> urgent</span></span>' in page
    assert 'Inbox <span class="count">3<span class="visually-hidden"> waiting</span></span>' in page
    assert title(html(nurse.get("/staff/patients"))).startswith("(2) ")
    assert "2 open escalations:" in banner(page) and "Open the oldest" in banner(page)


def test_without_anything_open_the_pages_stay_quiet(routed):
    enrol(routed)
    nurse = signed_in(web(routed), STAFF)
    page = html(nurse.get("/staff/today"))
    assert banner(page) is None and title(page) == "Today · Interlude Demo Clinic"
    assert 'class="count' not in page


# --- acknowledging -----------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["", "   \n "])
@pytest.mark.parametrize("back", ["today", None])
def test_acknowledging_without_an_outcome_is_refused_beside_the_field_and_changes_nothing(
    unrouted, outcome, back
):
    _, inbound_id, esc = crisis(unrouted)
    nurse = signed_in(web(unrouted), STAFF)
    form = {"outcome": outcome, **({"back": back} if back else {})}
    response = nurse.post(f"/staff/escalations/{esc['id']}/ack", form)
    assert response.status_code == 303  # Post/Redirect/Get: a reload never sends it again
    page = html(nurse.get(response.headers["Location"]))
    error = f'<p class="field-error" id="outcome-{esc["id"]}-error">Write the outcome'
    assert error in page and 'id="error-summary"' in page
    assert "refresh.js" not in page  # reloading itself would drop the outcome kept for this view
    assert the_escalation(unrouted)["state"] == "open"
    assert inbound_row(unrouted, inbound_id)["needs_attention"] is True
    assert [t["state"] for t in tasks_of(unrouted, "escalation-unrouted")] == ["open"]
    assert audit_of(unrouted, "escalation-acknowledged") == []


def test_acknowledging_with_an_outcome_closes_the_escalation_its_message_and_its_task_together(
    unrouted, clock
):
    _, inbound_id, esc = crisis(unrouted)
    clock.advance(timedelta(minutes=6))
    nurse = signed_in(web(unrouted), STAFF)
    outcome = "called Maria: safe at home with her sister, crisis plan reviewed"
    response = nurse.post(f"/staff/escalations/{esc['id']}/ack", {"outcome": outcome, "back": "today"})
    assert response.headers["Location"] == "/staff/today"
    row = the_escalation(unrouted)
    assert (row["state"], row["outcome"], row["acked_by"]) == ("acknowledged", outcome, f"staff:{STAFF[0]}")
    message = inbound_row(unrouted, inbound_id)
    assert message["needs_attention"] is False and message["handled_by"] == f"staff:{STAFF[0]}"
    assert message["handled_at"] == clock.now
    [task] = tasks_of(unrouted, "escalation-unrouted")
    assert (task["state"], task["done_by"], task["done_at"]) == ("done", f"staff:{STAFF[0]}", clock.now)
    [event] = audit_of(unrouted, "escalation-acknowledged")
    assert (event["entity"], event["entity_id"], event["actor"]) == (
        "escalation",
        esc["id"],
        f"staff:{STAFF[0]}",
    )
    assert event["details"]["inbound_id"] == inbound_id and event["details"]["task_ids"] == [task["id"]]
    assert event["details"]["outcome"] == "recorded"
    assert "sister" not in str(event["details"])  # clinical text stays on the escalation
    page = html(nurse.get("/staff/today"))
    assert "the Inbox message and the task closed with it." in page
    assert "Open escalations (0)" in page and banner(page) is None


def test_an_acknowledgement_by_text_stops_the_pages_and_the_pages_then_ask_for_the_outcome(routed, clock):
    _, inbound_id, esc = crisis(routed)
    assert pending_pages(routed)
    assert text_in(routed, f"ACK {esc['code']}", sender=ON_CALL).kind == "staff-ack"
    assert pending_pages(routed) == []  # the pages stop at once
    assert the_escalation(routed)["state"] == "acknowledged"
    assert inbound_row(routed, inbound_id)["needs_attention"] is True  # closes with the outcome
    nurse = signed_in(web(routed), STAFF)
    today = html(nurse.get("/staff/today"))
    acked = today[today.index('id="acked-') :]
    assert "acknowledged by <strong>Dr Rivera (sms)</strong>" in acked
    assert "<strong>Outcome needed.</strong>" in acked and ">Record the outcome<" in acked
    inbox = html(nurse.get("/staff/inbox"))
    assert '<strong class="error">outcome needed</strong>' in inbox
    assert f'action="/staff/inbox/{inbound_id}/handled"' not in inbox  # closes with the outcome only
    refused = nurse.post(f"/staff/inbox/{inbound_id}/handled")
    assert "Not marked handled: escalation" in html(nurse.get(refused.headers["Location"]))
    assert (
        nurse.post(f"/staff/escalations/{esc['id']}/ack", {"outcome": " ", "back": "today"}).status_code
        == 303
    )
    nurse.post(f"/staff/escalations/{esc['id']}/ack", {"outcome": "Dr Rivera called: safe", "back": "today"})
    row = the_escalation(routed)
    assert (row["acked_by"], row["outcome"]) == ("Dr Rivera (sms)", "Dr Rivera called: safe")
    assert inbound_row(routed, inbound_id)["needs_attention"] is False
    assert [e["actor"] for e in audit_of(routed, "escalation-acknowledged")] == ["Dr Rivera (sms)"]
    assert [e["actor"] for e in audit_of(routed, "escalation-outcome-recorded")] == [f"staff:{STAFF[0]}"]


def test_today_lists_what_was_acknowledged_in_the_last_24_hours_with_who_and_the_outcome(routed, clock):
    _, _, esc = crisis(routed)
    admin = signed_in(web(routed), ADMIN)
    admin.post(f"/staff/escalations/{esc['id']}/ack", {"outcome": "called: safe, seen tomorrow 9:00"})
    clock.advance(timedelta(hours=23))
    admin = signed_in(web(routed), ADMIN)  # a sign-in lasts 12 hours
    page = html(admin.get("/staff/today"))
    acked = page[page.index("Acknowledged in the last 24 hours (1)") : page.index("Today: ")]
    assert f"acknowledged by <strong>{ADMIN[0]}</strong> at Tue, Mar 2, 10:00 AM EST" in acked
    assert '<blockquote class="said">called: safe, seen tomorrow 9:00</blockquote>' in acked
    assert "Crisis words in a patient" in acked and "Maria Lopez" in acked
    clock.advance(timedelta(hours=2))
    assert "Acknowledged in the last 24 hours (0)" in html(admin.get("/staff/today"))


def test_the_escalation_page_shows_who_was_paged_and_when_the_backup_will_be(db_url, clock):
    backup = ROUTED + '[[escalation.backup]]\nname = "Dr Chen"\nphone = "+12025550182"\n'
    app = services_for(db_url, clock, backup)
    try:
        _, _, esc = crisis(app)
        Dispatcher(app).run_once()
        clock.advance(timedelta(minutes=5))
        page = html(signed_in(web(app), STAFF).get(f"/staff/escalations/{esc['id']}"))
        assert "<dt>Raised</dt><dd>Tue, Mar 2, 10:00 AM EST (5 min ago)</dd>" in page
        assert "Dr Rivera by text at 10:00 AM EST" in page
        assert "The backup, Dr Chen at 10:15 AM EST (in 10 min), unless someone acknowledges first." in page
        assert f'<blockquote class="said">{CRISIS}</blockquote>' in page
        assert 'id="auto-refresh" data-refresh="30"' in page and "refresh.js" in page
    finally:
        app.engine.dispose()


# --- the Inbox ---------------------------------------------------------------------------------


def test_crisis_and_concerning_messages_are_pinned_at_the_top_in_red_with_their_escalation(routed, clock):
    patient = enrol(routed)
    plain = text_in(routed, "Can I bring my husband?").inbound_id
    clock.advance(timedelta(minutes=1))
    urgent = text_in(routed, CRISIS).inbound_id
    clock.advance(timedelta(minutes=1))
    with routed.engine.begin() as conn:  # free text during an open check-in, as the pipeline files it
        during = conn.execute(
            insert(inbound_messages)
            .values(
                provider_id="SM-during",
                channel="sms",
                sender=PATIENT_PHONE,
                patient_id=patient["id"],
                body="feeling weird and floaty still",
                received_at=clock.now,
                kind="checkin-free-text",
                needs_attention=True,
            )
            .returning(inbound_messages.c.id)
        ).scalar_one()
    esc = the_escalation(routed)
    nurse = signed_in(web(routed), STAFF)
    page = html(nurse.get("/staff/inbox"))
    order = [int(i) for i in re.findall(r'<article class="card inbox-item[^"]*" id="item-(\d+)"', page)]
    assert order == [urgent, during, plain]
    assert f'<article class="card inbox-item pinned" id="item-{urgent}"' in page
    assert f'<article class="card inbox-item pinned" id="item-{during}"' in page
    assert f'<article class="card inbox-item" id="item-{plain}"' in page
    item = page[page.index(f'id="item-{urgent}"') : page.index(f'id="item-{during}"')]
    assert f"Escalation {esc['code']}</a>:" in item and '<strong class="error">open</strong>' in item
    assert "on-call clinician paged" in item and f'href="/staff/escalations/{esc["id"]}"' in item
    assert '<span class="badge danger">during a safety check-in</span>' in page
    today = html(nurse.get("/staff/today"))
    assert f'id="flagged-{during}"' in today and "during a safety check-in" in today
    assert f'id="flagged-{urgent}"' not in today  # its escalation card already shows the words


def test_today_and_the_inbox_refresh_themselves_and_say_when_they_were_updated(routed):
    nurse = signed_in(web(routed), STAFF)
    for path in ("/staff/today", "/staff/inbox"):
        page = html(nurse.get(path))
        assert '<script src="/static/refresh.js" defer></script>' in page
        assert (
            f'Updated <time datetime="2027-03-02T15:00:00+00:00">10:00 AM EST</time> · <a href="{path}">Refresh</a>'
            in page
        )
    assert "refresh.js" not in html(nurse.get("/staff/patients"))
    with nurse.get("/static/refresh.js") as script:
        assert script.status_code == 200 and b"window.location.reload()" in script.data
