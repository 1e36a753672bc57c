"""One confirmation for sessions booked together: the carrier's context names the group
(`{"group": [session ids in start order]}`), and the dispatcher renders it with the sessions of
the group that are still booked and the patient's own, read when it is sent. The SMS names the
next one and how many more; the email lists them all. Through the real dispatch path and the
sandbox transports, on SQLite and PostgreSQL.

The tests set the carrier's context themselves, after any cancel, as the planner wrote it before
the cancel: what is checked here is the rendering at send time, not the planner's grouping."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from service.db.tables import delivery_attempts, outbox, sandbox_messages
from service.services import sessions
from service.services.content import edits as content
from service.services.errors import InvalidInput
from service.services.outbox.dispatch import Dispatcher
from tests.helpers import book, enrol

# Mondays and Thursdays at 10:00 in New York for 4 weeks; booked on Tuesday 2027-03-02 (T0).
STARTS = [
    "2027-03-08T10:00",
    "2027-03-11T10:00",
    "2027-03-15T10:00",
    "2027-03-18T10:00",
    "2027-03-22T10:00",
    "2027-03-25T10:00",
    "2027-03-29T10:00",
    "2027-04-01T10:00",
]
EN_DATES = [
    "Monday, March 8 at 10:00 AM",
    "Thursday, March 11 at 10:00 AM",
    "Monday, March 15 at 10:00 AM",
    "Thursday, March 18 at 10:00 AM",
    "Monday, March 22 at 10:00 AM",
    "Thursday, March 25 at 10:00 AM",
    "Monday, March 29 at 10:00 AM",
    "Thursday, April 1 at 10:00 AM",
]
ES_DATES = [
    "lunes 8 de marzo a las 10:00 a. m.",
    "jueves 11 de marzo a las 10:00 a. m.",
    "lunes 15 de marzo a las 10:00 a. m.",
    "jueves 18 de marzo a las 10:00 a. m.",
    "lunes 22 de marzo a las 10:00 a. m.",
    "jueves 25 de marzo a las 10:00 a. m.",
    "lunes 29 de marzo a las 10:00 a. m.",
    "jueves 1 de abril a las 10:00 a. m.",
]


def book_course(app: Any, language: str = "en", **patient: Any) -> tuple[int, list[int]]:
    """A patient and 8 intranasal sessions booked one after another; the first session's
    confirmation carries the group."""
    p = enrol(app, language=language, **patient)
    ids = [book(app, p["id"], start, modality="intranasal")["id"] for start in STARTS]
    carry(app, ids[0], ids)
    return p["id"], ids


def carry(app: Any, carrier: int, group: list[int]) -> None:
    """The context of the carrier's confirmation (SMS and email) names `group`."""
    with app.engine.begin() as conn:
        conn.execute(
            update(outbox)
            .where(outbox.c.template == "booking_confirmation", outbox.c.session_id == carrier)
            .values(context={"group": group})
        )


def dispatch_later(app: Any, clock: Any) -> None:
    """Send what is due a quarter of an hour after the bookings (a confirmation waits a few
    minutes for the next booking of a group)."""
    clock.advance(timedelta(minutes=15))
    Dispatcher(app).run_once()


def test_sms_names_the_next_and_how_many_more_and_the_email_lists_them_all(services, clock):
    _, ids = book_course(services)
    dispatch_later(services, clock)
    sent = sent_confirmations_of(services, ids[0])
    sms = sent["sms"]["body"]
    assert f"booked for {EN_DATES[0]}, and 7 more" in sms
    assert "Reply STOP" in sms and "(202)" in sms  # the route back to the clinic stays
    email = sent["email"]["body"]
    assert "Your 8 appointments" in email
    assert all(date in email for date in EN_DATES)
    assert [line.startswith("- ") for line in email.splitlines()].count(True) == 8
    assert sent["email"]["subject"].startswith("Your 8 appointments, from Mon, Mar 8 at 10:00 AM")


def test_a_cancelled_session_and_another_patients_session_are_not_listed(services, clock):
    other, _ = book_course(services, external_ref="other", phone="+12025550177", email="o@example.org")
    stranger = book(services, other, "2027-04-05T10:00", modality="intranasal")["id"]
    _, ids = book_course(services)
    sessions.cancel_session(services, ids[2], {"reason": "patient cancelled"}, "test")
    carry(services, ids[0], [*ids, stranger])
    dispatch_later(services, clock)
    sent = sent_confirmations_of(services, ids[0])
    assert f"{EN_DATES[0]}, and 6 more" in sent["sms"]["body"]
    email = sent["email"]["body"]
    assert "Your 7 appointments" in email
    assert EN_DATES[2] not in email
    assert "April 5" not in email
    assert all(date in email for i, date in enumerate(EN_DATES) if i != 2)


