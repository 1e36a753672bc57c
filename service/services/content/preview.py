"""Preview a whole schedule for a hypothetical session or course: times, texts, segments, and why
times moved or messages are skipped."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ...domain.course import CourseItem, CourseSession, arrange
from ...domain.durations import DomainError, format_duration, parse_duration
from ...domain.planner import PatientFacts, PlannedMessage, SessionFacts, plan_enrolment, plan_session
from ...domain.segments import segment_info
from ...runtime import Interlude
from ...template_context import Formatter, message_context
from ...templates import TemplateError
from ..errors import InvalidInput
from ..outbox.course import course_rules
from ..validation import DEFAULT_DURATION, MODALITIES, local_or_aware_time, timezone


@dataclass(frozen=True)
class PreviewRow:
    step: str
    channel: str
    category: str
    local_time: str
    status: str
    reason: str | None
    subject: str | None
    text: str
    encoding: str | None
    segments: int | None
    session: int | None = None  # the session's number in the course; None for enrolment steps


def preview(
    app: Interlude,
    *,
    modality: str,
    start: str,
    tz: str,
    schedule: str | None = None,
    language: str = "en",
    number: int = 1,
    indications: tuple[str, ...] = (),
    detailed: bool = False,
    booked_at: datetime | None = None,
    sessions: int = 1,
    every: str | timedelta | None = None,
) -> list[PreviewRow]:
    """Every message of the schedule for a hypothetical course, in send order: `sessions`
    sessions (numbered from `number`) `every` apart on the patient's wall clock, all booked at
    once, arranged by the course-wide rules (domain/course.py) as the real bookings would be.

    Raises InvalidInput naming the option that is wrong.
    """
    errors: dict[str, str] = {}
    if modality not in MODALITIES:
        errors["modality"] = f"expected one of {', '.join(MODALITIES)}"
    name = schedule or app.config.schedules.default
    if name not in app.schedules:
        errors["schedule"] = f"unknown schedule (known: {', '.join(sorted(app.schedules))})"
    try:
        zone = ZoneInfo(timezone(tz))
        start_at = local_or_aware_time(start, zone)
    except ValueError as exc:
        errors["tz" if "zone" in str(exc) else "start"] = str(exc)
    if not 1 <= sessions <= MAX_SESSIONS:
        errors["sessions"] = f"expected a number of sessions from 1 to {MAX_SESSIONS}"
    duration = timedelta(minutes=DEFAULT_DURATION.get(modality, 60))
    gap = _every(every, duration, errors)
    if errors:
        raise InvalidInput(errors)
    now = booked_at or (start_at - timedelta(days=7))
    patient = PatientFacts(zone, frozenset({"sms", "email"}), frozenset(indications), now)
    sched = app.schedule(name)
    course = [
        SessionFacts(_wall_add(start_at, gap * k, zone), duration, modality, number + k, now)
        for k in range(sessions)
    ]
    planned: list[tuple[int | None, PlannedMessage]] = []
    if number == 1:
        planned += [(None, pm) for pm in plan_enrolment(sched, patient, app.window, now)]
    for k, session in enumerate(course):
        planned += [(k + 1, pm) for pm in plan_session(sched, session, patient, app.window, now)]
    arranged = _arrange(app, planned, course, zone, now)
    arranged.sort(key=lambda x: (x[1].due_at, x[0] or 0, x[1].step.id, x[1].channel))
    # The same formatter and context as a dispatched message: the clinic's zone decides
    # whether the text names the patient's.
    fmt = Formatter(zone, language, app.clinic_tz)
    patient_row = {"first_name": "Alex", "timezone": tz, "detailed_messages": detailed}
    rows = []
    for at, pm in arranged:
        session_row, number_of = None, None
        if at is not None and pm.step.session_scoped:
            number_of = course[at - 1].number
            session_row = {
                "start_at": course[at - 1].start,
                "duration_minutes": duration.seconds // 60,
                "modality": modality,
                "number": number_of,
            }
        # The planned send time (after quiet hours) is the `now` the words of the day see.
        context = message_context(
            app.config.clinic, app.clinic_tz, patient_row, session_row, language, now=pm.due_at
        )
        rows.append(rendered_row(app, pm, context, fmt, language, detailed, number_of))
    return rows


# A preview of a whole course stops at a year of weekly sessions.
MAX_SESSIONS = 52


def _every(every: str | timedelta | None, duration: timedelta, errors: dict[str, str]) -> timedelta:
    """The time between two sessions' starts: at least a session's length (default 7 days)."""
    if every is None:
        return timedelta(days=7)
    if isinstance(every, timedelta):
        gap = every
    else:
        try:
            gap = parse_duration(every)
        except DomainError as exc:
            errors["every"] = str(exc)
            return timedelta(days=7)
    if gap < duration:
        errors["every"] = f"expected at least the session's length ({format_duration(duration)})"
    return gap


def _wall_add(start: datetime, delta: timedelta, zone: ZoneInfo) -> datetime:
    """`start` plus `delta` on the patient's wall clock (a session at 14:00 stays at 14:00)."""
    wall = start.astimezone(zone).replace(tzinfo=None) + delta
    return wall.replace(tzinfo=zone).astimezone(UTC)


def _arrange(
    app: Interlude,
    planned: list[tuple[int | None, PlannedMessage]],
    course: list[SessionFacts],
    zone: ZoneInfo,
    now: datetime,
) -> list[tuple[int | None, PlannedMessage]]:
    """The planned messages as the course-wide rules leave them (the same pure function as the
    bookings use); sessions are numbered 1..n, messages by their place in `planned`."""
    sessions = [CourseSession(k + 1, s.start, s.end, s.booked_at) for k, s in enumerate(course)]
    items = [CourseItem.planned(i, k, pm) for i, (k, pm) in enumerate(planned)]
    changes = {
        c.id: c
        for c in arrange(sessions, items, tz=zone, window=app.window, rules=course_rules(app.config), now=now)
    }
    out = []
    for i, (k, pm) in enumerate(planned):
        c = changes.get(i)
        if c is not None:
            pm = replace(pm, due_at=c.due_at, send_by=c.send_by, status=c.status, reason=c.reason)
        out.append((k, pm))
    return out


def rendered_row(
    app: Interlude,
    pm: Any,
    context: dict[str, Any],
    fmt: Formatter,
    language: str,
    detailed: bool,
    session: int | None = None,
) -> PreviewRow:
    """One planned message with its text, rendered as the dispatcher renders it (the template
    of its step and channel, the patient's language, detailed or not): the command line's
    preview and the staff pages' booking preview show the same words."""
    try:
        rendered = app.templates.render(
            pm.step.template, pm.channel, language, context, detailed=detailed, category=pm.step.category
        )
        text, subject = rendered.body, rendered.subject
    except TemplateError as exc:
        text, subject = f"[template error] {exc}", None
    info = segment_info(text) if pm.channel == "sms" else None
    when = f"{fmt.date(pm.due_at, short=True)} {fmt.time(pm.due_at)} {pm.due_at.astimezone(fmt.tz).tzname()}"
    return PreviewRow(
        step=pm.step.id,
        channel=pm.channel,
        category=pm.step.category,
        local_time=when,
        status=pm.status,
        reason=pm.reason,
        subject=subject,
        text=text,
        encoding=info.encoding if info else None,
        segments=info.segments if info else None,
        session=session,
    )
