"""Consent derived from a ledger of opt-in / opt-out events."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

CHANNELS = ("sms", "email")
PURPOSES = ("care", "education")


@dataclass(frozen=True)
class ConsentEvent:
    id: int
    channel: str  # "sms" or "email"
    purpose: str  # "care", "education" or "all"
    action: str  # "opt_in" or "opt_out"


def purpose_of(category: str) -> str:
    """Education messages are a subscription; everything else is care."""
    return "education" if category == "education" else "care"


def allows(events: Iterable[ConsentEvent], channel: str, purpose: str) -> bool:
    """True unless the latest event that covers this channel and purpose is an opt-out.

    A patient who gave a number or address for their care consents to care messages on it
    until they revoke; an opt-out for "all" purposes covers care and education alike.
    """
    latest: ConsentEvent | None = None
    for event in events:
        if event.channel != channel or event.purpose not in (purpose, "all"):
            continue
        if latest is None or event.id > latest.id:
            latest = event
    return latest is None or latest.action != "opt_out"
