"""Load `schedules/*.toml` into frozen Schedule objects; errors name file, line, step and key."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any

from .domain.durations import DomainError, parse_duration, parse_offset
from .domain.instruments import MEASURES
from .domain.schedule import (
    ANCHORS,
    CATEGORIES,
    CHANNEL_CHOICES,
    CHANNELS,
    LATE_POLICIES,
    QUIET_POLICIES,
    REPLY_KINDS,
    Conditions,
    ReplyExpectation,
    ReplyOption,
    Schedule,
    Step,
)

MODALITIES = ("iv", "im", "intranasal", "oral", "kat")
INDICATIONS = ("depression", "anxiety", "ptsd", "adhd", "pain", "ocd", "other")
_STEP_KEYS = {
    "id",
    "anchor",
    "offset",
    "at",
    "template",
    "category",
    "channels",
    "quiet_hours",
    "if_late",
    "deadline",
    "expires_after",
    "conditions",
    "expects",
    "repeat_on_reschedule",
    "not_before",
    "same_day",
    "channel_choice",
    "once_per_course",
    "group_within",
    "title",
    "measure",
}
_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
# A `[[step]]` header as TOML allows it: spaces inside the brackets, a comment after.
_STEP_HEADER = re.compile(r"^\s*\[\[\s*step\s*\]\]\s*(#.*)?$")


class ScheduleError(ValueError):
    """A schedule file that cannot be used; the message starts with "file:line:".

    `step`, `key` (e.g. "at", "conditions.sessions") and `problem` say the same in parts, so a
    form can show the problem next to its field; they are None when the message has no such part.
    """

    def __init__(
        self, message: str, *, step: str | None = None, key: str | None = None, problem: str | None = None
    ) -> None:
        super().__init__(message)
        self.step = step
        self.key = key
        self.problem = problem


@dataclass
class _Ctx:
    file: str
    line: int | None
    step: str | None
    edited: str = ""  # " (edited version N)" for a step that an overlay replaced

    def fail(self, key: str, problem: str) -> ScheduleError:
        where = f"{self.file}:{self.line}" if self.line else self.file
        step = f" step '{self.step}':" if self.step else ""
        message = f"{where}{self.edited}:{step} {key}: {problem}"
        return ScheduleError(message, step=self.step, key=key, problem=problem)


def _leaf(key: str) -> str:
    """The key inside its table: "expects.kind" -> "kind" (messages name the dotted key)."""
    return key.rpartition(".")[2]


def _str(ctx: _Ctx, data: dict, key: str, choices: tuple[str, ...] | None = None) -> str:
    value = data.get(_leaf(key))
    if not isinstance(value, str) or not value:
        raise ctx.fail(key, f"expected a non-empty string, got {value!r}")
    if choices and value not in choices:
        raise ctx.fail(key, f"expected one of {', '.join(choices)}, got {value!r}")
    return value


def _strings(ctx: _Ctx, data: dict, key: str, choices: tuple[str, ...]) -> tuple[str, ...]:
    value = data.get(_leaf(key), [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ctx.fail(key, f"expected a list of strings, got {value!r}")
    for v in value:
        if v not in choices:
            raise ctx.fail(key, f"unknown value {v!r} (expected {', '.join(choices)})")
    if len(set(value)) != len(value):
        raise ctx.fail(key, "a value is repeated")
    return tuple(value)


def _offset(ctx: _Ctx, data: dict, key: str) -> Any:
    value = data.get(key)
    if not isinstance(value, str):
        raise ctx.fail(key, f"expected a duration such as '-1d' or '+2h', got {value!r}")
    try:
        return parse_offset(value)
    except DomainError as exc:
        raise ctx.fail(key, str(exc)) from exc


def _duration(ctx: _Ctx, data: dict, key: str) -> Any:
    value = data.get(_leaf(key))
    if not isinstance(value, str):
        raise ctx.fail(key, f"expected a duration such as '4h', got {value!r}")
    try:
        return parse_duration(value)
    except DomainError as exc:
        raise ctx.fail(key, str(exc)) from exc


def _conditions(ctx: _Ctx, data: Any, anchor: str) -> Conditions:
    if not isinstance(data, dict):
        raise ctx.fail("conditions", "expected a table")
    known = {"modalities", "sessions", "first_session_only", "from_session", "indications"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ctx.fail(f"conditions.{unknown[0]}", f"unknown key (known: {', '.join(sorted(known))})")
    sessions = data.get("sessions", [])
    if not isinstance(sessions, list) or not all(isinstance(n, int) and n > 0 for n in sessions):
        raise ctx.fail("conditions.sessions", f"expected a list of session numbers, got {sessions!r}")
    first_only = data.get("first_session_only", False)
    if not isinstance(first_only, bool):
        raise ctx.fail("conditions.first_session_only", f"expected true or false, got {first_only!r}")
    if first_only:
        if sessions not in ([], [1]):
            raise ctx.fail("conditions.first_session_only", "conflicts with conditions.sessions")
        sessions = [1]
    from_session = data.get("from_session")
    if from_session is not None and (not isinstance(from_session, int) or from_session < 1):
        raise ctx.fail("conditions.from_session", f"expected a session number, got {from_session!r}")
    modalities = _strings(ctx, data, "conditions.modalities", MODALITIES)
    if anchor == "enrolment" and (sessions or modalities or from_session):
        raise ctx.fail("conditions", "enrolment steps cannot depend on a session")
    return Conditions(
        modalities=modalities,
        sessions=tuple(sessions),
        from_session=from_session,
        indications=_strings(ctx, data, "conditions.indications", INDICATIONS),
    )


def _option(ctx: _Ctx, data: Any, index: int) -> ReplyOption:
    key = f"expects.options[{index}]"
    if not isinstance(data, dict):
        raise ctx.fail(key, "expected a table")
    unknown = sorted(set(data) - {"code", "label", "words", "concerning"})
    if unknown:
        raise ctx.fail(f"{key}.{unknown[0]}", "unknown key")
    words = data.get("words", [])
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise ctx.fail(f"{key}.words", "expected a list of strings")
    concerning = data.get("concerning", False)
    if not isinstance(concerning, bool):
        raise ctx.fail(f"{key}.concerning", "expected true or false")
    return ReplyOption(
        code=_str(ctx, data, f"{key}.code"),
        label=_str(ctx, data, f"{key}.label"),
        words=tuple(w.lower() for w in words),
        concerning=concerning,
    )


def _expects(ctx: _Ctx, data: Any) -> ReplyExpectation:
    if not isinstance(data, dict):
        raise ctx.fail("expects", "expected a table")
    known = {"kind", "window", "reminder_after", "options", "scale", "concerning_at_or_below"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ctx.fail(f"expects.{unknown[0]}", f"unknown key (known: {', '.join(sorted(known))})")
    kind = _str(ctx, data, "expects.kind", REPLY_KINDS)
    options = tuple(_option(ctx, o, i) for i, o in enumerate(data.get("options", [])))
    scale = data.get("scale")
    if scale is not None and (
        not isinstance(scale, list)
        or len(scale) != 2
        or not all(isinstance(n, int) for n in scale)
        or scale[0] >= scale[1]
    ):
        raise ctx.fail("expects.scale", f"expected [low, high], got {scale!r}")
    if kind == "checkin" and not options and scale is None:
        raise ctx.fail("expects", "a check-in needs options or a scale")
    if len({o.code for o in options}) != len(options):
        raise ctx.fail("expects.options", "an option code is repeated")
    threshold = data.get("concerning_at_or_below")
    if threshold is not None and (scale is None or not isinstance(threshold, int)):
        raise ctx.fail("expects.concerning_at_or_below", "needs a scale and an integer")
    reminder = _duration(ctx, data, "expects.reminder_after") if "reminder_after" in data else None
    window = _duration(ctx, data, "expects.window")
    if reminder is not None and reminder >= window:
        raise ctx.fail("expects.reminder_after", "must be shorter than expects.window")
    return ReplyExpectation(
        kind=kind,
        window=window,
        reminder_after=reminder,
        options=options,
        scale=(scale[0], scale[1]) if scale else None,
        concerning_at_or_below=threshold,
    )


def _at(ctx: _Ctx, data: dict) -> time | None:
    value = data.get("at")
    if value is None:
        return None
    if not isinstance(value, str) or not _HHMM.match(value):
        raise ctx.fail("at", f"expected a local time as 'HH:MM', got {value!r}")
    return time(int(value[:2]), int(value[3:]))


def _timing(ctx: _Ctx, data: dict, anchor: str) -> tuple[Any, bool]:
    """`not_before` (a duration after the anchor) and `same_day` (true or false)."""
    not_before = None
    if "not_before" in data:
        not_before = _duration(ctx, data, "not_before")
        if not not_before:
            raise ctx.fail("not_before", "expected a duration after the anchor such as '90m', got '0m'")
    same_day = data.get("same_day", False)
    if not isinstance(same_day, bool):
        raise ctx.fail("same_day", f"expected true or false, got {same_day!r}")
    if same_day and anchor == "enrolment":
        raise ctx.fail("same_day", "enrolment steps have no session day to keep to")
    return not_before, same_day


def _channel_choice(ctx: _Ctx, data: dict) -> str | None:
    """The step's `channel_choice`, "all" or "preferred"; absent: None, its category's default."""
    return _str(ctx, data, "channel_choice", CHANNEL_CHOICES) if "channel_choice" in data else None


def _course(ctx: _Ctx, data: dict, anchor: str, category: str) -> tuple[bool, Any]:
    """`once_per_course` (true or false) and `group_within` (a duration such as '10m')."""
    once = data.get("once_per_course", False)
    if not isinstance(once, bool):
        raise ctx.fail("once_per_course", f"expected true or false, got {once!r}")
    for key in ("once_per_course", "group_within"):
        if category == "safety" and data.get(key) not in (None, False):
            raise ctx.fail(key, "safety messages are never skipped or held")
    if once and anchor == "enrolment":
        raise ctx.fail("once_per_course", "enrolment steps are sent once already")
    group_within = None
    if "group_within" in data:
        group_within = _duration(ctx, data, "group_within")
        if not group_within:
            raise ctx.fail("group_within", "expected a duration such as '10m', got '0m'")
        if anchor != "booking":
            raise ctx.fail("group_within", "only steps anchored on the booking can be grouped")
    return once, group_within


def _step(ctx: _Ctx, data: Any) -> Step:
    if not isinstance(data, dict):
        raise ctx.fail("step", "expected a table")
    step_id = _str(ctx, data, "id")
    if not _ID.match(step_id):
        raise ctx.fail("id", f"use lower-case letters, digits and _, got {step_id!r}")
    ctx.step = step_id
    unknown = sorted(set(data) - _STEP_KEYS)
    if unknown:
        raise ctx.fail(unknown[0], f"unknown key (known: {', '.join(sorted(_STEP_KEYS))})")
    anchor = _str(ctx, data, "anchor", ANCHORS)
    category = _str(ctx, data, "category", CATEGORIES)
    channels = _strings(ctx, data, "channels", CHANNELS)
    if not channels:
        raise ctx.fail("channels", "a step needs at least one channel")
    template = _str(ctx, data, "template")
    if not _ID.match(template):
        raise ctx.fail("template", f"use lower-case letters, digits and _, got {template!r}")
    repeat = data.get("repeat_on_reschedule", category == "prep" or anchor == "reschedule")
    if not isinstance(repeat, bool):
        raise ctx.fail("repeat_on_reschedule", "expected true or false")
    default_late = "send" if category in ("prep", "admin") else "skip"
    expects = _expects(ctx, data["expects"]) if "expects" in data else None
    if category == "education" and expects is not None:
        raise ctx.fail("expects", "education steps do not ask for replies")
    if anchor == "enrolment" and "deadline" in data:
        raise ctx.fail("deadline", "enrolment steps have no session to meet")
    not_before, same_day = _timing(ctx, data, anchor)
    once_per_course, group_within = _course(ctx, data, anchor, category)
    return Step(
        id=step_id,
        anchor=anchor,
        offset=_offset(ctx, data, "offset") if "offset" in data else parse_offset("0m"),
        template=template,
        category=category,
        channels=channels,
        at=_at(ctx, data),
        quiet_hours=_str(ctx, data, "quiet_hours", QUIET_POLICIES) if "quiet_hours" in data else "defer",
        if_late=_str(ctx, data, "if_late", LATE_POLICIES) if "if_late" in data else default_late,
        deadline=_offset(ctx, data, "deadline") if "deadline" in data else None,
        expires_after=_duration(ctx, data, "expires_after") if "expires_after" in data else None,
        conditions=_conditions(ctx, data.get("conditions", {}), anchor),
        expects=expects,
        repeat_on_reschedule=repeat,
        line=ctx.line,
        not_before=not_before,
        same_day=same_day,
        channel_choice=_channel_choice(ctx, data),
        once_per_course=once_per_course,
        group_within=group_within,
        title=_title(ctx, data),
        measure=_measure(ctx, data, expects),
    )


def _measure(ctx: _Ctx, data: dict, expects: ReplyExpectation | None) -> str | None:
    """The step's `measure`: the questionnaire its messages link to, or None."""
    if "measure" not in data:
        return None
    measure = _str(ctx, data, "measure", MEASURES)
    if expects is not None:
        raise ctx.fail("measure", "a questionnaire step does not also ask for a reply")
    return measure


