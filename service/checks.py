"""`interlude check`: config, schedules and templates, each problem with its file and line.

Every template is rendered for sample patients (every language, modality, session number, a
discreet and a detailed patient, a patient in another time zone) so that a broken copy fails
here, in CI, and never in front of a patient.

`run_checks` checks what ships; `check_content`, `check_template` and `check_step` check given
objects (with edits from the database as overlays), reading template text through
`MessageTemplates.source`, so a staff edit is checked exactly as a file is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import replace as replace_step
from datetime import UTC, date, datetime, time, timedelta
from email.utils import parseaddr
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

from .config import MODALITIES, ClinicConfig, Config
from .domain.day_words import claims, relation
from .domain.discretion import sensitive_in
from .domain.planner import PatientFacts, SessionFacts, plan_session
from .domain.quiet_hours import Window
from .domain.schedule import Conditions, Schedule, Step
from .domain.segments import AVOIDABLE, avoidable_characters, segment_info, sms_budget
from .domain.tips_line import template_category
from .schedules import ScheduleError, load_schedules
from .services.replies.escalations import CRISIS_REASONS, REASONS
from .services.validation import DEFAULT_DURATION
from .template_context import Formatter, group_context, message_context
from .templates import ALL_FILES, SMS_FILES, MessageTemplates, TemplateError

# English SMS must stay GSM-7; the segment budgets (sms_budget) are domain.segments'.
GSM7_LANGUAGES = ("en",)
SAMPLE_NUMBERS = (1, 6)
SAMPLE_ESCALATION = {
    "code": "482913",
    "initials": "A.B.",
    "reason": "concerning answer to a safety check-in",
    "session_date": "Mar 13",
    "link": "https://clinic.example/staff/escalations/1234",
    "level": 0,
}
# A questionnaire link as long as one can be (service.services.measures: a large message id and
# a far expiry on a longish base URL), for the SMS budget of a measure step.
SAMPLE_MEASURE_LINK = "https://clinic.example/q/WzEyMzQ1Njc4OTAsMjA5OTk5OTk5OV0.AbCdEfGhIjKlMnOpQrStUvWxYz0"
# A page is rendered with the longest crisis reason and with the low-urgency wording too.
SAMPLE_PAGES = (
    {**SAMPLE_ESCALATION, "reason": max(CRISIS_REASONS.values(), key=len)},
    {**SAMPLE_ESCALATION, "reason": REASONS["after-hours-inbox"], "low_urgency": True},
)


@dataclass(frozen=True)
class Problem:
    """One problem; `file` ("prep_ahead/en/sms.txt") and `line` say where in a template, and `key`
    which part of a step ("template", "channels"), when the problem is about one."""

    where: str
    message: str
    file: str | None = None
    line: int | None = None
    key: str | None = None

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def _line_of(templates: MessageTemplates, path: str, needle: str) -> int:
    try:
        text = templates.source(path)
    except TemplateError:
        return 1
    for number, line in enumerate(text.splitlines(), 1):
        if needle.lower() in line.lower():
            return number
    return 1


def _at(templates: MessageTemplates, path: str, line: int, message: str) -> Problem:
    return Problem(templates.where(path, line), message, file=path, line=line)


# A discreet SMS must not carry the patient's first name: rendered with this one, it must not say it.
SAMPLE_FIRST_NAME = "Alex"
_FIRST_NAME = re.compile(rf"\b{SAMPLE_FIRST_NAME}\b")


def _sample_patients(config: Config, language: str) -> list[dict[str, Any]]:
    base = {"first_name": SAMPLE_FIRST_NAME, "language": language, "detailed_messages": False}
    return [
        {**base, "timezone": config.clinic.timezone},
        {**base, "timezone": "America/Los_Angeles", "detailed_messages": True},
    ]


def _sample_sessions(now: datetime) -> list[dict[str, Any]]:
    start = (now + timedelta(days=10)).replace(hour=14, minute=0, second=0, microsecond=0)
    return [
        {"start_at": start, "duration_minutes": 120, "modality": m, "number": n}
        for m in MODALITIES
        for n in SAMPLE_NUMBERS
    ]


SAMPLE_GROUP = 12  # sessions in the sample confirmation of a course booked at once


def sample_group(
    clinic: ClinicConfig, clinic_tz: ZoneInfo, patient: Mapping[str, Any], first: Mapping[str, Any], lang: str
) -> dict[str, Any]:
    """The context of one confirmation for SAMPLE_GROUP sessions booked together from `first`,
    twice a week as a course is entered at the front desk: a grouped template's longest text in
    the samples (`interlude check`, the staff preview)."""
    group = [
        {**first, "start_at": first["start_at"] + timedelta(days=7 * (i // 2) + 3 * (i % 2)), "number": i + 1}
        for i in range(SAMPLE_GROUP)
    ]
    context = message_context(clinic, clinic_tz, patient, first, lang)
    fmt = Formatter(ZoneInfo(patient["timezone"]), lang, clinic_tz)
    context.update(group_context(group, clinic, fmt))
    context["escalation"] = SAMPLE_ESCALATION
    context["measure_link"] = SAMPLE_MEASURE_LINK
    return context


def _sample_group(config: Config, patient: Mapping[str, Any], lang: str, now: datetime) -> dict[str, Any]:
    clinic_tz = ZoneInfo(config.clinic.timezone)
    return sample_group(config.clinic, clinic_tz, patient, _sample_sessions(now)[0], lang)


def _check_sources(templates: MessageTemplates, names: Iterable[str]) -> list[Problem]:
    """Characters that force UCS-2 for nothing (curly quotes, no-break spaces, emoji)."""
    problems = []
    for path in sorted(p for name in names for p in templates.files(name)):
        if path.rpartition("/")[2] not in (*SMS_FILES, "sms.detailed.txt"):
            continue
        for number, line in enumerate(templates.source(path).splitlines(), 1):
            for _, char in avoidable_characters(line):
                plain = AVOIDABLE.get(char)
                hint = f"; use {plain!r}" if plain else ""
                problems.append(
                    _at(templates, path, number, f"U+{ord(char):04X} forces UCS-2 encoding{hint}")
                )
    return problems


# --- US Spanish: words a US patient reads differently --------------------------------------
# Spanish messages are written for patients in the United States (messages/STYLE.md). Each row:
# a pattern of Peninsular usage, the word as STYLE.md lists it, and what US Spanish says instead.
# Matched case-insensitively on whole words in every Spanish template file, Jinja text included.
PENINSULAR_WORDS: tuple[tuple[str, str, str], ...] = (
    (r"coches?", "coche", "carro"),
    (r"conduc(?:ir|e|es|en|iendo|ido|irá|irán|iría)|conduzc\w*|conduj\w*", "conducir", "manejar"),
    (r"m[óo]vil(?:es)?", "móvil", "celular"),
    (r"zumos?", "zumo", "jugo"),
    (r"ordenador(?:es)?", "ordenador", "computadora"),
    (r"vale(?! la pena)", "vale", "de acuerdo"),
    (r"gafas", "gafas", "lentes"),
    (r"aparca\w*|aparque\w*", "aparcar", "estacionar"),
    (r"coger|coja|cojan|coge|cogen|cogió", "coger", "tomar"),
    (r"enfad\w*", "enfadado", "enojado"),
    (r"patatas?", "patata", "papa"),
    (r"neveras?", "nevera", "refrigerador"),
    (r"billetes?", "billete", "boleto"),
    (r"rellen(?:ar|e|en|ó|ado|ada)", "rellenar", "llenar"),
    (r"tensión arterial", "tensión arterial", "presión arterial"),
    (r"vosotros|vosotras|vuestr[oa]s?", "vosotros", "ustedes (usted to one person)"),
)
_PENINSULAR = [
    (re.compile(rf"(?<!\w)(?:{pattern})(?!\w)", re.IGNORECASE), avoid, use)
    for pattern, avoid, use in PENINSULAR_WORDS
]


# "las" written by hand before a time: the article is the formatter's ("la 1:00", "las 3:00").
_HAND_ARTICLE = re.compile(r"\blas?\s+(?:<[^>]+>\s*)*\{\{\s*[\w.]*(?:time|until)\b", re.IGNORECASE)


def check_us_spanish(templates: MessageTemplates, names: Iterable[str]) -> list[Problem]:
    """Peninsular words, and "la"/"las" written by hand before a time, in Spanish templates
    (shared pieces included), each with file and line."""
    problems = []
    paths = {p for name in (*names, "_partials") for p in templates.files(name) if p.split("/")[1] == "es"}
    for path in sorted(paths):
        for number, line in enumerate(templates.source(path).splitlines(), 1):
            if _HAND_ARTICLE.search(line):
                message = 'an article before a time: write "a {{ session.time.las }}", not "a las"'
                problems.append(_at(templates, path, number, message))
            for pattern, avoid, use in _PENINSULAR:
                for found in pattern.finditer(line):
                    message = f"Peninsular Spanish {found.group(0)!r} ({avoid}): US patients say {use!r}"
                    problems.append(_at(templates, path, number, message))
    return problems


# --- Times as patients read them ----------------------------------------------------------
# Times never carry the zone; a template names it once with `session.zone` after the first time
# it shows (template_context.Formatter). Rendered for a patient in another zone than the clinic's,
# every file that shows a time must name the zone exactly once. And "1:00 p. m." ends with the
# abbreviation's period, which also ends a sentence: a template must not add a second one.
_CLOCK = re.compile(r"(?<![\d:])\d{1,2}:\d{2}(?![\d:])")
_DOUBLED = re.compile(r"\b[ap]\. m\.\.")


def check_times(config: Config, templates: MessageTemplates, name: str, now: datetime) -> list[Problem]:
    """Each rendered file that shows a time names the patient's zone once, when it is not the
    clinic's, and never doubles the period of "a. m." or "p. m."."""
    found = _Found()
    clinic_tz = ZoneInfo(config.clinic.timezone)
    away = "America/Los_Angeles" if clinic_tz.key != "America/Los_Angeles" else "America/New_York"
    for lang in templates.languages(name):
        for tz in (clinic_tz.key, away):
            patient = {"first_name": "Alex", "language": lang, "detailed_messages": False, "timezone": tz}
            contexts = [
                message_context(config.clinic, clinic_tz, patient, s, lang) for s in _sample_sessions(now)
            ]
            for context in [*contexts, _sample_group(config, patient, lang, now)]:
                context["escalation"] = SAMPLE_ESCALATION
                context["measure_link"] = SAMPLE_MEASURE_LINK
                zone = context["session"]["zone"].strip()
                for path, text in _rendered_parts(templates, name, lang, context):
                    found.add(_time_problems(templates, path, text, zone))
    return found.problems


