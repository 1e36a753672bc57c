"""Late booking: when a fasting cut-off has already passed at the moment the preparation text is
sent, the text says so and asks the patient to call before setting off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from service.config import MODALITIES
from service.domain.fasting import fasting_passed
from service.domain.segments import segment_info, sms_budget
from service.services.validation import DEFAULT_DURATION
from service.template_context import message_context
from service.templates import MessageTemplates
from tests.helpers import ROOT, book, enrol, make_config, sandbox
from tests.test_anchors import run_until

START = datetime(2027, 3, 2, 19, 30, tzinfo=UTC)
SIX, TWO = timedelta(hours=6), timedelta(hours=2)


def test_a_cut_off_at_or_before_the_send_time_has_passed():
    assert fasting_passed(START, SIX, TWO, START - SIX).solids
    assert fasting_passed(START, SIX, TWO, START - SIX).any
    assert not fasting_passed(START, SIX, TWO, START - SIX).liquids
    assert fasting_passed(START, SIX, TWO, START - TWO).liquids


def test_nothing_has_passed_before_the_first_cut_off_or_without_a_send_time():
    assert not fasting_passed(START, SIX, TWO, START - SIX - timedelta(minutes=1)).any
    assert not fasting_passed(START, SIX, TWO, None).any


def _prep_texts(app, clock, language, booked_local_utc, start_local):
    patient = enrol(app, language=language)
    clock.set(booked_local_utc)
    book(app, patient["id"], start_local)
    run_until(app, clock, clock.now + timedelta(hours=20), step=timedelta(minutes=10))
    return [m["body"] for m in sandbox(app) if m["channel"] == "sms"]


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "If you have eaten or drunk since then"), ("es", "si ha comido o bebido desde entonces")],
)
def test_a_same_day_booking_at_4_50_pm_after_the_food_cut_off_is_told_to_call_if_they_ate(
    sqlite_services, clock, language, words
):
    # 16:50 in New York; the 19:30 session's food cut-off (6 hours before, 13:30) has passed.
    texts = _prep_texts(
        sqlite_services, clock, language, datetime(2027, 3, 2, 21, 50, tzinfo=UTC), "2027-03-02T19:30"
    )
    assert any(words in t for t in texts), texts


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "If you have eaten or drunk since then"), ("es", "si ha comido o bebido desde entonces")],
)
def test_a_booking_made_in_good_time_is_not_told_the_cut_off_passed(sqlite_services, clock, language, words):
    texts = _prep_texts(
        sqlite_services, clock, language, datetime(2027, 3, 1, 15, 0, tzinfo=UTC), "2027-03-02T14:00"
    )
    assert texts
    assert not any(words in t for t in texts), texts


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("zone", ["America/New_York", "America/Los_Angeles", "Europe/Madrid"])
@pytest.mark.parametrize("modality", MODALITIES)
@pytest.mark.parametrize("hour", [9, 14, 19, 21])
def test_the_morning_of_text_that_says_the_cut_off_passed_keeps_within_the_sms_budget(
    language, zone, modality, hour
):
    config = make_config("sqlite://")
    templates = MessageTemplates(ROOT / "messages")
    clinic_tz = ZoneInfo(config.clinic.timezone)
    # Sessions in clinic hours, local to the patient (cut-offs then fall on the session's day).
    start = datetime(2027, 3, 2, hour, 30, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    session = {
        "start_at": start,
        "duration_minutes": DEFAULT_DURATION[modality],
        "modality": modality,
        "number": 1,
    }
    for detailed in (False, True):
        patient = {
            "first_name": "Alex",
            "timezone": zone,
            "language": language,
            "detailed_messages": detailed,
        }
        context = message_context(
            config.clinic, clinic_tz, patient, session, language, now=start - timedelta(minutes=1)
        )
        assert context["session"]["fasting"]["passed"]
        text = templates.render("prep_morning_of", "sms", language, context, detailed=detailed).body
        assert segment_info(text).segments <= sms_budget(language, "prep"), text