TITLE_MAX = 60


def _title(ctx: _Ctx, data: dict) -> str | None:
    """The step's `title` for staff pages: one line of at most TITLE_MAX characters."""
    if "title" not in data:
        return None
    title = _str(ctx, data, "title")
    if len(title) > TITLE_MAX or not title.isprintable() or title != title.strip():
        raise ctx.fail("title", f"expected one line of at most {TITLE_MAX} characters, got {title!r}")
    return title


def _step_lines(text: str) -> list[int]:
    return [i for i, line in enumerate(text.splitlines(), 1) if _STEP_HEADER.match(line)]


def _read_toml(text: str, file: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScheduleError(f"{file}: invalid TOML: {exc}", problem=f"invalid TOML: {exc}") from exc


def _edited(file: str, overrides: Mapping[str, dict], raw_steps: list[Any]) -> dict[str, dict]:
    """The overrides by step id, refusing one whose step is not in the file (or names another id)."""
    ids = {raw.get("id") for raw in raw_steps if isinstance(raw, dict)}
    for step_id, raw in overrides.items():
        if step_id not in ids:
            problem = "edited step not found in the file"
            raise ScheduleError(
                f"{file}: step '{step_id}': id: {problem}", step=step_id, key="id", problem=problem
            )
        if not isinstance(raw, dict) or raw.get("id") != step_id:
            problem = f"the edited step must keep its id {step_id!r}"
            raise ScheduleError(
                f"{file}: step '{step_id}': id: {problem}", step=step_id, key="id", problem=problem
            )
    return dict(overrides)


def parse_schedule(
    text: str,
    file: str,
    name: str,
    overrides: Mapping[str, dict] | None = None,
    *,
    versions: Mapping[str, int] | None = None,
) -> Schedule:
    """Parse one schedule file's text, with `overrides` (step id -> raw step table, as tomllib
    gives it) in place of the file's own tables. Raises ScheduleError naming file, line, step and
    key; an overridden step's errors say "(edited version N)" after its line (N from `versions`).
    """
    data = _read_toml(text, file)
    top = _Ctx(file, None, None)
    unknown = sorted(set(data) - {"description", "step"})
    if unknown:
        raise top.fail(unknown[0], "unknown key (known: description, step)")
    raw_steps = data.get("step", [])
    if not isinstance(raw_steps, list) or not raw_steps:
        raise top.fail("step", "a schedule needs at least one [[step]]")
    edited = _edited(file, overrides or {}, raw_steps)
    lines = _step_lines(text)
    steps: list[Step] = []
    for index, raw in enumerate(raw_steps):
        ctx = _Ctx(file, lines[index] if index < len(lines) else None, None)
        step_id = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(step_id, str) and step_id in edited:
            raw = edited[step_id]
            version = (versions or {}).get(step_id)
            ctx.edited = f" (edited version {version})" if version else " (edited)"
        step = _step(ctx, raw)
        if any(s.id == step.id for s in steps):
            raise ctx.fail("id", f"step id {step.id!r} is used twice")
        steps.append(step)
    description = data.get("description", "")
    if not isinstance(description, str):
        raise top.fail("description", "expected a string")
    return Schedule(name=name, description=description, steps=tuple(steps), source=file)


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScheduleError(f"{file}: cannot read: {exc}", problem=f"cannot read: {exc}") from exc


def load_schedules(
    folder: str | Path,
    overrides: Mapping[str, Mapping[str, dict]] | None = None,
    *,
    versions: Mapping[str, Mapping[str, int]] | None = None,
) -> dict[str, Schedule]:
    """Every `*.toml` in `folder`, by file stem, with `overrides` (schedule -> step id -> raw
    step) applied. Raises ScheduleError on the first bad file, or for edits of a schedule that
    has no file."""
    path = Path(folder)
    if not path.is_dir():
        raise ScheduleError(f"{path}: schedules folder not found")
    overrides = overrides or {}
    schedules = {}
    for file in sorted(path.glob("*.toml")):
        schedules[file.stem] = parse_schedule(
            _read(file),
            str(file),
            file.stem,
            overrides.get(file.stem),
            versions=(versions or {}).get(file.stem),
        )
    if not schedules:
        raise ScheduleError(f"{path}: no *.toml schedules found")
    for name in sorted(set(overrides) - set(schedules)):
        problem = f"edits saved for schedule {name!r}, which has no file"
        raise ScheduleError(f"{path}: {problem}", key="schedule", problem=problem)
    return schedules


def raw_steps(folder: str | Path, name: str) -> dict[str, dict[str, Any]]:
    """The shipped step tables of schedule `name` by step id, as tomllib gives them (fresh
    copies: the caller may change them). Raises KeyError when there is no such schedule file,
    ScheduleError when it cannot be read."""
    file = Path(folder) / f"{name}.toml"
    if not file.is_file():
        raise KeyError(name)
    data = _read_toml(_read(file), str(file))
    steps = data.get("step", [])
    if not isinstance(steps, list):
        return {}
    return {raw["id"]: raw for raw in steps if isinstance(raw, dict) and isinstance(raw.get("id"), str)}
