"""The variables a message template sees: clinic, patient, session and fasting times.

Times are rendered in the patient's own time zone and language (never UTC), on the 12-hour
clock; a message names the zone once (`session.zone`) when it differs from the clinic's, so
nobody arrives an hour early. messages/STYLE.md says how templates use these values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from babel.dates import format_date

from .config import ClinicConfig
from .countries import phone_country, zone_country
from .domain.answers import answer_codes
from .domain.day_words import dated, day_words
from .domain.fasting import fasting_passed
from .domain.schedule import ReplyExpectation

# How a patient reads a time and a date in each language. Times use the 12-hour clock US
# patients read in both languages ("1:00 PM", "1:00 p. m."), written by hand with plain spaces:
# CLDR's no-break spaces would make every SMS UCS-2. Dates name the weekday and month in full
# wherever a patient reads them in Spanish ("mar." is martes or marzo).
_FORMATS = {
    "en": {"date": "EEEE, MMMM d", "short": "EEE, MMM d", "am": "AM", "pm": "PM", "at": "{d} at {t}"},
    "es": {
        "date": "EEEE d 'de' MMMM",
        "short": "EEEE d 'de' MMMM",
        "am": "a. m.",
        "pm": "p. m.",
        "at": "{d} a {t}",
    },
}
_DAY_BEFORE = {"en": "the day before", "es": "del día anterior"}


class TimeText(str):
    """A time of day as a patient reads it ("1:00 p. m."), which also knows the article Spanish
    puts before it: `.las` is "la 1:00 p. m." for one o'clock and "las 3:00 p. m." for any other
    hour, so a template writes `a {{ session.time.las }}`, `desde {{ ... .las }}` and never a
    fixed "las". In English `.las` is the time alone (English has no article there)."""

    article: str
    las: str

    def __new__(cls, text: str, article: str = "") -> TimeText:
        made = super().__new__(cls, text)
        made.article = article
        made.las = f"{article} {text}" if article else text
        return made


def time_article(hour: int, language: str) -> str:
    """The article before a time of day: Spanish "la" for one o'clock (1:00 and 13:00 are both
    read "la una"), "las" for every other hour; none in English."""
    if language != "es":
        return ""
    return "la" if hour % 12 == 1 else "las"


def clock_time(hour: int, minute: int, language: str) -> str:
    """A wall-clock time on the 12-hour clock: "1:00 PM", "9:30 a. m.", "12:00 p. m." (noon)."""
    formats = _FORMATS.get(language, _FORMATS["en"])
    marker = formats["pm"] if hour >= 12 else formats["am"]
    return f"{hour % 12 or 12}:{minute:02d} {marker}"


@lru_cache(maxsize=1024)
def display_phone(e164: str, region: str | None = None) -> str:
    """A phone number as a patient in `region` dials it: in national form when the number is in
    that country, or when no region is given ((202) 555-0100), else in international form
    (+1 202-555-0100)."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if region is None or phonenumbers.region_code_for_number(parsed) == region:
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def patient_region(patient: Mapping[Any, Any], clinic: ClinicConfig) -> str:
    """The country a patient dials from: their phone number's, else their time zone's, else the
    clinic's."""
    phone = patient.get("phone")
    return (phone and phone_country(phone)) or zone_country(patient["timezone"]) or clinic.country


# Babel's formatting is pure and slow next to the rest of a render; a day's messages ask for the
# same few session dates over and over.
@lru_cache(maxsize=1 << 14)
def _format_date(day: date, pattern: str, locale: str) -> str:
    return format_date(day, pattern, locale=locale)


class Formatter:
    """Formats instants for one patient: their zone, their language.

    Times never carry the zone: a message names it once, with `session.zone` after the first time
    it shows (" PST" when the patient's zone is not the clinic's, else nothing), and
    `interlude check` makes sure every template does."""

    def __init__(self, tz: ZoneInfo, language: str, clinic_tz: ZoneInfo) -> None:
        self.tz = tz
        self.language = language if language in _FORMATS else "en"
        self.locale = self.language
        self.show_zone = tz.key != clinic_tz.key
        self.formats = _FORMATS[self.language]

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.tz)

    def time(self, instant: datetime) -> TimeText:
        local = self.local(instant)
        text = clock_time(local.hour, local.minute, self.language)
        return TimeText(text, time_article(local.hour, self.language))

    def zone(self, instant: datetime) -> str:
        """ " PST" after the first time a message shows, when the patient's zone is not the
        clinic's (so nobody arrives an hour early); empty otherwise."""
        return f" {self.local(instant).tzname()}" if self.show_zone else ""

    def date(self, instant: datetime, short: bool = False) -> str:
        pattern = self.formats["short" if short else "date"]
        return _format_date(self.local(instant).date(), pattern, self.locale)

    def when(self, instant: datetime) -> str:
        """ "Tuesday, May 4 at 1:00 PM", "martes 4 de mayo a la 1:00 p. m."."""
        return self.formats["at"].format(d=self.date(instant), t=self.time(instant).las)

    def cutoff(self, instant: datetime, session_start: datetime) -> TimeText:
        """A fasting cut-off time; says so when it falls the day before the session."""
        time = self.time(instant)
        if self.local(instant).date() == self.local(session_start).date():
            return time
        return TimeText(f"{time} {_DAY_BEFORE[self.language]}", time.article)


def clinic_context(clinic: ClinicConfig, region: str | None = None) -> dict[str, Any]:
    """The clinic's variables for a patient dialling from `region` (None: the clinic's country).

    The clinic's numbers are in international form for a patient in another country. The
    emergency and crisis lines stay the clinic's country's: they are short numbers that no form
    makes dialable from abroad, and a message names only lines the clinic configured
    (config.example.toml, [clinic] countries, says what this means for patients abroad).
    """
    region = region or clinic.country
    return {
        "name": clinic.name,
        # The numbers named in safety wording: "call {{ clinic.emergency }}", "call or text
        # {{ clinic.crisis_line }}"; `crisis_line_text` for a clinic that words texting apart.
        "emergency": clinic.emergency,
        "crisis_line": clinic.crisis,
        "crisis_line_text": clinic.crisis_text,
        "country": clinic.country,
        # What every SMS starts with: short and discreet ([clinic] sms_name).
        "sms_name": clinic.sms_name,
        "phone": display_phone(clinic.phone, region),
        "after_hours_phone": display_phone(clinic.after_hours_phone, region),
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
        # " PST" after the first time a message shows, when the patient's zone is not the clinic's.
        "zone": fmt.zone(start),
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


def group_context(
    booked: Iterable[Mapping[Any, Any]], clinic: ClinicConfig, fmt: Formatter, now: datetime | None = None
) -> dict[str, Any]:
    """The variables of one confirmation for several sessions booked together: `sessions`, each
    session formatted as `session` is, in start order; `session`, the next of them; `more`, how
    many follow it. The caller passes only the sessions still booked; at least one."""
    listed = [session_context(s, clinic, fmt, now) for s in sorted(booked, key=lambda s: s["start_at"])]
    return {"sessions": listed, "session": listed[0], "more": len(listed) - 1}


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
        "clinic": clinic_context(clinic, patient_region(patient, clinic)),
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
