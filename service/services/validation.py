"""Check and normalise what staff, the EHR or the API send: phones, zones, times, names."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from ..schedules import INDICATIONS, MODALITIES
from .errors import InvalidInput

LANGUAGE = re.compile(r"^[a-z]{2}$")
EMAIL = re.compile(r"^[^@\s<>\"']+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
CHANNELS = ("sms", "email")


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

    def get(self, key: str, check: Any, *, required: bool = False, default: Any = None) -> Any:
        if key not in self.data or self.data[key] is None:
            if required:
                self.errors[key] = "required"
            return default
        try:
            return check(self.data[key])
        except ValueError as exc:
            self.errors[key] = str(exc)
            return default

    def done(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)


def text(max_len: int) -> Any:
    def check(value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("expected non-empty text")
        value = " ".join(value.split())
        if len(value) > max_len:
            raise ValueError(f"at most {max_len} characters")
        return value

    return check


def phone(value: Any, region: str = "US") -> str:
    """A phone number in E.164. Raises ValueError when it is not a valid number."""
    if not isinstance(value, str):
        raise ValueError("expected a phone number as text")
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("not a phone number") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def email(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 254 or not EMAIL.match(value.strip()):
        raise ValueError("not a valid email address")
    return value.strip()


def timezone(value: Any) -> str:
    if not isinstance(value, str) or not value or value.startswith("/") or ".." in value:
        raise ValueError("expected an IANA time zone such as America/New_York")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {value!r}") from exc
    return value


def language(value: Any) -> str:
    if not isinstance(value, str) or not LANGUAGE.match(value):
        raise ValueError("expected a two-letter language code such as en or es")
    return value


def choices(options: tuple[str, ...], *, allow_empty: bool = True) -> Any:
    def check(value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("expected a list of strings")
        bad = [v for v in value if v not in options]
        if bad:
            raise ValueError(f"unknown value {bad[0]!r} (expected {', '.join(options)})")
        if not value and not allow_empty:
            raise ValueError("at least one value is needed")
        return sorted(set(value))

    return check


def one_of(options: tuple[str, ...]) -> Any:
    def check(value: Any) -> str:
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}")
        return str(value)

    return check


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("expected true or false")
    return value


def positive_int(limit: int) -> Any:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= limit:
            raise ValueError(f"expected a whole number from 1 to {limit}")
        return value

    return check


def local_or_aware_time(value: Any, tz: ZoneInfo) -> datetime:
    """An ISO 8601 time: with an offset it is exact; without, it is wall time in `tz`.

    Raises ValueError for a wall time that does not exist (clocks spring forward) or that
    happens twice (clocks fall back), asking for an explicit offset instead of guessing.
    """
    if not isinstance(value, str):
        raise ValueError("expected an ISO 8601 date and time such as 2027-03-13T09:00")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("expected an ISO 8601 date and time such as 2027-03-13T09:00") from exc
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    first = parsed.replace(tzinfo=tz, fold=0)
    second = parsed.replace(tzinfo=tz, fold=1)
    roundtrip = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if roundtrip != parsed:
        raise ValueError(f"{value} does not exist in {tz.key} (clocks move forward); give an offset")
    if first.utcoffset() != second.utcoffset():
        raise ValueError(f"{value} happens twice in {tz.key} (clocks move back); give an offset")
    return first.astimezone(UTC)


DEFAULT_DURATION = {"iv": 60, "im": 45, "intranasal": 120, "oral": 120, "kat": 180}
MAX_AHEAD = timedelta(days=730)

__all__ = [
    "CHANNELS",
    "INDICATIONS",
    "MODALITIES",
    "Fields",
]
