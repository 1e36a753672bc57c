"""Which channels carry a patient's education messages: their preferred channel, or the default.

Preparation, safety and admin messages go by every channel the patient consented to; education
goes by the preferred channel only (see the planner's `_channels_for`). A patient who chose
nothing (NULL) gets email when they have a usable email address, else SMS: an education email
carries its sources and an unsubscribe link, and fewer texts mean fewer patients replying STOP,
which would end their safety and preparation texts too.
"""

from __future__ import annotations

from .schedule import CHANNELS

PREFERENCES = ("sms", "email", "both")


def preferred_channels(preference: str | None, usable: frozenset[str]) -> frozenset[str]:
    """The channels education goes by, given the patient's `preference` (None: the default rule)
    and the channels `usable` for them (consented and with a phone or an address).

    A preference the patient cannot receive (SMS without a phone, email without an address, or a
    channel they did not consent to) falls back to the channels they have.
    """
    if preference == "both":
        wanted = frozenset(CHANNELS)
    elif preference in CHANNELS:
        wanted = frozenset({preference})
    else:
        wanted = frozenset({"email"} if "email" in usable else {"sms"})
    return (wanted & usable) or usable
