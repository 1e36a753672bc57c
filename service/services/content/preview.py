"""Preview a whole schedule for a hypothetical session: times, texts, segments, and why times moved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ...domain.planner import PatientFacts, SessionFacts, plan_enrolment, plan_session
from ...domain.segments import segment_info
from ...runtime import Interlude
from ...template_context import Formatter, message_context
from ...templates import TemplateError
from ..errors import InvalidInput
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
) -> list[PreviewRow]:
    """Every message of the schedule for one hypothetical session, in send order.

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
    if errors:
        raise InvalidInput(errors)
    now = booked_at or (start_at - timedelta(days=7))
    session = SessionFacts(start_at, timedelta(minutes=DEFAULT_DURATION[modality]), modality, number, now)
    patient = PatientFacts(zone, frozenset({"sms", "email"}), frozenset(indications), now)
    sched = app.schedule(name)
    planned = plan_enrolment(sched, patient, app.window, now) if number == 1 else []
    planned += plan_session(sched, session, patient, app.window, now)
    planned.sort(key=lambda p: (p.due_at, p.step.id, p.channel))
    fmt = Formatter(zone, language, zone)
    patient_row = {"first_name": "Alex", "timezone": tz, "detailed_messages": detailed}
    session_row = {
        "start_at": start_at,
        "duration_minutes": session.duration.seconds // 60,
        "modality": modality,
        "number": number,
    }
    rows = []
    for pm in planned:
        # The planned send time (after quiet hours) is the `now` the words of the day see.
        context = message_context(
            app.config.clinic,
            zone,
            patient_row,
            session_row if pm.step.session_scoped else None,
            language,
            now=pm.due_at,
        )
        rows.append(_row(app, pm, context, fmt, language, detailed))
    return rows


def _row(
    app: Interlude, pm: Any, context: dict[str, Any], fmt: Formatter, language: str, detailed: bool
) -> PreviewRow:
    try:
        rendered = app.templates.render(pm.step.template, pm.channel, language, context, detailed=detailed)
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
    )
