"""The planner: which messages a session (or an enrolment) produces, and when, in UTC.

Pure: everything it needs, including `now`, is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from .durations import Offset
from .quiet_hours import Window, in_window, local_instant, place
from .schedule import CHANNELS, Schedule, Step


@dataclass(frozen=True)
class SessionFacts:
    """What the planner needs to know about one session and its patient."""

    start: datetime
    duration: timedelta
    modality: str
    number: int
    booked_at: datetime
    occurrence: int = 0
    rescheduled_at: datetime | None = None

    @property
    def end(self) -> datetime:
        return self.start + self.duration


@dataclass(frozen=True)
class PatientFacts:
    tz: ZoneInfo
    channels: frozenset[str]
    indications: frozenset[str]
    enrolled_at: datetime
    # The channels education goes by (domain/channels.py: preferred_channels); by default every
    # channel, so facts built without a preference narrow nothing.
    preferred: frozenset[str] = frozenset(CHANNELS)


@dataclass(frozen=True)
class PlannedMessage:
    """One message the schedule asks for: a row of the outbox, before it is stored."""

    step: Step
    channel: str
    due_at: datetime
    send_by: datetime | None
    status: str  # "pending" or "skipped"
    reason: str | None = None
    original_due: datetime | None = None

    @property
    def occurrence_scoped(self) -> bool:
        return self.step.repeat_on_reschedule


def _apply(anchor: datetime, offset: Offset, step: Step, tz: ZoneInfo) -> datetime:
    """Anchor + offset: days on the local wall clock, then seconds, then the step's `at` time."""
    return _shift(anchor, offset.days, offset.seconds, step.at, tz)


# Pure functions of hashable values, cached: a large import asks the same questions (the same
# day's 10:00 in the same zone, the same booking instant) thousands of times.
@lru_cache(maxsize=1 << 16)
def _shift(anchor: datetime, days: int, seconds: int, at: time | None, tz: ZoneInfo) -> datetime:
    local = anchor.astimezone(tz)
    if days:
        wall = local.replace(tzinfo=None) + timedelta(days=days)
        local = datetime.combine(wall.date(), wall.time(), tzinfo=tz)
    instant = local.astimezone(UTC) + timedelta(seconds=seconds)
    if at is not None:
        instant = local_instant(instant.astimezone(tz).date(), at, tz)
    return instant


def _anchor_time(step: Step, session: SessionFacts | None, patient: PatientFacts) -> datetime:
    if step.anchor == "enrolment" or session is None:
        return patient.enrolled_at
    if step.anchor == "start":
        return session.start
    if step.anchor == "end":
        return session.end
    if step.anchor == "reschedule":
        return session.rescheduled_at or session.booked_at
    return session.booked_at


def _send_by(step: Step, due: datetime, session: SessionFacts | None, tz: ZoneInfo) -> datetime:
    """The last moment the message is still worth sending."""
    limit = due + step.expiry
    if session is not None and step.category == "prep":
        deadline = step.deadline or Offset()
        limit = min(limit, _apply(session.start, deadline, _NO_AT, tz))
    elif session is not None and step.deadline is not None:
        limit = min(limit, _apply(session.start, step.deadline, _NO_AT, tz))
    return limit


# A same-day step with no allowed moment left on the session's day: staff call instead.
NO_SAME_DAY_SLOT = "no-same-day-slot"


def _floor(step: Step, anchor: datetime) -> datetime | None:
    """The earliest a step may go: anchor + not_before; a step after the session's end never
    goes before the end."""
    if step.not_before is not None:
        return anchor + step.not_before
    return anchor if step.anchor == "end" else None


def _day_bounds(
    session: SessionFacts | None, anchor: datetime, window: Window, tz: ZoneInfo
) -> tuple[datetime, datetime]:
    """When the send window opens and closes on the session's local day (the day of its start;
    the anchor's day for a step without a session)."""
    day = (session.start if session is not None else anchor).astimezone(tz).date()
    return local_instant(day, window.start, tz), local_instant(day, window.end, tz)


def _plan_step(
    step: Step,
    session: SessionFacts | None,
    patient: PatientFacts,
    window: Window,
    now: datetime,
) -> tuple[datetime | None, datetime, str | None, datetime]:
    """Returns (send time or None, send_by, reason, original due)."""
    anchor = _anchor_time(step, session, patient)
    floor = _floor(step, anchor)
    due = _apply(anchor, step.offset, step, patient.tz)
    if floor is not None:
        due = max(due, floor)
    send_by = _send_by(step, due, session, patient.tz)
    window = window.for_category(step.category)
    if step.same_day:
        day_start, day_end = _day_bounds(session, anchor, window, patient.tz)
        floor = day_start if floor is None else max(floor, day_start)  # never the day before
        if floor >= day_end:
            return None, send_by, NO_SAME_DAY_SLOT, due
        send_by = min(send_by, day_end)
    reason = None
    target = due
    if due < now:
        if step.if_late == "skip" or now >= send_by:
            return None, send_by, "too-late", due
        target, reason = now, "late-booking-sent-now"
    placement = place(
        target,
        now=now,
        send_by=send_by,
        policy=step.quiet_hours,
        window=window,
        tz=patient.tz,
        may_override=step.category == "prep",
        not_before=floor,
    )
    if placement.at is None or placement.at >= send_by:
        if step.same_day:
            # Moving earlier keeps a margin before the window closes; a same-day step takes the
            # last minutes rather than none (its floor, when that is inside the window).
            first = max(floor, now) if floor is not None else now
            if first < send_by and in_window(first, window, patient.tz):
                return first, send_by, "quiet-hours-moved-earlier", due
            return None, send_by, NO_SAME_DAY_SLOT, due
        return None, send_by, placement.reason or "past-deadline", due
    return placement.at, send_by, placement.reason or reason, due


