"""Check and normalise what staff, the EHR or the API send: phones, zones, times, names."""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers

from ..countries import phone_country, zone_country
from ..schedules import INDICATIONS, MODALITIES
from .errors import InvalidInput

LANGUAGE = re.compile(r"^[a-z]{2}$")
EMAIL = re.compile(r"^[^@\s<>\"']+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
CHANNELS = ("sms", "email")
# Far outside these a date is a typo, and near year 9999 a conversion to UTC overflows.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100
# Control characters and lone surrogates: PostgreSQL refuses NUL in text, and a lone surrogate
# (valid in JSON, "\ud800") cannot be encoded as UTF-8 by either database driver.
UNSTORABLE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\ud800-\udfff]")


class Fields:
    """Collects field errors so that one answer names every bad field at once."""

    def __init__(self, data: Any) -> None:
        if not isinstance(data, dict):
            raise InvalidInput({"body": "expected a JSON object"})
        self.data = data
        self.errors: dict[str, str] = {}

    def refuse_unknown(self, known: set[str]) -> None:
        for key in sorted(set(self.data) - known):
            self.errors[key] = "unknown field"

    def get(
        self, key: str, check: Any, *, required: bool = False, default: Any = None, nullable: bool = True
    ) -> Any:
        """The checked value of `key`, or `default` when it is absent.

        An explicit null counts as absent, except for a field that may not be cleared
        (`nullable=False`): a NULL where the data layer needs a value would stop every later
        message of that patient, so it is refused with the field's name.
        """
        if key not in self.data:
            if required:
                self.errors[key] = "required"
            return default
        if self.data[key] is None:
            if required or not nullable:
                self.errors[key] = "required" if required else "may not be null"
            return default
        try:
            return check(self.data[key])
        except ValueError as exc:
            self.errors[key] = str(exc)
            return default

    def done(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)


def storable(value: str) -> bool:
    """False for text with a control character (other than white space) or a lone surrogate."""
    return UNSTORABLE.search(value) is None


def shown(value: Any, limit: int = 40) -> str:
    """`value` quoted for an error message, cut short: what was typed, recognisable."""
    raw = str(value)
    return repr(raw if len(raw) <= limit else raw[: limit - 1] + "…")


