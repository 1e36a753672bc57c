"""Read models for the staff Schedules and Templates pages: each schedule's steps as a timeline
in plain words, every template file with what is edited, and the session lists of the step form.

Nothing here writes; the edits themselves are `content.save_step` / `content.save_template`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import time
from typing import Any

from ...domain.durations import Offset
from ...domain.schedule import Conditions, Step
from ...runtime import Interlude
from ...templates import ALL_FILES
from ..content import edits as content

ANCHOR_ORDER = ("enrolment", "booking", "reschedule", "start", "end")
ANCHOR_TITLES = {
    "enrolment": "Once, when the patient is enrolled",
    "booking": "When a session is booked",
    "reschedule": "When a session is moved",
    "start": "Around the start of each session",
    "end": "After the end of each session",
}
_POINT = {
    "enrolment": "enrolment",
    "booking": "booking",
    "reschedule": "the change",
    "start": "the start",
    "end": "the end",
}
_AT_ZERO = {
    "enrolment": "on enrolment",
    "booking": "on booking",
    "reschedule": "when moved",
    "start": "at the start",
    "end": "at the end",
}
MODALITY_NAMES = {"iv": "IV", "im": "IM", "intranasal": "intranasal", "oral": "oral", "kat": "KAT"}
MAX_SESSIONS = 200
_RANGE = re.compile(r"^(\d{1,4})-(\d{1,4})$")


# --- plain words ------------------------------------------------------------------------------


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def _span(offset: Offset) -> str:
    hours, rest = divmod(abs(offset.seconds), 3600)
    parts = [(abs(offset.days), "day"), (hours, "hour"), (rest // 60, "minute")]
    return " ".join(_plural(n, unit) for n, unit in parts if n)


def describe_when(anchor: str, offset: Offset, at: time | None) -> str:
    """When a step's message goes, in words: "3 days before the start, at 10:00",
    "3 hours after the end", "on booking". Times are the patient's local time."""
    if offset.is_zero:
        words = _AT_ZERO[anchor]
        return f"the day of {_POINT[anchor]}, at {at:%H:%M}" if at else words
    before = offset.days < 0 or (offset.days == 0 and offset.seconds < 0)
    words = f"{_span(offset)} {'before' if before else 'after'} {_POINT[anchor]}"
    if at is None:
        return words
    return f"{words}, at {at:%H:%M}" if not offset.seconds else f"{words}, that day at {at:%H:%M}"


def sessions_text(numbers: Iterable[int]) -> str:
    """Session numbers as people write them: [1, 2, 3, 4, 8] -> "1-4, 8"."""
    out: list[str] = []
    run: list[int] = []
    for n in sorted(set(numbers)):
        if run and n == run[-1] + 1:
            run.append(n)
            continue
        if run:
            out.append(_run(run))
        run = [n]
    if run:
        out.append(_run(run))
    return ", ".join(out)


def _run(run: list[int]) -> str:
    if len(run) == 1:
        return str(run[0])
    return f"{run[0]}-{run[-1]}" if len(run) > 2 else f"{run[0]}, {run[1]}"


def parse_sessions(text: str) -> list[int]:
    """ "1-6", "8, 10, 12" or "1 3 5" as a sorted list of session numbers ([] for blank).

    Raises ValueError saying what is wrong."""
    numbers: set[int] = set()
    for token in re.split(r"[,\s]+", re.sub(r"\s*-\s*", "-", text.strip())):
        if not token:
            continue
        found = _RANGE.match(token)
        low, high = (int(found[1]), int(found[2])) if found else (_number(token), _number(token))
        if low < 1 or high < low:
            raise ValueError(f"{token!r} is not a session number or a range such as 1-6")
        numbers.update(range(low, high + 1))
        if len(numbers) > MAX_SESSIONS:
            raise ValueError(f"at most {MAX_SESSIONS} session numbers")
    return sorted(numbers)


def _number(token: str) -> int:
    if not token.isdigit() or len(token) > 4:
        raise ValueError(f"{token!r} is not a session number or a range such as 1-6")
    return int(token)


