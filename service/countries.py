"""The country of a phone number and of a time zone (ISO 3166 alpha-2), from phonenumbers' and
tzdata's own tables: which patients a clinic takes, and how its numbers are written for them."""

from __future__ import annotations

import functools
from importlib import resources

import phonenumbers


def phone_country(e164: str) -> str | None:
    """The country of a phone number ("+61 412 345 678": "AU"); None when it has none (a
    non-geographic number, or text that is not a number)."""
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None
    return region if region and region not in (phonenumbers.UNKNOWN_REGION, "001") else None


def zone_country(zone: str) -> str | None:
    """The one country a canonical zone is in ("Australia/Sydney": "AU"); None for a zone of no
    country or of several ("UTC", "Etc/GMT+5")."""
    return _zone_countries().get(zone)


@functools.cache
def _zone_countries() -> dict[str, str]:
    """Zone to country from tzdata's zone.tab (one country a line), completed by zone1970.tab
    where it names a single country."""
    root = resources.files("tzdata").joinpath("zoneinfo")
    found: dict[str, str] = {}
    for table in ("zone1970.tab", "zone.tab"):  # zone.tab's single country wins
        for line in root.joinpath(table).read_text(encoding="utf-8").splitlines():
            if line and not line.startswith("#"):
                codes, _, zone = line.split("\t")[:3]
                if "," not in codes:
                    found[zone] = codes
    return found


def zones_of(country: str) -> list[str]:
    """The canonical zones of one country ("CA": "America/Toronto", ...), sorted."""
    return sorted(zone for zone, code in _zone_countries().items() if code == country)
