"""Where an outbox row comes from, and what that decides: its dedupe key and its priority.

Six writers queue messages: the planner (a session's or an enrolment's steps), check-in
reminders, escalation pages to the on-call clinician, staff answers from the Inbox, fallbacks
by the other channel after a failure, and the notice telling a patient that staff cancelled a
session or marked it a no-show. Each row records its origin; its dedupe key,
made here for every origin, keeps a writer that runs twice from queuing the same message twice.
The key formats are stored in every database and read back (a page's escalation, an answer's
inbox message): they never change.
"""

from __future__ import annotations

from enum import StrEnum

from .schedule import CATEGORY_PRIORITY


class Origin(StrEnum):
    PLANNER = "planner"
    REMINDER = "reminder"
    ESCALATION = "escalation"
    STAFF_REPLY = "staff-reply"
    FALLBACK = "fallback"
    # A patient told that staff cancelled a session or marked it a no-show.
    SESSION_CHANGE = "session-change"
    # Queued by hand (an operator's SQL, a test, a benchmark): never reconciled with a plan.
    MANUAL = "manual"


# Rows that no schedule defines are filed under this schedule, with these step ids.
SYSTEM_SCHEDULE = "_system"
REMINDER_STEP = "_checkin_reminder"
PAGE_STEP = "_escalation"
STAFF_REPLY_STEP = "_staff_reply"

# A page to the on-call clinician goes before every patient message when a backlog builds.
PAGE_PRIORITY = CATEGORY_PRIORITY["safety"]


def priority(origin: Origin, category: str) -> int:
    """Lower goes first: pages, then each message by its category (safety, preparation, ...)."""
    if origin is Origin.ESCALATION:
        return PAGE_PRIORITY
    return CATEGORY_PRIORITY[category]


# --- the keys, one format per origin ----------------------------------------------------------


def planner_key(
    *, session_id: int | None, patient_id: int, schedule: str, step_id: str, channel: str, occurrence: int
) -> str:
    """A session's step by one channel, for one occurrence of the session (a step that repeats
    on reschedule is planned again for the new date); an enrolment's step, once per schedule."""
    if session_id is None:
        return f"p{patient_id}:{schedule}:{step_id}:{channel}"
    return f"s{session_id}:{step_id}:{channel}:{occurrence}"


def reminder_key(checkin_id: int, channel: str) -> str:
    """One reminder per check-in, by the channel the question went."""
    return f"c{checkin_id}:reminder:{channel}"


def page_key(escalation_id: int, level: int, contact: int, channel: str) -> str:
    """One page per escalation level, contact (its place in the on-call list) and channel."""
    return f"{page_prefix(escalation_id)}l{level}:{contact}:{channel}"


def page_prefix(escalation_id: int) -> str:
    """What the keys of every page of one escalation start with."""
    return f"e{escalation_id}:"


def page_of(key: str) -> tuple[int, int]:
    """(escalation id, level) of a page's key. Raises ValueError for any other key."""
    head, level, *_ = key.split(":")
    if head[:1] != "e" or level[:1] != "l":
        raise ValueError(f"not the key of a page: {key!r}")
    return int(head[1:]), int(level[1:])


def staff_reply_key(inbound_id: int, serial: int) -> str:
    """Staff answers to one inbox message are numbered 1, 2, ...: each is queued once."""
    return f"{staff_reply_prefix(inbound_id)}{serial}"


def staff_reply_prefix(inbound_id: int) -> str:
    return f"staffreply:{inbound_id}:"


def staff_reply_inbound(key: str) -> int | None:
    """The inbox message a staff answer's key names; None for any other key."""
    head, _, rest = key.partition(":")
    inbound = rest.partition(":")[0]
    return int(inbound) if head == "staffreply" and _number(inbound) else None


def fallback_key(failed_id: int) -> str:
    """A failed message goes by the other channel at most once."""
    return f"fallback:{failed_id}"


def session_change_step(change: str) -> str:
    """The step id a change's notice is filed under: "_session_cancelled", "_session_no_show"."""
    return f"_session_{change}"


def session_change_key(session_id: int, change: str, channel: str) -> str:
    """A session's change ("cancelled", "no_show") is told once per channel: a session reaches
    each final state at most once, and repeating the request changes nothing."""
    return f"sessionchange:{session_id}:{change}:{channel}"


def origin_of_key(key: str) -> Origin:
    """The origin a key's format names: for rows queued without one (by hand, or before rows
    recorded their origin). Migration 0009 filled existing rows by the same rule."""
    if key.startswith("fallback:"):
        return Origin.FALLBACK
    if key.startswith("staffreply:"):
        return Origin.STAFF_REPLY
    if key.startswith("sessionchange:"):
        return Origin.SESSION_CHANGE
    if len(key) > 1 and key[1] in _DIGITS:
        return _BY_LETTER.get(key[0], Origin.MANUAL)
    return Origin.MANUAL


_DIGITS = "0123456789"
_BY_LETTER = {
    "s": Origin.PLANNER,
    "p": Origin.PLANNER,
    "c": Origin.REMINDER,
    "e": Origin.ESCALATION,
}


def _number(text: str) -> bool:
    return bool(text) and all(c in _DIGITS for c in text)
