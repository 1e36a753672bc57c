"""Course arrangement: the rules that span a patient's whole course, over the planner's messages.

The planner places each session's messages on their own. This pass looks at all of one patient's
messages together and says, row by row, what changes:

1. **after-session**: nothing but safety messages while the patient is in a session or resting
   after it. An education message, an admin message or a preparation message of another session
   whose send time falls in [start, end + quiet_after_session] of a booked (or completed) session
   moves to the end of that interval (then to the next send window opening), keeping the length
   of its send window. A preparation message that would then miss its own deadline moves to just
   before the blocking session instead, if that is still ahead, or else stays.
2. **education-capped**: at most `education_per_day` education messages a local day and
   `education_per_week` in any 7 consecutive local days, across tracks and channels (a step sent
   by SMS and email is one message), counting those already sent. What is over moves to the next
   free day at the same local time, in the original order.
3. **once-per-course**: a step marked `once_per_course` goes for the earliest session that has
   it, or not at all when it went within the course already; the other sessions' rows are
   skipped, and come back when the carrier is cancelled.
4. **grouped**: a step with `group_within` (the booking confirmation) is held: sessions booked
   within that time of each other (a chain) get one message, sent by the earliest-booked
   session's rows at min(last booking + group_within, first booking + 6 x group_within), with
   `context = {"group": [session ids in start order]}`; the others are skipped. A group whose
   message went is closed: a later booking starts a new group.

Only the planner's rows that are pending (never tried) or skipped by this pass take part; a row
sent, in flight or retrying, and every safety message, is never changed. A row this pass moved or
skipped keeps what the planner had said in `context["arranged_from"]`, so the pass always starts
from the planner's answer: running it twice changes nothing, and a rule that no longer applies
(a session cancelled) gives the row back as planned.

Pure: sessions, rows, the patient's zone, the send window, the rules and `now` are passed in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from . import delivery
from .planner import PlannedMessage
from .quiet_hours import (
    EARLIER_MARGIN,
    Window,
    in_window,
    last_allowed_before,
    local_instant,
    next_window_start,
)

AFTER_SESSION = "after-session"
EDUCATION_CAPPED = "education-capped"
ONCE_PER_COURSE = "once-per-course"
GROUPED = "grouped"
REASONS = (AFTER_SESSION, EDUCATION_CAPPED, ONCE_PER_COURSE, GROUPED)
# Rows this pass skips, and so may give back.
SKIP_REASONS = frozenset({ONCE_PER_COURSE, GROUPED})

# Where a moved or skipped row keeps the planner's answer (due_at, send_by, reason).
ARRANGED_FROM = "arranged_from"
# The sessions a grouped message speaks for, in start order.
GROUP = "group"

# A grouped message waits at most this many times `group_within` after its first booking.
GROUP_CAP_FACTOR = 6
# A once-per-course step sent this long before is still of this course.
COURSE_SPAN = timedelta(days=60)
# Sessions whose time blocks messages, and sessions whose rows may carry a course-wide message.
BLOCKING_STATES = frozenset({"booked", "completed"})
CARRYING_STATES = frozenset({"booked", "completed"})
# Rows whose send is under way or done: they count (caps, once) and never move.
TRIED = frozenset({delivery.SENT, delivery.SENDING, delivery.UNKNOWN})
# The categories rule 1 moves; a preparation message only for another session than its own.
MOVABLE = frozenset({"education", "admin", "prep"})

_SAFETY_LIMIT = 1000  # iterations of any search below; far above what a course needs


@dataclass(frozen=True)
class CourseRules:
    """The clinic's settings for the course-wide rules ([messages] in the config)."""

    education_per_day: int = 1
    education_per_week: int = 3
    quiet_after_session: timedelta = timedelta(hours=2)


@dataclass(frozen=True)
class CourseSession:
    id: int
    start: datetime
    end: datetime
    booked_at: datetime
    status: str = "booked"


