"""The variables a message template sees: clinic, patient, session and fasting times.

Times are rendered in the patient's own time zone and language (never UTC), with the zone's
abbreviation when it differs from the clinic's, so nobody arrives an hour early.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from babel.dates import format_date, format_time

from .config import ClinicConfig
from .domain.answers import answer_codes
from .domain.day_words import dated, day_words
from .domain.fasting import fasting_passed
from .domain.schedule import ReplyExpectation

_FORMATS = {
    "en": {"date": "EEEE, MMMM d", "short": "EEE, MMM d", "time": "h:mm a", "at": "{d} at {t}"},
    "es": {"date": "EEEE d 'de' MMMM", "short": "EEE d 'de' MMM", "time": "H:mm", "at": "{d} a las {t}"},
}
_DAY_BEFORE = {"en": "the day before", "es": "del día anterior"}


@lru_cache(maxsize=1024)
def display_phone(e164: str) -> str:
    """A phone number as patients dial it in its own country: (555) 555-0100."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


# Babel's formatting is pure and slow next to the rest of a render; a day's messages ask for the
# same few session times over and over.
@lru_cache(maxsize=1 << 14)
def _format_time(local: datetime, pattern: str, locale: str) -> str:
    return format_time(local, pattern, locale=locale)


@lru_cache(maxsize=1 << 14)
def _format_date(day: date, pattern: str, locale: str) -> str:
    return format_date(day, pattern, locale=locale)


class Formatter:
    """Formats instants for one patient: their zone, their language."""

    def __init__(self, tz: ZoneInfo, language: str, clinic_tz: ZoneInfo) -> None:
        self.tz = tz
        self.language = language if language in _FORMATS else "en"
        self.locale = self.language
        self.show_zone = tz.key != clinic_tz.key
        self.formats = _FORMATS[self.language]

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.tz)

    def time(self, instant: datetime) -> str:
        local = self.local(instant)
        text = _format_time(local.replace(tzinfo=None), self.formats["time"], self.locale)
        # CLDR puts a narrow no-break space before AM/PM; it would make every SMS UCS-2.
        text = text.replace("\u202f", " ").replace("\u00a0", " ")
        if self.show_zone:
            text = f"{text} {local.tzname()}"
        return text

    def date(self, instant: datetime, short: bool = False) -> str:
        pattern = self.formats["short" if short else "date"]
        return _format_date(self.local(instant).date(), pattern, self.locale)

    def when(self, instant: datetime) -> str:
        template = self.formats["at"]
        if self.language == "es" and self.local(instant).hour in (1, 13):
            template = "{d} a la {t}"  # "a la 1:00", not "a las 1:00"
        return template.format(d=self.date(instant), t=self.time(instant))

    def cutoff(self, instant: datetime, session_start: datetime) -> str:
        """A fasting cut-off time; says so when it falls the day before the session."""
        text = self.time(instant)
        if self.local(instant).date() != self.local(session_start).date():
            text = f"{text} {_DAY_BEFORE[self.language]}"
        return text


def clinic_context(clinic: ClinicConfig) -> dict[str, Any]:
    return {
        "name": clinic.name,
        "phone": display_phone(clinic.phone),
        "after_hours_phone": display_phone(clinic.after_hours_phone),
        "email": clinic.email,
        "address": clinic.address,
    }


