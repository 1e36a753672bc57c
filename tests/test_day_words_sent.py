"""Words follow the send time: every shipped message, planned (quiet hours and all) for sessions at
any hour in several zones and on the days the clocks change, names the session's day as the
calendar says when it is actually sent; `interlude check` refuses a template that does not.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.checks import check_day_words
from service.config import MODALITIES
from service.domain.day_words import claims, relation
from service.domain.planner import PatientFacts, SessionFacts, plan_session
from service.domain.quiet_hours import Window
from service.schedules import load_schedules
from service.services.content.preview import preview
from service.services.validation import DEFAULT_DURATION
from service.template_context import message_context
from service.templates import MessageTemplates
from tests.helpers import ROOT, book, enrol, make_config, sandbox
from tests.test_anchors import run_until

ZONES = ("America/New_York", "America/Los_Angeles", "America/Chicago", "Europe/Madrid")
# The days the clocks change in 2027 (United States, then European Union), and the days after.
CLOCK_DAYS = (date(2027, 3, 14), date(2027, 3, 15), date(2027, 11, 7), date(2027, 11, 8))
CLOCK_DAYS += (date(2027, 3, 28), date(2027, 3, 29), date(2027, 10, 31), date(2027, 11, 1))
NOW = datetime(2027, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    config = make_config(f"sqlite:///{tmp_path_factory.mktemp('db')}/x.db", schedules=ROOT / "schedules")
    templates = MessageTemplates(config.messages.dir, config.messages.default_language)
    return config, load_schedules(config.schedules.dir), templates


days = st.one_of(
    st.sampled_from(CLOCK_DAYS), st.dates(min_value=date(2027, 1, 1), max_value=date(2027, 12, 31))
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    day=days,
    hour=st.integers(min_value=5, max_value=23),
    minute=st.sampled_from([0, 15, 30, 45]),
    zone=st.sampled_from(ZONES),
    modality=st.sampled_from(MODALITIES),
    ahead=st.sampled_from([timedelta(days=20), timedelta(hours=15), timedelta(hours=3)]),
    lang=st.sampled_from(["en", "es"]),
)
def test_every_sent_message_names_the_session_day_as_the_calendar_does(
    shipped, day, hour, minute, zone, modality, ahead, lang
):
    config, schedules, templates = shipped
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(hour, minute), tzinfo=tz).astimezone(UTC)
    booked = start - ahead
    facts = SessionFacts(start, timedelta(minutes=DEFAULT_DURATION[modality]), modality, 1, booked)
    patient = PatientFacts(tz, frozenset({"sms", "email"}), frozenset({"depression"}), booked)
    clinic = config.clinic
    window = Window(clinic.quiet_hours_start, clinic.quiet_hours_end, clinic.safety_until)
    person = {"first_name": "Ana", "timezone": zone, "language": lang, "detailed_messages": False}
    session = {
        "start_at": start,
        "duration_minutes": DEFAULT_DURATION[modality],
        "modality": modality,
        "number": 1,
    }
    for pm in plan_session(schedules[config.schedules.default], facts, patient, window, booked):
        if pm.status != "pending" or not templates.has(pm.step.template, pm.channel, lang):
            continue
        days_apart = relation(start.astimezone(tz), pm.due_at.astimezone(tz))[1]
        context = message_context(
            config.clinic, ZoneInfo(config.clinic.timezone), person, session, lang, now=pm.due_at
        )
        out = templates.render(pm.step.template, pm.channel, lang, context)
        for text in (out.body, out.subject or "", out.html or ""):
            for word, claimed in claims(text, lang):
                assert claimed == days_apart, (pm.step.id, word, pm.due_at.astimezone(tz), text)


def test_the_check_flags_a_template_that_says_today_for_a_reminder_sent_the_evening_before(shipped):
    config, schedules, shipped_templates = shipped
    source = shipped_templates.source("prep_morning_of/en/sms.txt")
    hard_coded = source.replace("{{ session.day }}", "today")
    assert hard_coded != source
    templates = MessageTemplates(
        config.messages.dir, "en", overlays={"prep_morning_of/en/sms.txt": hard_coded}
    )
    problems = check_day_words(config, templates, schedules, NOW, only="prep_morning_of")
    assert problems, "a morning-of reminder moved to the evening before says 'today'"
    first = problems[0]
    assert first.file == "prep_morning_of/en/sms.txt" and first.key == "template"
    assert "'today'" in first.message and "the day before" in first.message
    assert "step 'prep_morning_of'" in first.message
    assert "schedule 'default'" in first.message and "template 'prep_morning_of'" in first.message
    assert any(z in first.message for z in ("America/New_York", "America/Los_Angeles", "Europe/Madrid"))


def test_the_check_flags_yesterday_in_spanish_on_a_check_in_sent_the_same_day(shipped):
    config, schedules, _ = shipped
    path = "checkin_same_day/es/subject.txt"
    templates = MessageTemplates(
        config.messages.dir, "en", overlays={path: "¿Cómo está tras la visita de ayer?"}
    )
    problems = check_day_words(config, templates, schedules, NOW, only="checkin_same_day")
    assert [p.file for p in problems] == [path]
    assert "'ayer'" in problems[0].message


def test_the_shipped_messages_pass_the_day_check(shipped):
    config, schedules, templates = shipped
    assert check_day_words(config, templates, schedules, NOW) == []


def test_a_course_sent_by_the_worker_names_the_day_as_it_is_sent(sqlite_services, clock):
    patient = enrol(sqlite_services)
    book(sqlite_services, patient["id"], "2027-03-05T14:00")
    run_until(sqlite_services, clock, clock.now + timedelta(days=5), step=timedelta(minutes=30))
    texts = [m["body"] for m in sandbox(sqlite_services) if m["channel"] == "sms"]
    assert any("see you today at 2:00 PM" in t for t in texts)
    assert any("after your visit yesterday" in t for t in texts)
    assert any("after your visit today" in t for t in texts)


@pytest.mark.parametrize("hour", [6, 7, 8, 17, 21, 23])
@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_preview_names_the_day_from_the_planned_send_time(sqlite_services, hour, lang):
    rows = preview(
        sqlite_services,
        modality="iv",
        start=f"2027-03-14T{hour:02d}:00",
        tz="America/New_York",
        language=lang,
        booked_at=datetime(2027, 3, 1, tzinfo=UTC),
    )
    # "Sun, Mar 14" / "domingo 14 de marzo": the session's short date opens the row's local time.
    session_day = {"en": "Sun, Mar 14", "es": "domingo 14 de marzo"}[lang]
    for row in rows:
        if row.status != "pending":
            continue
        said = claims(f"{row.subject or ''} {row.text}", lang)
        for word, claimed in said:
            if claimed == 0:
                assert row.local_time.startswith(session_day), (row.step, word, row.local_time)
            else:
                assert not row.local_time.startswith(session_day), (row.step, word, row.local_time)
