"""The life of a treatment session: its states, the moves between them, and whether a message
about it still goes.

Pure: no database. States are stored by value (treatment_sessions.status), so the enum's values
are the words already in the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum, StrEnum

from .origin import Origin


class SessionState(StrEnum):
    BOOKED = "booked"  # planned, and the only state a session moves on from
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    NO_SHOW = "no_show"


_S = SessionState  # short, for the tables below

# --- moves -------------------------------------------------------------------------------------


class Move(StrEnum):
    """What staff or the clinic's records ask of a session."""

    BOOK = "book"
    RESCHEDULE = "reschedule"
    CANCEL = "cancel"
    COMPLETE = "complete"
    NO_SHOW = "no_show"


# Each move: the states it may start from, and the state it leaves the session in. A session is
# booked from nothing; only a booked session moves on, so cancelled, completed and no-show are final.
MOVES: dict[Move, tuple[frozenset[SessionState | None], SessionState]] = {
    Move.BOOK: (frozenset({None}), _S.BOOKED),
    Move.RESCHEDULE: (frozenset({_S.BOOKED}), _S.BOOKED),
    Move.CANCEL: (frozenset({_S.BOOKED}), _S.CANCELLED),
    Move.COMPLETE: (frozenset({_S.BOOKED}), _S.COMPLETED),
    Move.NO_SHOW: (frozenset({_S.BOOKED}), _S.NO_SHOW),
}
# Whether a patient came or not is known only once the session has started.
AFTER_START = frozenset({Move.COMPLETE, Move.NO_SHOW})


@dataclass(frozen=True)
class Change:
    """The answer to a move: the state it leaves the session in, or why it is refused."""

    to: SessionState
    # The session is already where the move leads: a repeated request changes nothing.
    unchanged: bool = False
    # Why not, in words that follow "session <id> " in the answer to the request.
    refused: str | None = None


def change(state: str | None, move: Move, *, start_at: datetime, now: datetime) -> Change:
    """What `move` does to a session in `state` (None: no session yet) starting at `start_at`."""
    starts_from, to = MOVES[move]
    if state in starts_from:
        if move in AFTER_START and start_at > now:
            return Change(to, refused="has not started yet")
        return Change(to)
    if state == to:
        return Change(to, unchanged=True)
    if move is Move.RESCHEDULE:
        return Change(to, refused=f"is {state}; only a booked session can be rescheduled")
    return Change(to, refused=f"is {state}; it cannot become {to}")


# --- messages ----------------------------------------------------------------------------------


class MessageKind(Enum):
    """What a message about a session is, as far as the session's state matters to it."""

    PREPARATION = "preparation"  # to the patient before the session (category "prep")
    PATIENT = "patient"  # any other to the patient: confirmations, check-ins, education, notes
    STAFF_PAGE = "staff_page"  # to a clinician, about the patient
    CHANGE_NOTICE = "change_notice"  # to the patient: their session was cancelled or missed

    @classmethod
    def of(cls, audience: str, category: str, origin: str | None = None) -> MessageKind:
        """The kind of an outbox row, from its audience, category and origin."""
        if audience == "staff":
            return cls.STAFF_PAGE
        if origin == Origin.SESSION_CHANGE:
            return cls.CHANGE_NOTICE
        return cls.PREPARATION if category == "prep" else cls.PATIENT


class Look(Enum):
    """When the dispatcher asks."""

    DECIDE = "decide"  # deciding a claimed batch, against the session loaded with it
    GATE = "gate"  # the last look right before the send, at the session's status read again


@dataclass(frozen=True)
class Stop:
    """Why a message no longer goes: its final outbox outcome and the reason recorded with it."""

    outcome: str  # "cancelled" or "skipped"
    reason: str


def message_stop(state: str, kind: MessageKind, look: Look, *, started: bool = False) -> Stop | None:
    """Why a message of `kind` about a session in `state` no longer goes; None when it still goes.

    A page to a clinician is about the patient, not the session: no state of the session ever
    holds it back (a patient in crisis may well have just cancelled); nor does any hold back the
    notice telling the patient of a cancel or a no-show. A cancelled or no-show
    session stops every patient message about it. Once the session is completed, or has started
    (`started`: its start is at or before now), preparation is pointless: it stops, while
    check-ins and education go on.

    The gate looks again for what landed since the batch was loaded: there a cancel or a no-show
    stops every patient message, and a completion or the start passing meanwhile stops nothing
    (`started` is not consulted)."""
    if kind is MessageKind.STAFF_PAGE:
        return None
    if kind is MessageKind.CHANGE_NOTICE:
        return None  # it tells of the very state that stops every other message
    if state == _S.CANCELLED:
        return Stop("cancelled", "session-cancelled")
    if state == _S.NO_SHOW:
        return Stop("cancelled", "session-no-show")
    if look is Look.GATE or kind is not MessageKind.PREPARATION:
        return None
    if state == _S.COMPLETED:
        return Stop("cancelled", "session-completed")
    if started:
        return Stop("skipped", "session-started")
    return None
