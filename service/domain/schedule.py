"""A treatment schedule: steps relative to a session (or enrolment), as frozen values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta

from .durations import Offset

ANCHORS = ("start", "end", "enrolment", "booking", "reschedule")
CATEGORIES = ("prep", "safety", "education", "admin")
CHANNELS = ("sms", "email")
QUIET_POLICIES = ("defer", "earlier", "ignore")
LATE_POLICIES = ("send", "skip")
REPLY_KINDS = ("checkin", "clearance", "confirmation")

# Which of its channels a step uses: "all" that the patient has, or only the patient's preferred
# ones. Education goes by the preferred channel; preparation, safety and admin by every channel.
CHANNEL_CHOICES = ("all", "preferred")
CHANNEL_CHOICE_DEFAULT = {"prep": "all", "safety": "all", "education": "preferred", "admin": "all"}

# When a backlog builds, lower numbers go first: safety, then preparation.
CATEGORY_PRIORITY = {"safety": 0, "prep": 1, "admin": 2, "education": 3}

# How long after its due time a message is still worth sending, by category, unless the step
# says otherwise. A preparation message is also bounded by the session start (its deadline).
DEFAULT_EXPIRY = {
    "prep": timedelta(days=3),
    "safety": timedelta(hours=12),
    "education": timedelta(days=3),
    "admin": timedelta(days=1),
}


@dataclass(frozen=True)
class ReplyOption:
    """One accepted answer: its code ("1"), words that also mean it, and whether it is concerning."""

    code: str
    label: str
    words: tuple[str, ...] = ()
    concerning: bool = False


@dataclass(frozen=True)
class ReplyExpectation:
    """What a step asks the patient to answer, read by the reply pipeline."""

    kind: str
    window: timedelta
    reminder_after: timedelta | None = None
    options: tuple[ReplyOption, ...] = ()
    scale: tuple[int, int] | None = None
    concerning_at_or_below: int | None = None


@dataclass(frozen=True)
class Conditions:
    """When a step applies; an empty condition always holds."""

    modalities: tuple[str, ...] = ()
    sessions: tuple[int, ...] = ()
    from_session: int | None = None
    indications: tuple[str, ...] = ()

    def holds(self, modality: str | None, number: int | None, indications: frozenset[str]) -> bool:
        """True when the step applies to a session of this modality and number for this patient."""
        if self.modalities and modality not in self.modalities:
            return False
        if self.sessions and number not in self.sessions:
            return False
        if self.from_session is not None and (number is None or number < self.from_session):
            return False
        return not self.indications or bool(indications.intersection(self.indications))


@dataclass(frozen=True)
class Step:
    id: str
    anchor: str
    offset: Offset
    template: str
    category: str
    channels: tuple[str, ...]
    at: time | None = None
    quiet_hours: str = "defer"
    if_late: str = "skip"
    deadline: Offset | None = None
    expires_after: timedelta | None = None
    conditions: Conditions = field(default_factory=Conditions)
    expects: ReplyExpectation | None = None
    repeat_on_reschedule: bool = False
    line: int | None = None
    # "all": every channel of the step the patient has; "preferred": the patient's preferred
    # channels only (domain/channels.py). None: the category's default, CHANNEL_CHOICE_DEFAULT.
    channel_choice: str | None = None
    # Never placed earlier than anchor + not_before (quiet hours moving it earlier included).
    not_before: timedelta | None = None
    # Goes on the session's local day, inside the send window, or not at all ("no-same-day-slot").
    same_day: bool = False
    # Sent for one session of the patient's course only (the earliest booked that has it);
    # domain/course.py skips the others ("once-per-course").
    once_per_course: bool = False
    # Held this long after a booking, so that sessions booked together get one message
    # (domain/course.py, "grouped"). None: each session's message goes on its own.
    group_within: timedelta | None = None
    # What staff read for the step ("Next-day check-in"); None: made from the id (`display_title`).
    title: str | None = None
    # A questionnaire step: "phq9", "gad7" or "pcl5" (domain/instruments.py); its messages carry
    # the questionnaire's link as `measure_link`.
    measure: str | None = None

    @property
    def display_title(self) -> str:
        """The step's name for staff: its `title`, else its id in words ("checkin next day" ->
        "Checkin next day")."""
        if self.title:
            return self.title
        words = self.id.replace("_", " ").strip()
        return words[:1].upper() + words[1:]

    @property
    def priority(self) -> int:
        return CATEGORY_PRIORITY[self.category]

    @property
    def to_preferred_only(self) -> bool:
        """True when the step goes by the patient's preferred channels only."""
        choice = self.channel_choice or CHANNEL_CHOICE_DEFAULT[self.category]
        return choice == "preferred"

    @property
    def session_scoped(self) -> bool:
        return self.anchor != "enrolment"

    @property
    def expiry(self) -> timedelta:
        return self.expires_after or DEFAULT_EXPIRY[self.category]


@dataclass(frozen=True)
class Schedule:
    name: str
    description: str
    steps: tuple[Step, ...]
    source: str = ""

    def step(self, step_id: str) -> Step:
        """The step with this id; raises KeyError if the schedule has none."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)