def text(max_len: int) -> Any:
    def check(value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("expected non-empty text: type some words")
        if not storable(value):
            raise ValueError("control characters are not allowed: type plain text")
        value = " ".join(value.split())
        if len(value) > max_len:
            raise ValueError(f"{len(value)} characters: at most {max_len} characters, shorten it")
        return value

    return check


def phone(value: Any, region: str = "US") -> str:
    """A phone number in E.164. Raises ValueError when it is not a valid number, saying how a
    number of `region` is written ("give 10 digits, e.g. (201) 555-0123")."""
    if not isinstance(value, str):
        raise ValueError(f"expected a phone number as text: {phone_hint(region)}")
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{shown(value)} is not a phone number: {phone_hint(region)}") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"{shown(value)} is not a phone number: {phone_hint(region)}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@functools.cache
def phone_hint(region: str) -> str:
    """How to write a mobile number of `region`, with the numbering plan's own example: "give 10
    digits, e.g. (201) 555-0123" where every number has ten digits (North America), else the
    national and the international form."""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        return "give it with its country code, e.g. +12015550123"
    national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
    if example.country_code == 1:
        return f"give 10 digits, e.g. {national}"
    world = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return f"give the whole number, e.g. {national} or {world}"


def email(value: Any) -> str:
    if (
        not isinstance(value, str)
        or len(value) > 254
        or not storable(value)
        or not EMAIL.match(value.strip())
    ):
        raise ValueError(f"{shown(value)} is not an email address: give one such as ana@example.org")
    return value.strip()


def timezone(value: Any) -> str:
    """A canonical IANA zone name ("America/New_York"); raises ValueError naming the right one.

    Only the zones of the tz database's zone tables (and UTC) are taken: "localtime", "Factory",
    "EST5EDT" or a bare "America" are files in the database but not places a patient lives, and
    an old alias ("US/Eastern", "Asia/Calcutta") is refused with its current name.
    """
    if not isinstance(value, str) or not value or len(value) > 64:
        raise ValueError(f"expected a time zone: {ZONE_HINT}")
    canonical, links = _zones()
    if value in canonical:
        return value
    if value in links:
        raise ValueError(f"{value!r} is an old name for a time zone: use {links[value]!r}")
    raise ValueError(f"{shown(value)} is not a time zone: {ZONE_HINT}")


# The end of every time zone message; a page with a list of zones says it its own way.
ZONE_HINT = "give a name from the time zone database, such as America/New_York"


def canonical_zones() -> frozenset[str]:
    """Every zone name `timezone` accepts."""
    return _zones()[0]


@functools.cache
def _zones() -> tuple[frozenset[str], dict[str, str]]:
    """The canonical zone names and the old names that link to them, read once from tzdata."""
    root = resources.files("tzdata").joinpath("zoneinfo")
    names = {"UTC"}
    for table in ("zone.tab", "zone1970.tab"):
        for line in root.joinpath(table).read_text(encoding="utf-8").splitlines():
            if line and not line.startswith("#"):
                names.add(line.split("\t")[2])
    links = {}
    for line in root.joinpath("tzdata.zi").read_text(encoding="utf-8").splitlines():
        if line.startswith("L "):
            _, target, alias = line.split()[:3]
            if target in names:
                links[alias] = target
    return frozenset(names), links


def refuse_other_countries(
    f: Fields, phone_number: str | None, zone: str | None, accepted: tuple[str, ...]
) -> None:
    """Name `phone` and `timezone` in `f`'s errors when they are in a country the clinic does not
    take patients from; `accepted` starts with the clinic's own country."""
    where = accepted[0] if len(accepted) == 1 else f"{', '.join(accepted[:-1])} and {accepted[-1]}"
    hint = "(set [clinic] countries to accept others)"
    country = phone_country(phone_number) if phone_number else None
    if country and country not in accepted and "phone" not in f.errors:
        f.errors["phone"] = f"a number in {country}; this clinic accepts {where} numbers {hint}"
    country = zone_country(zone) if zone else None
    if country and country not in accepted and "timezone" not in f.errors:
        f.errors["timezone"] = f"a time zone in {country}; this clinic accepts patients in {where} {hint}"


def language(value: Any) -> str:
    if not isinstance(value, str) or not LANGUAGE.match(value):
        raise ValueError("expected a two-letter language code such as en or es")
    return value


def choices(options: tuple[str, ...], *, allow_empty: bool = True) -> Any:
    def check(value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"expected a list of strings, e.g. [{options[0]!r}]")
        bad = [v for v in value if v not in options]
        if bad:
            raise ValueError(f"unknown value {shown(bad[0])}: expected some of {', '.join(options)}")
        if not value and not allow_empty:
            raise ValueError(f"at least one value is needed, e.g. {options[0]}")
        return sorted(set(value))

    return check


def one_of(options: tuple[str, ...]) -> Any:
    def check(value: Any) -> str:
        if value not in options:
            raise ValueError(f"{shown(value)} is not a choice here: expected one of {', '.join(options)}")
        return str(value)

    return check


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("expected true or false")
    return value


def positive_int(limit: int, example: int = 1) -> Any:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= limit:
            raise ValueError(f"{shown(value)} is not a whole number from 1 to {limit}: e.g. {example}")
        return value

    return check


def local_or_aware_time(value: Any, tz: ZoneInfo) -> datetime:
    """An ISO 8601 time: with an offset it is exact; without, it is wall time in `tz`.

    Raises ValueError for a wall time that does not exist (clocks spring forward) or that
    happens twice (clocks fall back), asking for an explicit offset instead of guessing.
    """
    if not isinstance(value, str):
        raise ValueError(f"expected a date and time: {TIME_HINT}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{shown(value)} is not a date and time: {TIME_HINT}") from exc
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        raise ValueError(f"expected a date between {EARLIEST_YEAR} and {LATEST_YEAR}, e.g. 2027-03-13T09:00")
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    first = parsed.replace(tzinfo=tz, fold=0)
    second = parsed.replace(tzinfo=tz, fold=1)
    roundtrip = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if roundtrip != parsed:
        later = first.astimezone(UTC).astimezone(tz).isoformat(timespec="minutes")
        raise ValueError(
            f"{value} does not exist in {tz.key} (clocks move forward){OFFSET_HINT}, e.g. {later}"
        )
    if first.utcoffset() != second.utcoffset():
        earlier = first.isoformat(timespec="minutes")
        raise ValueError(f"{value} happens twice in {tz.key} (clocks move back){OFFSET_HINT}, e.g. {earlier}")
    return first.astimezone(UTC)


# A date and time as the forms' datetime-local fields write it, and as the messages' examples do.
FORM_TIME = "%Y-%m-%dT%H:%M"
# The end of the date-time messages (a page with no place for an offset words it its own way).
TIME_HINT = "give one such as 2027-03-13T09:00 (13 March 2027, 9:00 in the morning)"
OFFSET_HINT = "; give an offset"


def future_start(value: Any, tz: ZoneInfo, now: datetime) -> datetime:
    """A session's start (see local_or_aware_time): after `now`, at most MAX_AHEAD ahead; the
    messages give a time that would do, on the patient's clock."""
    start = local_or_aware_time(value, tz)
    tomorrow = (now + timedelta(days=1)).astimezone(tz).replace(minute=0).strftime(FORM_TIME)
    if start <= now:
        raise ValueError(f"must be in the future, e.g. {tomorrow}")
    if start - now > MAX_AHEAD:
        raise ValueError(f"more than two years ahead: give a nearer date, e.g. {tomorrow}")
    return start


# A whole visit, arrival checks to leaving, not the dose alone: the end time patients and drivers are
# given, and when the after-visit check-in starts counting. Figures and their sources:
# messages/SOURCES.md, "Visit durations". A booking may give its own duration.
DEFAULT_DURATION = {"iv": 120, "im": 90, "intranasal": 150, "oral": 150, "kat": 180}
MAX_AHEAD = timedelta(days=730)

__all__ = [
    "CHANNELS",
    "INDICATIONS",
    "MODALITIES",
    "Fields",
]
