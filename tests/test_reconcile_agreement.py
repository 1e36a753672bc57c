"""The staff preview of a reschedule and the reschedule itself say the same thing, message by
message: they reconcile with one rule (domain.reconcile). SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from service.services import sessions
from service.services.content import edits as content
from service.services.outbox.dispatch import Dispatcher
from service.services.outbox.enqueue import enqueue, fallback
from service.services.views import patient_pages
from tests.helpers import book, by_step, enrol, rows

# What the reschedule counts for each action the preview shows.
COUNTED_AS = {
    "moves": "moved",
    "unchanged": "unchanged",
    "already-sent": "unchanged",
    "new": "created",
    "skipped": "skipped",
    "cancelled": "cancelled",
}


def sent_education(services, clock):
    """A first session on Friday; on Wednesday 12:05 its education text has gone."""
    p = enrol(services, preferred_channel="both")  # education by text too
    s = book(services, p["id"], "2027-03-05T09:00")
    clock.set(datetime(2027, 3, 3, 17, 5, tzinfo=UTC))
    Dispatcher(services).run_once()
    assert {r["status"] for r in rows(services, step_id="edu_general_pre1")} == {"sent"}
    return s


def test_a_sent_message_the_new_date_would_skip_is_already_sent_in_the_preview_and_the_reschedule(
    services, clock
):
    s = sent_education(services, clock)
    move = {"start": "2027-03-04T14:00"}  # tomorrow: the education text would now be too late
    preview = patient_pages.preview_reschedule(services, s["id"], move)
    shown = {(c.step, c.channel): c.action for c in preview["changes"]}
    assert shown[("edu_general_pre1", "sms")] == "already-sent"
    before = by_step(services, s["id"])[("edu_general_pre1", "sms")]

    done = sessions.reschedule_session(services, s["id"], move, "staff")

    assert by_step(services, s["id"])[("edu_general_pre1", "sms")] == before  # never sent again
    assert done["messages"]["unchanged"] >= 1


def test_the_preview_counts_what_the_reschedule_then_does(services, clock):
    s = sent_education(services, clock)
    for start in ("2027-03-04T14:00", "2027-03-19T14:00"):
        preview = patient_pages.preview_reschedule(services, s["id"], {"start": start})
        expected = Counter(COUNTED_AS[c.action] for c in preview["changes"])
        done = sessions.reschedule_session(services, s["id"], {"start": start}, "staff")["messages"]
        assert {k: v for k, v in done.items() if v} == dict(expected), start


def test_a_fallback_by_the_other_channel_is_not_shown_as_cancelled(services, clock):
    content.save_step(services, "default", "prep_morning_of", {"channels": ["sms"]}, "a")
    p = enrol(services)
    s = book(services, p["id"], "2027-03-12T09:00")
    [morning] = rows(services, session_id=s["id"], step_id="prep_morning_of")
    with services.engine.begin() as conn:
        enqueue(conn, fallback(morning, "email", clock()))
    preview = patient_pages.preview_reschedule(services, s["id"], {"start": "2027-03-19T14:00"})
    assert ("prep_morning_of", "email") not in {(c.step, c.channel) for c in preview["changes"]}
    sessions.reschedule_session(services, s["id"], {"start": "2027-03-19T14:00"}, "staff")
    [kept] = rows(services, session_id=s["id"], step_id="prep_morning_of", channel="email")
    assert (kept["origin"], kept["status"]) == ("fallback", "pending")
