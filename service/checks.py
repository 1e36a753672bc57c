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
from typing import Any
from zoneinfo import ZoneInfo

from .config import MODALITIES, Config
from .domain.day_words import claims, relation
from .domain.planner import PatientFacts, SessionFacts, plan_session
from .domain.quiet_hours import Window
from .domain.schedule import Conditions, Schedule, Step
from .domain.segments import AVOIDABLE, avoidable_characters, segment_info
from .schedules import ScheduleError, load_schedules
from .services.replies.escalations import CRISIS_REASONS, REASONS
from .services.validation import DEFAULT_DURATION
from .template_context import message_context
from .templates import ALL_FILES, SMS_FILES, MessageTemplates, TemplateError

# English SMS must stay GSM-7 and within 2 segments; other languages (accents force UCS-2 in
# Spanish: á í ó ú are not in GSM-7) within 3. Sources: 3GPP TS 23.038 (the GSM-7 alphabet) and
# Twilio's guide to SMS character limits.
SMS_BUDGET = {"en": 2}
SMS_BUDGET_OTHER = 3
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


def _sample_patients(config: Config, language: str) -> list[dict[str, Any]]:
    base = {"first_name": "Alex", "language": language, "detailed_messages": False}
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


def _check_sms(
    config: Config, templates: MessageTemplates, path: str, lang: str, text: str, discreet: bool
) -> list[Problem]:
    problems = []
    info = segment_info(text)
    budget = SMS_BUDGET.get(lang, SMS_BUDGET_OTHER)
    if lang in GSM7_LANGUAGES and info.encoding != "GSM-7":
        bad = next((c for c in text if segment_info(c).encoding != "GSM-7"), "?")
        problems.append(_at(templates, path, _line_of(templates, path, bad), f"not GSM-7 (U+{ord(bad):04X})"))
    if info.segments > budget:
        problems.append(
            _at(
                templates,
                path,
                1,
                f"{info.segments} SMS segments ({info.encoding}, {info.units} units); budget {budget}",
            )
        )
    if config.clinic.name not in text and not path.startswith("reply_"):
        problems.append(_at(templates, path, 1, "patient-facing SMS does not name the clinic"))
    if discreet:
        lowered = text.lower()
        for word in config.messages.sensitive_words:
            if word.lower() in lowered:
                line = _line_of(templates, path, word)
                problems.append(_at(templates, path, line, f"discreet SMS contains {word!r}"))
    return problems


def _check_email(
    templates: MessageTemplates, config: Config, base: str, rendered: Any, detailed: bool
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
        lowered = text.lower()
        for word in config.messages.sensitive_words:
            if word.lower() in lowered:
                path = f"{base}/{part}"
                line = _line_of(templates, path, word)
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
    config: Config, templates: MessageTemplates, name: str, lang: str, context: dict[str, Any], detailed: bool
) -> list[Problem]:
    problems: list[Problem] = []
    for channel in ("sms", "email"):
        if not templates.has(name, channel, lang) or templates.resolve_language(name, lang) != lang:
            continue
        try:
            rendered = templates.render(name, channel, lang, context, detailed=detailed)
        except TemplateError as exc:
            problems.append(_from_error(exc))
            continue
        if channel == "sms":
            problems += _check_sms(config, templates, rendered.source, lang, rendered.body, not detailed)
        else:
            problems += _check_email(templates, config, rendered.source, rendered, detailed)
    return problems


def _render_all(config: Config, templates: MessageTemplates, name: str, now: datetime) -> list[Problem]:
    found = _Found()
    clinic_tz = ZoneInfo(config.clinic.timezone)
    for lang in templates.languages(name):
        for patient in _sample_patients(config, lang):
            for session in _sample_sessions(now):
                for escalation in SAMPLE_PAGES if name.startswith("escalation") else (SAMPLE_ESCALATION,):
                    context = message_context(config.clinic, clinic_tz, patient, session, lang)
                    context["escalation"] = escalation
                    detailed = bool(patient["detailed_messages"])
                    found.add(_render_one(config, templates, name, lang, context, detailed))
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
    safety step the way to 911 and 988 in every language and channel."""
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
        problems.extend(_crisis_numbers(templates, step.template, step.id))
    return problems


def _check_steps(
    config: Config, templates: MessageTemplates, schedules: Mapping[str, Schedule]
) -> list[Problem]:
    return [p for s in schedules.values() for step in s.steps for p in check_step(config, templates, s, step)]


_NUMBERS = re.compile(r"988|911")


def _crisis_numbers(templates: MessageTemplates, name: str, step_id: str) -> list[Problem]:
    """A safety check-in always gives the way to 911 and 988, in every language and channel."""
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
            found = set(_NUMBERS.findall(text))
            if found != {"988", "911"}:
                missing = " and ".join(sorted({"988", "911"} - found))
                message = f"safety message (step '{step_id}') does not name {missing}"
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
    found.add(_render_all(config, templates, name, now))
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
    for name in names:
        problems.extend(_render_all(config, templates, name, now))
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
    window = Window(config.clinic.quiet_hours_start, config.clinic.quiet_hours_end)
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
        try:
            out = templates.render(send.step.template, send.channel, lang, context, detailed=detailed)
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
    """Every problem found in the shipped schedules and templates of `config`, and a missing
    on-call clinician when messages go out for real (empty when all is well)."""
    routing = routing_problem(config)
    where, _, message = (routing or "").partition(": ")
    problems = [Problem(where, message)] if routing else []
    return problems + _content_problems(config, now or datetime.now(UTC))


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