def _channels_for(step: Step, patient: PatientFacts) -> tuple[str, ...]:
    """The step's channels this patient gets, in step order: every one they have, or for a step
    that goes by the preferred channel those they prefer (else the first one they have)."""
    have = tuple(c for c in step.channels if c in patient.channels)
    if not step.to_preferred_only:
        return have
    return tuple(c for c in have if c in patient.preferred) or have[:1]


def _messages_for(step: Step, patient: PatientFacts, result: tuple) -> list[PlannedMessage]:
    at, send_by, reason, due = result
    out = []
    for channel in _channels_for(step, patient):
        if at is None:
            out.append(PlannedMessage(step, channel, due, send_by, "skipped", reason, due))
        else:
            out.append(PlannedMessage(step, channel, at, send_by, "pending", reason, due))
    return out


# A late preparation message is dropped when a later preparation step goes out this soon anyway.
SUPERSEDE_HORIZON = timedelta(hours=2)


def _collapse_late_prep(planned: list[PlannedMessage], now: datetime) -> list[PlannedMessage]:
    """Of several preparation steps that a late booking would send at once, keep the last one.

    A session booked three hours ahead needs one message with what still applies (the
    morning-of reminder carries the fasting times), not a burst of every reminder at once: a
    late step is superseded by any later preparation step that goes out within two hours.
    """
    prep = [p for p in planned if p.step.category == "prep" and p.status == "pending"]
    # Overdue at planning time; the reason may since have become a quiet-hours one (deferred
    # to the opening, where the next preparation step is often waiting too).
    late = [p for p in prep if p.original_due is not None and p.original_due < now]
    if not late:
        return planned
    horizon = min(p.due_at for p in late) + SUPERSEDE_HORIZON
    soon = [p for p in prep if p.due_at <= horizon]
    if len({p.step.id for p in soon}) < 2:
        return planned
    keep = max(soon, key=lambda p: p.original_due or p.due_at).step.id
    out = []
    for p in planned:
        if p in late and p.step.id != keep:
            p = replace(p, status="skipped", reason="superseded")
        out.append(p)
    return out


def _supersede_moved_prep(planned: list[PlannedMessage], tz: ZoneInfo) -> list[PlannedMessage]:
    """A preparation message that quiet hours move to an earlier local day than its due day is
    dropped when another preparation step of the session goes, by the same channel, on that
    earlier day as planned: an 08:00 session's morning-of reminder (due 05:00) would otherwise
    go at 19:45 the evening before, an hour or two after the evening-before message."""

    def day(at: datetime) -> date:
        return at.astimezone(tz).date()

    def moved_back(p: PlannedMessage) -> bool:
        return p.original_due is not None and day(p.due_at) < day(p.original_due)

    prep = [p for p in planned if p.step.category == "prep" and p.status == "pending"]
    # Pending on the day it is due (never itself moved back): what the patient reads that day.
    on_day = {(p.channel, day(p.due_at), p.step.id) for p in prep if not moved_back(p)}

    def superseded(p: PlannedMessage) -> bool:
        if p.step.category != "prep" or p.status != "pending" or not moved_back(p):
            return False
        return any(c == p.channel and d == day(p.due_at) and s != p.step.id for c, d, s in on_day)

    return [replace(p, status="skipped", reason="superseded") if superseded(p) else p for p in planned]


def plan_session(
    schedule: Schedule,
    session: SessionFacts,
    patient: PatientFacts,
    window: Window,
    now: datetime,
    *,
    anchors: tuple[str, ...] = ("start", "end", "booking"),
) -> list[PlannedMessage]:
    """Every message the schedule asks for this session, each placed in time or skipped.

    Steps whose conditions do not hold, and channels the patient does not use, produce nothing;
    steps that can no longer be sent in time are returned as skipped with a reason code.
    """
    planned: list[PlannedMessage] = []
    for step in _applicable(schedule, anchors, session.modality, session.number, patient.indications):
        planned.extend(_messages_for(step, patient, _plan_step(step, session, patient, window, now)))
    return _supersede_moved_prep(_collapse_late_prep(planned, now), patient.tz)


_APPLICABLE: dict[tuple[object, ...], tuple[Schedule, tuple[Step, ...]]] = {}


def _applicable(
    schedule: Schedule, anchors: tuple[str, ...], modality: str, number: int, indications: frozenset[str]
) -> tuple[Step, ...]:
    """The steps of `schedule` on these anchors whose conditions hold, in schedule order; the
    answer is kept per schedule object (an edited schedule is a new object, so a new answer)."""
    key = (id(schedule), anchors, modality, number, indications)
    hit = _APPLICABLE.get(key)
    if hit is not None and hit[0] is schedule:
        return hit[1]
    steps = tuple(
        s for s in schedule.steps if s.anchor in anchors and s.conditions.holds(modality, number, indications)
    )
    if len(_APPLICABLE) >= 4096:
        _APPLICABLE.clear()
    _APPLICABLE[key] = (schedule, steps)
    return steps


def plan_enrolment(
    schedule: Schedule, patient: PatientFacts, window: Window, now: datetime
) -> list[PlannedMessage]:
    """The messages anchored to the patient's enrolment (not to any session)."""
    planned: list[PlannedMessage] = []
    for step in schedule.steps:
        if step.anchor != "enrolment":
            continue
        if not step.conditions.holds(None, None, patient.indications):
            continue
        planned.extend(_messages_for(step, patient, _plan_step(step, None, patient, window, now)))
    return planned


_NO_AT = Step(id="_", anchor="start", offset=Offset(), template="_", category="admin", channels=())
