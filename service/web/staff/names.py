"""What staff read instead of the codes the service keeps: plain names for steps, channels,
languages, modalities, categories and reasons, and one way to write a time, a date and a phone
number on every page (the clinic's locale: its country decides the clock and the date order).

One place for each: a page never spells a code out itself, it asks these filters."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask

from ...countries import zones_of
from ...template_context import display_phone
from ..access import services

CHANNEL_NAMES = {"sms": "Text message", "email": "Email"}
LANGUAGE_NAMES = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "pt": "Portuguese",
    "zh": "Chinese",
    "vi": "Vietnamese",
    "ko": "Korean",
    "ar": "Arabic",
    "ru": "Russian",
    "de": "German",
    "it": "Italian",
    "tl": "Tagalog",
}
MODALITY_NAMES = {
    "iv": "IV ketamine",
    "im": "IM ketamine",
    "intranasal": "Intranasal esketamine",
    "oral": "Oral ketamine",
    "kat": "Ketamine-assisted therapy",
}
# "Appointment", not "admin": the word belongs to the staff role that changes the setup.
CATEGORY_NAMES = {
    "prep": "Preparation",
    "safety": "Safety",
    "education": "Education",
    "admin": "Appointment",
}
INDICATION_NAMES = {
    "depression": "Depression",
    "anxiety": "Anxiety",
    "ptsd": "PTSD",
    "adhd": "ADHD",
    "pain": "Chronic pain",
    "ocd": "OCD",
    "other": "Other",
}
# Countries whose people read a 12-hour clock; the United States also writes the month first.
TWELVE_HOUR = frozenset({"US", "CA", "AU", "NZ", "PH", "IN"})
MONTH_FIRST = frozenset({"US", "PH"})


def words(code: str | None) -> str:
    """A code with its dashes and underscores as spaces, capitalised: the fallback name."""
    text = (code or "").replace("-", " ").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def step_name(step_id: str | None, schedule: str | None = None) -> str:
    """A step's `title` from its schedule (the named one first, then any that has the step),
    else its id in words."""
    if not step_id:
        return ""
    loaded = services().schedules
    order = [loaded[schedule]] if schedule is not None and schedule in loaded else []
    order += [s for name, s in sorted(loaded.items()) if name != schedule]
    for found in order:
        for step in found.steps:
            if step.id == step_id:
                return step.display_title
    return words(step_id)


def channel_name(code: str | None) -> str:
    return CHANNEL_NAMES.get(code or "", words(code))


def language_name(code: str | None) -> str:
    return LANGUAGE_NAMES.get(code or "", (code or "").upper())


def modality_name(code: str | None) -> str:
    return MODALITY_NAMES.get(code or "", words(code))


def category_name(code: str | None) -> str:
    return CATEGORY_NAMES.get(code or "", words(code))


def indication_name(code: str | None) -> str:
    return INDICATION_NAMES.get(code or "", words(code))


def actor_name(actor: str | None) -> str:
    """Who did something, as a person reads it: "staff:ana@clinic.org" is "ana@clinic.org",
    "patient" and "system" stay, other prefixes ("api:", "ehr:") become words."""
    if not actor:
        return ""
    kind, sep, who = actor.partition(":")
    if not sep:
        return actor
    if kind == "staff":
        return who
    return f"{who} ({words(kind).lower()})"


def _formats(country: str, year: bool) -> dict[str, str]:
    clock = "%-I:%M %p" if country in TWELVE_HOUR else "%H:%M"
    day = "%a, %b %-d" if country in MONTH_FIRST else "%a %-d %b"
    if year:
        day += ", %Y" if country in MONTH_FIRST else " %Y"
    return {"when": f"{day}, {clock} %Z", "day": day, "clock": f"{clock} %Z"}


def fmt(instant: datetime | None, kind: str = "when", zone: str | ZoneInfo | None = None) -> str:
    """`instant` in the clinic's locale ("when": date and time, "day", "clock"), in `zone` (the
    clinic's when None), with the zone's abbreviation; the year is written when it is not this
    year's ("Tue, Mar 2, 10:00 AM EST"; "Mon, Jan 3, 2028, 9:00 AM EST")."""
    if instant is None:
        return ""
    svc = services()
    tz = svc.clinic_tz if zone is None else (ZoneInfo(zone) if isinstance(zone, str) else zone)
    local = instant.astimezone(tz)
    other_year = local.year != svc.clock().astimezone(tz).year
    return local.strftime(_formats(svc.config.clinic.country, other_year)[kind])


def phone(e164: str | None) -> str:
    """A phone number as the clinic dials it: national for its own country, else international."""
    if not e164:
        return ""
    return display_phone(e164, services().config.clinic.country)


# The zones a clinic's patients usually live in, named as people say them; the clinic's own
# zone comes first. A country not listed offers its own zones from tzdata; every other zone is
# still accepted through the form's "Other" field.
USUAL_ZONES = {
    "US": (
        ("America/New_York", "Eastern (New York)"),
        ("America/Chicago", "Central (Chicago)"),
        ("America/Denver", "Mountain (Denver)"),
        ("America/Phoenix", "Arizona (Phoenix, no daylight saving)"),
        ("America/Los_Angeles", "Pacific (Los Angeles)"),
        ("America/Anchorage", "Alaska (Anchorage)"),
        ("Pacific/Honolulu", "Hawaii (Honolulu)"),
        ("America/Puerto_Rico", "Atlantic (Puerto Rico)"),
    ),
    "CA": (
        ("America/St_Johns", "Newfoundland (St. John's)"),
        ("America/Halifax", "Atlantic (Halifax)"),
        ("America/Toronto", "Eastern (Toronto)"),
        ("America/Winnipeg", "Central (Winnipeg)"),
        ("America/Regina", "Saskatchewan (Regina)"),
        ("America/Edmonton", "Mountain (Edmonton)"),
        ("America/Vancouver", "Pacific (Vancouver)"),
    ),
}
OTHER_ZONE = "other"


def usual_zones() -> list[tuple[str, str]]:
    """(zone, name) for the time zone select: the clinic's zone first, then its country's usual
    zones."""
    svc = services()
    clinic_zone, country = svc.config.clinic.timezone, svc.config.clinic.country
    listed = list(USUAL_ZONES.get(country, ()))
    if not listed:
        listed = [(z, z.replace("_", " ")) for z in zones_of(country)]
    titles = dict(listed)
    first = [(clinic_zone, titles.get(clinic_zone, clinic_zone.replace("_", " ")))]
    return first + [(z, t) for z, t in listed if z != clinic_zone]


def zone_from_form(form: Any, name: str = "timezone") -> str:
    """The zone a form chose: the select's value, or what was typed in "Other" when the select
    says so (or is missing). Blank when nothing was given; the use case checks the name."""
    chosen = (form.get(name) or "").strip()
    if chosen in ("", OTHER_ZONE):
        return str(form.get(f"{name}_other") or "").strip()
    return chosen


def register(app: Flask) -> None:
    filters: dict[str, Any] = {
        "step_name": step_name,
        "channel_name": channel_name,
        "language_name": language_name,
        "modality_name": modality_name,
        "category_name": category_name,
        "indication_name": indication_name,
        "actor_name": actor_name,
        "phone": phone,
    }
    for name, function in filters.items():
        app.add_template_filter(function, name)