def _rendered_parts(
    templates: MessageTemplates, name: str, lang: str, context: dict[str, Any]
) -> list[tuple[str, str]]:
    """("<template>/<lang>/<file>", text) for each file of the template rendered in `lang`."""
    parts = []
    for channel in ("sms", "email"):
        if not templates.has(name, channel, lang) or templates.resolve_language(name, lang) != lang:
            continue
        try:
            rendered = templates.render(name, channel, lang, context)
        except TemplateError:
            continue  # the render checks name the error
        if channel == "sms":
            parts.append((rendered.source, rendered.body))  # the file rendered, detailed or not
        else:
            parts.append((f"{rendered.source}/subject.txt", rendered.subject or ""))
            parts.append((f"{rendered.source}/body.txt", rendered.body))
            parts.append((f"{rendered.source}/body.html", rendered.html or ""))
    return parts


def _time_problems(templates: MessageTemplates, path: str, text: str, zone: str) -> list[Problem]:
    problems = []
    if _DOUBLED.search(text):
        message = 'a period right after "a. m." or "p. m." doubles it: end the sentence another way'
        problems.append(_at(templates, path, _line_of(templates, path, ".las }}"), message))
    named = len(re.findall(rf"(?<!\w){re.escape(zone)}(?!\w)", text)) if zone else 1
    if not _CLOCK.search(text) or named == 1:
        return problems
    if named == 0:
        message = "shows a time but not the patient's zone: add {{ session.zone }} after the first time"
        problems.append(_at(templates, path, _line_of(templates, path, "session."), message))
    else:
        message = f"names the patient's zone {named} times: once, after the first time, is enough"
        problems.append(_at(templates, path, _line_of(templates, path, "session.zone"), message))
    return problems


