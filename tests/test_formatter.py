"""Times and dates as patients read them: the 12-hour clock in English and US Spanish, the Spanish
article before a time, full dates, the zone named once, and the checks that hold templates to it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from service.checks import PENINSULAR_WORDS, check_times, check_us_spanish
from service.db.tables import delivery_attempts, sandbox_messages
from service.services.content.preview import preview
from service.services.outbox.dispatch import Dispatcher
from service.template_context import Formatter, message_context
from service.templates import MessageTemplates
from tests.helpers import ROOT, book, enrol, make_config, rows

NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
DAY = date(2027, 5, 4)  # a Tuesday; "mar." would be martes or marzo

EN_HOURS = ["12", *(str(h) for h in range(1, 12)), "12", *(str(h) for h in range(1, 12))]


def _at(hour: int, minute: int = 0, tz: ZoneInfo = NEW_YORK) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=tz)


@pytest.mark.parametrize("hour", range(24))
def test_every_hour_on_the_12_hour_clock_in_both_languages(hour):
    en = Formatter(NEW_YORK, "en", NEW_YORK).time(_at(hour))
    es = Formatter(NEW_YORK, "es", NEW_YORK).time(_at(hour, 30))
    half = "AM" if hour < 12 else "PM"
    assert en == f"{EN_HOURS[hour]}:00 {half}"
    assert es == f"{EN_HOURS[hour]}:30 {'a. m.' if hour < 12 else 'p. m.'}"
    # Plain spaces only: CLDR's no-break spaces would make every SMS UCS-2.
    assert "\u00a0" not in en + es and "\u202f" not in en + es
    assert en.las == en  # English has no article before a time


@pytest.mark.parametrize("hour", range(24))
def test_the_spanish_article_is_la_for_one_oclock_and_las_for_every_other_hour(hour):
    fmt = Formatter(NEW_YORK, "es", NEW_YORK)
    time = fmt.time(_at(hour))
    article = "la" if hour in (1, 13) else "las"
    assert time.las == f"{article} {time}"
    assert fmt.when(_at(hour)) == f"martes 4 de mayo a {article} {time}"
    # A cut-off the day before keeps the article of its hour.
    cutoff = fmt.cutoff(_at(hour), _at(hour) + timedelta(days=1))
    assert cutoff.las == f"{article} {time} del día anterior"


def test_one_oclock_reads_a_la_una_in_the_afternoon_and_at_night():
    fmt = Formatter(NEW_YORK, "es", NEW_YORK)
    assert f"a {fmt.time(_at(13)).las}" == "a la 1:00 p. m."
    assert f"desde {fmt.time(_at(1)).las}" == "desde la 1:00 a. m."
    assert f"hasta {fmt.time(_at(16)).las}" == "hasta las 4:00 p. m."
    assert f"desde {fmt.time(_at(14)).las}" == "desde las 2:00 p. m."
    assert fmt.time(_at(12)) == "12:00 p. m." and fmt.time(_at(0)) == "12:00 a. m."


def test_dates_name_the_weekday_and_month_in_full_in_spanish():
    es = Formatter(NEW_YORK, "es", NEW_YORK)
    en = Formatter(NEW_YORK, "en", NEW_YORK)
    assert es.date(_at(9)) == es.date(_at(9), short=True) == "martes 4 de mayo"
    assert en.date(_at(9)) == "Tuesday, May 4"
    assert en.date(_at(9), short=True) == "Tue, May 4"
    # Every day of a year in Spanish: no abbreviation ("mar.", "sept.") anywhere.
    for n in range(366):
        instant = _at(9) + timedelta(days=n)
        text = es.date(instant, short=True)
        assert "." not in text and re.fullmatch(r"[a-záéíóú]+ \d{1,2} de [a-z]+", text), text


def test_times_carry_no_zone_and_the_session_names_it_once():
    clinic = make_config("sqlite://").clinic
    patient = {"first_name": "Ana", "timezone": "America/Los_Angeles", "detailed_messages": False}
    session = {"start_at": _at(13, tz=LOS_ANGELES), "duration_minutes": 120, "modality": "iv", "number": 1}
    away = message_context(clinic, NEW_YORK, patient, session, "es")["session"]
    assert away["zone"] == " PDT"
    assert away["time"] == "1:00 p. m." and away["when"] == "martes 4 de mayo a la 1:00 p. m."
    home = message_context(clinic, LOS_ANGELES, patient, session, "en")["session"]
    assert home["zone"] == "" and home["time"] == "1:00 PM"


def _templates(tmp_path: Path, files: dict[str, str]) -> MessageTemplates:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return MessageTemplates(tmp_path)


def test_a_peninsular_word_fails_the_check_with_its_file_and_line(tmp_path):
    templates = _templates(
        tmp_path,
        {
            "note/es/sms.txt": "{{ clinic.sms_name }}: hola.\nUn adulto debe llevarle en coche.\n",
            "note/en/sms.txt": "{{ clinic.sms_name }}: a coche is not English, and not checked.\n",
        },
    )
    problems = check_us_spanish(templates, ["note"])
    assert [(p.file, p.line) for p in problems] == [("note/es/sms.txt", 2)]
    assert str(problems[0]).startswith(f"{tmp_path / 'note/es/sms.txt'}:2: ")
    assert "'coche'" in problems[0].message and "carro" in problems[0].message


def test_us_spanish_passes_and_vale_la_pena_is_not_vale(tmp_path):
    templates = _templates(
        tmp_path,
        {"note/es/sms.txt": "{{ clinic.sms_name }}: vale la pena; maneje su carro con el celular apagado.\n"},
    )
    assert check_us_spanish(templates, ["note"]) == []


def test_an_article_written_before_a_time_fails_the_check(tmp_path):
    templates = _templates(
        tmp_path,
        {"note/es/sms.txt": "{{ clinic.sms_name }}:\nllegue a las {{ session.arrive_time }}\n"},
    )
    problems = check_us_spanish(templates, ["note"])
    assert [(p.file, p.line) for p in problems] == [("note/es/sms.txt", 2)]


def test_every_peninsular_word_is_in_the_style_guide():
    style = (ROOT / "messages" / "STYLE.md").read_text(encoding="utf-8")
    for _, avoid, use in PENINSULAR_WORDS:
        assert re.search(rf"\| {re.escape(avoid)}[ ,]", style), avoid
        assert use.split(" ")[0] in style, use


def test_the_check_wants_the_zone_once_and_one_period(tmp_path):
    config = make_config("sqlite://")
    twice = "{{ clinic.sms_name }}: a {{ session.time.las }}{{ session.zone }}, llegue a {{ session.arrive_time.las }}{{ session.zone }}, gracias"
    templates = _templates(
        tmp_path,
        {
            "twice/es/sms.txt": twice,
            "never/en/sms.txt": "{{ clinic.sms_name }}: see you at {{ session.time }}, thanks",
            "period/es/sms.txt": "{{ clinic.sms_name }}: llegue a {{ session.arrive_time.las }}. Gracias",
            "good/es/sms.txt": "{{ clinic.sms_name }}: a {{ session.time.las }}{{ session.zone }} (llegue a {{ session.arrive_time.las }}). Gracias",
        },
    )
    now = datetime(2027, 3, 1, tzinfo=UTC)
    assert "2 times" in check_times(config, templates, "twice", now)[0].message
    assert "not the patient's zone" in check_times(config, templates, "never", now)[0].message
    assert "doubles it" in check_times(config, templates, "period", now)[0].message
    assert check_times(config, templates, "good", now) == []


def _dispatched_body(app, outbox_id: int) -> str:
    query = (
        select(sandbox_messages.c.body)
        .join(delivery_attempts, delivery_attempts.c.id == sandbox_messages.c.attempt_id)
        .where(delivery_attempts.c.outbox_id == outbox_id)
    )
    with app.engine.connect() as conn:
        return str(conn.execute(query).scalar_one())


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_preview_shows_the_sms_the_patient_gets(services, clock, language):
    """A patient in Los Angeles, a clinic in New York: the preview's text is the dispatched text,
    zone and all, for every SMS of the session."""
    booked_at = clock.now
    patient = enrol(services, timezone="America/Los_Angeles", language=language)
    session = book(services, patient["id"], "2027-03-12T13:00")
    previewed = {
        row.step: row.text
        for row in preview(
            services,
            modality="iv",
            start="2027-03-12T13:00",
            tz="America/Los_Angeles",
            language=language,
            indications=("depression",),
            booked_at=booked_at,
        )
        if row.channel == "sms" and row.status == "pending"
    }
    sent: dict[str, str] = {}
    for row in sorted(rows(services, session_id=session["id"], channel="sms"), key=lambda r: r["due_at"]):
        if row["step_id"] not in ("prep_evening_before", "prep_morning_of"):
            continue
        clock.set(row["due_at"])
        Dispatcher(services).run_once()
        sent[row["step_id"]] = body = _dispatched_body(services, row["id"])
        assert previewed[row["step_id"]] == body
        assert body.count("PST") == 1, body  # the zone, once
    assert set(sent) == {"prep_evening_before", "prep_morning_of"}
    if language == "es":
        # The evening before names the time too, with its article.
        assert "a la 1:00 p. m. PST" in sent["prep_evening_before"]
        assert "a la 1:00 p. m. PST" in sent["prep_morning_of"]