def test_with_only_its_own_session_left_it_reads_as_one_confirmation(services, clock):
    _, ids = book_course(services)
    for session_id in ids[1:]:
        sessions.cancel_session(services, session_id, {"reason": "patient cancelled"}, "test")
    carry(services, ids[0], ids)
    dispatch_later(services, clock)
    sent = sent_confirmations_of(services, ids[0])
    assert "more" not in sent["sms"]["body"]
    assert f"your appointment is booked for {EN_DATES[0]}. Please arrive by 9:45 AM." in sent["sms"]["body"]
    assert sent["email"]["subject"] == "Your appointment on Mon, Mar 8 at 10:00 AM"


def test_spanish(services, clock):
    _, ids = book_course(services, language="es")
    dispatch_later(services, clock)
    sent = sent_confirmations_of(services, ids[0])
    sms = sent["sms"]["body"]
    assert f"{ES_DATES[0]} (llegue a las 9:45 a. m.) y tiene 7 citas más." in sms
    assert "Responda STOP" in sms
    email = sent["email"]["body"]
    assert "Sus 8 citas" in email
    assert all(date in email for date in ES_DATES)


def test_spanish_one_more_is_singular(services, clock):
    _, ids = book_course(services, language="es")
    for session_id in ids[2:]:
        sessions.cancel_session(services, session_id, {"reason": "patient cancelled"}, "test")
    carry(services, ids[0], ids)
    dispatch_later(services, clock)
    sms = sent_confirmations_of(services, ids[0])["sms"]["body"]
    assert "y tiene 1 cita más." in sms


def sent_confirmations_of(app: Any, session_id: int) -> dict[str, dict[str, Any]]:
    """The confirmations of `session_id` only (cancelling sends a notice of its own)."""
    query = (
        select(sandbox_messages.c.channel, sandbox_messages.c.subject, sandbox_messages.c.body)
        .join(delivery_attempts, delivery_attempts.c.id == sandbox_messages.c.attempt_id)
        .join(outbox, outbox.c.id == delivery_attempts.c.outbox_id)
        .where(outbox.c.template == "booking_confirmation", outbox.c.session_id == session_id)
    )
    with app.engine.connect() as conn:
        found = {r["channel"]: dict(r) for r in conn.execute(query).mappings()}
    assert sorted(found) == ["email", "sms"], found
    return found


def test_check_renders_the_grouped_confirmation_and_catches_its_length(services):
    """`interlude check` (and so a staff edit) renders the grouped variant with a course's worth of
    sessions: a grouped SMS over the segment budget is refused even when the single one fits."""
    grouped_too_long = (
        "{% if more|default(0) %}{{ clinic.sms_name }}: "
        + "{% for s in sessions %}{{ s.when }}, {% endfor %}"
        + "Questions: {{ clinic.phone }}.{% else %}{{ clinic.sms_name }}: booked for {{ session.when }}"
        + "{{ session.zone }}. Questions: {{ clinic.phone }}. Reply STOP to opt out.{% endif %}"
    )
    path = "booking_confirmation/en/sms.txt"
    with pytest.raises(InvalidInput) as refused:
        content.save_template(services, path, grouped_too_long, "test", "list every date")
    assert "SMS segments" in str(refused.value.errors)
    shipped = content.preview_template(services, path, content.get_template(services, path)["text"])
    assert shipped["problems"] == []


def test_the_staff_preview_shows_the_grouped_confirmation_too(services):
    path = "booking_confirmation/en/sms.txt"
    shown = content.preview_template(services, path, content.get_template(services, path)["text"])
    assert "and 11 more after it" in shown["grouped"]["text"]
    assert "more" not in shown["sms"]["text"]
    assert shown["grouped"]["segments"] <= 2
    unrelated = "prep_ahead/en/sms.txt"
    assert (
        content.preview_template(services, unrelated, content.get_template(services, unrelated)["text"])[
            "grouped"
        ]
        is None
    )


def test_the_template_page_shows_both(admin_client):
    page = admin_client.get("/staff/templates/booking_confirmation/es/sms.txt").get_data(as_text=True)
    assert 'id="preview-grouped"' in page and "y tiene 11 citas más" in page