@dataclass(frozen=True)
class CourseItem:
    """One outbox row of the patient, with what its step says about the course.

    `at` is when a tried row went (or was claimed); pending rows leave it None.
    """

    id: int
    session_id: int | None
    step_id: str
    channel: str
    category: str
    status: str
    due_at: datetime
    send_by: datetime | None = None
    reason: str | None = None
    context: Mapping[str, Any] | None = None
    origin: str = "planner"
    attempts: int = 0
    once_per_course: bool = False
    group_within: timedelta | None = None
    quiet_hours: str = "defer"
    at: datetime | None = None

    @property
    def live(self) -> bool:
        """A row this pass may change: the planner's, never tried, pending or skipped by it."""
        if self.origin != "planner" or self.category == "safety":
            return False
        if self.status == delivery.PENDING:
            return self.attempts == 0
        return self.status == delivery.SKIPPED and self.reason in SKIP_REASONS

    @property
    def tried(self) -> bool:
        """Sent, in flight, or retrying: it counts, and it stays."""
        return self.status in TRIED or (self.status == delivery.PENDING and self.attempts > 0)

    @property
    def went_at(self) -> datetime:
        return self.at or self.due_at

    @classmethod
    def planned(cls, item_id: int, session_id: int | None, pm: PlannedMessage) -> CourseItem:
        """A message the planner has just placed, before it is stored."""
        step = pm.step
        return cls(
            id=item_id,
            session_id=session_id,
            step_id=step.id,
            channel=pm.channel,
            category=step.category,
            status=pm.status,
            due_at=pm.due_at,
            send_by=pm.send_by,
            reason=pm.reason,
            once_per_course=step.once_per_course,
            group_within=step.group_within,
            quiet_hours=step.quiet_hours,
        )


@dataclass(frozen=True)
class CourseChange:
    """What one row becomes. `next_attempt_at` follows `due_at` (the row was never tried)."""

    id: int
    due_at: datetime
    send_by: datetime | None
    status: str
    reason: str | None
    context: dict[str, Any] | None


@dataclass
class _Wanted:
    item: CourseItem
    base: tuple[datetime, datetime | None, str | None]  # the planner's due_at, send_by, reason
    due: datetime
    send_by: datetime | None
    reason: str | None
    status: str = delivery.PENDING
    context: dict[str, Any] | None = None

    def move(self, due: datetime, reason: str, *, keep_send_by: bool = False) -> None:
        if due == self.due:
            return
        if not keep_send_by and self.send_by is not None:
            self.send_by = due + (self.send_by - self.due)
        self.due = due
        self.reason = reason


def arrange(
    sessions: Iterable[CourseSession],
    items: Iterable[CourseItem],
    *,
    tz: ZoneInfo,
    window: Window,
    rules: CourseRules,
    now: datetime,
) -> list[CourseChange]:
    """The changes that the course-wide rules make to the patient's rows, by row id.

    `sessions` are the patient's sessions (any state; the rules use booked and completed ones),
    `items` the patient's rows that are pending, skipped by this pass, or tried recently (for the
    caps and the once-per-course rule). Only rows that change are returned.
    """
    by_id = {s.id: s for s in sessions}
    rows = sorted(items, key=lambda i: i.id)
    window = Window(window.start, window.end)  # non-safety messages keep the ordinary window
    wanted = {i.id: _start_from_plan(i) for i in rows if i.live and _in_scope(i, by_id)}
    history = [i for i in rows if i.tried]
    _once_per_course(wanted, history, by_id)
    _group(wanted, history, by_id, tz, window)
    _keep_sessions_quiet(wanted, by_id, tz, window, rules, now)
    _cap_education(wanted, history, rows, by_id, tz, window, rules)
    return [c for w in wanted.values() if (c := _change(w)) is not None]


# --- where each row starts from ---------------------------------------------------------------


def _in_scope(item: CourseItem, sessions: Mapping[int, CourseSession]) -> bool:
    """A skipped row comes back only for a session that still takes place."""
    if item.session_id is None or item.status == delivery.PENDING:
        return True
    session = sessions.get(item.session_id)
    return session is not None and session.status in CARRYING_STATES


def _start_from_plan(item: CourseItem) -> _Wanted:
    """The row as the planner placed it: what `arranged_from` kept, or the row itself."""
    due, send_by, reason = item.due_at, item.send_by, item.reason
    kept = (item.context or {}).get(ARRANGED_FROM)
    if item.reason in REASONS and isinstance(kept, Mapping):
        due = _instant(kept.get("due_at")) or due
        send_by = _instant(kept.get("send_by")) if "send_by" in kept else send_by
        reason = kept.get("reason")
    elif item.reason in REASONS:
        reason = None
    return _Wanted(item, (due, send_by, reason), due, send_by, reason)


