"""The sample patient and session that the template and step previews render for, and a step's
messages rendered for them: what staff read before they save an edit.

Private to this wing (edits.py and steps.py); use those modules' public functions.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ...checks import SAMPLE_ESCALATION, SAMPLE_MEASURE_LINK, sample_group
from ...domain.schedule import Step
from ...domain.segments import segment_info
from ...runtime import Interlude
from ...template_context import message_context
from ...templates import MessageTemplates, TemplateError
from ..validation import DEFAULT_DURATION


def sample_context(
    app: Interlude,
    zone: ZoneInfo,
    lang: str,
    modality: str,
    number: int,
    detailed: bool,
    *,
    grouped: bool = False,
) -> dict[str, Any]:
    """The sample patient and session (10 days from now at 14:00 in `zone`); `grouped`: the
    session and the ones booked with it."""
    start = (
        (app.clock() + timedelta(days=10))
        .astimezone(zone)
        .replace(hour=14, minute=0, second=0, microsecond=0)
    )
    patient = {"first_name": "Alex", "timezone": zone.key, "detailed_messages": detailed, "language": lang}
    session = {
        "start_at": start,
        "duration_minutes": DEFAULT_DURATION[modality],
        "modality": modality,
        "number": number,
    }
    if grouped:
        return sample_group(app.config.clinic, app.clinic_tz, patient, session, lang)
    context = message_context(app.config.clinic, app.clinic_tz, patient, session, lang)
    return {**context, "escalation": SAMPLE_ESCALATION, "measure_link": SAMPLE_MEASURE_LINK}


def sms_facts(text: str) -> dict[str, Any]:
    """An SMS text with what it costs: {"text", "segments", "encoding", "units"}."""
    info = segment_info(text)
    return {"text": text, "segments": info.segments, "encoding": info.encoding, "units": info.units}


def step_messages(
    app: Interlude,
    templates: MessageTemplates,
    step: Step,
    example: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Each channel of `step` rendered for the sample patient (in the clinic's zone and default
    language) and the session of `example` (planning.step_example's rows): [{"channel", "when"
    (its example row, or None: it would not be planned), "sms" | "email" | "problem"}].

    The text is rendered from the templates in effect with the step's category, as a sent
    message is; a template that cannot be rendered gives its problem instead of a text."""
    modality, number = (
        (example[0]["session"]["modality"], example[0]["session"]["number"]) if example else ("iv", 1)
    )
    lang = app.config.messages.default_language
    context = sample_context(app, app.clinic_tz, lang, modality, number, False)
    out = []
    for channel in step.channels:
        when = next((row for row in example if row["channel"] == channel), None)
        message: dict[str, Any] = {"channel": channel, "when": when, "sms": None, "email": None}
        try:
            rendered = templates.render(step.template, channel, lang, context, category=step.category)
        except TemplateError as exc:
            message["problem"] = str(exc)
        else:
            message["problem"] = None
            if channel == "sms":
                message["sms"] = sms_facts(rendered.body)
            else:
                message["email"] = {"subject": rendered.subject, "text": rendered.body, "html": rendered.html}
        out.append(message)
    return out