def _or(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def describe_conditions(c: Conditions) -> list[str]:
    """When a step applies, in words ([] when always): "IV and IM only", "sessions 1-6",
    "from session 3 on", "indications: anxiety or ptsd"."""
    out = []
    if c.modalities:
        out.append(f"{_and([MODALITY_NAMES.get(m, m) for m in c.modalities])} only")
    if c.sessions:
        label = "session" if len(c.sessions) == 1 else "sessions"
        out.append(f"{label} {sessions_text(c.sessions)}")
    if c.from_session is not None:
        out.append(f"from session {c.from_session} on")
    if c.indications:
        out.append(f"indications: {_or(list(c.indications))}")
    return out


def who(actor: str | None) -> str:
    """An audit actor as a person reads it: "staff:ana@clinic" -> "ana@clinic"."""
    return (actor or "").removeprefix("staff:")


# --- the schedules page -----------------------------------------------------------------------


def _order(step: Step) -> tuple[int, time]:
    return step.offset.days * 86_400 + step.offset.seconds, step.at or time.min


def _step_view(step: Step, edited: Mapping[str, Any] | None) -> dict[str, Any]:
    return {
        "id": step.id,
        "title": step.display_title,
        "when": describe_when(step.anchor, step.offset, step.at),
        "category": step.category,
        "channels": list(step.channels),
        "template": step.template,
        "conditions": describe_conditions(step.conditions),
        "expects": step.expects.kind if step.expects else None,
        "edited": {"version": edited["version"], "by": who(edited["actor"])} if edited else None,
    }


def schedule_timelines(app: Interlude) -> list[dict[str, Any]]:
    """Every schedule with its steps grouped by anchor, each group in sending order:
    [{"name", "description", "groups": [{"anchor", "title", "steps": [...]}]}]."""
    edited = {e["name"]: e for e in content.current(app)["steps"]}
    out = []
    for name, schedule in sorted(app.schedules.items()):
        groups = []
        for anchor in ANCHOR_ORDER:
            steps = sorted((s for s in schedule.steps if s.anchor == anchor), key=_order)
            views = [_step_view(s, edited.get(f"{name}:{s.id}")) for s in steps]
            if views:
                groups.append({"anchor": anchor, "title": ANCHOR_TITLES[anchor], "steps": views})
        out.append({"name": name, "description": schedule.description, "groups": groups})
    return out


def step_summary(raw: Mapping[str, Any] | None) -> str:
    """A saved step table in one line, for its history: "offset -1d · at 17:00 · sms, email"."""
    if raw is None:
        return "as shipped"
    parts = []
    for key in content.EDITABLE:
        value = raw.get(key)
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, dict):
            value = "; ".join(f"{k} {_flat(v)}" for k, v in value.items())
        if value not in (None, ""):
            parts.append(f"{key.replace('_', ' ')} {value}")
    return " · ".join(parts)


def _flat(value: Any) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value).lower()


# --- the templates page -----------------------------------------------------------------------


def template_index(app: Interlude) -> list[dict[str, Any]]:
    """Every template with the steps that send it and its files by language:
    [{"name", "used_by": [{"schedule", "step", "title"}], "languages": [{"lang", "configured", "files":
    [{"file", "path", "edited": {"version", "by"} | None}]}]}]."""
    templates = app.templates
    used: dict[str, list[dict[str, str]]] = {}
    for name, schedule in sorted(app.schedules.items()):
        for step in schedule.steps:
            used.setdefault(step.template, []).append(_user(name, step))
    edited = {e["name"]: e for e in content.current(app)["templates"]}
    configured = app.config.messages.languages
    out = []
    for name in templates.names():
        languages = []
        for lang in templates.languages(name):
            paths = [(f, f"{name}/{lang}/{f}") for f in ALL_FILES]
            files = [
                {"file": f, "path": p, "edited": _edited(edited.get(p))}
                for f, p in paths
                if templates.exists(p)
            ]
            languages.append({"lang": lang, "configured": lang in configured, "files": files})
        out.append({"name": name, "used_by": used.get(name, []), "languages": languages})
    return out


def _edited(entry: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return {"version": entry["version"], "by": who(entry["actor"])} if entry else None


def template_users(app: Interlude, template: str) -> list[dict[str, str]]:
    """The steps that send this template: [{"schedule", "step", "title"}]."""
    return [
        _user(name, step)
        for name, schedule in sorted(app.schedules.items())
        for step in schedule.steps
        if step.template == template
    ]


def _user(schedule: str, step: Step) -> dict[str, str]:
    """A step that sends a template: its schedule, its id and the name staff read."""
    return {"schedule": schedule, "step": step.id, "title": step.display_title}
