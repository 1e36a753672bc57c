"""The words that name the session's day follow the real send time, in English and Spanish."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.day_words import claims, dated, day_words, relation

SUNDAY = datetime(2027, 3, 7, 14, 0)  # a Sunday


@pytest.mark.parametrize(
    ("session", "send", "lang", "day", "visit"),
    [
        (SUNDAY, SUNDAY.replace(hour=9), "en", "today", "your visit today"),
        (SUNDAY.replace(hour=18), SUNDAY.replace(hour=9), "en", "tonight", "your visit today"),
        (SUNDAY.replace(hour=7), datetime(2027, 3, 6, 19, 45), "en", "tomorrow", "your visit on Sunday"),
        (SUNDAY, datetime(2027, 3, 8, 10, 0), "en", "yesterday", "your visit yesterday"),
        (SUNDAY, datetime(2027, 3, 9, 8, 0), "en", "on Sunday, March 7", "your visit on Sunday"),
        (SUNDAY, datetime(2027, 3, 4, 10, 0), "en", "on Sunday, March 7", "your visit on Sunday"),
        (SUNDAY, datetime(2027, 3, 20, 10, 0), "en", "on Sunday, March 7", "your visit on Sunday, March 7"),
        (SUNDAY, SUNDAY.replace(hour=9), "es", "hoy", "su visita de hoy"),
        (SUNDAY.replace(hour=18), SUNDAY.replace(hour=9), "es", "esta tarde", "su visita de hoy"),
        (SUNDAY.replace(hour=20), SUNDAY.replace(hour=9), "es", "esta noche", "su visita de hoy"),
        (SUNDAY.replace(hour=7), datetime(2027, 3, 6, 19, 45), "es", "mañana", "su visita del domingo"),
        (SUNDAY, datetime(2027, 3, 8, 10, 0), "es", "ayer", "su visita de ayer"),
        (SUNDAY, datetime(2027, 3, 9, 8, 0), "es", "el domingo 7 de marzo", "su visita del domingo"),
    ],
)
def test_the_session_day_is_named_from_the_send_time(session, send, lang, day, visit):
    words = day_words(session, send, lang)
    assert (words.day, words.visit) == (day, visit)


def test_an_evening_session_is_tonight_all_day_and_a_daytime_one_today_even_in_the_evening():
    assert relation(SUNDAY.replace(hour=17), SUNDAY.replace(hour=8))[0] == "tonight"
    assert relation(SUNDAY.replace(hour=16, minute=59), SUNDAY.replace(hour=19))[0] == "today"


def test_without_a_send_time_the_weekday_and_date_are_named():
    assert dated(SUNDAY, "en").day == "on Sunday, March 7"
    assert dated(SUNDAY, "es").visit == "su visita del domingo 7 de marzo"


def test_a_language_without_its_own_words_reads_english():
    assert day_words(SUNDAY, SUNDAY, "fr").day == "today"


@pytest.mark.parametrize(
    ("text", "lang", "found"),
    [
        ("see you today at 2:00 PM", "en", [("today", 0)]),
        ("Today at 9: your appointment", "en", [("Today", 0)]),
        ("after yesterday's visit", "en", [("yesterday", -1)]),
        ("see you tomorrow", "en", [("tomorrow", 1)]),
        ("How are you feeling now?", "en", []),
        ("su cita es mañana a las 7:00", "es", [("mañana", 1)]),
        ("la mañana de la sesión, por la mañana, esta mañana", "es", [("esta mañana", 0)]),
        ("mañana por la mañana", "es", [("mañana", 1)]),
        ("tras la visita de ayer; anoche", "es", [("ayer", -1), ("anoche", -1)]),
        ("Hoy a las 14:00", "es", [("Hoy", 0)]),
        ("el domingo 7 de marzo", "es", []),
    ],
)
def test_day_words_are_read_back_out_of_a_text(text, lang, found):
    assert sorted(claims(text, lang)) == sorted(found)


def test_days_is_the_calendar_distance_not_24_hours():
    # 23:00 the evening before a 07:00 session: 8 hours away, but tomorrow.
    assert relation(datetime(2027, 3, 7, 7), datetime(2027, 3, 6, 23))[1] == 1
    # 00:30 after a 21:00 session: 3.5 hours later, but the day after.
    assert relation(datetime(2027, 3, 7, 21), datetime(2027, 3, 8, 0, 30))[1] == -1


starts = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31)).map(
    lambda d: d.replace(hour=5 + d.hour % 19, second=0, microsecond=0)
)


@settings(max_examples=300, deadline=None)
@given(
    start=starts,
    gap=st.integers(min_value=-10 * 24 * 60, max_value=10 * 24 * 60),
    lang=st.sampled_from(["en", "es"]),
)
def test_every_day_word_said_is_the_real_calendar_relation(start, gap, lang):
    send = start + timedelta(minutes=gap)
    days = (start.date() - send.date()).days
    words = day_words(start, send, lang)
    for text in (words.day, words.visit):
        for _, claimed in claims(text, lang):
            assert claimed == days
    if days in (-1, 0, 1):
        assert claims(words.day, lang), "a near day is named by a word, not a date"
    else:
        assert not claims(words.day, lang)