def planned_time(row: Mapping[str, Any]) -> tuple[datetime, datetime | None]:
    """A stored row's due_at and send_by as the planner placed them (before this pass moved it):
    what a re-plan compares with its new plan (domain/reconcile.py)."""
    kept = (row.get("context") or {}).get(ARRANGED_FROM) if row.get("reason") in REASONS else None
    if isinstance(kept, Mapping):
        due = _instant(kept.get("due_at"))
        if due is not None:
            return due, _instant(kept.get("send_by"))
    return row["due_at"], row["send_by"]


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


# --- 3. once per course -------------------------------------------------------------------------


def _once_per_course(
    wanted: dict[int, _Wanted], history: list[CourseItem], sessions: Mapping[int, CourseSession]
) -> None:
    steps: dict[str, list[_Wanted]] = defaultdict(list)
    for w in wanted.values():
        if w.item.once_per_course and w.item.session_id in sessions:
            steps[w.item.step_id].append(w)
    for step_id, rows in steps.items():
        carriers = [w for w in rows if sessions[w.item.session_id].status in CARRYING_STATES]  # type: ignore[index]
        first = min(carriers, key=lambda w: _session_order(sessions[w.item.session_id]), default=None)  # type: ignore[index]
        carrier = first.item.session_id if first is not None else None
        if first is not None and any(
            h.step_id == step_id and h.went_at >= first.due - COURSE_SPAN for h in history
        ):
            carrier = None  # already went for this course
        for w in rows:
            if w.item.session_id != carrier:
                w.status, w.reason = delivery.SKIPPED, ONCE_PER_COURSE


def _session_order(s: CourseSession) -> tuple[datetime, int]:
    return (s.start, s.id)


# --- 4. grouped booking messages --------------------------------------------------------------


@dataclass
class _Group:
    sessions: list[CourseSession] = field(default_factory=list)
    went_at: datetime | None = None


def _group(
    wanted: dict[int, _Wanted],
    history: list[CourseItem],
    sessions: Mapping[int, CourseSession],
    tz: ZoneInfo,
    window: Window,
) -> None:
    steps: dict[str, list[_Wanted]] = defaultdict(list)
    for w in wanted.values():
        s = sessions.get(w.item.session_id) if w.item.session_id is not None else None
        if w.item.group_within is not None and s is not None and s.status == "booked":
            steps[w.item.step_id].append(w)
    for step_id, rows in steps.items():
        within = rows[0].item.group_within
        assert within is not None
        by_session: dict[int, list[_Wanted]] = defaultdict(list)
        for w in rows:
            by_session[w.item.session_id].append(w)  # type: ignore[index]
        went: dict[int, datetime] = {}
        for h in history:
            sid = h.session_id
            if h.step_id == step_id and sid is not None and sid in sessions:
                went[sid] = min(h.went_at, went.get(sid, h.went_at))
        members = sorted({sessions[i] for i in [*by_session, *went]}, key=lambda s: (s.booked_at, s.id))
        for group in _chain(members, went, within):
            _carry(group, by_session, within, tz, window)


def _chain(members: list[CourseSession], went: Mapping[int, datetime], within: timedelta) -> list[_Group]:
    """Sessions booked within `within` of the previous booking, in booking order; a group whose
    message went takes no booking made after that."""
    groups: list[_Group] = []
    for s in members:
        g = groups[-1] if groups else None
        joins = (
            g is not None
            and s.booked_at - g.sessions[-1].booked_at <= within
            and (g.went_at is None or s.booked_at < g.went_at)
        )
        if g is None or not joins:
            g = _Group()
            groups.append(g)
        g.sessions.append(s)
        if s.id in went:
            g.went_at = min(went[s.id], g.went_at or went[s.id])
    return groups