def _check_sms(
    config: Config,
    templates: MessageTemplates,
    path: str,
    lang: str,
    text: str,
    discreet: bool,
    category: str | None = None,
) -> list[Problem]:
    problems = []
    info = segment_info(text)
    budget = sms_budget(lang, category)
    if lang in GSM7_LANGUAGES and info.encoding != "GSM-7":
        bad = next((c for c in text if segment_info(c).encoding != "GSM-7"), "?")
        problems.append(_at(templates, path, _line_of(templates, path, bad), f"not GSM-7 (U+{ord(bad):04X})"))
    sms_name = config.clinic.sms_name
    if info.segments > budget:
        # The configured name is part of the length: a longer one can push a text over.
        named = (
            f" with [clinic] sms_name {sms_name!r} ({len(sms_name)} characters)" if sms_name in text else ""
        )
        problems.append(
            _at(
                templates,
                path,
                1,
                f"{info.segments} SMS segments ({info.encoding}, {info.units} units); budget {budget}{named}",
            )
        )
    if sms_name not in text and not path.startswith("reply_"):
        problems.append(_at(templates, path, 1, "patient-facing SMS does not name the clinic"))
    if discreet:
        problems += _discreet_sms(config, templates, path, lang, text)
    return problems


def _discreet_sms(
    config: Config, templates: MessageTemplates, path: str, lang: str, text: str
) -> list[Problem]:
    """A discreet SMS names no drug, diagnosis or specialty in its language, nor the patient.

    The clinic's sms_name is checked once, by `discretion_problems`, not in every message."""
    problems = []
    said = text.replace(config.clinic.sms_name, " ")
    for word in sensitive_in(said, config.messages.sensitive_for(lang)):
        line = _line_of_word(templates, path, word)
        problems.append(_at(templates, path, line, f"discreet SMS contains {word!r}"))
    if _FIRST_NAME.search(said):
        line = _line_of(templates, path, "first_name")
        problems.append(
            _at(templates, path, line, "discreet SMS contains the patient's first name (patient.first_name)")
        )
    return problems


