"""What a change staff make to a patient's sessions means for the patient: which changes they
are told of, and which bookings clash with a session they already have.

Pure: no database, the clock passed in as `now`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .session_state import Move

# The template that tells the patient of each change; the change's name goes in the message key.
NOTICES: dict[Move, tuple[str, str]] = {
    Move.CANCEL: ("cancelled", "session_cancelled"),
    Move.NO_SHOW: ("no_show", "session_no_show"),
}


@dataclass(frozen=True)
class Notice:
    change: str  # "cancelled" or "no_show": part of the message's key
    template: str


def notice(move: Move, *, start_at: datetime, now: datetime, enabled: bool) -> Notice | None:
    """The message a move sends the patient, or None.

    A no-show is told after the session's time, which is the point: the patient missed it and
    may want another. A cancellation is told only while the session is still ahead: cancelling a
    session that has started or passed tidies the record, and a message about it would only
    confuse."""
    if not enabled or move not in NOTICES:
        return None
    if move is Move.CANCEL and start_at <= now:
        return None
    change, template = NOTICES[move]
    return Notice(change, template)


@dataclass(frozen=True)
class Booked:
    """One of the patient's booked sessions, as far as a clash is concerned."""

    id: int
    start_at: datetime
    duration_minutes: int

    @property
    def end_at(self) -> datetime:
        return self.start_at + timedelta(minutes=self.duration_minutes)


def clash(start_at: datetime, duration_minutes: int, others: Iterable[Booked]) -> Booked | None:
    """The earliest booked session that shares any time with start..start+duration, or None.

    Sessions are half-open: one ending at 10:00 does not clash with one starting at 10:00."""
    end_at = start_at + timedelta(minutes=duration_minutes)
    hits = [o for o in others if o.start_at < end_at and start_at < o.end_at]
    return min(hits, key=lambda o: (o.start_at, o.id)) if hits else None


def booked(row: Mapping[str, Any]) -> Booked:
    return Booked(int(row["id"]), row["start_at"], int(row["duration_minutes"]))
