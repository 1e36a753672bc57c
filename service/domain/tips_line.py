"""The line an education SMS ends with, when it fits: how to stop the tips.

TIPS OFF (CONSEJOS NO) turns the education texts off and leaves reminders and check-ins on
(domain.keywords). An education SMS says so in one short line, added only when the text with it
stays within the SMS segment budget of its language (domain.segments): a text that would cost one
segment more goes as it is, and the patient still has the line in other tips and HELP's answer.
Dispatch, `interlude check` and the previews all render through MessageTemplates.render, which
applies this rule; nothing else adds the line.
"""

from __future__ import annotations

from collections.abc import Mapping

from .schedule import Schedule
from .segments import within_budget

EDUCATION = "education"
# The keyword as the patient sends it, and the line that names it.
TIPS_OFF_KEYWORD = {"en": "TIPS OFF", "es": "CONSEJOS NO"}
TIPS_OFF_LINE = {
    "en": "Reply TIPS OFF to stop tips.",
    "es": "¿No desea consejos? Responda CONSEJOS NO.",
}
_ENDS_SENTENCE = (".", "!", "?")


def with_tips_off(text: str, language: str) -> str:
    """`text` with the TIPS OFF line after it when the two fit the budget of `language`;
    `text` unchanged when they do not, when it names the keyword already, or for a language
    without the line."""
    line = TIPS_OFF_LINE.get(language)
    if line is None or TIPS_OFF_KEYWORD[language] in text.upper():
        return text
    body = text.rstrip()
    joined = f"{body}{'' if body.endswith(_ENDS_SENTENCE) else '.'} {line}"
    return joined if within_budget(joined, language) else text


def sms_with_line(text: str, language: str, category: str | None) -> str:
    """The SMS as sent for a message of `category`: education texts get the TIPS OFF line."""
    return with_tips_off(text, language) if category == EDUCATION else text


def template_category(schedules: Mapping[str, Schedule], template: str) -> str | None:
    """The category of the steps that send `template` (None when no step does), for renders
    that start from a template rather than a planned message (checks, the staff preview)."""
    for schedule in schedules.values():
        for step in schedule.steps:
            if step.template == template:
                return step.category
    return None