def _line_of_word(templates: MessageTemplates, path: str, word: str) -> int:
    """The line of `path` where a sensitive word is (case and accents aside), or 1."""
    try:
        text = templates.source(path)
    except TemplateError:
        return 1
    for number, line in enumerate(text.splitlines(), 1):
        if sensitive_in(line, (word,)):
            return number
    return 1


def _check_email(
    templates: MessageTemplates, config: Config, base: str, lang: str, rendered: Any, detailed: bool
) -> list[Problem]:
    """A discreet patient's email names no diagnosis or drug either.

    HIPAA's minimum necessary standard (45 CFR 164.502(b)): share no more than the purpose needs.
    """
    if detailed or base.startswith("escalation"):
        return []
    problems = []
    for part, text in (
        ("subject.txt", rendered.subject or ""),
        ("body.txt", rendered.body),
        ("body.html", rendered.html or ""),
    ):
        # "&amp;" read as "&": the words a patient sees.
        for word in sensitive_in(unescape(text), config.messages.sensitive_for(lang)):
            path = f"{base}/{part}"
            line = _line_of_word(templates, path, word)
            problems.append(_at(templates, path, line, f"discreet email contains {word!r}"))
    return problems


def _from_error(exc: TemplateError) -> Problem:
    where, _, message = str(exc).partition(": ")
    return Problem(where, message, file=exc.name, line=exc.line)


