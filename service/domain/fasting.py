"""Whether a fasting cut-off has already passed when a preparation message is sent.

A late booking (or a message delayed by quiet hours) can reach the patient after the time it
says to stop eating or drinking. The text must then say so and route the patient to the care
team, instead of stating a cut-off that is already behind them as if it could still be kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class FastingPassed:
    """Which cut-offs are at or before the send time; `any` when at least one is."""

    solids: bool
    liquids: bool

    @property
    def any(self) -> bool:
        return self.solids or self.liquids


def fasting_passed(
    start: datetime, solids: timedelta, clear_liquids: timedelta, now: datetime | None
) -> FastingPassed:
    """The cut-offs (`start` minus each fasting duration) that are at or before `now`, the
    moment the message is sent. Without a send time (a staff preview) nothing has passed: the
    text then reads as it would for a booking made in good time."""
    if now is None:
        return FastingPassed(False, False)
    return FastingPassed(start - solids <= now, start - clear_liquids <= now)