def _carry(
    group: _Group,
    by_session: Mapping[int, list[_Wanted]],
    within: timedelta,
    tz: ZoneInfo,
    window: Window,
) -> None:
    live = [s for s in group.sessions if s.id in by_session]
    carrier = live[0] if live and group.went_at is None else None
    first, last = group.sessions[0].booked_at, group.sessions[-1].booked_at
    ids = [s.id for s in sorted(group.sessions, key=_session_order)]
    for s in live:
        for w in by_session[s.id]:
            if s is not carrier:
                w.status, w.reason = delivery.SKIPPED, GROUPED
                continue
            due = min(last + within, first + GROUP_CAP_FACTOR * within)
            if w.item.quiet_hours != "ignore":
                due = next_window_start(due, window, tz)
            if w.send_by is not None:
                w.send_by = due + (w.send_by - w.due)
            w.due, w.reason, w.context = due, GROUPED, {GROUP: ids}


# --- 1. nothing but safety around a session ------------------------------------------------------


def _blackouts(
    sessions: Mapping[int, CourseSession], rules: CourseRules
) -> list[tuple[datetime, datetime, int]]:
    out = [
        (s.start, s.end + rules.quiet_after_session, s.id)
        for s in sessions.values()
        if s.status in BLOCKING_STATES
    ]
    return sorted(out)


def _blocker(
    at: datetime, item: CourseItem, blackouts: list[tuple[datetime, datetime, int]]
) -> tuple[datetime, datetime, int] | None:
    for b in blackouts:
        start, end, session_id = b
        # [start, end): a message moved to the end of the quiet time goes there.
        if start <= at < end and not (item.category == "prep" and session_id == item.session_id):
            return b
    return None


def _clear(
    at: datetime,
    item: CourseItem,
    blackouts: list[tuple[datetime, datetime, int]],
    tz: ZoneInfo,
    window: Window,
) -> tuple[datetime, tuple[datetime, datetime, int] | None]:
    """The first moment at or after `at` outside every blackout that holds the item and inside
    the send window; and the first blackout that moved it (None: it did not move)."""
    first = None
    for _ in range(_SAFETY_LIMIT):
        b = _blocker(at, item, blackouts)
        if b is None:
            return at, first
        first = first or b
        at = b[1]
        if item.quiet_hours != "ignore":
            at = next_window_start(at, window, tz)
    return at, first  # pragma: no cover


def _keep_sessions_quiet(
    wanted: dict[int, _Wanted],
    sessions: Mapping[int, CourseSession],
    tz: ZoneInfo,
    window: Window,
    rules: CourseRules,
    now: datetime,
) -> None:
    blackouts = _blackouts(sessions, rules)
    for w in wanted.values():
        if w.status != delivery.PENDING or w.item.category not in MOVABLE or w.item.category == "education":
            continue  # education: with the caps, below
        at, blocker = _clear(w.due, w.item, blackouts, tz, window)
        if blocker is None:
            continue
        # A preparation message must go before its deadline, any other message due before its
        # session before that session starts (a confirmation after the visit says nothing): when the
        # move would pass that limit, it goes before the blocking session instead, or stays.
        own = sessions.get(w.item.session_id) if w.item.session_id is not None else None
        before_own = own is not None and w.due < own.start
        limit = w.send_by if w.item.category == "prep" else (own.start if own and before_own else None)
        if limit is not None and at >= limit:
            before = blocker[0] - EARLIER_MARGIN
            if not in_window(before, window, tz):
                before = last_allowed_before(before, window, tz)
            if before >= now and before < limit:
                w.move(before, AFTER_SESSION, keep_send_by=True)
            continue
        w.move(at, AFTER_SESSION)


# --- 2. education caps ---------------------------------------------------------------------------