class _Found:
    """Problems in the order found, each once."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self._seen: set[str] = set()

    def add(self, found: Iterable[Problem]) -> None:
        for p in found:
            if str(p) not in self._seen:
                self._seen.add(str(p))
                self.problems.append(p)


def _render_one(
    config: Config,
    templates: MessageTemplates,
    name: str,
    lang: str,
    context: dict[str, Any],
    detailed: bool,
    category: str | None = None,
) -> list[Problem]:
    problems: list[Problem] = []
    for channel in ("sms", "email"):
        if not templates.has(name, channel, lang) or templates.resolve_language(name, lang) != lang:
            continue
        try:
            rendered = templates.render(name, channel, lang, context, detailed=detailed, category=category)
        except TemplateError as exc:
            problems.append(_from_error(exc))
            continue
        if channel == "sms":
            problems += _check_sms(
                config, templates, rendered.source, lang, rendered.body, not detailed, category
            )
        else:
            problems += _check_email(templates, config, rendered.source, lang, rendered, detailed)
    return problems


def _render_all(
    config: Config, templates: MessageTemplates, name: str, now: datetime, category: str | None = None
) -> list[Problem]:
    """Render every file of `name` for the sample patients and sessions, as a message of
    `category` (its steps'), and check what would be sent."""
    found = _Found()
    clinic_tz = ZoneInfo(config.clinic.timezone)
    for lang in templates.languages(name):
        for patient in _sample_patients(config, lang):
            for session in _sample_sessions(now):
                for escalation in SAMPLE_PAGES if name.startswith("escalation") else (SAMPLE_ESCALATION,):
                    context = message_context(config.clinic, clinic_tz, patient, session, lang)
                    context["measure_link"] = SAMPLE_MEASURE_LINK
                    context["escalation"] = escalation
                    detailed = bool(patient["detailed_messages"])
                    found.add(_render_one(config, templates, name, lang, context, detailed, category))
            # A booking confirmation may stand for several sessions booked together.
            grouped = _sample_group(config, patient, lang, now)
            detailed = bool(patient["detailed_messages"])
            found.add(_render_one(config, templates, name, lang, grouped, detailed, category))
        folder = templates.folder / name / lang
        for f in folder.iterdir() if folder.is_dir() else ():
            if f.name not in ALL_FILES:
                found.add(
                    [
                        Problem(
                            str(f),
                            "unexpected file (expected sms.txt, sms.detailed.txt, subject.txt, body.txt, body.html)",
                        )
                    ]
                )
    return found.problems


def _compile_all(templates: MessageTemplates, name: str) -> list[Problem]:
    """Syntax errors, also in files no sample renders (an email part added alone, say)."""
    problems = []
    for path in templates.files(name):
        try:
            templates.compile(path)
        except TemplateError as exc:
            problems.append(_from_error(exc))
    return problems


def check_step(config: Config, templates: MessageTemplates, schedule: Schedule, step: Step) -> list[Problem]:
    """Problems of one step: a template for each channel and configured language, and for a
    safety step the way to the emergency number and crisis line in every language and channel."""
    problems = []
    where = f"{schedule.source}:{step.line or 1}"
    for channel in step.channels:
        for lang in config.messages.languages:
            if not templates.has(step.template, channel, lang, exact=True):
                files = "sms.txt" if channel == "sms" else "subject.txt, body.txt and body.html"
                message = (
                    f"step '{step.id}': template '{step.template}' has no {channel} "
                    f"in '{lang}' ({templates.folder / step.template / lang}: {files})"
                )
                problems.append(Problem(where, message, key="template"))
    if step.category == "safety":
        problems.extend(_crisis_numbers(config, templates, step.template, step.id))
    return problems


def _check_steps(
    config: Config, templates: MessageTemplates, schedules: Mapping[str, Schedule]
) -> list[Problem]:
    return [p for s in schedules.values() for step in s.steps for p in check_step(config, templates, s, step)]


def _names_line(text: str, variable: str, number: str) -> bool:
    """True when `text` prints the line: its variable ({{ clinic.emergency }}) or its number."""
    printed = re.compile(r"\{\{-?\s*" + re.escape(variable) + r"\s*(?:\|[^}]*)?-?\}\}")
    return bool(printed.search(text) or re.search(rf"(?<![0-9]){re.escape(number)}(?![0-9])", text))


def _crisis_numbers(config: Config, templates: MessageTemplates, name: str, step_id: str) -> list[Problem]:
    """A safety check-in always gives the way to the configured emergency number and crisis line
    (911 and 988 in the US), in every language and channel: as {{ clinic.emergency }} and
    {{ clinic.crisis_line }}, or written out."""
    lines = (("clinic.emergency", config.clinic.emergency), ("clinic.crisis_line", config.clinic.crisis))
    problems = []
    for lang in templates.languages(name):
        for file in ("sms.txt", "body.txt", "body.html"):
            path = f"{name}/{lang}/{file}"
            if not templates.exists(path):
                continue
            text = templates.source(path)
            if file != "sms.txt":
                footers = (f"_partials/{lang}/footer.txt", f"_partials/{lang}/footer.html")
                text += "".join(templates.source(f) for f in footers if templates.exists(f))
            missing = [number for variable, number in lines if not _names_line(text, variable, number)]
            if missing:
                message = f"safety message (step '{step_id}') does not name {' and '.join(missing)}"
                problems.append(Problem(templates.where(path, 1), message, file=path, line=1, key="template"))
    return problems


def check_template(
    config: Config,
    templates: MessageTemplates,
    name: str,
    now: datetime,
    schedules: Mapping[str, Schedule] | None = None,
) -> list[Problem]:
    """Every problem of one template (all its languages and files, rendered for the sample
    patients), and of the steps of `schedules` that send it."""
    found = _Found()
    found.add(_compile_all(templates, name))
    for schedule in (schedules or {}).values():
        for step in schedule.steps:
            if step.template == name:
                found.add(check_step(config, templates, schedule, step))
    found.add(_check_sources(templates, [name]))
    found.add(check_us_spanish(templates, [name]))
    found.add(check_times(config, templates, name, now))
    found.add(_render_all(config, templates, name, now, template_category(schedules or {}, name)))
    if schedules:
        found.add(check_day_words(config, templates, schedules, now, only=name))
    return found.problems


def check_content(
    config: Config, schedules: Mapping[str, Schedule], templates: MessageTemplates, now: datetime
) -> list[Problem]:
    """Every problem found in these schedules and templates (empty when all is well)."""
    problems = _check_steps(config, templates, schedules)
    names = templates.names()
    problems.extend(_check_sources(templates, names))
    problems.extend(check_us_spanish(templates, names))
    for name in names:
        problems.extend(_render_all(config, templates, name, now, template_category(schedules, name)))
        problems.extend(check_times(config, templates, name, now))
    problems.extend(check_day_words(config, templates, schedules, now))
    return problems


# --- Words follow the send time -------------------------------------------------------------
# Every step is planned (quiet hours and all) for sessions starting every hour from 05:00 to
# 23:00, in zones on both sides of the Atlantic, on an ordinary day and on and after both changes
# of the clocks, booked well ahead and at the last minute; each message is rendered as sent at its
# planned time, and a word that names a day ("today", "mañana", "yesterday") must be the real
# calendar relation between the send and the session. A template that writes "today" in a
# reminder that quiet hours can move to the evening before fails here.
DAY_CHECK_ZONES = ("America/New_York", "America/Los_Angeles", "Europe/Madrid")
DAY_CHECK_HOURS = range(5, 24)
# A month ahead every step is on time; booked the evening before or the same morning, the late
# steps go at once (or when quiet hours end).
DAY_CHECK_AHEAD = timedelta(days=30)
DAY_CHECK_LATE = (timedelta(hours=14), timedelta(hours=3))


def _clock_changes(year: int, tz: ZoneInfo) -> list[date]:
    """The days of `year` on which `tz` changes its UTC offset (none for a zone without DST)."""
    day, end = date(year, 1, 2), date(year + 1, 1, 1)
    changes = []
    before = datetime.combine(day - timedelta(days=1), time(12), tzinfo=tz).utcoffset()
    while day < end:
        offset = datetime.combine(day, time(12), tzinfo=tz).utcoffset()
        if offset != before:
            changes.append(day)
        before, day = offset, day + timedelta(days=1)
    return changes


def _day_check_days(year: int, tz: ZoneInfo) -> list[date]:
    """An ordinary day, and each day the clocks change and the day after (the evening-before
    message of that next day is sent on the change day)."""
    days = {date(year, 6, 17)}
    for change in _clock_changes(year, tz):
        days.update((change, change + timedelta(days=1)))
    return sorted(days)


def _representative(conditions: Conditions) -> int:
    """A session number the step applies to."""
    if conditions.sessions:
        return conditions.sessions[0]
    return conditions.from_session or 1


def _timing_schedules(schedule: Schedule, only: str | None = None) -> tuple[Schedule, Schedule]:
    """The schedule with every step applying to every session number and patient (timing depends
    on neither, so one plan per start covers every step; modalities stay, a step's timing follows
    the session's length), and its part a late booking can change: the steps sent when late,
    those anchored to the booking, and the preparation steps that supersede each other. With
    `only`, just the steps sending that template (and the preparation steps, which move each
    other)."""
    steps = tuple(
        replace_step(s, conditions=Conditions(modalities=s.conditions.modalities))
        for s in schedule.steps
        if only is None or s.template == only or s.category == "prep"
    )
    late = tuple(
        s
        for s in steps
        if s.if_late != "skip" or s.category == "prep" or s.anchor in ("booking", "reschedule")
    )
    return (
        Schedule(schedule.name, schedule.description, steps, schedule.source),
        Schedule(schedule.name, schedule.description, late, schedule.source),
    )


def _relation_words(days: int) -> str:
    if days == 0:
        return "the same day"
    if abs(days) == 1:
        return "the day before" if days > 0 else "the day after"
    return f"{abs(days)} days {'before' if days > 0 else 'after'}"


@dataclass(frozen=True)
class _Send:
    """One planned message of the day check: which step, and when, for which session."""

    schedule: Schedule
    step: Step
    channel: str
    modality: str
    tz: ZoneInfo
    start: datetime
    at: datetime


def _day_sends(config: Config, schedule: Schedule, now: datetime, only: str | None) -> Iterable[_Send]:
    clinic = config.clinic
    window = Window(clinic.quiet_hours_start, clinic.quiet_hours_end, clinic.safety_until)
    zones = [ZoneInfo(z) for z in dict.fromkeys((config.clinic.timezone, *DAY_CHECK_ZONES))]
    full, late = _timing_schedules(schedule, only)
    bookings = ((full, DAY_CHECK_AHEAD), *((late, ahead) for ahead in DAY_CHECK_LATE))
    for tz in zones:
        channels = frozenset({"sms", "email"})
        for day in _day_check_days(now.year, tz):
            for hour in DAY_CHECK_HOURS:
                start = datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)
                for modality in MODALITIES:
                    duration = timedelta(minutes=DEFAULT_DURATION[modality])
                    for timing, ahead in bookings:
                        booked = start - ahead
                        facts = SessionFacts(start, duration, modality, 1, booked)
                        patient = PatientFacts(tz, channels, frozenset(), booked)
                        for pm in plan_session(timing, facts, patient, window, booked):
                            if pm.status == "pending" and (only is None or pm.step.template == only):
                                yield _Send(schedule, pm.step, pm.channel, modality, tz, start, pm.due_at)


