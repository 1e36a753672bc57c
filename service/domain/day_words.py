"""How a message names the session's day, seen from the moment it is actually sent.

A message planned for the morning of a session may go the evening before (quiet hours); a
check-in planned for the evening may go the next morning. So the word is never written into a
template: it is computed here from the session's local start and the local send time, both in
the patient's zone, and the calendar days between them.

The rule (days = session's local date minus the send's local date):

- 0 days: "today"; "tonight" when the session starts at or after 17:00 local (an evening
  session is "tonight" all day long, so the word does not change with the send hour). Spanish
  splits the evening as Spanish speakers do: "esta tarde" before 20:00, "esta noche" from 20:00.
- 1 day: "tomorrow" ("mañana"); -1 day: "yesterday" ("ayer").
- anything else: the weekday and date ("on Sunday, March 7", "el domingo 7 de marzo").

The check-in phrase names the visit: "your visit today", "your visit yesterday", and for another
day "your visit on Sunday" (the weekday alone is clear within six days; beyond, the date too).

`claims` reads the words back out of a rendered text, so `interlude check` can tell when a
message calls the session today, tomorrow or yesterday on another day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache

from babel.dates import format_date

# A session starting at or after this local time is "tonight" on its own day.
EVENING = time(17, 0)
# Spanish: "esta tarde" until this hour, "esta noche" from it.
ES_NIGHT = time(20, 0)
# Within this many days the weekday alone names a past or coming visit unambiguously.
WEEKDAY_ONLY_DAYS = 6

LANGUAGES = ("en", "es")

_DATE = {"en": "EEEE, MMMM d", "es": "EEEE d 'de' MMMM"}
_WEEKDAY = "EEEE"

_WORDS = {
    "en": {
        "today": "today",
        "tonight": "tonight",
        "tomorrow": "tomorrow",
        "yesterday": "yesterday",
        "on": "on {day}",
    },
    "es": {
        "today": "hoy",
        "tonight": "esta noche",
        "this_afternoon": "esta tarde",
        "tomorrow": "mañana",
        "yesterday": "ayer",
        "on": "el {day}",
    },
}
_VISIT = {
    "en": {"today": "your visit today", "yesterday": "your visit yesterday", "on": "your visit on {day}"},
    "es": {"today": "su visita de hoy", "yesterday": "su visita de ayer", "on": "su visita del {day}"},
}


@dataclass(frozen=True)
class DayWords:
    """The session's day as one message names it.

    `kind` is "today", "tonight", "tomorrow", "yesterday" or "date"; `days` the calendar days
    from the send to the session (negative after it); `day` the words for an appointment
    ("see you {day} at 2:00 PM"); `visit` the words for a check-in ("after {visit}").
    """

    kind: str
    days: int
    day: str
    visit: str


def relation(session_local: datetime, send_local: datetime) -> tuple[str, int]:
    """(kind, days) for a session starting at `session_local` named in a message sent at
    `send_local`; both are wall-clock times in the patient's zone."""
    days = (session_local.date() - send_local.date()).days
    if days == 0:
        return ("tonight" if session_local.time() >= EVENING else "today"), 0
    if days == 1:
        return "tomorrow", 1
    if days == -1:
        return "yesterday", -1
    return "date", days


def day_words(session_local: datetime, send_local: datetime, language: str) -> DayWords:
    """The words naming the session's day in `language` ("en" or "es"; others read English)."""
    kind, days = relation(session_local, send_local)
    return _words(kind, days, session_local.date(), session_local.time() >= ES_NIGHT, language)


def dated(session_local: datetime, language: str) -> DayWords:
    """The words when the send time is not known: the weekday and date, right on any day."""
    return _words("date", WEEKDAY_ONLY_DAYS + 1, session_local.date(), False, language)


@lru_cache(maxsize=4096)
def _words(kind: str, days: int, day: date, late: bool, language: str) -> DayWords:
    lang = language if language in LANGUAGES else "en"
    words, visit = _WORDS[lang], _VISIT[lang]
    if kind == "date":
        text = words["on"].format(day=format_date(day, _DATE[lang], locale=lang))
        within = abs(days) <= WEEKDAY_ONLY_DAYS
        named = format_date(day, _WEEKDAY if within else _DATE[lang], locale=lang)
        return DayWords(kind, days, text, visit["on"].format(day=named))
    afternoon = kind == "tonight" and lang == "es" and not late
    text = words["this_afternoon" if afternoon else kind]
    # A visit the same day is "today" at any hour: "your visit tonight" reads as not yet held.
    if kind in ("today", "tonight"):
        return DayWords(kind, days, text, visit["today"])
    if kind == "yesterday":
        return DayWords(kind, days, text, visit["yesterday"])
    # A coming visit ("tomorrow") is named by its weekday: a check-in is never about one.
    named = format_date(day, _WEEKDAY, locale=lang)
    return DayWords(kind, days, text, visit["on"].format(day=named))


# The words that say which day something is, each with the days from now it claims. Spanish
# "mañana" is "tomorrow" unless an article or determiner makes it "morning" ("la mañana de la
# sesión", "esta mañana", "por la mañana").
_CLAIMS: dict[str, tuple[tuple[re.Pattern[str], int], ...]] = {
    "en": (
        (re.compile(r"\b(today|tonight|this (morning|afternoon|evening))\b", re.I), 0),
        (re.compile(r"\btomorrow\b", re.I), 1),
        (re.compile(r"\b(yesterday|last night)\b", re.I), -1),
    ),
    "es": (
        (re.compile(r"(?<!\w)(hoy|esta (noche|tarde|mañana))(?!\w)", re.I), 0),
        (re.compile(r"(?<!\w)pasado mañana(?!\w)", re.I), 2),
        (
            re.compile(
                r"(?<!\w)(?<!la )(?<!las )(?<!esta )(?<!una )(?<!cada )(?<!pasado )(?<!sus )"
                r"(?<!mis )(?<!tus )(?<!media )mañana(?!\w)",
                re.I,
            ),
            1,
        ),
        (re.compile(r"(?<!\w)(ayer|anoche)(?!\w)", re.I), -1),
    ),
}


def claims(text: str, language: str) -> list[tuple[str, int]]:
    """Each day word in `text` with the days from the send it claims for what it names:
    [("today", 0), ("yesterday", -1)]. English words are read in every language (shared
    partials and names stay English)."""
    found = []
    for lang in dict.fromkeys((language, "en")):
        for pattern, days in _CLAIMS.get(lang, ()):
            found += [(m.group(0), days) for m in pattern.finditer(text)]
    return found