def session_context(
    session: Mapping[Any, Any], clinic: ClinicConfig, fmt: Formatter, now: datetime | None = None
) -> dict[str, Any]:
    """The session's variables; `now` is when the message is actually sent (after quiet hours),
    which `day` and `visit` are seen from. Without it they name the weekday and date, which
    are right whenever the message goes."""
    start: datetime = session["start_at"]
    local_start = fmt.local(start).replace(tzinfo=None)
    if now is None:
        words = dated(local_start, fmt.language)
    else:
        words = day_words(local_start, fmt.local(now).replace(tzinfo=None), fmt.language)
    end = start + timedelta(minutes=session["duration_minutes"])
    fasting = clinic.fasting[session["modality"]]
    arrive = start - clinic.arrival_before
    passed = fasting_passed(start, fasting.solids, fasting.clear_liquids, now)
    return {
        "date": fmt.date(start),
        "short_date": fmt.date(start, short=True),
        "time": fmt.time(start),
        "when": fmt.when(start),
        # "today", "tonight", "tomorrow", "yesterday" or "on Sunday, March 7", as the send sees it.
        "day": words.day,
        "day_kind": words.kind,
        # "your visit today", "your visit yesterday", "your visit on Sunday".
        "visit": words.visit,
        "arrive_time": fmt.time(arrive),
        "end_time": fmt.time(end),
        "modality": session["modality"],
        "number": session["number"],
        "first": session["number"] == 1,
        "duration_minutes": session["duration_minutes"],
        "fasting": {
            "solids_until": fmt.cutoff(start - fasting.solids, start),
            "liquids_until": fmt.cutoff(start - fasting.clear_liquids, start),
            "solids_hours": _hours(fasting.solids),
            "liquids_hours": _hours(fasting.clear_liquids),
            # A cut-off at or before the send: the text asks the patient to call if they ate or
            # drank since. False without a send time (previews).
            "passed": passed.any,
            "solids_passed": passed.solids,
            "liquids_passed": passed.liquids,
        },
    }


def _hours(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes % 60 == 0:
        return str(minutes // 60)
    return f"{minutes / 60:g}"


def message_context(
    clinic: ClinicConfig,
    clinic_tz: ZoneInfo,
    patient: Mapping[Any, Any],
    session: Mapping[Any, Any] | None,
    language: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Everything a template may use. Session is None for enrolment messages; `now` is the
    moment the message is sent, for the words that name the session's day."""
    fmt = Formatter(ZoneInfo(patient["timezone"]), language, clinic_tz)
    return {
        "clinic": clinic_context(clinic),
        "patient": {
            "first_name": patient["first_name"],
            "detailed": bool(patient["detailed_messages"]),
            "language": fmt.language,
        },
        "session": session_context(session, clinic, fmt, now) if session is not None else None,
        "lang": fmt.language,
    }


# What a one-tap answer link says, by the kind of question and the option's code, in the words
# the email's own list uses; a number on a scale, or an option not named here (a clinic's own),
# shows its code, which the email explains.
_ANSWER_LABELS = {
    "en": {
        ("checkin", "1"): "1 - I am home and feeling OK",
        ("checkin", "2"): "2 - I have effects that have not passed",
        ("checkin", "3"): "3 - I want to talk to someone",
        ("clearance", "yes"): "Yes - my ride home is arranged and I can follow these times",
        ("clearance", "no"): "Not yet",
    },
    "es": {
        ("checkin", "1"): "1 - Estoy en casa y me encuentro bien",
        ("checkin", "2"): "2 - Aún noto efectos que no han pasado",
        ("checkin", "3"): "3 - Quiero hablar con alguien",
        ("clearance", "yes"): "Sí - tengo quien me lleve a casa y puedo cumplir estos horarios",
        ("clearance", "no"): "Todavía no",
    },
}


def answer_label(expects: ReplyExpectation, code: str, language: str) -> str:
    """The words of one answer's link or button in the patient's language."""
    if expects.scale is not None:
        return code
    labels = _ANSWER_LABELS.get(language, _ANSWER_LABELS["en"])
    return labels.get((expects.kind, code), code.upper() if code.isalpha() else code)


def answer_links(
    expects: ReplyExpectation, language: str, url_of: Callable[[str], str]
) -> list[tuple[str, str]]:
    """The `answer_links` an email question carries: (label, url), one per answer it accepts."""
    return [(answer_label(expects, code, language), url_of(code)) for code in answer_codes(expects)]