def check_day_words(
    config: Config,
    templates: MessageTemplates,
    schedules: Mapping[str, Schedule],
    now: datetime,
    only: str | None = None,
) -> list[Problem]:
    """Messages that call the session today, tomorrow or yesterday on another day (`only`: just
    the steps that send this template)."""
    # Rendering is the cost: once per template, language, modality, number and day relation,
    # template by template (the compiled templates stay cached while they are needed).
    examples: dict[tuple[Any, ...], dict[tuple[str, str, int], _Send]] = {}
    has: dict[tuple[str, str, str], bool] = {}
    modal = _modal_templates(templates)
    for schedule in schedules.values():
        numbers = {s.id: _representative(s.conditions) for s in schedule.steps}
        for send in _day_sends(config, schedule, now, only):
            kind, days = relation(_local(send.start, send.tz), _local(send.at, send.tz))
            template = send.step.template
            # A text that never reads the modality says the same words for every modality.
            modality = send.modality if template in modal else None
            base = (template, send.channel, modality, numbers[send.step.id], kind, max(-2, min(2, days)))
            for lang in config.messages.languages:
                if (template, send.channel, lang) not in has:
                    has[(template, send.channel, lang)] = templates.has(template, send.channel, lang)
                if has[(template, send.channel, lang)]:
                    examples.setdefault((lang, *base), {}).setdefault(
                        (schedule.name, send.step.id, days), send
                    )
    clinic_tz = ZoneInfo(config.clinic.timezone)
    found: dict[tuple[str, ...], Problem] = {}
    for key in sorted(examples, key=str):
        lang, template, _, _, number, _, _ = key
        first = next(iter(examples[key].values()))
        said = _day_claims(config, templates, clinic_tz, first, number, lang)
        for (schedule_name, step_id, days), send in examples[key].items():
            for path, word, claimed in said:
                ident = (schedule_name, step_id, path, word.lower())
                if claimed == days or ident in found:
                    continue
                line = _line_of(templates, path, word)
                message = (
                    f"schedule '{schedule_name}' step '{step_id}' (template '{template}') calls the "
                    f"session {word!r} but is sent {_relation_words(days)}: a session at "
                    f"{_local(send.start, send.tz):%Y-%m-%d %H:%M} {send.tz.key} gets it at "
                    f"{_local(send.at, send.tz):%Y-%m-%d %H:%M}; use {{{{ session.day }}}} or "
                    "{{ session.visit }}"
                )
                found[ident] = Problem(
                    templates.where(path, line), message, file=path, line=line, key="template"
                )
    return list(found.values())


