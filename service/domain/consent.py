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


# Opt-outs the patient sent by text: a STOP keyword (ours, or the carrier's Advanced Opt-Out), or
# a plain-words "stop texting me". The carriers tie these to the subscriber's own opt-in keyword
# (CTIA Messaging Principles: a keyword opt-out is lifted by the subscriber texting START), so
# staff can never lift them by recording a consent given another way.
BY_TEXT = frozenset({"keyword", "plain-words", "provider-keyword"})
# How a consent given again after an opt-out reached the clinic, as staff record it.
HOW = {"phone-call": "Phone call", "in-person": "In person", "written": "Written"}
RECONSENT = "re-consent"


@dataclass(frozen=True)
class LedgerEvent:
    """A ledger event with where it came from: what the re-consent rules need."""

    id: int
    channel: str
    purpose: str
    action: str
    source: str


def standing_opt_out(events: Iterable[LedgerEvent], channel: str, purpose: str) -> LedgerEvent | None:
    """The opt-out that stops `channel` for `purpose` now, or None when it is allowed."""
    covering = [e for e in events if e.channel == channel and e.purpose in (purpose, "all")]
    latest = max(covering, key=lambda e: e.id, default=None)
    return latest if latest is not None and latest.action == "opt_out" else None


def needs_patient_keyword(channel: str, opt_out: LedgerEvent | None) -> bool:
    """True when only the patient can lift this opt-out: a text-message opt-out they sent by
    text. Email unsubscribes and opt-outs staff or the API recorded may be lifted by a consent
    staff record (who, how and when), as CAN-SPAM allows a person who unsubscribed to ask again."""
    return channel == "sms" and opt_out is not None and opt_out.source in BY_TEXT
