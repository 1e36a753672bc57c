"""Outbox origins: the key each writes (stored in every database, so never changed) and its priority."""

from __future__ import annotations

import pytest

from service.domain.origin import (
    Origin,
    fallback_key,
    origin_of_key,
    page_key,
    page_of,
    planner_key,
    priority,
    reminder_key,
    staff_reply_inbound,
    staff_reply_key,
)

KEYS = [
    (
        planner_key(
            session_id=12, patient_id=3, schedule="default", step_id="prep_ahead", channel="sms", occurrence=2
        ),
        "s12:prep_ahead:sms:2",
        Origin.PLANNER,
    ),
    (
        planner_key(
            session_id=None,
            patient_id=3,
            schedule="default",
            step_id="welcome",
            channel="email",
            occurrence=0,
        ),
        "p3:default:welcome:email",
        Origin.PLANNER,
    ),
    (reminder_key(41, "sms"), "c41:reminder:sms", Origin.REMINDER),
    (page_key(9, 1, 0, "email"), "e9:l1:0:email", Origin.ESCALATION),
    (staff_reply_key(77, 2), "staffreply:77:2", Origin.STAFF_REPLY),
    (fallback_key(501), "fallback:501", Origin.FALLBACK),
]


@pytest.mark.parametrize(("made", "expected", "origin"), KEYS, ids=[k[1] for k in KEYS])
def test_each_origin_keeps_its_key_format_and_the_key_names_it(made, expected, origin):
    assert made == expected
    assert origin_of_key(made) is origin


@pytest.mark.parametrize("key", ["edu:3", "load:admin:1", "test:5", "raw:1", "s", "", "e:l0", "sx1:a"])
def test_a_key_of_no_known_format_was_queued_by_hand(key):
    assert origin_of_key(key) is Origin.MANUAL


def test_a_page_key_names_its_escalation_and_level_and_other_keys_are_refused():
    assert page_of(page_key(9, 2, 1, "sms")) == (9, 2)
    with pytest.raises(ValueError):
        page_of("s9:l2:1:sms")


def test_a_staff_answer_key_names_its_inbox_message():
    assert staff_reply_inbound(staff_reply_key(77, 3)) == 77
    assert staff_reply_inbound("staffreply:x:1") is None
    assert staff_reply_inbound("fallback:77") is None


def test_pages_go_first_and_every_other_message_by_its_category():
    assert priority(Origin.ESCALATION, "admin") == 0
    assert [priority(Origin.PLANNER, c) for c in ("safety", "prep", "admin", "education")] == [0, 1, 2, 3]
    assert priority(Origin.REMINDER, "safety") == 0
    assert priority(Origin.STAFF_REPLY, "admin") == priority(Origin.FALLBACK, "admin") == 2