def _local(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def _modal_templates(templates: MessageTemplates) -> set[str]:
    """The templates whose text may change with the session's modality (shared partials
    reading it make every template so)."""

    def reads(name: str) -> bool:
        return any("modality" in templates.source(path) for path in templates.files(name))

    shared = templates.folder / "_partials"
    on_disk = shared.rglob("*") if shared.is_dir() else ()
    if reads("_partials") or any(
        f.is_file() and "modality" in f.read_text(encoding="utf-8") for f in on_disk
    ):
        return set(templates.names())
    return {name for name in templates.names() if reads(name)}


def _day_claims(
    config: Config, templates: MessageTemplates, clinic_tz: ZoneInfo, send: _Send, number: int, lang: str
) -> list[tuple[str, str, int]]:
    """(file, word, days it claims) of each day word of the message as sent at its planned time,
    for a discreet and a detailed patient; a template that does not render is reported by the
    other checks."""
    session = {
        "start_at": send.start,
        "duration_minutes": DEFAULT_DURATION[send.modality],
        "modality": send.modality,
        "number": number,
    }
    texts = []
    for detailed in (False, True):
        patient = {
            "first_name": "Alex",
            "timezone": send.tz.key,
            "language": lang,
            "detailed_messages": detailed,
        }
        context = message_context(config.clinic, clinic_tz, patient, session, lang, now=send.at)
        context["escalation"] = SAMPLE_ESCALATION
        context["measure_link"] = SAMPLE_MEASURE_LINK
        try:
            category = send.step.category
            out = templates.render(
                send.step.template, send.channel, lang, context, detailed=detailed, category=category
            )
        except TemplateError:
            continue
        if send.channel == "sms":
            texts.append((out.source, out.body))
            continue
        for part, text in (("subject.txt", out.subject), ("body.txt", out.body), ("body.html", out.html)):
            texts.append((f"{out.source}/{part}", text or ""))
    return list(
        dict.fromkeys(
            (path, word, days) for path, text in dict.fromkeys(texts) for word, days in claims(text, lang)
        )
    )


def _real_transports(config: Config) -> list[str]:
    """The settings under which messages leave the machine for real."""
    real = []
    if config.sms.transport == "twilio":
        real.append('[sms] transport = "twilio"')
    if config.email.transport == "smtp":
        real.append('[email] transport = "smtp"')
    return real


def _routed(config: Config) -> bool:
    return any(c.phone or c.email for c in config.escalation.on_call)


def routing_problem(config: Config) -> str | None:
    """Why `serve`, `web` and `worker` refuse to start, or None: messages go out for real and a
    crisis would page nobody (no on-call contact with a phone or email). One line, naming the key."""
    real = _real_transports(config)
    if not real or _routed(config):
        return None
    return (
        f"{config.source}: [escalation] on_call is empty while {' and '.join(real)} sends for real: "
        "add an on-call clinician ([[escalation.on_call]] with a phone or email) so that a crisis pages someone"
    )


def routing_warning(config: Config) -> str | None:
    """With sandbox transports, a missing on-call is worth a warning, not a failure (nothing is
    sent; escalations become staff tasks)."""
    if _real_transports(config) or _routed(config):
        return None
    return (
        f"{config.source}: [escalation] on_call is empty: escalations page nobody (staff tasks only); "
        'required before [sms] transport = "twilio" or [email] transport = "smtp"'
    )


def run_checks(config: Config, now: datetime | None = None) -> list[Problem]:
    """Every problem found in the shipped schedules and templates of `config`, the names patients
    see, and a missing on-call clinician when messages go out for real (empty when all is well)."""
    routing = routing_problem(config)
    where, _, message = (routing or "").partition(": ")
    problems = [Problem(where, message)] if routing else []
    problems += discretion_problems(config)
    return problems + _content_problems(config, now or datetime.now(UTC))


# --- Discretion: the names every patient sees, and words for every language ------------------


def discretion_problems(config: Config) -> list[Problem]:
    """A name every patient sees (the SMS name, an email From display name) that says a
    sensitive word of any language, and a language of `[messages] languages` with no sensitive
    words of its own (its discreet messages would go unchecked)."""
    problems = []
    words = config.messages.all_sensitive()
    names = {"[clinic] sms_name": config.clinic.sms_name}
    for key in ("care_from", "education_from"):
        display = parseaddr(getattr(config.smtp, key))[0]
        if display:
            names[f"[smtp] {key} display name"] = display
    for key, name in names.items():
        for word in sensitive_in(name, words):
            message = f"{key} {name!r} contains the sensitive word {word!r}: every patient sees it"
            problems.append(Problem(config.source, message))
    by_language = config.messages.sensitive_words_by_language
    for lang in config.messages.languages:
        if not by_language.get(lang):
            problems.append(
                Problem(
                    config.source,
                    f"[messages] sensitive_words_by_language has no words for {lang!r} (a language of "
                    f"[messages] languages): discreet messages in {lang!r} cannot be checked",
                )
            )
    if config.clinic.sms_name == ClinicConfig.sms_name and config.clinic.name != ClinicConfig.name:
        problems.append(
            Problem(
                config.source,
                f"[clinic] sms_name is still the demo's {ClinicConfig.sms_name!r} while [clinic] name is "
                f"{config.clinic.name!r}: set the short name your patients' SMS start with",
            )
        )
    return problems


def _content_problems(config: Config, now: datetime) -> list[Problem]:
    try:
        schedules = load_schedules(config.schedules.dir)
    except ScheduleError as exc:
        where, _, message = str(exc).partition(": ")
        return [Problem(where, message)]
    templates = MessageTemplates(config.messages.dir, config.messages.default_language)
    if not templates.folder.is_dir():
        return [Problem(str(templates.folder), "messages folder not found")]
    return check_content(config, schedules, templates, now)


def _same(p: Problem) -> tuple[str, str]:
    """A problem without its line: the same problem after lines moved is not a new one."""
    return (p.file or p.where, p.message)


def step_edit_problems(
    config: Config, templates: MessageTemplates, before: Schedule | None, after: Schedule, step_id: str
) -> list[Problem]:
    """The problems an edit of step `step_id` brings (`before`: the schedule as it was, or None):
    one the step already had is not the edit's doing."""
    old = {_same(p) for p in check_step(config, templates, before, before.step(step_id))} if before else set()
    return [p for p in check_step(config, templates, after, after.step(step_id)) if _same(p) not in old]


def template_edit_problems(
    config: Config,
    before: MessageTemplates,
    after: MessageTemplates,
    path: str,
    now: datetime,
    schedules: Mapping[str, Schedule],
) -> list[Problem]:
    """The problems of the template of `path` ("<template>/<lang>/<file>") once edited as in
    `after`: every problem of the edited file, and the new ones elsewhere (its other files and
    languages, the steps that send it)."""
    template = path.split("/", 1)[0]
    old = {_same(p) for p in check_template(config, before, template, now, schedules)}
    found = check_template(config, after, template, now, schedules)
    return [p for p in found if p.file == path or _same(p) not in old]
