"""Preparation content: what the shipped texts tell a patient before and on the day of a session.

- Intranasal esketamine: the evening-before and morning-of texts say to plan at least 2 hours with
  us and not to drive until the next day after a restful sleep (label and REMS, SOURCES.md).
- Day-of basics: usual medicines with a sip of water, a high blood pressure on arrival can move
  the session, call if unwell or possibly pregnant: fully in the preparation emails, and the
  medicines line in the evening-before text every patient gets.
- Changing an appointment: booking and preparation texts say to call, and never tell a patient
  to text CANCEL (carriers treat it as an opt-out from every text).
- The visit-day education comes before session 1 or right after it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from service.config import MODALITIES
from service.domain.planner import PatientFacts, SessionFacts, plan_session
from service.domain.quiet_hours import Window
from service.domain.segments import segment_info, sms_budget
from service.schedules import load_schedules
from service.services.validation import DEFAULT_DURATION
from service.template_context import message_context
from service.templates import MessageTemplates
from tests.helpers import ROOT, make_config

LANGUAGES = ("en", "es")
ZONES = ("America/New_York", "America/Los_Angeles")
# A Saturday afternoon (the Spanish weekday with an accent) and a Wednesday morning.
STARTS = ((2027, 3, 13, 14, 30), (2027, 3, 10, 9, 0))
# When each preparation text goes, before the session's start: as planned, and a late booking
# whose fasting cut-offs have already passed.
SENT_BEFORE = {
    "prep_ahead": (timedelta(days=3), None),
    "prep_evening_before": (timedelta(hours=20), timedelta(minutes=5), None),
    "prep_morning_of": (timedelta(hours=3), timedelta(minutes=5), None),
}

STAY = {"en": "Plan to stay at least 2 hours", "es": "lanee quedarse al menos 2 horas"}
NO_DRIVING = {
    "en": "no driving until the next day after a restful sleep",
    "es": "no maneje hasta la mañana siguiente, tras dormir bien",
}
SIP = {"en": "with a sip of water", "es": "con un sorbo de agua"}
BLOOD_PRESSURE = {"en": ("blood pressure", "another day"), "es": ("presión arterial", "otro día")}
UNWELL = {"en": ("unwell", "pregnant"), "es": ("se siente mal", "embarazada")}
CHANGE = {"en": "To change your appointment", "es": "cambiar su cita"}
# The carriers' opt-out keyword, as a word (not "cancelled" or "cancelada").
CANCEL = re.compile(r"\b(cancel|cancelar)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def shipped() -> tuple[Any, MessageTemplates]:
    return make_config("sqlite://"), MessageTemplates(ROOT / "messages")


def _context(config, lang: str, zone: str, modality: str, start: datetime, now: datetime | None):
    session = {
        "start_at": start,
        "duration_minutes": DEFAULT_DURATION[modality],
        "modality": modality,
        "number": 1,
    }
    patient = {"first_name": "Alex", "timezone": zone, "language": lang, "detailed_messages": False}
    return message_context(config.clinic, ZoneInfo(config.clinic.timezone), patient, session, lang, now=now)


def _renders(shipped, name: str, part: str, lang: str, modalities=MODALITIES):
    """(modality, text) for every sample session, zone and send time of a template; `part` is
    "sms", "email" (subject and plain-text body) or "html"."""
    config, templates = shipped
    for modality in modalities:
        for zone in ZONES:
            for parts in STARTS:
                start = datetime(*parts, tzinfo=ZoneInfo(zone)).astimezone(UTC)
                for before in SENT_BEFORE.get(name, (None,)):
                    now = start - before if before is not None else None
                    context = _context(config, lang, zone, modality, start, now)
                    rendered = templates.render(name, "sms" if part == "sms" else "email", lang, context)
                    if part == "sms":
                        yield modality, rendered.body
                    elif part == "email":
                        yield modality, f"{rendered.subject}\n{rendered.body}"
                    else:
                        assert rendered.html is not None
                        yield modality, rendered.html


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", ["prep_evening_before", "prep_morning_of"])
def test_intranasal_texts_say_two_hours_with_us_and_no_driving_until_the_next_day(shipped, name, lang):
    texts = list(_renders(shipped, name, "sms", lang, modalities=("intranasal",)))
    assert texts
    for _, text in texts:
        assert STAY[lang] in text, text
        assert NO_DRIVING[lang] in text, text
        assert segment_info(text).segments <= sms_budget(lang, "prep"), text


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", ["prep_evening_before", "prep_morning_of"])
def test_the_two_hour_stay_is_only_told_for_intranasal_sessions(shipped, name, lang):
    others = [m for m in MODALITIES if m != "intranasal"]
    for modality, text in _renders(shipped, name, "sms", lang, modalities=others):
        assert STAY[lang] not in text, (modality, text)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_patient_is_texted_to_take_usual_medicines_with_a_sip_of_water(shipped, lang):
    for modality, text in _renders(shipped, "prep_evening_before", "sms", lang):
        assert SIP[lang] in text, (modality, text)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("part", ["email", "html"])
@pytest.mark.parametrize("name", ["prep_ahead", "prep_evening_before", "prep_morning_of"])
def test_preparation_emails_carry_the_day_of_basics(shipped, name, part, lang):
    for modality, text in _renders(shipped, name, part, lang):
        assert SIP[lang] in text, (modality, text)
        assert all(words in text for words in BLOOD_PRESSURE[lang]), (modality, text)
        assert all(words in text for words in UNWELL[lang]), (modality, text)
        assert CHANGE[lang] in text, (modality, text)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", ["prep_ahead", "prep_evening_before", "prep_morning_of"])
def test_every_list_item_of_a_plain_text_email_starts_its_own_line(shipped, name, lang):
    for modality, text in _renders(shipped, name, "email", lang):
        assert not re.search(r"[.:;]- ", text), (modality, text)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("part", ["email", "html"])
@pytest.mark.parametrize("name", ["prep_evening_before", "prep_morning_of"])
def test_intranasal_preparation_emails_say_two_hours_with_us(shipped, name, part, lang):
    stay = {"en": "at least 2 hours", "es": "al menos 2 horas"}[lang]
    for _, text in _renders(shipped, name, part, lang, modalities=("intranasal",)):
        assert stay in text, text


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(
    "name",
    ["booking_confirmation", "session_rescheduled", "prep_ahead", "prep_evening_before", "prep_morning_of"],
)
def test_no_booking_or_reminder_text_tells_a_patient_to_send_cancel(shipped, name, lang):
    for part in ("sms", "email", "html"):
        for modality, text in _renders(shipped, name, part, lang):
            if part == "sms":
                # Carriers match the keyword in any case: a text never says it at all.
                assert not CANCEL.search(text), (modality, text)
            else:
                assert not re.search(r"\b(CANCEL|CANCELAR)\b", text), (modality, text)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_moved_appointment_says_how_to_change_it(shipped, lang):
    for part in ("sms", "email", "html"):
        for modality, text in _renders(shipped, "session_rescheduled", part, lang):
            assert re.search(CHANGE[lang], text, re.IGNORECASE), (modality, part, text)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", ["prep_ahead", "prep_evening_before"])
def test_the_reminder_texts_say_whom_to_call_to_change_the_appointment(shipped, name, lang):
    texts = list(_renders(shipped, name, "sms", lang))
    assert texts
    for modality, text in texts:
        assert re.search(CHANGE[lang], text, re.IGNORECASE), (modality, text)
        assert "(202) 555-0100" in text and not CANCEL.search(text), (modality, text)


@pytest.mark.parametrize("name", ["prep_ahead", "prep_evening_before"])
def test_english_reminder_texts_say_a_high_blood_pressure_can_postpone_the_session(shipped, name):
    """Spanish says it in the emails only: "presión" is not GSM-7, and a UCS-2 text would lose
    half its room."""
    for modality, text in _renders(shipped, name, "sms", "en"):
        assert "blood pressure is high on arrival" in text and "another day" in text, (modality, text)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_booking_confirmation_text_says_how_to_change_the_appointment(shipped, lang):
    for modality, text in _renders(shipped, "booking_confirmation", "sms", lang):
        assert CHANGE[lang] in text, (modality, text)


def test_the_default_intranasal_visit_covers_the_two_hours_of_monitoring():
    # Monitored for at least 2 hours after the dose (label and REMS), plus check-in and dosing.
    assert DEFAULT_DURATION["intranasal"] > 120
    # Every default is a whole visit with time to recover, not the dose alone.
    assert all(minutes >= 90 for minutes in DEFAULT_DURATION.values())


@pytest.mark.parametrize("modality", MODALITIES)
def test_visit_day_education_comes_before_session_1_or_the_day_after(modality):
    config = make_config("sqlite://", schedules=ROOT / "schedules")
    schedule = load_schedules(config.schedules.dir)[config.schedules.default]
    tz = ZoneInfo(config.clinic.timezone)
    start = datetime(2027, 4, 15, 9, 30, tzinfo=tz).astimezone(UTC)
    booked = start - timedelta(days=20)
    duration = timedelta(minutes=DEFAULT_DURATION[modality])
    facts = SessionFacts(start, duration, modality, 1, booked)
    patient = PatientFacts(tz, frozenset({"sms", "email"}), frozenset({"anxiety"}), booked)
    window = Window(config.clinic.quiet_hours_start, config.clinic.quiet_hours_end)
    due = {
        p.step.id: p.due_at
        for p in plan_session(schedule, facts, patient, window, booked)
        if p.channel == "sms"
    }
    # What to expect, why fast and why no driving, and feeling nervous: before the first visit.
    for step in ("edu_general_pre1", "edu_general_4", "edu_anxiety_1"):
        assert due[step] < start, step
    # What is normal and when to call: the day after the first visit, before the second snippet.
    end = start + duration
    assert end < due["edu_general_2"] <= end + timedelta(days=1, hours=12)
    assert due["edu_general_2"] < due["edu_general_1"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_morning_of_text_says_whom_to_call_to_change_the_appointment(shipped, lang):
    """When no fasting cut-off has passed, the morning-of text names the phone for a change (and
    for feeling unwell); after a cut-off it names it for having eaten since."""
    words = {"en": "need to change? Call", "es": "necesita cambiar su cita, llame"}
    passed = {
        "en": "If you have eaten or drunk since then, call",
        "es": "si ha comido o bebido desde entonces",
    }
    texts = list(_renders(shipped, "prep_morning_of", "sms", lang))
    assert any(words[lang] in text for _, text in texts) and any(passed[lang] in t for _, t in texts)
    for modality, text in texts:
        assert words[lang] in text or passed[lang] in text, (modality, text)
        assert "(202) 555-0100" in text, (modality, text)


def test_the_spanish_opt_in_text_is_written_out_in_full_with_every_required_line(shipped):
    """No "Frec.", "msj" or "Tel." abbreviations; still the carriers' lines (HELP, STOP, rates)
    and the emergency and crisis lines."""
    for modality, text in _renders(shipped, "enrolment_opt_in", "sms", "es"):
        assert not re.search(r"\b(Frec|msj|Tel)\b", text), (modality, text)
        for needed in ("HELP", "STOP", "tarifas de mensajes y datos", "911", "988", "(202) 555-0100"):
            assert needed in text, (needed, text)
        assert segment_info(text).encoding == "GSM-7", text


@pytest.mark.parametrize(
    ("indication", "measure"), [("depression", "phq9"), ("anxiety", "gad7"), ("ptsd", "pcl5")]
)
def test_each_indication_s_questionnaire_goes_at_the_baseline_mid_induction_end_and_in_maintenance(
    indication, measure
):
    """Before session 1 and 4, after session 6, and before every session from the 7th; never
    before session 2, 3 or 5, and never another indication's questionnaire."""
    config = make_config("sqlite://", schedules=ROOT / "schedules")
    schedule = load_schedules(config.schedules.dir)[config.schedules.default]
    tz = ZoneInfo(config.clinic.timezone)
    window = Window(config.clinic.quiet_hours_start, config.clinic.quiet_hours_end)
    sent = {}
    for number in range(1, 10):
        start = datetime(2027, 4, 1, 9, 30, tzinfo=tz).astimezone(UTC) + timedelta(days=7 * number)
        booked = start - timedelta(days=20)
        facts = SessionFacts(start, timedelta(minutes=120), "iv", number, booked)
        patient = PatientFacts(tz, frozenset({"sms", "email"}), frozenset({indication}), booked)
        plan = plan_session(schedule, facts, patient, window, booked)
        sent[number] = {p.step.measure for p in plan if p.step.measure and p.channel == "sms"}
    assert {n for n, found in sent.items() if found} == {1, 4, 6, 7, 8, 9}
    assert all(found == {measure} for found in sent.values() if found)