def _cap_education(
    wanted: dict[int, _Wanted],
    history: list[CourseItem],
    rows: Sequence[CourseItem],
    sessions: Mapping[int, CourseSession],
    tz: ZoneInfo,
    window: Window,
    rules: CourseRules,
) -> None:
    """Place each education message (rows grouped by session and step) on a free day, in order."""
    moving: dict[tuple[int | None, str], list[_Wanted]] = defaultdict(list)
    for w in wanted.values():
        if w.item.category == "education" and w.status == delivery.PENDING:
            moving[(w.item.session_id, w.item.step_id)].append(w)
    if not moving:
        return
    blackouts = _blackouts(sessions, rules)
    taken: dict[int, set[tuple[int | None, str]]] = defaultdict(set)  # by local day's ordinal
    # Sent, in flight, or not ours to move (a fallback by the other channel): counted where it is.
    for i in rows:
        if i.category == "education" and (i.tried or (i.status == delivery.PENDING and i.id not in wanted)):
            key = (i.session_id, i.step_id)
            moving.pop(key, None)  # a message partly sent stays where it is, by every channel
            taken[_day(i.went_at, tz)].add(key)
    counts: dict[int, int] = defaultdict(int)
    for day, keys in taken.items():
        counts[day] = len(keys)
    order = sorted(moving.items(), key=lambda kv: (min(w.due for w in kv[1]), _key_order(kv[0])))
    previous: datetime | None = None
    for _, message in order:
        base = min(w.due for w in message)
        at, reason = _free_slot(base, previous, message[0].item, counts, blackouts, tz, window, rules)
        counts[_day(at, tz)] += 1
        previous = at
        if reason is not None:
            for w in message:
                w.move(at, reason)


def _day(at: datetime, tz: ZoneInfo) -> int:
    """The local day of `at`, as an ordinal."""
    return at.astimezone(tz).toordinal()


def _key_order(key: tuple[int | None, str]) -> tuple[int, str]:
    return (key[0] if key[0] is not None else -1, key[1])


def _free_slot(
    base: datetime,
    previous: datetime | None,
    item: CourseItem,
    counts: Mapping[int, int],
    blackouts: list[tuple[datetime, datetime, int]],
    tz: ZoneInfo,
    window: Window,
    rules: CourseRules,
) -> tuple[datetime, str | None]:
    """The first moment from `base` (and not before `previous`) outside the blackouts, on a day
    with room; the reason it moved (None: it stays)."""
    wall = base.astimezone(tz).time().replace(tzinfo=None)
    at, capped = base, False
    for _ in range(_SAFETY_LIMIT):
        if previous is not None and at < previous:
            at = _same_time(previous.astimezone(tz).date(), wall, tz)
            if at < previous:
                at = _same_time(previous.astimezone(tz).date() + timedelta(days=1), wall, tz)
            capped = True
        at, _ = _clear(at, item, blackouts, tz, window)
        if previous is not None and at < previous:
            continue
        local_day = at.astimezone(tz).date()
        if _room(local_day.toordinal(), counts, rules):
            if at == base:
                return at, None
            return at, EDUCATION_CAPPED if capped else AFTER_SESSION
        at = _same_time(local_day + timedelta(days=1), wall, tz)
        capped = True
    return base, None  # pragma: no cover


def _same_time(day: date, wall: time, tz: ZoneInfo) -> datetime:
    return local_instant(day, wall, tz)


def _room(day: int, counts: Mapping[int, int], rules: CourseRules) -> bool:
    """Room for one more on `day`: under the daily cap, and under the weekly cap in each of the
    seven 7-day spans that hold it."""
    if counts.get(day, 0) >= rules.education_per_day:
        return False
    near = [counts.get(d, 0) for d in range(day - 6, day + 7)]
    span = sum(near[:7])
    if span >= rules.education_per_week:
        return False
    for k in range(7, 13):
        span += near[k] - near[k - 7]
        if span >= rules.education_per_week:
            return False
    return True


# --- the answer ----------------------------------------------------------------------------------


def _change(w: _Wanted) -> CourseChange | None:
    item = w.item
    context = w.context
    # A skipped row keeps its time; a moved one keeps the planner's answer, to go back to it.
    if context is None and w.status == delivery.PENDING and (w.due, w.send_by, w.reason) != w.base:
        base_due, base_send_by, base_reason = w.base
        context = {
            ARRANGED_FROM: {
                "due_at": base_due.isoformat(),
                "send_by": base_send_by.isoformat() if base_send_by is not None else None,
                "reason": base_reason,
            }
        }
    current = (
        item.due_at,
        item.send_by,
        item.status,
        item.reason,
        dict(item.context) if item.context else None,
    )
    new = (w.due, w.send_by, w.status, w.reason, context)
    if current == new:
        return None
    return CourseChange(item.id, w.due, w.send_by, w.status, w.reason, context)
