"""`interlude check`: config, schedules and templates, each problem with its file and line.

Every template is rendered for sample patients (every language, modality, session number, a
discreet and a detailed patient, a patient in another time zone) so that a broken copy fails
here, in CI, and never in front of a patient.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from .config import MODALITIES, Config
from .domain.segments import AVOIDABLE, avoidable_characters, segment_info
from .schedules import ScheduleError, load_schedules
from .services.context import message_context
from .templates import EMAIL_FILES, SMS_FILES, MessageTemplates, TemplateError

# English SMS must stay GSM-7 and within 2 segments; other languages (accents force UCS-2 in
# Spanish: á í ó ú are not in GSM-7) within 3. Source: compliance.md section 4.
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


@dataclass(frozen=True)
class Problem:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def _line_of(path: Path, needle: str) -> int:
    try:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if needle.lower() in line.lower():
                return number
    except OSError:
        pass
    return 1


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


def _check_sources(templates: MessageTemplates) -> list[Problem]:
    """Characters that force UCS-2 for nothing (curly quotes, no-break spaces, emoji)."""
    problems = []
    for path in sorted(templates.folder.rglob("*.txt")):
        if path.name not in SMS_FILES and path.name != "sms.detailed.txt":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for _, char in avoidable_characters(line):
                plain = AVOIDABLE.get(char)
                hint = f"; use {plain!r}" if plain else ""
                problems.append(Problem(f"{path}:{number}", f"U+{ord(char):04X} forces UCS-2 encoding{hint}"))
    return problems


def _check_sms(config: Config, path: Path, lang: str, text: str, discreet: bool) -> list[Problem]:
    problems = []
    info = segment_info(text)
    budget = SMS_BUDGET.get(lang, SMS_BUDGET_OTHER)
    if lang in GSM7_LANGUAGES and info.encoding != "GSM-7":
        bad = next((c for c in text if segment_info(c).encoding != "GSM-7"), "?")
        problems.append(Problem(f"{path}:{_line_of(path, bad)}", f"not GSM-7 (U+{ord(bad):04X})"))
    if info.segments > budget:
        problems.append(
            Problem(
                f"{path}:1",
                f"{info.segments} SMS segments ({info.encoding}, {info.units} units); budget {budget}",
            )
        )
    if config.clinic.name not in text and not path.parent.parent.name.startswith("reply_"):
        problems.append(Problem(f"{path}:1", "patient-facing SMS does not name the clinic"))
    if discreet:
        lowered = text.lower()
        for word in config.messages.sensitive_words:
            if word.lower() in lowered:
                problems.append(Problem(f"{path}:{_line_of(path, word)}", f"discreet SMS contains {word!r}"))
    return problems


def _check_email(config: Config, folder: Path, rendered: Any, detailed: bool) -> list[Problem]:
    """A discreet patient's email names no diagnosis or drug either (compliance.md section 6)."""
    if detailed or folder.parent.name.startswith("escalation"):
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
                path = folder / part
                problems.append(
                    Problem(f"{path}:{_line_of(path, word)}", f"discreet email contains {word!r}")
                )
    return problems


def _render_all(config: Config, templates: MessageTemplates, name: str, now: datetime) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    clinic_tz = ZoneInfo(config.clinic.timezone)
    for lang in templates.languages(name):
        folder = templates.folder / name / lang
        for patient in _sample_patients(config, lang):
            for session in _sample_sessions(now):
                context = message_context(config.clinic, clinic_tz, patient, session, lang)
                context["escalation"] = SAMPLE_ESCALATION
                detailed = bool(patient["detailed_messages"])
                for channel in ("sms", "email"):
                    if (
                        not templates.has(name, channel, lang)
                        or templates.resolve_language(name, lang) != lang
                    ):
                        continue
                    try:
                        rendered = templates.render(name, channel, lang, context, detailed=detailed)
                    except TemplateError as exc:
                        if str(exc) not in seen:
                            seen.add(str(exc))
                            problems.append(Problem(str(exc).split(": ", 1)[0], str(exc).split(": ", 1)[1]))
                        continue
                    if channel == "sms":
                        path = templates.folder / rendered.source
                        found = _check_sms(config, path, lang, rendered.body, discreet=not detailed)
                    else:
                        found = _check_email(config, templates.folder / rendered.source, rendered, detailed)
                    for p in found:
                        if str(p) not in seen:
                            seen.add(str(p))
                            problems.append(p)
        for f in folder.iterdir() if folder.is_dir() else ():
            if f.name not in (*SMS_FILES, *EMAIL_FILES, "sms.detailed.txt"):
                problems.append(
                    Problem(
                        str(f),
                        "unexpected file (expected sms.txt, sms.detailed.txt, subject.txt, body.txt, body.html)",
                    )
                )
    return problems


def _check_steps(config: Config, templates: MessageTemplates, schedules: dict) -> list[Problem]:
    problems = []
    for schedule in schedules.values():
        for step in schedule.steps:
            where = f"{schedule.source}:{step.line or 1}"
            for channel in step.channels:
                for lang in config.messages.languages:
                    if not templates.has(step.template, channel, lang, exact=True):
                        files = "sms.txt" if channel == "sms" else "subject.txt, body.txt and body.html"
                        problems.append(
                            Problem(
                                where,
                                f"step '{step.id}': template '{step.template}' has no {channel} "
                                f"in '{lang}' ({templates.folder / step.template / lang}: {files})",
                            )
                        )
            if step.category == "safety":
                problems.extend(_crisis_numbers(templates, step.template, where, step.id))
    return problems


_NUMBERS = re.compile(r"988|911")


def _crisis_numbers(templates: MessageTemplates, name: str, where: str, step_id: str) -> list[Problem]:
    """A safety check-in always gives the way to 911 and 988, in every language and channel."""
    problems = []
    for lang in templates.languages(name):
        for file in ("sms.txt", "body.txt", "body.html"):
            path = templates.folder / name / lang / file
            if not path.is_file():
                continue
            text = path.read_text(encoding="utf-8")
            if file != "sms.txt":
                text += "".join(
                    p.read_text(encoding="utf-8")
                    for p in (templates.folder / "_partials" / lang).glob("footer.*")
                )
            found = set(_NUMBERS.findall(text))
            if found != {"988", "911"}:
                missing = " and ".join(sorted({"988", "911"} - found))
                problems.append(
                    Problem(f"{path}:1", f"safety message (step '{step_id}') does not name {missing}")
                )
    return problems


def run_checks(config: Config, now: datetime | None = None) -> list[Problem]:
    """Every problem found in the schedules and templates of `config` (empty when all is well)."""
    now = now or datetime.now(UTC)
    try:
        schedules = load_schedules(config.schedules.dir)
    except ScheduleError as exc:
        return [Problem(*str(exc).split(": ", 1))]
    templates = MessageTemplates(config.messages.dir, config.messages.default_language)
    if not templates.folder.is_dir():
        return [Problem(str(templates.folder), "messages folder not found")]
    problems = _check_steps(config, templates, schedules)
    problems.extend(_check_sources(templates))
    for name in templates.names():
        problems.extend(_render_all(config, templates, name, now))
    return problems
